"""How a source becomes silver: a pure conform step and the tables its rows feed.

A `SourceSpec` is data: `jobs.silver.conform` reads the bronze increment, calls `conform`, then
for each `Output` builds rows, reduces them to one per key and MERGEs them with the output's
mode. Every mode is idempotent, so re-reading an increment after a crash changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame

# first:         the earliest arrival wins; later copies are duplicates (insert only)
# latest:        the row with the greatest `newer` wins; `keep_earliest` columns keep their minimum
# span:          one row per key with min(first_seen_at) and max(last_seen_at)
# fields_latest: per field, the latest non-null value by `newer` (profiles built from many sightings)
MODES = ("first", "latest", "span", "fields_latest")
LINEAGE_ORDER = ("_batch_id", "_source_file", "_line_number")


@dataclass(frozen=True)
class Output:
    table: str
    keys: tuple[str, ...]
    build: Callable[[DataFrame], DataFrame]
    mode: str = "first"
    newer: str | None = None
    keep_earliest: tuple[str, ...] = ()
    shared: bool = False        # several sources write it: partitioned by `source`, merged per partition

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"{self.table}: mode {self.mode!r} not in {MODES}")
        if self.mode in ("latest", "fields_latest") and not self.newer:
            raise ValueError(f"{self.table}: mode {self.mode} needs `newer`")


@dataclass(frozen=True)
class SourceSpec:
    source: str
    conform: Callable[[DataFrame, bytes], DataFrame]   # bronze rows -> typed, standardised rows
    primary: str                                      # the table reconciled against bronze
    record_key: Callable[[DataFrame], DataFrame]      # bronze rows -> one column `record_key`
    outputs: tuple[Output, ...]
