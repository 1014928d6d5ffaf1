"""ops.privacy_requests: the proof that each data subject request was carried out, and when.

A record holds no personal data (neither the identifier nor the customer key), so it can be kept
after the person is erased; the request id is what the requester is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from pyspark.sql import SparkSession

from jobs.common.config import Config
from jobs.common.contracts import table_schema
from jobs.common.tables import ensure_table, spark_schema

TABLE = "ops.privacy_requests"


@dataclass(frozen=True)
class Record:
    request_id: str
    request_type: str
    identifier_kind: str
    received_at: dt.datetime
    completed_at: dt.datetime
    customers: int
    table_versions: dict[str, int]
    table_rows: dict[str, int]


def record(spark: SparkSession, config: Config, rec: Record) -> None:
    schema = table_schema(TABLE)
    path = ensure_table(spark, config, schema)
    row = asdict(rec)
    (spark.createDataFrame([tuple(row[c] for c in schema.column_names)], spark_schema(schema))
     .write.format("delta").mode("append").save(path))


def describe(rec: Record) -> str:
    """The record as printed to whoever ran the request."""
    seconds = (rec.completed_at - rec.received_at).total_seconds()
    lines = [f"request {rec.request_id}: {rec.request_type} by {rec.identifier_kind}, "
             f"{rec.customers} customer(s), completed {rec.completed_at:%Y-%m-%d %H:%M:%S} UTC "
             f"in {seconds:.1f}s"]
    lines += [f"  {name} v{rec.table_versions[name]}: {rows} rows"
              for name, rows in sorted(rec.table_rows.items())]
    return "\n".join(lines)
