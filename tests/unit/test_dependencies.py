"""Each environment installs what it runs (pyproject.toml dependency groups, resolved in uv.lock)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
UV = PROJECT_ROOT / ".cache" / "uv" / "bin" / "uv"
JOBS_ONLY = {"pyspark", "delta-spark", "great-expectations", "mlflow", "duckdb", "scipy"}
AIRFLOW_ONLY = {"apache-airflow", "apache-airflow-core", "apache-airflow-providers-apache-spark"}
NOTEBOOKS_ONLY = {"ipykernel", "nbclient", "jupyter-client"}


def _packages(group: str) -> set[str]:
    done = subprocess.run([str(UV), "export", "--frozen", "--no-hashes", "--no-header", "--no-default-groups",
                           "--only-group", group], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return {re.split(r"[=<>; ]", line, maxsplit=1)[0].lower() for line in done.stdout.splitlines()
            if line and not line.startswith(("#", " "))}


@pytest.fixture(scope="module", autouse=True)
def _uv():
    if not UV.is_file():
        pytest.fail(f"{UV} is missing: `make setup` installs it")


def test_the_jobs_environment_needs_no_airflow_or_jupyter():
    jobs = _packages("jobs")
    assert JOBS_ONLY <= jobs
    assert not jobs & (AIRFLOW_ONLY | NOTEBOOKS_ONLY)


def test_airflows_environment_needs_nothing_only_the_jobs_use():
    airflow = _packages("airflow")
    assert AIRFLOW_ONLY <= airflow
    assert not airflow & (JOBS_ONLY | NOTEBOOKS_ONLY)


def test_the_lock_matches_the_declared_ranges():
    done = subprocess.run([str(UV), "lock", "--check"], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr
