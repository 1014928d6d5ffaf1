"""The MLflow UI on the project's tracking store: `make mlflow` (python -m jobs mlflow).

Serves the configured store (config models.*; by default the SQLite database and artifact folder
under data/mlflow/) on localhost, so the runs, their metrics and plots and the registered
champions are one browser tab away. `command()` is what tests start too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from jobs.models.settings import ModelSettings, model_settings


def command(settings: ModelSettings, host: str, port: int) -> list[str]:
    """The `mlflow server` command line for this store."""
    args = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", settings.tracking_uri, "--host", host,
            "--port", str(port), "--workers", "1"]
    if settings.tracking_uri.startswith("sqlite:"):
        args += ["--default-artifact-root", settings.artifact_root, "--no-serve-artifacts"]
    return args


def cli(args, config) -> int:
    """`python -m jobs mlflow [--host H] [--port P]`: replaces this process with `mlflow server`."""
    settings = model_settings(config)
    if settings.tracking_uri.startswith("sqlite:///") and not Path(settings.tracking_uri.removeprefix("sqlite:///")).is_file():
        print(f"note: no MLflow store yet at {settings.tracking_uri}; `make train` fills it", file=sys.stderr)
    print(f"MLflow UI on http://{args.host}:{args.port} (store {settings.tracking_uri}); Ctrl-C stops it",
          file=sys.stderr)
    cmd = command(settings, args.host, args.port)
    os.execv(cmd[0], cmd)
    return 0   # not reached
