"""Analyst access: which tables analysts may query, and the `python -m jobs sql` shell.

Analysts see gold.* and the silver tables that hold no clear personal data; the gold tables (and
scores) at the version their gate last published, never a version still being judged. Left out:
- tables whose schema says `restricted: true` (silver.customer_pii: names, emails, phones);
- bronze.* and ops.* (landed text as received, quarantined raw records: clear personal data).
A query naming a left-out table (or its folder) is refused. This is a guard against mistakes in
a shared shell, not a security boundary: on a real platform storage permissions or a catalog's
grants enforce it.

    python -m jobs sql                         # interactive: statements end with ';', \\q quits
    python -m jobs sql -e "SELECT segment, count(*) FROM gold.segment_membership GROUP BY 1"
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jobs.common.config import Config
from jobs.common.contracts import SCHEMAS_DIR, declared_tables, table_schema
from jobs.common.errors import PipelineError, first_line
from jobs.common.publication import publications
from jobs.registry import PUBLISHED_TABLES

ANALYST_LAYERS = ("gold", "silver")
MAX_ROWS = 1000

# Views beside the tables: (tables they read, SQL both Spark and DuckDB run). Declared once here;
# the Spark shell and the JVM-free path create each view whose tables exist.
VIEWS = {
    # Each customer's latest score per model: what customer_360 is joined with to act on scores.
    "gold.customer_latest_scores": (("gold.customer_scores",), """
        SELECT s.customer_key, s.model, s.model_version, s.score, s.decile, s.p_alive,
               s.expected_purchases_365d, s.as_of_date, s.scored_at
        FROM gold.customer_scores s
        JOIN (SELECT model, max(as_of_date) AS latest FROM gold.customer_scores GROUP BY model) l
          ON s.model = l.model AND s.as_of_date = l.latest"""),
}


def views_over(tables) -> dict[str, str]:
    """view name -> SQL, for the views whose tables are all among `tables`."""
    return {name: sql for name, (needs, sql) in VIEWS.items() if set(needs) <= set(tables)}


class AccessError(PipelineError):
    """A query asked for a table analysts may not read."""


@cache
def restricted_tables() -> frozenset[str]:
    """Tables declared `restricted: true` in schemas/<layer>/<entity>.yaml."""
    return frozenset(t for t in declared_tables() if table_schema(t).restricted)


def _declared(layer: str, entity: str) -> bool:
    return (SCHEMAS_DIR / layer / f"{entity}.yaml").is_file()


@dataclass(frozen=True)
class AnalystTable:
    folder: Path
    version: int | None    # the published version of a gated table; None: the latest (ungated tables)

    def spark_ref(self) -> str:
        return f"delta.`{self.folder}`" + ("" if self.version is None else f" VERSION AS OF {self.version}")


def analyst_tables(lake: Path) -> dict[str, AnalystTable]:
    """<layer>.<entity> -> where and at which version analysts read it, for every Delta table they
    may read (declared, not restricted). A table a publishing gate guards is read at its published
    version (jobs.common.publication) and is absent until a gate has published it."""
    published = publications(lake)
    out = {}
    for layer in ANALYST_LAYERS:
        folder = Path(lake) / layer
        if not folder.is_dir():
            continue
        for table_dir in sorted(p for p in folder.iterdir() if (p / "_delta_log").is_dir()):
            name = f"{layer}.{table_dir.name}"
            if name in restricted_tables() or not _declared(layer, table_dir.name):
                continue
            if name not in PUBLISHED_TABLES:
                out[name] = AnalystTable(table_dir, None)
            elif name in published:
                out[name] = AnalystTable(table_dir, published[name].version)
    return out


def refuse_restricted(sql: str, lake: Path) -> None:
    """Raise AccessError when the statement names a table or a lake folder analysts may not read."""
    text = sql.lower()
    for name in sorted(restricted_tables()):
        layer, _, entity = name.partition(".")
        if re.search(rf"\b{layer}\s*\.\s*`?{entity}\b", text) or f"{layer}/{entity}" in text:
            raise AccessError(f"{name} is restricted (clear personal data): analysts cannot query it; "
                              "gold.customer_360 holds what analysts need, without direct identifiers")
    for layer in ("bronze", "ops"):
        if re.search(rf"\b{layer}\s*\.\s*`?\w+", text) or str(Path(lake) / layer).lower() in text:
            raise AccessError(f"{layer}.* tables hold data as landed (clear personal data): analysts "
                              f"cannot query them; use gold.* or silver.* tables")


def register_analyst_tables(spark, config: Config) -> list[str]:
    """Register the analyst tables as <layer>.<entity> in the Spark session catalog."""
    names = []
    for name, table in analyst_tables(config.paths.lake).items():
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {name.split('.')[0]}")
        if spark.catalog.tableExists(name) and spark.catalog.getTable(name).tableType != "VIEW":
            spark.sql(f"DROP TABLE {name}")   # an external table registered earlier: only the entry goes
        # A view, not a table: it pins a gated table to its published version.
        spark.sql(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {table.spark_ref()}")
        names.append(name)
    for view, sql in views_over(names).items():
        spark.sql(f"CREATE OR REPLACE VIEW {view} AS {sql}")
        names.append(view)
    return names


def run_statement(spark, config: Config, sql: str, out=None) -> None:
    out = out or sys.stdout
    refuse_restricted(sql, config.paths.lake)
    df = spark.sql(sql)
    if not df.columns:
        return
    rows = df.limit(MAX_ROWS + 1).toPandas()
    import pandas as pd

    with pd.option_context("display.max_rows", MAX_ROWS, "display.max_columns", 50, "display.width", 200,
                           "display.max_colwidth", 60):
        print(rows.head(MAX_ROWS).to_string(index=False), file=out)
    more = f" (first {MAX_ROWS} shown)" if len(rows) > MAX_ROWS else ""
    print(f"({min(len(rows), MAX_ROWS)} rows{more})", file=out)


def shell(spark, config: Config, query: str | None = None) -> int:
    """One statement with -e, else a read-eval-print loop (statements end with ';')."""
    from pyspark.errors import PySparkException

    names = register_analyst_tables(spark, config)
    if query is not None:
        run_statement(spark, config, query)
        return 0
    print(f"customer-360 SQL (Spark). Tables: {', '.join(names) or 'none yet (run the pipeline)'}")
    print("Statements end with ';'. \\q quits.")
    buffer: list[str] = []
    while True:
        try:
            line = input("sql> " if not buffer else "  -> ")
        except EOFError:
            print()
            return 0
        if line.strip() in ("\\q", "quit", "exit") and not buffer:
            return 0
        buffer.append(line)
        text = "\n".join(buffer).strip()
        if not text.endswith(";"):
            continue
        buffer = []
        try:
            run_statement(spark, config, text.rstrip(";"))
        except (PipelineError, PySparkException) as exc:
            print(f"error: {first_line(exc)}")


def cli(args, config: Config) -> int:
    """`python -m jobs sql [-e STATEMENT]`."""
    from jobs.runner import spark_for

    return shell(spark_for(config), config, args.query)
