"""Execute notebooks against the lake, headless (nbclient), so they never rot.

    python -m jobs notebooks notebooks/*.ipynb      # make notebooks

Each notebook runs in a fresh Python kernel started from the project root, with the lake of the
current configuration (C360__PATHS__LAKE and friends are passed on). The executed copy, with its
plots, is written to data/notebooks/ (git-ignored); the notebooks in notebooks/ stay without
outputs so their diffs stay readable. A failing cell fails the command with the cell's error.
"""

from __future__ import annotations

import os
from pathlib import Path

from jobs.common.config import PROJECT_ROOT
from jobs.common.errors import PipelineError

OUTPUT_DIR = PROJECT_ROOT / "data" / "notebooks"


class NotebookError(PipelineError):
    """A notebook cell failed."""


def execute(path: str | Path, lake: str | Path | None = None, output_dir: Path | None = OUTPUT_DIR,
            timeout: int = 600, environ: dict[str, str] | None = None):
    """Run every cell; returns the executed notebook (and writes it under output_dir unless None).
    `environ`: more variables for the kernel (C360__... config overrides, e.g. the MLflow store)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(PROJECT_ROOT))
    if lake is not None:
        env["C360__PATHS__LAKE"] = str(lake)
    env.update(environ or {})
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(PROJECT_ROOT)}})
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        raise NotebookError(f"{path}: a cell failed:\n{str(exc).strip()[-2000:]}") from None
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, output_dir / path.name)
    return nb


def cli(args, config) -> int:
    """`python -m jobs notebooks NOTEBOOK...`."""
    for p in args.notebooks:
        execute(p)
        print(f"ok  {p} -> {OUTPUT_DIR / Path(p).name}")
    return 0
