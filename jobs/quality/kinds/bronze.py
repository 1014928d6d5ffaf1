"""Batch kinds for bronze tables: they read ingestion's bookkeeping (ops.ingested_files, ops.quarantine)."""

from __future__ import annotations

import datetime as dt

from jobs.quality.kinds.base import Param, SqlKind, sql_ids, sql_str, sql_ts


def committed_files(ctx, columns: str, condition: str = "") -> str:
    """SQL: the files of ctx.bronze's source the run committed (file_path, batch_id, records, columns)."""
    b = ctx.bronze
    return (f"SELECT file_path, batch_id, records, {columns} FROM {ctx.table_ref('ops.ingested_files')} "
            f"/* not {{batch}} */ WHERE source = {sql_str(b.source)} AND status = 'committed' "
            f"AND batch_id IN {sql_ids(b.batch_ids)}" + (f" AND {condition}" if condition else ""))


class Freshness(SqlKind):
    name, layers = "freshness", ("bronze",)
    params = (Param("max_age_hours", "number", True, help="newest landed file's age limit"),)
    summary = "the source's newest landed file is at most `max_age_hours` old (a missing source fails)"

    def oldest_ok(self, spec, ctx) -> dt.datetime:
        return ctx.reference_time - dt.timedelta(hours=float(spec["max_age_hours"]))

    def query(self, spec, ctx):
        # GX wants {batch} in every query; this one reads the bookkeeping table only.
        return (f"SELECT CAST(max(file_modified_at) AS STRING) AS newest_file_modified_at, count(*) AS files "
                f"FROM {ctx.table_ref('ops.ingested_files')} /* not {{batch}} */ "
                f"WHERE source = {sql_str(ctx.bronze.source)} AND status = 'committed' "
                f"HAVING max(file_modified_at) IS NULL OR max(file_modified_at) < {sql_ts(self.oldest_ok(spec, ctx))}")

    def describe(self, spec, ctx):
        return (f"newest landed {ctx.bronze.source} file modified after {self.oldest_ok(spec, ctx):%Y-%m-%d %H:%M} "
                f"UTC ({spec['max_age_hours']} h before {ctx.reference_time:%Y-%m-%d %H:%M})")

    def observed(self, spec, results, sample):
        if not results[0]["result"].get("observed_value"):
            return "newest landed file is recent enough"
        newest = sample[0]["newest_file_modified_at"] if sample else None
        if newest is None:
            return "no landed file of this source has ever been ingested (missing source?)"
        return f"newest landed file was modified at {newest}, more than {spec['max_age_hours']} h before the run"


class BronzeReconciliation(SqlKind):
    name, layers = "bronze_reconciliation", ("bronze",)
    summary = ("per file ingested by the run: records = accepted + quarantined in ops.ingested_files, "
               "and those counts match the rows in the bronze table and in ops.quarantine")

    def query(self, spec, ctx):
        b = ctx.bronze
        ids = sql_ids(b.batch_ids)
        return f"""
            WITH files AS ({committed_files(ctx, "accepted, quarantined")}),
            landed AS (SELECT _source_file AS file_path, _batch_id AS batch_id, count(*) AS n FROM {{batch}}
                GROUP BY _source_file, _batch_id),
            held AS (SELECT source_file AS file_path, batch_id, count(*) AS n
                FROM {ctx.table_ref('ops.quarantine')}
                WHERE stage = {sql_str(ctx.table)} AND batch_id IN {ids} GROUP BY source_file, batch_id)
            SELECT f.file_path, f.batch_id, f.records, f.accepted, coalesce(l.n, 0) AS in_table,
                   f.quarantined, coalesce(h.n, 0) AS in_quarantine
            FROM files f
            LEFT JOIN landed l ON l.file_path = f.file_path AND l.batch_id = f.batch_id
            LEFT JOIN held h ON h.file_path = f.file_path AND h.batch_id = f.batch_id
            WHERE f.records <> f.accepted + f.quarantined OR f.accepted <> coalesce(l.n, 0)
               OR f.quarantined <> coalesce(h.n, 0)"""

    def describe(self, spec, ctx):
        return ("each file ingested by this run: records = accepted + quarantined, accepted = rows in "
                "the table, quarantined = rows in ops.quarantine")

    def observed(self, spec, results, sample):
        n = results[0]["result"].get("observed_value") or 0
        if not n:
            return "every file reconciles"
        files = "; ".join(f"{r['file_path']} (batch {r['batch_id']}): records {r['records']}, "
                          f"accepted {r['accepted']} vs {r['in_table']} in the table, quarantined "
                          f"{r['quarantined']} vs {r['in_quarantine']} in ops.quarantine" for r in sample)
        return f"{n} files do not reconcile: {files}"


class QuarantineShare(SqlKind):
    name, layers = "quarantine_share", ("bronze",)
    params = (Param("max_share", "number", True, help="largest acceptable quarantined/records"),)
    summary = "the share of records the run quarantined stays under `max_share`"

    def query(self, spec, ctx):
        b = ctx.bronze
        return (f"SELECT sum(quarantined) AS quarantined, sum(records) AS records "
                f"FROM {ctx.table_ref('ops.ingested_files')} /* not {{batch}} */ "
                f"WHERE source = {sql_str(b.source)} AND status = 'committed' AND batch_id IN {sql_ids(b.batch_ids)} "
                f"HAVING sum(quarantined) > {float(spec['max_share'])} * sum(records)")

    def describe(self, spec, ctx):
        return f"at most {float(spec['max_share']):.1%} of the records this run read were quarantined"

    def observed(self, spec, results, sample):
        limit = f"{float(spec['max_share']):.1%}"
        if not results[0]["result"].get("observed_value") or not sample:
            return f"quarantined share at most {limit}"
        r = sample[0]
        share = r["quarantined"] / r["records"] if r["records"] else 1.0
        return f"{r['quarantined']} of {r['records']} records quarantined ({share:.1%}), over {limit}"


class FileQuarantineShare(SqlKind):
    name, layers = "file_quarantine_share", ("bronze",)
    params = (Param("max_share", "number", True, help="largest acceptable quarantined/records of one file"),
              Param("min_records", "int", False, 20, "files with fewer records are not judged"))
    summary = ("no file the run ingested had more than `max_share` of its records quarantined "
               "(a broken export: a key column left empty, a changed delimiter)")

    def query(self, spec, ctx):
        return f"""
            WITH files AS ({committed_files(ctx, "quarantined", f"records >= {int(spec['min_records'])} "
                                                         f"AND quarantined > {float(spec['max_share'])} * records")}),
            reasons AS (SELECT q.source_file, q.reason, regexp_replace(q.detail, '=.*$', '') AS detail, count(*) AS n
                FROM {ctx.table_ref('ops.quarantine')} q JOIN files f
                  ON q.source_file = f.file_path AND q.batch_id = f.batch_id
                WHERE q.stage = {sql_str(ctx.table)} GROUP BY 1, 2, 3)
            SELECT f.file_path, f.records, f.quarantined,
                   (SELECT max_by(concat(r.reason, ' (', r.detail, ')'), r.n) FROM reasons r
                    WHERE r.source_file = f.file_path) AS main_reason
            FROM files f ORDER BY f.file_path"""

    def describe(self, spec, ctx):
        return (f"no file of {spec['min_records']} records or more had over "
                f"{float(spec['max_share']):.0%} of them quarantined")

    def observed(self, spec, results, sample):
        n = results[0]["result"].get("observed_value") or 0
        if not n:
            return f"no file over {float(spec['max_share']):.0%} quarantined"
        files = "; ".join(f"{r['file_path']}: {r['quarantined']} of {r['records']} records quarantined, "
                          f"mostly {r['main_reason']}" for r in sample)
        return (f"{n} files mostly quarantined (a broken export? see ops.quarantine for the rows; once "
                f"the source resends the files, land them under new names): {files}")
