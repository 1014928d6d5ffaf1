"""`python -m jobs` is the one command line: every command declared once, each with --help."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.cli import COMMANDS, build_parser

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_every_command_has_help_and_a_handler(command, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command.name, "--help"])
    assert done.value.code == 0
    assert command.help in " ".join(capsys.readouterr().out.split())
    module, _, function = command.handler.partition(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_no_module_keeps_an_entry_point_of_its_own():
    """Argument parsing lives in jobs/cli.py; modules hold handlers (jobs/submit.py only forwards)."""
    own = [str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "jobs").rglob("*.py")
           if p.name not in ("cli.py", "submit.py", "__main__.py")
           and re.search(r"ArgumentParser\(|^if __name__ == .__main__.:", p.read_text(), re.M)]
    assert own == []


def _jobs(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "C360__PATHS__LAKE": str(tmp_path / "lake"), "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, "-m", "jobs", *args], capture_output=True, text=True, env=env,
                          cwd=PROJECT_ROOT, timeout=120)


def test_light_commands_run_and_errors_are_one_clear_line(tmp_path):
    shown = _jobs("runs", "show", tmp_path=tmp_path)
    assert (shown.returncode, shown.stdout.strip()) == (0, "ops.pipeline_runs: nothing recorded yet")
    unknown = _jobs("run", "ingest_loyalty", tmp_path=tmp_path)
    assert unknown.returncode == 2
    assert "unknown job 'ingest_loyalty'" in unknown.stderr and "Traceback" not in unknown.stderr
