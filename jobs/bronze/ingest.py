"""Bronze ingestion of one source: new landed files -> bronze.<source> + ops.quarantine, exactly once.

Exactly-once protocol, per batch of files (bookkeeping in ops.ingested_files, append-only):
1. claim: append one `claimed` row per file with a new batch id (per source, increasing);
2. write accepted rows to bronze.<source> and rejected ones to ops.quarantine, each as a
   Delta append with txnAppId=ingest_<source>, txnVersion=<batch id>;
3. commit: append one `committed` row per file with its counts.
A crash anywhere leaves either nothing (before 1), or a claimed batch that the next run
finishes first, with the same files and batch id: Delta skips whichever write already
committed, so nothing is lost and nothing doubled.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.bronze import parse
from jobs.bronze.reader import READ_SCHEMA_DDL, arrow_reader
from jobs.common.config import Config
from jobs.common.contracts import bronze_schema, source_contract, table_schema
from jobs.common.errors import JobError
from jobs.common.results import JobResult, utc_now
from jobs.common.sources import get_source
from jobs.common.tables import append_once, ensure_table, spark_schema

log = logging.getLogger(__name__)

DATE_FOLDER = re.compile(r"(?:^|/)(\d{4}-\d{2}-\d{2})(?:/|$)")
TARGET_TEXT_BYTES_PER_TASK = 256 << 20  # text per read task (about 450k JSON lines)
GZIP_EXPANSION = 6  # landed gzip holds about 6x its size in text: weigh it so for balanced tasks
CRASH_POINTS = ("after_claim", "after_bronze_write", "after_quarantine_write")
# Bronze is read by batch (silver's increments): data-skipping statistics on those columns
# only. Min/max of landed text (ids, JSON, paths cut to 32 characters) skips nothing and
# computing them cost a third of the bronze write.
BRONZE_STATS_COLUMNS = "_batch_id,_ingested_at"


class SimulatedCrash(RuntimeError):
    """Raised at a named point when a test asks for it, to prove crash-safety on real tables."""


@dataclass(frozen=True)
class LandedFile:
    path: str
    size: int
    modified_at: object  # datetime or None


def list_landed_files(config: Config, source: str) -> list[LandedFile]:
    """Every file under landing/<source>/ (any depth), skipping hidden and `_`-prefixed names."""
    from pyarrow import fs

    base = str(config.paths.landing / source)
    filesystem, root = (fs.FileSystem.from_uri(base) if "://" in base else (fs.LocalFileSystem(), base))
    info = filesystem.get_file_info(root)
    if info.type == fs.FileType.NotFound:
        log.warning("landing folder %s does not exist: nothing to ingest for %s", base, source)
        return []
    files = []
    for entry in filesystem.get_file_info(fs.FileSelector(root, recursive=True)):
        relative = entry.path[len(root):].lstrip("/")
        if entry.type != fs.FileType.File or any(p.startswith((".", "_")) for p in relative.split("/")):
            continue
        modified = entry.mtime.replace(tzinfo=None) if entry.mtime else None
        files.append(LandedFile(entry.path, entry.size, modified))
    return sorted(files, key=lambda f: f.path)


def landed_by(files: list[LandedFile], landing_root: str, logical_date: dt.date | None) -> list[LandedFile]:
    """Files that had landed by the logical date: those under a YYYY-MM-DD folder later than it
    wait for their own run (so a backfill processes each day's files in that day's run).
    Files outside any date folder are always due."""
    if logical_date is None:
        return files
    due = []
    for f in files:
        match = DATE_FOLDER.search(f.path[len(landing_root):])
        if match is None or dt.date.fromisoformat(match.group(1)) <= logical_date:
            due.append(f)
    return due


def bookkeeping_state(spark: SparkSession, files_path: str, source: str) -> tuple[set[str], dict[int, list[str]], int]:
    """(committed files, claimed-but-unfinished batches -> files, last batch id) for one source."""
    rows = (spark.read.format("delta").load(files_path).where(F.col("source") == source)
            .groupBy("file_path", "batch_id")
            .agg(F.max(F.when(F.col("status") == "committed", 1).otherwise(0)).alias("done"))
            .collect())
    committed = {r.file_path for r in rows if r.done}
    unfinished: dict[int, list[str]] = {}
    for r in rows:
        if not r.done and r.file_path not in committed:
            unfinished.setdefault(r.batch_id, []).append(r.file_path)
    last = max((r.batch_id for r in rows), default=0)
    return committed, {b: sorted(f) for b, f in unfinished.items()}, last


def text_bytes(f: LandedFile) -> int:
    """Estimated text a file holds: what a read task's time is proportional to."""
    return max(f.size, 1) * (GZIP_EXPANSION if f.path.endswith(".gz") else 1)


def limit_bronze_stats(spark: SparkSession, path: str) -> None:
    """Set the bronze table's statistics columns once (a metadata commit), then never again."""
    key, table = "delta.dataSkippingStatsColumns", f"delta.`{path.replace('`', '``')}`"
    properties = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}
    if properties.get(key) != BRONZE_STATS_COLUMNS:
        spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('{key}' = '{BRONZE_STATS_COLUMNS}')")


def pack_files(files: list[LandedFile], slots: int) -> list[list[str]]:
    """Greedy bin-packing by estimated text: few balanced tasks (and few Parquet files)."""
    bins: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(1, min(slots, len(files))))]
    for f in sorted(files, key=lambda f: (-text_bytes(f), f.path)):
        size, paths = min(bins, key=lambda b: b[0])
        bins.remove((size, paths))
        bins.append((size + text_bytes(f), paths + [f.path]))
    return [sorted(paths) for _, paths in bins if paths]


def read_records(spark: SparkSession, files: list[LandedFile], fmt: str, lines_per_batch: int) -> DataFrame:
    """One task per bin of files; each task streams its files one after the other. The number
    of tasks is a multiple of the parallelism, so the last wave does not run on one core."""
    parallelism = spark.sparkContext.defaultParallelism
    needed = -(-sum(text_bytes(f) for f in files) // TARGET_TEXT_BYTES_PER_TASK)
    groups = pack_files(files, -(-max(needed, 1) // parallelism) * parallelism)
    rows = [(paths,) for paths in groups]
    frame = spark.sparkContext.parallelize(rows, len(rows)).toDF("paths array<string>")
    return frame.mapInArrow(arrow_reader(fmt, lines_per_batch), READ_SCHEMA_DDL)


def _bookkeeping_rows(spark, source, batch_id, files: list[LandedFile], run_id, status, counts=None):
    """One ops.ingested_files row per file: `claimed` (no counts yet) or `committed` (with counts)."""
    now = utc_now()
    counts = counts or {}
    rows = []
    for f in files:
        c = counts.get(f.path, (0, 0, 0)) if status == "committed" else (None, None, None)
        rows.append((source, f.path, f.size, f.modified_at, batch_id, status, *c, run_id, now))
    return spark.createDataFrame(rows, spark_schema(table_schema("ops.ingested_files")))


def _process_batch(spark, config, source, batch_id, files: list[LandedFile], run_id, paths,
                   crash_at: str | None) -> dict[str, tuple[int, int, int]]:
    contract = source_contract(source)
    ingested_at = utc_now()
    validated = (read_records(spark, files, contract.format, config.bronze.lines_per_arrow_batch)
                 .transform(parse.with_fields(contract))
                 .transform(parse.validate(contract))
                 .transform(parse.to_bronze_columns(contract)))
    # Read, parsed and validated once, kept as rows for the bronze write, the quarantine write
    # and the counts. A local checkpoint (plain rows, filled by the first write) costs a fraction
    # of a columnar cache; it also stops Spark from pushing each write's filter into the parse,
    # which would repeat from_json for every field the filter touches.
    # Spark's cleaner frees the checkpoint's blocks once `records` is unreferenced (this return).
    records = validated.localCheckpoint(eager=False)
    append_once(parse.accepted_rows(records, batch_id, run_id, ingested_at), paths["bronze"],
                f"ingest_{source}", batch_id)
    if crash_at == "after_bronze_write":
        raise SimulatedCrash(crash_at)
    append_once(parse.quarantined_rows(records, source, batch_id, run_id, ingested_at),
                paths["quarantine"], f"ingest_{source}", batch_id)
    if crash_at == "after_quarantine_write":
        raise SimulatedCrash(crash_at)
    counts = {r["_source_file"]: (r["records"], r["accepted"], r["quarantined"])
              for r in parse.counts_per_file(records).collect()}
    return counts


def run(spark: SparkSession, config: Config, *, source: str, run_id: str,
        logical_date: dt.date | None = None, crash_at: str | None = None,
        full_rebuild: bool = False) -> JobResult:
    get_source(source)   # an unknown name stops here, with the sources declared
    if crash_at is not None and crash_at not in CRASH_POINTS:
        raise JobError(f"crash_at must be one of {CRASH_POINTS}")
    started = time.monotonic()
    result = JobResult(job=f"ingest_{source}")
    paths = {
        "bronze": ensure_table(spark, config, bronze_schema(source)),
        "quarantine": ensure_table(spark, config, table_schema("ops.quarantine")),
        "files": ensure_table(spark, config, table_schema("ops.ingested_files")),
    }
    limit_bronze_stats(spark, paths["bronze"])
    listed = list_landed_files(config, source)
    landed = {f.path: f for f in landed_by(listed, str(config.paths.landing), logical_date)}
    committed, unfinished, last_batch = bookkeeping_state(spark, paths["files"], source)

    # Finish interrupted batches first, with their original files and batch ids.
    plan: list[tuple[int, list[LandedFile], bool]] = []
    for batch_id, batch_paths in sorted(unfinished.items()):
        files = [landed.get(p) or LandedFile(p, 0, None) for p in batch_paths]
        plan.append((batch_id, files, True))
    claimed = {p for ps in unfinished.values() for p in ps}
    new = [f for p, f in landed.items() if p not in committed and p not in claimed]
    size = config.bronze.max_files_per_batch
    for i in range(0, len(new), size):
        last_batch += 1
        plan.append((last_batch, new[i:i + size], False))

    if not plan:
        log.info("ingest_%s: no new files (%d already ingested)", source, len(committed))
    for n, (batch_id, files, resumed) in enumerate(plan, start=1):
        t0 = time.monotonic()
        if not resumed:
            append_once(_bookkeeping_rows(spark, source, batch_id, files, run_id, "claimed"),
                        paths["files"], f"claim_{source}", batch_id)
        if crash_at == "after_claim":
            raise SimulatedCrash(crash_at)
        counts = _process_batch(spark, config, source, batch_id, files, run_id, paths, crash_at)
        append_once(_bookkeeping_rows(spark, source, batch_id, files, run_id, "committed", counts),
                    paths["files"], f"commit_{source}", batch_id)
        records = sum(c[0] for c in counts.values())
        accepted = sum(c[1] for c in counts.values())
        quarantined = sum(c[2] for c in counts.values())
        result.rows_in += records
        result.rows_out += accepted
        result.rows_quarantined += quarantined
        log.info("ingest_%s: batch %d (%d/%d%s): %d files, %d records, %d accepted, %d quarantined, %.1fs",
                 source, batch_id, n, len(plan), ", resumed" if resumed else "", len(files),
                 records, accepted, quarantined, time.monotonic() - t0)
    result.seconds = time.monotonic() - started
    result.details = {"files": sum(len(f) for _, f, _ in plan), "batches": len(plan)}
    return result
