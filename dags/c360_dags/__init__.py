"""Helpers the DAG files in dags/ share: settings, the job-submitting operator, callbacks, the DAG factory.

Airflow puts the DAGs folder on sys.path, so DAG files import this package as `c360_dags`. The
project root (parent of dags/) holds the `jobs` package; it is added to sys.path here so the DAG
files parse wherever Airflow runs them, with or without PYTHONPATH set. Nothing heavy is imported
at this level (no pyspark, no delta): DAG files must parse in well under a second.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = PROJECT_ROOT / "dags"

if str(PROJECT_ROOT) not in sys.path:
    sys.path.append(str(PROJECT_ROOT))
