"""Great Expectations 1.x (pinned in pyproject.toml) without Spark work whose result it never uses.

A gate's cost is mostly fixed per Spark query, so each query GX plans or runs for nothing counts:
- `counts_only`: the unexpected values and rows GX fetches and then throws away at the result
  format the gate uses (about 80 Spark queries per bronze gate);
- `one_aggregation_per_batch`: the row count GX computes in a Spark job of its own, one round
  before the column counts it could join (one Spark job per validated table).
Each patch is installed once per process and changes no count, percentage or verdict
(tests/unit/test_quality_kinds.py checks both against GX's own results and Spark's job count).
"""

from __future__ import annotations

_INSTALLED = "_c360_patched"


def install() -> None:
    """Every patch of this module, once per process (GX must be importable)."""
    counts_only()
    one_aggregation_per_batch()


def counts_only() -> None:
    """GX without the queries for unexpected values or rows it computes and then throws away.

    GX 1.x fetches them whatever the result format says to return:
    - column-map expectations plan a filtered `limit(n)` query each, even at n = 0, where the list
      it fetches is cut to nothing: ~20 ms of Spark planning each, ~70 expectations per bronze gate;
    - UnexpectedRowsExpectation (every SQL kind) fetches up to 200 rows of its query, which only the
      COMPLETE format returns: one more Spark job per SQL check, eleven per bronze gate.
    At SUMMARY or BASIC with partial_unexpected_count 0 (gx_runner.RESULT_FORMAT) both are left
    out; other result formats are untouched.
    """
    from great_expectations.expectations.core.unexpected_rows_expectation import (
        UnexpectedRowsExpectation,
    )
    from great_expectations.expectations.expectation import ColumnMapExpectation

    if getattr(ColumnMapExpectation.get_validation_dependencies, _INSTALLED, False):
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

    setattr(get_validation_dependencies, _INSTALLED, True)
    expectation_class.get_validation_dependencies = get_validation_dependencies


def one_aggregation_per_batch() -> None:
    """GX's row count and column counts of a batch in ONE Spark aggregation, not two.

    GX resolves metrics in rounds, each running what has become computable, and bundles the
    aggregates of one round and domain into one `agg` (SparkDFExecutionEngine.resolve_metric_bundle).
    The row count is computable in the third round; the column-map counts (nulls, values out of
    set or range) only in the sixth, after their conditions are built, which wait for the row count:
    every map metric declares it as a dependency, and none of GX's Spark map metrics reads it (the
    expectations that report it depend on it themselves). So, on Spark:
    - map metrics no longer wait for the row count;
    - an aggregate that is computable waits while other, new metrics make progress, and then runs
      with the aggregates that became computable meanwhile. A round offering only metrics already
      tried (a failing query GX retries) runs every aggregate too, so nothing waits on a failure.
    """
    from great_expectations.execution_engine import SparkDFExecutionEngine
    from great_expectations.expectations.metrics.map_metric_provider import (
        ColumnMapMetricProvider,
        ColumnPairMapMetricProvider,
        MulticolumnMapMetricProvider,
    )
    from great_expectations.expectations.registry import get_metric_provider
    from great_expectations.validator.validation_graph import ValidationGraph

    if getattr(ValidationGraph._parse, _INSTALLED, False):
        return

    for provider in (ColumnMapMetricProvider, ColumnPairMapMetricProvider, MulticolumnMapMetricProvider):
        _without_row_count_dependency(provider, SparkDFExecutionEngine)

    parse = ValidationGraph._parse

    def _parse(self, metrics):
        ready, needed = parse(self, metrics)
        if not isinstance(self._execution_engine, SparkDFExecutionEngine):
            return ready, needed
        offered = self.__dict__.setdefault("_c360_offered", set())
        # Aggregates are the metrics without a function of their own: the engine bundles them.
        aggregates = {m for m in ready if get_metric_provider(m.metric_name, self._execution_engine)[1] is None}
        if aggregates and any(m.id not in offered for m in ready - aggregates):
            ready, needed = ready - aggregates, needed | aggregates
        offered.update(m.id for m in ready)
        return ready, needed

    setattr(_parse, _INSTALLED, True)
    ValidationGraph._parse = _parse


def _without_row_count_dependency(provider, engine_class) -> None:
    original = provider._get_evaluation_dependencies.__func__

    def _get_evaluation_dependencies(cls, metric, configuration=None, execution_engine=None,
                                     runtime_configuration=None):
        dependencies = original(cls, metric=metric, configuration=configuration, execution_engine=execution_engine,
                                runtime_configuration=runtime_configuration)
        if isinstance(execution_engine, engine_class):
            dependencies.pop("table.row_count", None)
        return dependencies

    provider._get_evaluation_dependencies = classmethod(_get_evaluation_dependencies)
