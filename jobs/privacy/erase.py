"""Right to erasure: delete people from every layer and make the deletion permanent.

    make erase CUSTOMER=<CRM id|email|phone|customer_key> [ALL=1]
    make erase FILE=<requests file>          one identifier per line, '#' starts a comment

Every request of a batch is resolved first (jobs.privacy.subject); one that names no one, or
several customers without --all, stops the batch before anything changes. Then, in one pass over
the lake for the whole batch:

1. every table whose schema declares `data_subject` (silver, gold, scores, offers) loses each row
   that names one of the people (jobs.privacy.matching.rows_naming); a table under
   write-audit-publish is first brought back to its published version, and the erased version is
   published, so analysts see it and nothing unpublished is published by the way;
2. every bronze table loses the records its source's conform step attributes to the people's
   identity nodes; ops.quarantine loses the raw lines that quote them; a gate's observed sample
   that quotes them is redacted;
3. each table changed is vacuumed with no retention: the files of the versions that held the people
   are deleted, so those versions can no longer be read (time travel on these tables restarts at
   the erasure). Tables keep no text statistics in their log (jobs.common.tables.statistics_properties)
   and the deletes are joins, so the log names no one;
4. access exports naming the people are deleted from paths.restricted;
5. ops.privacy_requests records the request without personal data, and the report names every
   landed file that still holds the people: landing files are the sources' exports, kept immutable
   here; their owners purge them.

Run it when no pipeline job is writing: a vacuum with no retention deletes the files a running
writer has not committed yet.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from jobs.common.config import Config
from jobs.common.contracts import TableSchema, bronze_schema, table_schema
from jobs.common.privacy import resolve_secret
from jobs.common.tables import (
    latest_version,
    merge_counts,
    read_table,
    session_setting,
    table_exists,
)
from jobs.privacy import audit
from jobs.privacy.export import new_request_id, subject_tables
from jobs.privacy.matching import (
    VALUE,
    bronze_lines,
    delete_condition,
    fingerprint,
    identifier_texts,
    quoted_values,
    rows_naming,
    rows_quoting,
    values_for,
)
from jobs.privacy.subject import RequestError, Subject, find_subjects

log = logging.getLogger(__name__)

QUARANTINE = "ops.quarantine"
QUALITY_RESULTS = "ops.quality_results"
PII = "silver.customer_pii"
BRONZE_LINEAGE = ("_source_file", "_line_number")
ERASE_GATE = "privacy_erase"   # how ops.published_versions names the erasure's publications
_RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"


@dataclass(frozen=True)
class Request:
    identifier: str
    where: str   # "--customer" or "<file>:<line>", for messages


@dataclass
class Outcome:
    """What an erasure did: rows deleted and version left per table, landed files still holding
    the people."""

    rows: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    landed_files: set[str] = field(default_factory=set)
    exports_deleted: int = 0

    def changed(self, table: str, rows: int, version: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows
        self.versions[table] = version


def read_requests(path: Path) -> list[Request]:
    """A requests file: one identifier per line; blank lines and '#' comments are skipped."""
    path = Path(path)
    if not path.is_file():
        raise RequestError(f"requests file {path} not found; give one identifier per line (FILE=<path>)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise RequestError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8, one identifier "
                           "per line") from None
    requests = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if not text:
            continue
        if any(ch in text for ch in ",;\t"):
            raise RequestError(f"{path}:{number}: '{text}' holds a separator; put one identifier per line")
        requests.append(Request(text, f"{path}:{number}"))
    if not requests:
        raise RequestError(f"{path}: no identifier in it; put one identifier per line")
    return requests


def resolve(spark: SparkSession, config: Config, requests: list[Request], kind: str | None,
            allow_several: bool) -> Subject:
    """Every request's people as one subject; a request that cannot be carried out stops the batch,
    naming where it came from, before anything changes."""
    try:
        subjects = find_subjects(spark, config, [r.identifier for r in requests], kind, allow_several)
    except RequestError as exc:
        where = requests[exc.index].where if exc.index is not None else "request"
        raise RequestError(f"{where}: {exc}; nothing was erased") from None
    kinds = {s.identifier_kind for s in subjects}
    return Subject(identifier_kind=kinds.pop() if len(kinds) == 1 else "mixed",
                   keys=tuple(sorted({k for s in subjects for k in s.keys})),
                   nodes=tuple(sorted({n for s in subjects for n in s.nodes})))


def _values(spark: SparkSession, values) -> DataFrame:
    return spark.createDataFrame([(v,) for v in values], f"{VALUE} string")


def _path(config: Config, table: str) -> str:
    return str(config.paths.table(table))


def _delete_matching(spark, path: str, source: DataFrame, condition) -> int:
    from delta.tables import DeltaTable

    return merge_counts(DeltaTable.forPath(spark, path).alias("t").merge(source.alias("s"), condition)
                        .whenMatchedDelete().execute())["deleted"]


def _delete_named(spark, path: str, declared, values: DataFrame) -> int:
    """Delete the rows naming any of `values` in the table's declared columns."""
    table = read_table(spark, path)
    condition = delete_condition(declared, table.columns)
    source = values if isinstance(condition, str) else (
        rows_naming(table, declared, values).select(fingerprint(table.columns).alias("_fingerprint")).distinct())
    return _delete_matching(spark, path, source, condition)


def clear_identifiers(spark: SparkSession, config: Config, subject: Subject) -> tuple[set[str], set[str]]:
    """(emails, phones) in clear from the people's restricted profiles: what raw text quotes."""
    path = _path(config, PII)
    if not table_exists(spark, path):
        return set(), set()
    rows = (read_table(spark, path)
            .join(F.broadcast(_values(spark, subject.keys).withColumnRenamed(VALUE, "customer_key")), "customer_key")
            .select("email", "phone").collect())
    return {r["email"] for r in rows if r["email"]}, {r["phone"] for r in rows if r["phone"]}


def via_values(spark: SparkSession, config: Config, schemas: list[TableSchema], subject: Subject) -> dict:
    """{(table, column): ids of the people's rows in it}, for the tables whose rows belong to
    another's (an order's items): read before the parent rows go."""
    out = {}
    for schema in schemas:
        via = schema.data_subject.via
        if via is None or via in out:
            continue
        parent, column = via
        path = _path(config, parent)
        if not table_exists(spark, path):
            out[via] = []
            continue
        declared = table_schema(parent).data_subject
        values = _values(spark, values_for(declared, subject.keys, subject.nodes))
        ids = rows_naming(read_table(spark, path), declared, values).select(column).distinct()
        out[via] = [r[0] for r in ids.collect() if r[0] is not None]
    return out


def erase_declared(spark: SparkSession, config: Config, subject: Subject, outcome: Outcome) -> None:
    from jobs.common.publication import reset_to_published
    from jobs.registry import JOBS, PUBLISHED_TABLES

    schemas = subject_tables()
    parents = via_values(spark, config, schemas, subject)
    for schema in schemas:
        path = _path(config, schema.table)
        if not table_exists(spark, path):
            continue
        declared = schema.data_subject
        values = values_for(declared, subject.keys, subject.nodes, parents.get(declared.via, ()))
        if not values:
            continue
        if schema.table in PUBLISHED_TABLES:
            # Erase from what readers see; an unpublished write is undone as its writer's next run would.
            writer = next(job for job in JOBS if schema.table in job.outputs)
            reset_to_published(spark, config.paths.lake, writer.name, (schema.table,))
        rows = _delete_named(spark, path, declared, _values(spark, values))
        if rows:
            outcome.changed(schema.table, rows, latest_version(path))
        log.info("erase: %s: %d rows", schema.table, rows)


def erase_bronze(spark: SparkSession, config: Config, subject: Subject, quoted: list[str],
                 outcome: Outcome) -> None:
    """Bronze records whose identifiers, conformed as silver conforms them, are the people's; in
    the bronze table of a source with no conform step yet, the records whose text quotes them."""
    from jobs.registry import SILVER_SOURCES, SOURCES
    from jobs.silver.sources import spec_for

    secret = resolve_secret(config.env)
    nodes = _values(spark, subject.nodes)
    for source in SOURCES:
        table = bronze_schema(source).table
        path = _path(config, table)
        if not table_exists(spark, path):
            continue
        bronze = read_table(spark, path)
        if source in SILVER_SOURCES:
            lines = bronze_lines(spec_for(source).conform(bronze, secret), nodes, BRONZE_LINEAGE)
            condition = " AND ".join(f"t.`{c}` = s.`{c}`" for c in BRONZE_LINEAGE)
        else:
            texts = [f.name for f in bronze.schema.fields if isinstance(f.dataType, StringType)]
            lines = rows_quoting(bronze, texts, _values(spark, quoted))
            condition = fingerprint(bronze.columns, "t") == F.col("s._fingerprint")
        lines = lines.cache()
        try:
            files = {r[0] for r in lines.select("_source_file").distinct().collect()}
            rows = _delete_matching(spark, path, lines, condition) if files else 0
        finally:
            lines.unpersist()
        if rows:
            outcome.landed_files |= files
            outcome.changed(table, rows, latest_version(path))
        log.info("erase: %s: %d records from %d landed files", table, rows, len(files))


def erase_quoted(spark: SparkSession, config: Config, values: list[str], request_id: str,
                 outcome: Outcome) -> None:
    """Quarantined lines quoting the people go; a gate's observed sample quoting them is redacted.
    `values`: matching.quoted_values of the people."""
    from delta.tables import DeltaTable

    if not values:
        return
    quoted = _values(spark, values)
    path = _path(config, QUARANTINE)
    if table_exists(spark, path):
        table = read_table(spark, path)
        quoting = rows_quoting(table, ("raw", "detail"), quoted).cache()
        try:
            files = {r[0] for r in quoting.filter(F.col("source_file").isNotNull())
                     .select("source_file").distinct().collect()}
            rows = _delete_matching(spark, path, quoting.select("_fingerprint"),
                                    fingerprint(table.columns, "t") == F.col("s._fingerprint")) \
                if quoting.limit(1).count() else 0
        finally:
            quoting.unpersist()
        if rows:
            outcome.landed_files |= files
            outcome.changed(QUARANTINE, rows, latest_version(path))
        log.info("erase: %s: %d lines", QUARANTINE, rows)
    path = _path(config, QUALITY_RESULTS)
    if table_exists(spark, path):
        table = read_table(spark, path)
        quoting = rows_quoting(table, ("observed_value",), quoted).select("_fingerprint")
        rows = merge_counts(DeltaTable.forPath(spark, path).alias("t")
                            .merge(quoting.alias("s"), fingerprint(table.columns, "t") == F.col("s._fingerprint"))
                            .whenMatchedUpdate(set={"observed_value": F.lit(f"(redacted by privacy request {request_id})")})
                            .execute())["updated"]
        if rows:
            outcome.changed(QUALITY_RESULTS, rows, latest_version(path))
        log.info("erase: %s: %d observed samples redacted", QUALITY_RESULTS, rows)


def make_permanent(spark: SparkSession, config: Config, outcome: Outcome) -> None:
    """Rewrite away deletion vectors, then delete every file no longer in the latest version. The
    vacuum's own commits change no data; the version it leaves is the one recorded and published."""
    from delta.tables import DeltaTable

    with session_setting(spark, _RETENTION_CHECK, "false"):
        for table in sorted(outcome.versions):
            path = _path(config, table)
            properties = dict(DeltaTable.forPath(spark, path).detail().first()["properties"])
            if properties.get("delta.enableDeletionVectors", "false").lower() == "true":
                spark.sql(f"REORG TABLE delta.`{path}` APPLY (PURGE)")
            DeltaTable.forPath(spark, path).vacuum(0.0)
            outcome.versions[table] = latest_version(path)
            log.info("erase: %s vacuumed (no earlier version readable)", table)


def publish_erased(spark: SparkSession, config: Config, outcome: Outcome, request_id: str) -> None:
    from jobs.common.publication import publish
    from jobs.registry import PUBLISHED_TABLES

    erased = {t: v for t, v in outcome.versions.items() if t in PUBLISHED_TABLES}
    if erased:
        publish(spark, config.paths.lake, erased, request_id, ERASE_GATE)


def delete_exports(folder: Path, keys: tuple[str, ...]) -> int:
    """Access exports (paths.restricted/exports) naming any of `keys`."""
    deleted = 0
    for path in sorted((Path(folder) / "exports").glob("*.json")):
        try:
            named = set(json.loads(path.read_text(encoding="utf-8")).get("customer_keys", []))
        except (OSError, ValueError):
            continue
        if named & set(keys):
            path.unlink()
            deleted += 1
    return deleted


def erase(spark: SparkSession, config: Config, requests: list[Request], kind: str | None = None,
          allow_several: bool = False) -> tuple[audit.Record, Outcome]:
    received = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    subject = resolve(spark, config, requests, kind, allow_several)
    request_id = new_request_id(received)
    log.info("erase %s: %d request(s), %d customer(s), %d identifiers", request_id, len(requests),
             len(subject.keys), len(subject.nodes))
    emails, phones = clear_identifiers(spark, config, subject)
    quoted = quoted_values(identifier_texts(subject.keys, subject.nodes, emails), phones)
    outcome = Outcome()
    erase_declared(spark, config, subject, outcome)
    erase_bronze(spark, config, subject, quoted, outcome)
    erase_quoted(spark, config, quoted, request_id, outcome)
    make_permanent(spark, config, outcome)
    publish_erased(spark, config, outcome, request_id)
    outcome.exports_deleted = delete_exports(config.paths.restricted, subject.keys)
    completed = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    record = audit.Record(request_id=request_id, request_type="erasure", identifier_kind=subject.identifier_kind,
                          received_at=received, completed_at=completed, customers=len(subject.keys),
                          table_versions=dict(outcome.versions), table_rows=dict(outcome.rows))
    audit.record(spark, config, record)
    return record, outcome


def cli(args, config: Config) -> int:
    from jobs.common.spark import build_spark

    requests = (read_requests(Path(args.file)) if args.file
                else [Request(args.customer, "--customer")] if args.customer else [])
    if not requests:
        raise RequestError("name the person: --customer <CRM id|email|phone|customer_key>, or --file "
                           "<requests file> with one identifier per line")
    spark = build_spark(config, app_name="customer360-privacy-erase")
    record, outcome = erase(spark, config, requests, args.kind, args.all)
    print(audit.describe(record))
    if outcome.exports_deleted:
        print(f"access exports deleted: {outcome.exports_deleted}")
    if outcome.landed_files:
        print("landed files still holding them (immutable here: ask each source's owner to purge them):")
        for name in sorted(outcome.landed_files):
            print(f"  {name}")
    return 0
