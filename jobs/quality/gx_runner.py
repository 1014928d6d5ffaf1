"""Great Expectations, file mode: one validation of a whole suite against one Spark DataFrame.

The GX project lives in `gx/` (all of it generated: expectations/*.yaml is the reviewed source).
Validation results are stored there, so `python -m jobs.quality.docs` can build Data Docs from
the last gate runs. Parallel jobs (Airflow tasks) share the folder: every write to it happens under
a file lock, and a change to great_expectations.yml (a table's first asset) is made on a copy
re-read under that lock.

A gate validates several tables: a GxSession opens the context once for all of them. GX takes
seconds to import; `preload()` starts that import in a background thread. `python -m jobs` calls it
before the JVM starts when a gate will run (jobs.__main__.start_gx_import); a GxSession calls it for
any other caller, so the gate's first Spark work (reading batches, its SQL checks) runs meanwhile.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import sys
import threading
from pathlib import Path

from pyspark.sql import DataFrame

from jobs.common.config import PROJECT_ROOT, Config

DATASOURCE = "lake"
BATCH_DEFINITION = "whole_batch"
# Counts only: with any sample size GX runs one more scan of the batch per column-map expectation
# to find unexpected values, even when there are none. The gate fetches samples itself, only for
# expectations that failed (kinds.Kind.sample); see _counts_only for size 0.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}
# Set before GX is imported: its import logs hundreds of INFO lines ("Skipping registering function ...").
logging.getLogger("great_expectations").setLevel(logging.WARNING)


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
    gx_expectations()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", context_root_dir=str(folder))
    bars = context.variables.progress_bars
    bars = bars if isinstance(bars, dict) or bars is None else bars.to_json_dict()
    if not bars or bars.get("globally") or bars.get("metric_calculations"):
        # tqdm bars per metric garble job logs and Airflow task logs.
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        context.variables.analytics_enabled = False
        context.variables.save()
    return context


def _batch_definition(context, table: str, *, add: bool):
    """The table's batch definition. add=False: None when the context lacks any part of it (nothing
    is written); add=True: the missing parts are added, never replaced (replacing the datasource
    would drop the other tables' assets)."""
    try:
        source = context.data_sources.get(DATASOURCE)
    except LookupError:
        source = None
    if source is None or source.persist:
        if not add:
            return None
        # GX caches every batch it validates unless told not to, and never releases it: a whole
        # bronze table pinned in memory. promote() caches its batch itself; check() reads
        # only the columns each aggregation needs.
        if source is not None:
            context.data_sources.delete(DATASOURCE)
        source = context.data_sources.add_spark(DATASOURCE, persist=False)
    try:
        asset = source.get_asset(table)
    except LookupError:
        if not add:
            return None
        asset = source.add_dataframe_asset(table)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except LookupError:
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION) if add else None


_preloading: threading.Thread | None = None
_preload_lock = threading.Lock()


def preload() -> None:
    """Import GX in the background (CPU-bound Python, while the caller waits on Spark); once per process."""
    global _preloading
    with _preload_lock:
        if _preloading is None and "great_expectations.expectations" not in sys.modules:
            _preloading = threading.Thread(target=_import_gx, name="gx-import", daemon=True)
            _preloading.start()


def _import_gx():
    import great_expectations  # noqa: F401
    import great_expectations.expectations  # noqa: F401


def gx_expectations():
    """great_expectations.expectations, once any background import has finished: GX's modules import
    each other circularly, so a second thread importing them meanwhile sees half-initialised modules."""
    if _preloading is not None:
        _preloading.join()  # an import error surfaces below, in the caller's thread
    import great_expectations.expectations as gxe

    _counts_only()
    return gxe


def _counts_only() -> None:
    """GX without the queries for unexpected values or rows it computes and then throws away.

    GX 1.x fetches them whatever the result format says to return:
    - column-map expectations plan a filtered `limit(n)` query each, even at n = 0, where the list
      it fetches is cut to nothing: ~20 ms of Spark planning each, ~70 expectations per bronze gate;
    - UnexpectedRowsExpectation (every SQL kind) fetches up to 200 rows of its query, which only the
      COMPLETE format returns: one more Spark job per SQL check, eleven per bronze gate.
    With RESULT_FORMAT (SUMMARY, n = 0) both are left out; counts, percentages and success are
    computed exactly as before (tests/unit/test_quality_kinds.py); the gate samples failures itself.
    Installed once per process; other result formats are untouched.
    """
    from great_expectations.expectations.core.unexpected_rows_expectation import (
        UnexpectedRowsExpectation,
    )
    from great_expectations.expectations.expectation import ColumnMapExpectation

    if getattr(ColumnMapExpectation.get_validation_dependencies, "_c360_counts_only", False):
        return

    def no_values(result_format: dict) -> bool:
        return (result_format.get("result_format") in ("BASIC", "SUMMARY")
                and result_format.get("partial_unexpected_count") == 0
                and not result_format.get("include_unexpected_rows"))

    _leave_out(ColumnMapExpectation, lambda self, fmt: f"{self.map_metric}.unexpected_values" if no_values(fmt) else None)
    _leave_out(UnexpectedRowsExpectation,
               lambda self, fmt: "unexpected_rows_query.table" if fmt.get("result_format") != "COMPLETE" else None)
    validate = UnexpectedRowsExpectation._validate

    def _validate(self, metrics, *args, **kwargs):
        # It reads the fetched rows before it looks at the result format (and drops them then).
        return validate(self, {"unexpected_rows_query.table": [], **metrics}, *args, **kwargs)

    UnexpectedRowsExpectation._validate = _validate


def _leave_out(expectation_class, metric_to_skip) -> None:
    """Patch `expectation_class` to drop the metric `metric_to_skip(self, result_format)` names (if any)."""
    original = expectation_class.get_validation_dependencies

    def get_validation_dependencies(self, *args, **kwargs):
        dependencies = original(self, *args, **kwargs)
        metric = metric_to_skip(self, dependencies.result_format)
        if metric and dependencies.get_metric_configuration(metric):
            dependencies.remove_metric_configuration(metric)
        return dependencies

    get_validation_dependencies._c360_counts_only = True
    expectation_class.get_validation_dependencies = get_validation_dependencies


class GxSession:
    """One GX file context for every validation of a gate: opened once, each suite saved once per run."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._context = None
        preload()

    def context(self):
        if self._context is None:
            with _locked(self.folder):
                self._context = open_context(self.folder)
        return self._context

    def _definition(self, suite_name: str, table: str, expectations: list):
        """Save the suite (its expectations change with every run: limits, histories) and return its
        validation definition, re-saved only when new (GX's add_or_update would save the suite twice)."""
        import great_expectations as gx

        context = self.context()
        with _locked(self.folder):
            batch_definition = _batch_definition(context, table, add=False)
            if batch_definition is None:
                # Adding one rewrites great_expectations.yml from the context's copy: re-read it
                # under the lock, or assets other processes added since this one opened are lost.
                context = self._context = open_context(self.folder)
                batch_definition = _batch_definition(context, table, add=True)
            suite = context.suites.add_or_update(gx.ExpectationSuite(name=suite_name, expectations=expectations))
            try:
                definition = context.validation_definitions.get(suite_name)
            except Exception:  # noqa: BLE001 - GX raises DataContextError (or a subclass) when missing
                definition = None
            if definition is None or definition.suite.id != suite.id or definition.data.id != batch_definition.id:
                definition = context.validation_definitions.add_or_update(
                    gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite))
        return definition

    def validate(self, suite_name: str, table: str, expectations: list, frame: DataFrame,
                 run_name: str, run_time: dt.datetime) -> list:
        """Validate `frame` once against all `expectations`; store the result; return per-expectation results."""
        from great_expectations.core.run_identifier import RunIdentifier

        definition = self._definition(suite_name, table, expectations)
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
