"""Batch kinds for what an ingestion run committed, judged once for every source (gate_bronze).

Their batch is the run's rows of ops.ingested_files: one per file, with the counts ingestion
recorded (records = accepted + quarantined). They compare those counts with what the tables hold,
and read the bookkeeping's history for freshness. One query each for all sources: a check per
source and kind would cost a Spark query each, twenty-four of them for six sources, whatever the data size.
"""

from __future__ import annotations

import datetime as dt

from jobs.common.sources import source_names
from jobs.quality.errors import SuiteError
from jobs.quality.kinds.base import Param, SqlKind, sql_ids, sql_str

INGESTED_FILES = ("ops.ingested_files",)


def _values(rows: list[tuple[str, ...]], columns: str) -> str:
    """SQL: an inline table of string rows (a source that ingested nothing still has a row)."""
    if not rows:
        return f"SELECT * FROM VALUES ({', '.join('CAST(NULL AS STRING)' for _ in columns.split(','))}) " \
               f"AS s({columns}) WHERE false"
    return "SELECT * FROM VALUES " + ", ".join("(" + ", ".join(sql_str(v) for v in row) + ")" for row in rows) \
        + f" AS s({columns})"


class Freshness(SqlKind):
    name, tables = "freshness", INGESTED_FILES
    params = (Param("max_age_hours", "number", True, help="newest landed file's age limit"),
              Param("max_age_hours_by_source", "number_map", False, None,
                    "the limit for sources that land less often, e.g. {campaigns: 168}"))
    summary = ("every enabled source's newest landed file is at most `max_age_hours` old "
               "(a source that never landed fails)")

    def limits(self, spec, ctx) -> dict[str, float]:
        """Enabled source -> its age limit in hours."""
        overrides = dict(spec["max_age_hours_by_source"] or {})
        unknown = sorted(set(overrides) - set(source_names()))
        if unknown:
            raise SuiteError(f"{spec.where}: max_age_hours_by_source names unknown source(s) {unknown}; "
                             f"sources: {', '.join(source_names())} (schemas/landing)")
        return {s: float(overrides.get(s, spec["max_age_hours"])) for s in ctx.config.enabled_sources()}

    def query(self, spec, ctx):
        limits = [(s, f"{hours:g}", f"{ctx.reference_time - dt.timedelta(hours=hours):%Y-%m-%d %H:%M:%S}")
                  for s, hours in self.limits(spec, ctx).items()]
        # The newest file may come from an earlier run: the whole bookkeeping table, not {batch}.
        return f"""
            SELECT s.source, s.max_age_hours, CAST(max(f.file_modified_at) AS STRING) AS newest_file_modified_at
            FROM ({_values(limits, 'source, max_age_hours, oldest_ok')}) s
            LEFT JOIN {ctx.table_ref('ops.ingested_files')} f ON f.source = s.source AND f.status = 'committed'
            GROUP BY s.source, s.max_age_hours, s.oldest_ok
            HAVING max(f.file_modified_at) IS NULL OR max(f.file_modified_at) < CAST(s.oldest_ok AS TIMESTAMP)
            ORDER BY s.source"""

    def describe(self, spec, ctx):
        overrides = ", ".join(f"{s} {h:g} h" for s, h in self.limits(spec, ctx).items()
                              if h != float(spec["max_age_hours"]))
        return (f"every enabled source's newest landed file is at most {spec['max_age_hours']} h old"
                + (f" ({overrides})" if overrides else "") + f" at {ctx.reference_time:%Y-%m-%d %H:%M} UTC")

    def observed(self, spec, results, sample):
        if not results[0]["result"].get("observed_value"):
            return "every source's newest landed file is recent enough"
        stale = "; ".join(
            f"{r['source']}: no landed file has ever been ingested (missing source?)"
            if r["newest_file_modified_at"] is None else
            f"{r['source']}: newest landed file was modified at {r['newest_file_modified_at']}, more than "
            f"{r['max_age_hours']} h before the run" for r in sample)
        return f"{results[0]['result']['observed_value']} sources not fresh: {stale}"


class BronzeReconciliation(SqlKind):
    name, tables = "bronze_reconciliation", INGESTED_FILES
    summary = ("per file the run ingested: the accepted and quarantined counts ingestion recorded match "
               "the rows in bronze.<source> and in ops.quarantine")

    def query(self, spec, ctx):
        if ctx.ingested is None:
            raise SuiteError(f"{spec.where}: bronze_reconciliation needs the run's ingestion batches "
                             f"(check(..., ingested=IngestedBatches(...)), as gate_bronze passes them)")
        # The rows of every source first, then one aggregation: one shuffle rather than one per source.
        rows = [f"SELECT {sql_str(source)} AS source, _source_file AS file_path, _batch_id AS batch_id "
                f"FROM {ctx.table_ref('bronze.' + source)} WHERE _batch_id IN {sql_ids(ids)}"
                for source, ids in ctx.ingested.batches.items()
                if ids and ctx.table_exists(f"bronze.{source}")]
        rows_sql = " UNION ALL ".join(rows) or "SELECT '' AS source, '' AS file_path, 0L AS batch_id WHERE false"
        return f"""
            WITH landed AS (SELECT source, file_path, batch_id, count(*) AS n FROM ({rows_sql})
                GROUP BY source, file_path, batch_id),
            held AS (SELECT substring(stage, 8) AS source, source_file AS file_path, batch_id, count(*) AS n
                FROM {ctx.table_ref('ops.quarantine')} WHERE stage LIKE 'bronze.%'
                GROUP BY stage, source_file, batch_id)
            SELECT f.source, f.file_path, f.batch_id, f.records, f.accepted, coalesce(l.n, 0) AS in_table,
                   f.quarantined, coalesce(h.n, 0) AS in_quarantine
            FROM {{batch}} f
            LEFT JOIN landed l ON l.source = f.source AND l.file_path = f.file_path AND l.batch_id = f.batch_id
            LEFT JOIN held h ON h.source = f.source AND h.file_path = f.file_path AND h.batch_id = f.batch_id
            WHERE NOT (f.accepted <=> coalesce(l.n, 0)) OR NOT (f.quarantined <=> coalesce(h.n, 0))
            ORDER BY f.source, f.file_path"""

    def describe(self, spec, ctx):
        return ("each file this run ingested: accepted = its rows in bronze.<source>, quarantined = its "
                "rows in ops.quarantine")

    def observed(self, spec, results, sample):
        n = results[0]["result"].get("observed_value") or 0
        if not n:
            return "every file reconciles"
        files = "; ".join(f"{r['file_path']} (bronze.{r['source']}, batch {r['batch_id']}): records {r['records']}, "
                          f"accepted {r['accepted']} vs {r['in_table']} in the table, quarantined "
                          f"{r['quarantined']} vs {r['in_quarantine']} in ops.quarantine" for r in sample)
        return f"{n} files do not reconcile: {files}"


class QuarantineShare(SqlKind):
    name, tables = "quarantine_share", INGESTED_FILES
    params = (Param("max_share", "number", True, help="largest acceptable quarantined/records of a source"),)
    summary = "per source, the share of the run's records quarantined stays under `max_share`"

    def query(self, spec, ctx):
        return (f"SELECT source, sum(quarantined) AS quarantined, sum(records) AS records FROM {{batch}} "
                f"GROUP BY source HAVING sum(quarantined) > {float(spec['max_share'])} * sum(records) "
                f"ORDER BY source")

    def describe(self, spec, ctx):
        return f"per source, at most {float(spec['max_share']):.1%} of the records this run read were quarantined"

    def observed(self, spec, results, sample):
        limit = f"{float(spec['max_share']):.1%}"
        if not results[0]["result"].get("observed_value"):
            return f"quarantined share at most {limit} for every source"
        shares = "; ".join(f"{r['source']}: {r['quarantined']} of {r['records']} records quarantined "
                           f"({r['quarantined'] / r['records'] if r['records'] else 1.0:.1%})" for r in sample)
        return f"over {limit}: {shares}"


class FileQuarantineShare(SqlKind):
    name, tables = "file_quarantine_share", INGESTED_FILES
    params = (Param("max_share", "number", True, help="largest acceptable quarantined/records of one file"),
              Param("min_records", "int", False, 20, "files with fewer records are not judged"))
    summary = ("no file the run ingested had more than `max_share` of its records quarantined "
               "(a broken export: a key column left empty, a changed delimiter)")

    def query(self, spec, ctx):
        return f"""
            WITH files AS (SELECT source, file_path, batch_id, records, quarantined FROM {{batch}}
                WHERE records >= {int(spec['min_records'])} AND quarantined > {float(spec['max_share'])} * records),
            reasons AS (SELECT q.source_file, q.reason, regexp_replace(q.detail, '=.*$', '') AS detail, count(*) AS n
                FROM {ctx.table_ref('ops.quarantine')} q JOIN files f
                  ON q.source_file = f.file_path AND q.batch_id = f.batch_id AND q.stage = concat('bronze.', f.source)
                GROUP BY 1, 2, 3)
            SELECT f.source, f.file_path, f.records, f.quarantined,
                   (SELECT max_by(concat(r.reason, ' (', r.detail, ')'), r.n) FROM reasons r
                    WHERE r.source_file = f.file_path) AS main_reason
            FROM files f ORDER BY f.source, f.file_path"""

    def describe(self, spec, ctx):
        return (f"no file of {spec['min_records']} records or more had over "
                f"{float(spec['max_share']):.0%} of them quarantined")

    def observed(self, spec, results, sample):
        n = results[0]["result"].get("observed_value") or 0
        if not n:
            return f"no file over {float(spec['max_share']):.0%} quarantined"
        files = "; ".join(f"{r['file_path']} (bronze.{r['source']}): {r['quarantined']} of {r['records']} "
                          f"records quarantined, mostly {r['main_reason']}" for r in sample)
        return (f"{n} files mostly quarantined (a broken export? see ops.quarantine for the rows; once "
                f"the source resends the files, land them under new names): {files}")
