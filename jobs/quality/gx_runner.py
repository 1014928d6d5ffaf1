"""Great Expectations, file mode: one validation of a whole suite against one Spark DataFrame.

The GX project lives in `gx/` (all of it generated: expectations/*.yaml is the reviewed source).
Validation results are stored there, so `python -m jobs.quality.docs` can build Data Docs from
the last gate runs. Parallel jobs (Airflow tasks) share the folder: the read-modify-write of
great_expectations.yml and of the suite files happens under a file lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
from pathlib import Path

from pyspark.sql import DataFrame

from jobs.common.config import PROJECT_ROOT, Config

DATASOURCE = "lake"
BATCH_DEFINITION = "whole_batch"
# Counts only: with any sample size GX runs one more scan of the batch per column-map expectation
# to find unexpected values, even when there are none. The gate fetches samples itself, only for
# expectations that failed (kinds.Kind.sample).
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}


def gx_dir(config: Config, override: str | Path | None = None) -> Path:
    """The GX project folder: explicit override, else `paths.gx` when the config has it, else gx/."""
    if override:
        return Path(override)
    configured = getattr(config.paths, "gx", None)
    return Path(configured) if configured else PROJECT_ROOT / "gx"


@contextlib.contextmanager
def _locked(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_context(folder: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="file", context_root_dir=str(folder))
    bars = context.variables.progress_bars
    bars = bars if isinstance(bars, dict) or bars is None else bars.to_json_dict()
    if not bars or bars.get("globally") or bars.get("metric_calculations"):
        # tqdm bars per metric garble job logs and Airflow task logs.
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        context.variables.analytics_enabled = False
        context.variables.save()
    return context


def _batch_definition(context, table: str):
    """Get-or-add (never replace): replacing the datasource would drop the other tables' assets."""
    try:
        source = context.data_sources.get(DATASOURCE)
    except LookupError:
        source = None
    if source is None or source.persist:
        # GX caches every batch it validates unless told not to, and never releases it: a whole
        # bronze table pinned in memory. promote() caches its batch itself; check() reads
        # only the columns each aggregation needs.
        if source is not None:
            context.data_sources.delete(DATASOURCE)
        source = context.data_sources.add_spark(DATASOURCE, persist=False)
    try:
        asset = source.get_asset(table)
    except LookupError:
        asset = source.add_dataframe_asset(table)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except LookupError:
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)


def run_validation(folder: Path, suite_name: str, table: str, expectations: list, frame: DataFrame,
                   run_name: str, run_time: dt.datetime) -> list:
    """Validate `frame` once against all `expectations`; store the result; return per-expectation results."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    with _locked(folder):
        context = open_context(folder)
        batch_definition = _batch_definition(context, table)
        suite = context.suites.add_or_update(gx.ExpectationSuite(name=suite_name, expectations=expectations))
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite))
    result = definition.run(batch_parameters={"dataframe": frame}, result_format=RESULT_FORMAT,
                            run_id=RunIdentifier(run_name=run_name,
                                                 run_time=run_time.replace(tzinfo=dt.UTC)))
    return list(result.results)


def build_docs(folder: Path) -> Path:
    """Data Docs from every stored validation result; returns the index page."""
    with _locked(folder):
        context = open_context(folder)
        context.build_data_docs()
    return folder / "uncommitted" / "data_docs" / "local_site" / "index.html"
