"""Pure transformations from read records to bronze rows and quarantine rows (no I/O).

Input: the reader's frame (_source_file, _line_number, _raw, _fields, _read_error, _read_detail);
`_fields` is the CSV row by header name (null for JSON Lines, parsed here).
Every field stays landed text; validation only decides accept or quarantine, with the first
failing rule's reason in this order: read error, malformed_record, missing_required_field,
invalid_timestamp, invalid_type, invalid_value.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.common.contracts import Field, SourceContract

REASON = "_reason"
DETAIL = "_detail"


def with_fields(contract: SourceContract):
    """Landed fields into `_landed` (a struct of landed text, nested JSON kept as text),
    fields the contract does not name into `_extra`, and `_malformed` when there is no record.

    A JSON line is parsed once, into a map of its top-level keys: that one parse yields the
    landed fields, the unknown keys and whether the line is a JSON object at all (listing the
    keys with a second parser, then a hash-set difference per row, cost a third more).
    Non-numeric numbers (NaN, Infinity) are not JSON, so they make a line malformed; so does
    a raw control character inside a string. A key landed twice keeps its first value.
    """
    known = F.array(*[F.lit(n) for n in contract.field_names])

    def step(df: DataFrame) -> DataFrame:
        if contract.format == "jsonl":
            parsed = F.from_json(F.col("_raw"), "map<string,string>", {"allowNonNumericNumbers": "false"})
            df = df.withColumn("_fields", F.when(F.col("_read_error").isNull(), parsed))
        fields = F.col("_fields")
        landed = F.struct(*[fields[f.name].alias(f.name) for f in contract.fields])
        # Unknown keys, exactly, without a per-row search in most rows: a record holding only
        # named keys with values has as many keys as non-null fields (cheap); failing that,
        # as many as named keys present; only the rest (rare) go through map_filter.
        valued = sum(F.col("_landed")[f.name].isNotNull().cast("int") for f in contract.fields)
        named = sum(F.map_contains_key(fields, f.name).cast("int") for f in contract.fields)
        unknown = F.map_filter(fields, lambda k, _v: ~F.array_contains(known, k))
        extra = F.when((F.size(fields) > valued) & (F.size(fields) > named) & (F.size(unknown) > 0), unknown)
        return (df.withColumn("_malformed", fields.isNull())
                .withColumn("_landed", F.when(~F.col("_malformed"), landed))
                .withColumn("_extra", extra)
                .drop("_fields"))

    return step


def _value(name: str) -> Column:
    return F.col("_landed")[name]


def _present(name: str) -> Column:
    return _value(name).isNotNull() & (F.trim(_value(name)) != "")


def _fail(cond: Column, reason: str, detail: Column | str) -> Column:
    detail_col = F.lit(detail) if isinstance(detail, str) else detail
    return F.when(cond, F.struct(F.lit(reason).alias("reason"), detail_col.alias("detail")))


def _quoted_value(name: str) -> Column:
    return F.concat(F.lit(f"{name}="), F.substring(_value(name), 1, 80))


def _non_numeric(key: str):
    """Lambda for F.exists: the item has `key` and it is not a number."""
    return lambda item: item[key].isNotNull() & item[key].try_cast("double").isNull()


def _field_checks(field: Field) -> list[tuple[int, Column]]:
    """(priority, check) pairs for one field; a lower priority wins when several fail."""
    name, checks = field.name, []
    has = _present(name)
    if field.required:
        checks.append((2, _fail(~has, "missing_required_field", f"required field '{name}' is missing or empty")))
    if field.type in ("timestamp", "date"):
        # A bad timestamp is the contract's own kind; a bad date (birth_date) is a wrong type.
        reason, priority = ("invalid_timestamp", 3) if field.type == "timestamp" else ("invalid_type", 4)
        cast = _value(name).try_cast(field.type)
        checks.append((priority, _fail(has & cast.isNull(), reason,
                                       F.concat(F.lit(f"not an ISO-8601 {field.type}: "), _quoted_value(name)))))
    if field.type in ("integer", "number"):
        sql_type = "BIGINT" if field.type == "integer" else "DOUBLE"
        cast = _value(name).try_cast(sql_type.lower())
        checks.append((4, _fail(has & cast.isNull(), "invalid_type",
                                F.concat(F.lit(f"not a {field.type}: "), _quoted_value(name)))))
        if field.minimum is not None or field.maximum is not None:
            lo = F.lit(field.minimum if field.minimum is not None else float("-inf"))
            hi = F.lit(field.maximum if field.maximum is not None else float("inf"))
            checks.append((5, _fail(cast.isNotNull() & ((cast < lo) | (cast > hi)), "invalid_value",
                                    F.concat(F.lit(f"out of range [{field.minimum}, {field.maximum}]: "),
                                             _quoted_value(name)))))
    if field.type == "json":
        checks.append((4, _fail(has & ~F.ltrim(_value(name)).startswith("{"), "invalid_type",
                                F.concat(F.lit("not a JSON object: "), _quoted_value(name)))))
    if field.type == "json_array":
        items = F.from_json(_value(name), "array<map<string,string>>")
        checks.append((4, _fail(has & items.isNull(), "invalid_type",
                                F.concat(F.lit("not a JSON array of objects: "), _quoted_value(name)))))
        for key in field.item_numbers:
            bad = F.exists(items, _non_numeric(key))
            checks.append((4, _fail(has & items.isNotNull() & bad, "invalid_type",
                                    f"an item of '{name}' has a non-numeric '{key}'")))
    if field.allowed:
        checks.append((5, _fail(has & ~_value(name).isin(*field.allowed), "invalid_value",
                                F.concat(F.lit(f"not one of {'/'.join(field.allowed)}: "), _quoted_value(name)))))
    return checks


def validate(contract: SourceContract):
    """Add _reason/_detail: null when the record is accepted."""

    def step(df: DataFrame) -> DataFrame:
        checks: list[tuple[int, Column]] = [
            (0, _fail(F.col("_read_error").isNotNull(), "_read", F.col("_read_detail"))),
            (1, _fail(F.col("_malformed"), "malformed_record", "record is not a JSON object")),
        ]
        for group in contract.at_least_one_of:
            none = ~F.greatest(*[_present(n) for n in group]) if len(group) > 1 else ~_present(group[0])
            checks.append((2, _fail(none, "missing_required_field",
                                    f"at least one of {', '.join(group)} is required")))
        for field in contract.fields:
            checks.extend(_field_checks(field))
        ordered = [check for _, check in sorted(checks, key=lambda pair: pair[0])]
        verdict = F.coalesce(*ordered)
        return (df.withColumn("_verdict", verdict)
                .withColumn(REASON, F.when(F.col("_verdict.reason") == "_read", F.col("_read_error"))
                            .otherwise(F.col("_verdict.reason")))
                .withColumn(DETAIL, F.col("_verdict.detail"))
                .drop("_verdict"))

    return step


def to_bronze_columns(contract: SourceContract):
    """Landed fields as snake_case columns, unknown fields in _extra; raw text only where rejected."""

    def step(df: DataFrame) -> DataFrame:
        return df.select(
            *[_value(f.name).alias(f.column) for f in contract.fields],
            "_extra", "_source_file", "_line_number", REASON, DETAIL,
            F.when(F.col(REASON).isNotNull(), F.col("_raw")).alias("_raw"),
        )

    return step


def accepted_rows(df: DataFrame, batch_id: int, run_id: str, ingested_at) -> DataFrame:
    lineage = {"_batch_id": F.lit(batch_id).cast("bigint"), "_run_id": F.lit(run_id),
               "_ingested_at": F.lit(ingested_at).cast("timestamp")}
    return df.where(F.col(REASON).isNull()).drop(REASON, DETAIL, "_raw").withColumns(lineage)


def quarantined_rows(df: DataFrame, source: str, batch_id: int, run_id: str, quarantined_at) -> DataFrame:
    return df.where(F.col(REASON).isNotNull()).select(
        F.lit(f"bronze.{source}").alias("stage"),
        F.lit(source).alias("source"),
        F.col("_source_file").alias("source_file"),
        F.col("_line_number").alias("line_number"),
        F.col("_raw").alias("raw"),
        F.col(REASON).alias("reason"),
        F.col(DETAIL).alias("detail"),
        F.lit(batch_id).cast("bigint").alias("batch_id"),
        F.lit(run_id).alias("run_id"),
        F.lit(quarantined_at).cast("timestamp").alias("quarantined_at"),
    )


def counts_per_file(df: DataFrame) -> DataFrame:
    """records = accepted + quarantined, per landed file."""
    return df.groupBy("_source_file").agg(
        F.count(F.lit(1)).alias("records"),
        F.count(F.when(F.col(REASON).isNull(), 1)).alias("accepted"),
        F.count(F.when(F.col(REASON).isNotNull(), 1)).alias("quarantined"),
    )
