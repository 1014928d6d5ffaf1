"""Tiny silver frames for gold tests: rows as dicts, every other column of the table null.

Shared by tests/unit/test_gold_*.py and tests/integration/test_gold_incremental.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json

from pyspark.sql.types import StructField, StructType

from jobs.common.contracts import table_schema
from jobs.common.tables import spark_schema

T = dt.datetime
D = dt.date
_ids = itertools.count(1)

LINEAGE = {"_source_file": "test.jsonl", "_line_number": 1, "_batch_id": 0, "_silver_run_id": "test"}


def schema_of(table: str, nullable: bool = True) -> StructType:
    fields = spark_schema(table_schema(table)).fields
    return StructType([StructField(f.name, f.dataType, nullable or f.nullable, f.metadata) for f in fields])


def frame(spark, table: str, rows: list[dict]):
    """A DataFrame with `table`'s silver schema; lineage columns get harmless defaults."""
    schema = schema_of(table)
    names = [f.name for f in schema.fields]
    unknown = {k for r in rows for k in r} - set(names)
    assert not unknown, f"{table} has no columns {sorted(unknown)}"
    data = [tuple(r.get(n, LINEAGE.get(n)) for n in names) for r in rows]
    return spark.createDataFrame(data, schema)


def tp(key, at, channel="web", kind="page", name="Home", source="events", **extra) -> dict:
    """A touchpoint row."""
    tid = extra.pop("touchpoint_id", f"{source}:{next(_ids)}")
    return {"touchpoint_id": tid, "source": source, "source_record_id": tid, "channel": channel,
            "touchpoint_type": kind, "event_name": name, "occurred_at": at, "occurred_date": at.date(),
            "customer_key": key, **extra}


def order_tps(key, order_id, placed_at, amount, status_history=(), channel="web", currency="EUR") -> list[dict]:
    """Order touchpoints: completed at placed_at, then (status, at) changes."""
    rows = [tp(key, placed_at, channel, "order", "completed", "orders", order_id=order_id, amount=amount,
               currency=currency, touchpoint_id=f"orders:{order_id}:completed")]
    for status, at in status_history:
        rows.append(tp(key, at, channel, "order", status, "orders", order_id=order_id, amount=amount,
                       currency=currency, touchpoint_id=f"orders:{order_id}:{status}"))
    return rows


def item(order_id, index, category, seat=None, quantity=1, attributes=None) -> dict:
    """attributes: a dict, stored as JSON text as silver does."""
    return {"order_id": order_id, "item_index": index, "category": category, "seat": seat, "quantity": quantity,
            "attributes": json.dumps(attributes) if attributes is not None else None, "status_at": T(2026, 1, 1)}


FIRST_SEEN = T(2026, 1, 1)


def customer(key, first_seen=FIRST_SEEN, crm_id=None, *, household=None, birth_year=None, work_email=None,
             **counts) -> dict:
    ids = {"customer_id": 1 if crm_id else 0, "anonymous_id": 0, "email": 0, "phone": 0, **counts}
    return {"customer_key": key, "primary_customer_id": crm_id, "customer_ids": [crm_id] if crm_id else None,
            "is_member": crm_id is not None, "identifier_counts": {k: v for k, v in ids.items() if v},
            "first_seen_at": first_seen, "last_seen_at": first_seen, "household_hash": household,
            "birth_year": birth_year, "has_work_email": work_email}
