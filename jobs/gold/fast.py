"""JVM-free SQL over the lake: delta-rs reads each Delta table, DuckDB runs the query.

    python -m jobs query "SELECT preferred_channel, count(*) FROM gold.customer_360 GROUP BY 1"
    python -m jobs query --format csv "SELECT * FROM gold.campaign_results" > results.csv

Same tables as the Spark shell (`make sql`): gold.* and non-restricted silver.*, under their
<layer>.<entity> names, gated tables at their published version. Starts in well under a second (no Spark session), which suits notebooks
and one-off questions. `deltalake.DeltaTable(path).to_pyarrow_dataset()` registered in DuckDB
(DuckDB's own delta extension would be downloaded at run time; this needs nothing from outside).
"""

from __future__ import annotations

import sys
from pathlib import Path

from jobs.common.errors import PipelineError, first_line
from jobs.gold.access import analyst_tables, refuse_restricted, views_over


def connect(lake: str | Path | None = None):
    """A DuckDB connection with a view per analyst table (timestamps shown in UTC)."""
    import duckdb
    from deltalake import DeltaTable

    if lake is None:
        from jobs.common.config import load_config

        lake = load_config().paths.lake
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    tables = analyst_tables(Path(lake))
    for name, table in tables.items():
        layer, entity = name.split(".")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
        con.register(f"_delta_{layer}_{entity}",
                     DeltaTable(str(table.folder), version=table.version).to_pyarrow_dataset())
        con.execute(f"CREATE OR REPLACE VIEW {layer}.{entity} AS SELECT * FROM _delta_{layer}_{entity}")
    for view, sql in views_over(tables).items():
        con.execute(f"CREATE OR REPLACE VIEW {view} AS {sql}")
    return con


def query(sql: str, lake: str | Path | None = None, con=None):
    """Run one statement; returns a pandas DataFrame. Restricted tables are refused."""
    if lake is None:
        from jobs.common.config import load_config

        lake = load_config().paths.lake
    refuse_restricted(sql, Path(lake))
    con = con or connect(lake)
    return con.execute(sql).df()


def cli(args, config) -> int:
    """`python -m jobs query SQL [--format table|csv|json] [--lake DIR]`."""
    try:
        df = query(args.sql, args.lake or config.paths.lake)
    except PipelineError:
        raise
    except Exception as exc:  # noqa: BLE001 - DuckDB's own errors (syntax, unknown column): one line
        print(f"error: {first_line(exc)}", file=sys.stderr)
        return 2
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(df.to_json(orient="records", date_format="iso"))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", 200, "display.max_columns", 50, "display.width", 200):
            print(df.to_string(index=False))
        print(f"({len(df)} rows)")
    return 0
