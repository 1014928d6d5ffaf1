"""Reduce a batch to one row per key and MERGE it into a Delta table, per the output's mode.

Every mode is idempotent: merging the same rows twice leaves the table as merging them once.
`customer_key` is never overwritten here: identity resolution owns it.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.common.contracts import TableSchema
from jobs.common.tables import merge_counts
from jobs.silver.spec import LINEAGE_ORDER, Output

OWNED_ELSEWHERE = ("customer_key",)


def reduce_to_keys(rows: DataFrame, out: Output) -> DataFrame:
    """One row per key, chosen the way the mode says (pure)."""
    keys = list(out.keys)
    lineage = [c for c in LINEAGE_ORDER if c in rows.columns]
    if out.mode == "span":
        others = [c for c in rows.columns if c not in (*keys, "first_seen_at", "last_seen_at")]
        return rows.groupBy(*keys).agg(F.min("first_seen_at").alias("first_seen_at"),
                                       F.max("last_seen_at").alias("last_seen_at"),
                                       *[F.first(c).alias(c) for c in others])
    if out.mode == "fields_latest":
        newer = F.col(out.newer)
        fields = [c for c in rows.columns if c not in (*keys, out.newer)]
        return rows.groupBy(*keys).agg(
            *[F.max_by(c, F.when(F.col(c).isNotNull(), newer)).alias(c) for c in fields],
            F.max(newer).alias(out.newer))
    if out.mode == "first":
        order = [F.col(c).asc() for c in lineage]
    else:
        order = [F.col(out.newer).desc_nulls_last(), *[F.col(c).desc() for c in lineage]]
    window = Window.partitionBy(*keys)
    ranked = rows.withColumn("_rank", F.row_number().over(window.orderBy(*order)))
    for col in out.keep_earliest:
        ranked = ranked.withColumn(col, F.min(col).over(window))
    return ranked.where("_rank = 1").drop("_rank")


def to_table_columns(rows: DataFrame, schema: TableSchema, run_id: str) -> DataFrame:
    """Exactly the table's columns in order; absent ones null, `_silver_run_id` stamped."""
    present = set(rows.columns)
    cols = []
    for c in schema.columns:
        if c.name == "_silver_run_id":
            value = F.lit(run_id)
        elif c.name in present:
            value = F.col(c.name)
        else:
            value = F.lit(None)
        cols.append(value.cast(c.type).alias(c.name))
    return rows.select(*cols)


def _s(c: str) -> Column:
    return F.col(f"s.`{c}`")


def _t(c: str) -> Column:
    return F.col(f"t.`{c}`")


def merge_rows(spark: SparkSession, path: str, rows: DataFrame, out: Output, schema: TableSchema,
               partition: str | None = None) -> dict:
    """MERGE reduced rows into the table; returns Delta's counts (inserted, updated)."""
    from delta.tables import DeltaTable

    cond = F.lit(True)
    for k in out.keys:
        cond = cond & (_t(k) == _s(k))
    if partition is not None:
        cond = cond & (_t("source") == F.lit(partition))
    columns = [c.name for c in schema.columns]
    builder = DeltaTable.forPath(spark, path).alias("t").merge(rows.alias("s"), cond)
    updatable = [c for c in columns if c not in (*out.keys, *OWNED_ELSEWHERE)]
    if out.mode == "latest":
        newer = _s(out.newer) > _t(out.newer)
        values = {c: (F.least(_s(c), _t(c)) if c in out.keep_earliest else _s(c)) for c in updatable}
        builder = builder.whenMatchedUpdate(condition=newer, set=values)
        for c in out.keep_earliest:  # an older version arriving late still moves the first date back
            builder = builder.whenMatchedUpdate(condition=_s(c) < _t(c), set={c: _s(c), "_silver_run_id": _s("_silver_run_id")})
    elif out.mode == "span":
        widened = (_s("first_seen_at") < _t("first_seen_at")) | (_s("last_seen_at") > _t("last_seen_at"))
        builder = builder.whenMatchedUpdate(condition=widened, set={
            "first_seen_at": F.least(_s("first_seen_at"), _t("first_seen_at")),
            "last_seen_at": F.greatest(_s("last_seen_at"), _t("last_seen_at")),
            "_silver_run_id": _s("_silver_run_id")})
    elif out.mode == "fields_latest":
        at_least_as_new = _s(out.newer) >= _t(out.newer)
        values = {c: F.when(_s(c).isNotNull() & (_t(c).isNull() | at_least_as_new), _s(c)).otherwise(_t(c))
                  for c in updatable if c not in (out.newer, "_silver_run_id")}
        values[out.newer] = F.greatest(_s(out.newer), _t(out.newer))
        values["_silver_run_id"] = _s("_silver_run_id")
        changed = F.lit(False)
        for c in values:
            if c != "_silver_run_id":
                changed = changed | ~values[c].eqNullSafe(_t(c))
        builder = builder.whenMatchedUpdate(condition=changed, set=values)
    counts = merge_counts(builder.whenNotMatchedInsertAll().execute())
    return {"inserted": counts["inserted"], "updated": counts["updated"]}
