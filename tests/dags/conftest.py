"""Airflow for the DAG tests: a throw-away AIRFLOW_HOME, a migrated SQLite DB, the Spark connection.

Airflow reads its configuration when first imported, so the environment is set here, at import
time of this conftest (before any test module imports airflow), and always to a temporary home:
the tests never touch a real ~/airflow or .cache/airflow.

Migrating a fresh metadata DB takes ~10 s; the migrated file is kept once per Airflow version in
.cache/airflow-test/ and copied for each session (a copy is instant).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = PROJECT_ROOT / "dags"
VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
DB_CACHE = PROJECT_ROOT / ".cache" / "airflow-test"

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="c360-airflow-"))
atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)
os.environ.update({
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
})
# Airflow puts the DAG folder on sys.path when it parses it; the tests import its helpers directly.
if str(DAGS_FOLDER) not in sys.path:
    sys.path.insert(0, str(DAGS_FOLDER))
# The Spark connection the tasks use, as mk/airflow.mk defines it: local[*].
from c360_dags.settings import DEFAULT_SPARK_CONN_ID, DEFAULT_SPARK_CONN_URI  # noqa: E402

os.environ[f"AIRFLOW_CONN_{DEFAULT_SPARK_CONN_ID.upper()}"] = DEFAULT_SPARK_CONN_URI
# spark-submit and the recorder must come from the project's .venv.
os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)


def _airflow_version() -> str:
    import importlib.metadata as md

    return md.version("apache-airflow-core")


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated, empty Airflow metadata DB for this session (SQLite in the temporary home)."""
    db = AIRFLOW_HOME / "airflow.db"
    template = DB_CACHE / f"airflow-{_airflow_version()}.db"
    if template.is_file():
        shutil.copyfile(template, db)
        return db
    done = subprocess.run([str(VENV_BIN / "airflow"), "db", "migrate"], env=dict(os.environ),
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    DB_CACHE.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, template.with_suffix(".tmp"))
    template.with_suffix(".tmp").replace(template)
    return db


@pytest.fixture
def restore_env():
    """Undo environment changes a test makes (C360__... overrides for a temporary lake)."""
    saved = dict(os.environ)
    yield os.environ
    os.environ.clear()
    os.environ.update(saved)
