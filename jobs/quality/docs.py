"""Build the Great Expectations Data Docs site from the stored results of past gate runs.

    python -m jobs docs            # or: make docs
"""

from __future__ import annotations

from jobs.common.errors import PipelineError
from jobs.quality.gx_runner import build_docs, gx_dir


def cli(args, config) -> int:
    """`python -m jobs docs [--gx-dir DIR]`."""
    folder = gx_dir(config, args.gx_dir)
    if not (folder / "uncommitted" / "validations").is_dir():
        raise PipelineError(f"no validation results under {folder}: run the pipeline (make run) "
                            f"or a gate (python -m jobs run gate_bronze) first")
    print(f"Data Docs: {build_docs(folder)}")
    return 0
