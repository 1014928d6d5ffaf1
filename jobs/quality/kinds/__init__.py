"""Expectation kinds: ONE definition per kind, giving both what Great Expectations validates and
what the `drop` severity filters on.

Each kind declares its parameters (checked when a suite file is loaded) and builds, for one
batch, the GX expectation(s) that are the validator of record (and the source of Data Docs).
Row kinds also give `unexpected(spec, ctx) -> Column`, true on a row GX counts as unexpected;
the gate splits `drop` rows with it, so quarantine never depends on GX's capped result lists.
They mirror GX's own Spark condition (tests compare the two on the same rows). A row kind that
needs a value computed from the row (a timestamp parsed from text, a SQL condition) adds it as a
derived column, so GX still checks it as a plain column-map expectation: all of those are
counted by one Spark aggregation, however many the suite has.

Batch kinds (schema, volume, freshness, reconciliation, ...) look at the batch as a whole or at
other tables through Spark SQL (GX's UnexpectedRowsExpectation); they can fail or warn, never drop.
Samples quoted in observed values are fetched by `sample` only for expectations that failed.
"""

from __future__ import annotations

from jobs.quality.kinds.base import (
    GX_SEVERITY,
    META_KEY,
    SEVERITIES,
    BatchContext,
    IngestedBatches,
    Kind,
    Param,
    Spec,
    SqlKind,
    result_dict,
    rows_where,
    valid_regex,
)
from jobs.quality.kinds.batch import Covers, DailyVolume, References, Schema, Volume
from jobs.quality.kinds.bronze import (
    BronzeReconciliation,
    FileQuarantineShare,
    Freshness,
    QuarantineShare,
)
from jobs.quality.kinds.rows import (
    AcceptedValues,
    Between,
    Expression,
    NoDirectIdentifiers,
    NotInFuture,
    NotNull,
    Regex,
    Unique,
)

KINDS: dict[str, Kind] = {k.name: k for k in (
    NotNull(), Unique(), AcceptedValues(), Between(), Regex(), NotInFuture(), Expression(),
    NoDirectIdentifiers(), Schema(), References(), Covers(), DailyVolume(), Volume(), Freshness(), BronzeReconciliation(), FileQuarantineShare(),
    QuarantineShare(),
)}

__all__ = ["GX_SEVERITY", "KINDS", "META_KEY", "SEVERITIES", "BatchContext", "IngestedBatches", "Kind",
           "Param", "Spec", "SqlKind", "result_dict", "rows_where", "valid_regex"]
