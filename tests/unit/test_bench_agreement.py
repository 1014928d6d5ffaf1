"""The bench's DuckDB agreement check names a customer_360 column the DuckDB copy does not compute,
instead of passing without it (bench/duckdb_gold.py)."""

import pyarrow as pa
from deltalake import write_deltalake

from bench import duckdb_gold

TOTALS = ("orders_count", "revenue_eur", "rfm_frequency", "sessions_30d", "page_views_90d", "calls_30d",
          "campaign_sends_90d")


def _agreement(tmp_path, gold_extra: dict):
    columns = {"customer_key": ["a", "b"], **{c: [1, 2] for c in TOTALS}}
    write_deltalake(str(tmp_path / "gold" / "customer_360"),
                    pa.table({**columns, "segments": [["x"], []], **gold_extra}))
    con = duckdb_gold.connect(threads=1)
    con.register("copy", pa.table(columns))
    con.execute("CREATE TABLE dd_customer_360 AS SELECT * FROM copy")
    return duckdb_gold.agreement(con, tmp_path)


def test_a_column_the_copy_does_not_compute_is_named(tmp_path):
    agreement = _agreement(tmp_path, {"loyalty_points": [10, 20]})
    assert agreement["not_computed"] == ["loyalty_points"]
    assert agreement["not_compared"] == ["segments"]
    assert agreement["rows_differing"] == dict.fromkeys(TOTALS, 0)


def test_columns_listed_as_not_compared_are_not_missing(tmp_path):
    assert _agreement(tmp_path, {})["not_computed"] == []
