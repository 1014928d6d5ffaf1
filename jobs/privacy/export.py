"""Right of access: everything the lake holds about one person, in clear, as one JSON document.

`make export CUSTOMER=<id>` (python -m jobs export). Every table whose schema declares how a row
names a person (`data_subject`) is read at its latest version; the rows that are the person's
alone go into the document (jobs.privacy.subject.owned_rows), so a family mailbox or a switchboard
shared with others brings none of the others' rows. The document is written under
paths.restricted (owner-only), and the request is recorded in ops.privacy_requests without any
personal data.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import os
import secrets
from pathlib import Path

from pyspark.sql import SparkSession

from jobs.common.config import Config
from jobs.common.contracts import TableSchema, declared_tables, table_schema
from jobs.common.tables import latest_version, read_table
from jobs.privacy import audit
from jobs.privacy.subject import Subject, find_subject, owned_rows

log = logging.getLogger(__name__)


def new_request_id(now: dt.datetime) -> str:
    return f"pr_{now:%Y%m%dT%H%M%SZ}_{secrets.token_hex(4)}"


def subject_tables() -> list[TableSchema]:
    """Every declared table whose rows name a person, a table read `via` another after that one."""
    schemas = [table_schema(t) for t in declared_tables()]
    named = [s for s in schemas if s.data_subject is not None]
    return sorted(named, key=lambda s: (s.data_subject.via is not None, s.table))


def _json_value(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def collect(spark: SparkSession, config: Config, subject: Subject) -> tuple[dict, dict[str, int]]:
    """({table: rows of the subject}, {table: version read}) over every table that names people;
    a table not in the lake (scores before any training) is left out."""
    tables: dict[str, list[dict]] = {}
    versions: dict[str, int] = {}
    for schema in subject_tables():
        path = config.paths.table(schema.table)
        version = latest_version(str(path))
        if version is None:
            continue
        declared = schema.data_subject
        via_values: tuple[str, ...] = ()
        if declared.via is not None:
            via_table, column = declared.via
            via_values = tuple(sorted({r[column] for r in tables.get(via_table, []) if r.get(column)}))
        df = read_table(spark, str(path), version)
        rows = [r.asDict(recursive=True) for r in owned_rows(df, declared, subject, via_values).collect()]
        tables[schema.table] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=_json_value))
        versions[schema.table] = version
        log.info("export: %s v%d: %d rows", schema.table, version, len(rows))
    return tables, versions


def document(request_id: str, subject: Subject, tables: dict, versions: dict[str, int],
             created_at: dt.datetime) -> dict:
    return {
        "request_id": request_id,
        "created_at": created_at.isoformat(),
        "identified_by": subject.identifier_kind,
        "customer_keys": list(subject.keys),
        "identifiers": list(subject.nodes),
        "tables": {name: {"version": versions[name], "rows": rows} for name, rows in tables.items()},
    }


def write_document(folder: Path, request_id: str, doc: dict) -> Path:
    """<folder>/exports/<request_id>.json, readable by its owner only (it holds clear personal data)."""
    out = Path(folder) / "exports"
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    path = out / f"{request_id}.json"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1, default=_json_value)
    tmp.replace(path)
    return path


def export(spark: SparkSession, config: Config, identifier: str, kind: str | None = None,
           allow_several: bool = False) -> tuple[Path, dict]:
    """Write the access document of the person `identifier` names; (its path, the audit record)."""
    received = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    subject = find_subject(spark, config, identifier, kind, allow_several)
    request_id = new_request_id(received)
    tables, versions = collect(spark, config, subject)
    completed = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    path = write_document(config.paths.restricted, request_id,
                          document(request_id, subject, tables, versions, completed))
    record = audit.Record(request_id=request_id, request_type="access",
                          identifier_kind=subject.identifier_kind, received_at=received,
                          completed_at=completed, customers=len(subject.keys),
                          table_versions=versions,
                          table_rows={name: len(rows) for name, rows in tables.items()})
    audit.record(spark, config, record)
    return path, record


def cli(args, config: Config) -> int:
    from jobs.common.spark import build_spark

    spark = build_spark(config, app_name="customer360-privacy-export")
    path, record = export(spark, config, args.customer, args.kind, args.all)
    print(audit.describe(record))
    print(f"export: {path} (clear personal data: hand it to the person, then delete it)")
    return 0
