"""Great Expectations, file mode: one validation of a whole suite against one Spark DataFrame.

The GX project lives in `gx/` (all of it generated: expectations/*.yaml is the reviewed source).
Validation results are stored there, so `python -m jobs docs` can build Data Docs from
the last gate runs. Parallel jobs (Airflow tasks) share the folder: every write to it happens under
a file lock, and a change to great_expectations.yml (a table's first asset) is made on a copy
re-read under that lock.

A gate validates several tables: a GxSession opens the context once for all of them. GX takes
seconds to import; `preload()` starts that import in a background thread. `python -m jobs` calls it
before the JVM starts when a gate will run (jobs.runner.start_gx_import); a GxSession calls it for
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
# expectations that failed (kinds.Kind.sample).
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

    return gxe


def _saved_suite(context, name: str, expectations: list):
    """The suite `name` holding `expectations`, saved: added when new, else rewritten in place.

    Not GX's suites.add_or_update: to keep the ids of unchanged expectations it compares every new
    expectation with every stored one, and as the comparison includes the id, which a new
    expectation lacks, none ever matches: ~0.1 s of Python per suite (quadratic) that changes nothing.
    """
    import great_expectations as gx
    from great_expectations.exceptions import DataContextError

    try:
        suite = context.suites.get(name)
    except DataContextError:
        return context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
    suite.expectations = list(expectations)
    suite.save()  # the store gives the expectations their ids
    return suite


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
            suite = _saved_suite(context, suite_name, expectations)
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
