"""Build the Great Expectations Data Docs site from the stored results of past gate runs.

    python -m jobs.quality.docs            # or: make docs
"""

from __future__ import annotations

import argparse
import sys

from jobs.common.config import load_config
from jobs.common.errors import PipelineError
from jobs.quality.gx_runner import build_docs, gx_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.quality.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="YAML config (default config/pipeline.yaml or $C360_CONFIG)")
    parser.add_argument("--gx-dir", help="GX project folder (default gx/)")
    args = parser.parse_args(argv)
    try:
        folder = gx_dir(load_config(args.config), args.gx_dir)
        if not (folder / "uncommitted" / "validations").is_dir():
            raise PipelineError(f"no validation results under {folder}: run the pipeline (make run) "
                                f"or a gate (python -m jobs run gate_bronze) first")
        index = build_docs(folder)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"Data Docs: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
