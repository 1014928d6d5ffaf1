"""spark-submit's entry file: runs a `jobs` module exactly as `python -m` would.

    spark-submit [options] jobs/submit.py jobs run ingest_events --date 2026-11-21 --run-id ID
    spark-submit [options] jobs/submit.py jobs maintenance compact --date 2026-11-21

is the same code path, with the same arguments, as

    python -m jobs run ingest_events --date 2026-11-21 --run-id ID
    python -m jobs maintenance compact --date 2026-11-21

spark-submit needs a file rather than a module; this is that file and nothing more. Airflow's
tasks use it (dags/c360_dags/operators.py). Only modules of this project's `jobs` package can
be run, so a task's arguments cannot start arbitrary code.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    if not argv or not (argv[0] == "jobs" or argv[0].startswith("jobs.")):
        print("usage: spark-submit jobs/submit.py <jobs module> [args...]   "
              "e.g. jobs run ingest_events --date 2026-11-21", file=sys.stderr)
        sys.exit(2)
    # spark-submit puts the script's folder (jobs/) first on sys.path; the project root is what
    # `import jobs` needs, and jobs/ itself must not shadow top-level modules.
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(here)]
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    module = argv[0]
    sys.argv = [module, *argv[1:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
