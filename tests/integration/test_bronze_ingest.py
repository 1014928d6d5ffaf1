"""Bronze ingestion on real Delta tables: exactly once, crash-safe, every record reconciled."""

import datetime as dt
import gzip

import pytest
from pyspark.sql import functions as F

from jobs.bronze import ingest
from jobs.common.errors import PipelineError

CRM_HEADER = "customer_id,first_name,last_name,email,phone,birth_date,street,city,postal_code,country,loyalty_tier,created_at,updated_at"
CRM_ROW = "C{n},Ana,Lopez,ana{n}@x.fr,06 12 34 56 78,1980-01-0{d},1 rue A,Paris,75001,FR,gold,2024-01-01T00:00:00Z,2026-11-0{d}T10:00:00Z"


def _event(n, **extra):
    fields = {"messageId": f"m{n}", "type": "page", "timestamp": "2026-11-20T10:00:00Z", "anonymousId": f"a{n}"}
    fields.update(extra)
    import json

    return json.dumps(fields)


def land(config, source, relative, data: bytes):
    path = config.paths.landing / source / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def table(spark, config, name):
    return spark.read.format("delta").load(str(config.paths.table(name)))


def files_state(spark, config, source):
    return (table(spark, config, "ops.ingested_files").where(F.col("source") == source)
            .where("status = 'committed'").select("file_path", "records", "accepted", "quarantined"))


@pytest.fixture
def events_landing(config):
    good = "\n".join(_event(i) for i in range(1, 6)) + "\n"
    land(config, "events", "2026-11-20/part-0001.jsonl", good.encode())
    bad = "\n".join([_event(6), '{"messageId": "m7", "type"', _event(8, type="click")]) + "\n"
    land(config, "events", "2026-11-20/part-0002.jsonl.gz", gzip.compress(bad.encode(), mtime=0))
    land(config, "events", "2026-11-21/part-0001.jsonl", b"")
    return config


def test_rerun_ingests_nothing_twice(spark, events_landing):
    config = events_landing
    first = ingest.run(spark, config, source="events", run_id="r1")
    assert (first.rows_in, first.rows_out, first.rows_quarantined) == (8, 6, 2)
    second = ingest.run(spark, config, source="events", run_id="r2")
    assert (second.rows_in, second.details["files"]) == (0, 0)
    assert table(spark, config, "bronze.events").count() == 6
    assert table(spark, config, "ops.quarantine").count() == 2
    reasons = {r.line_number: r.reason for r in table(spark, config, "ops.quarantine").collect()}
    assert reasons == {2: "malformed_record", 3: "invalid_value"}


def test_new_file_is_picked_up_alone(spark, events_landing):
    config = events_landing
    ingest.run(spark, config, source="events", run_id="r1")
    land(config, "events", "2026-11-22/part-0001.jsonl", (_event(100) + "\n").encode())
    result = ingest.run(spark, config, source="events", run_id="r2")
    assert (result.rows_in, result.details["files"]) == (1, 1)
    bronze = table(spark, config, "bronze.events")
    assert bronze.count() == 7
    assert bronze.where("message_id = 'm100'").select("_run_id", "_batch_id", "_line_number").first() == ("r2", 2, 1)


@pytest.mark.parametrize("crash_at", ingest.CRASH_POINTS)
def test_a_crash_at_any_point_then_rerun_loses_and_doubles_nothing(spark, events_landing, crash_at):
    config = events_landing
    with pytest.raises(ingest.SimulatedCrash):
        ingest.run(spark, config, source="events", run_id="crashed", crash_at=crash_at)
    resumed = ingest.run(spark, config, source="events", run_id="resumed")
    assert resumed.rows_in == 8
    assert table(spark, config, "bronze.events").count() == 6
    assert table(spark, config, "bronze.events").select("message_id").distinct().count() == 6
    assert table(spark, config, "ops.quarantine").count() == 2
    assert ingest.run(spark, config, source="events", run_id="again").rows_in == 0
    batches = {r.batch_id for r in table(spark, config, "ops.ingested_files").collect()}
    assert batches == {1}


def test_per_file_counts_reconcile_with_the_tables(spark, events_landing):
    config = events_landing
    ingest.run(spark, config, source="events", run_id="r1")
    state = {r.file_path.rsplit("/", 2)[-2] + "/" + r.file_path.rsplit("/", 1)[-1]: (r.records, r.accepted, r.quarantined)
             for r in files_state(spark, config, "events").collect()}
    assert state == {"2026-11-20/part-0001.jsonl": (5, 5, 0), "2026-11-20/part-0002.jsonl.gz": (3, 1, 2),
                     "2026-11-21/part-0001.jsonl": (0, 0, 0)}
    bronze_per_file = {r._source_file: r["count"] for r in table(spark, config, "bronze.events").groupBy("_source_file").count().collect()}
    quarantine_per_file = {r.source_file: r["count"] for r in table(spark, config, "ops.quarantine").groupBy("source_file").count().collect()}
    for row in files_state(spark, config, "events").collect():
        assert row.records == row.accepted + row.quarantined
        assert bronze_per_file.get(row.file_path, 0) == row.accepted
        assert quarantine_per_file.get(row.file_path, 0) == row.quarantined


def test_csv_schema_variations_are_normal_input(spark, config):
    rows = [CRM_ROW.format(n=i, d=i) for i in range(1, 4)]
    land(config, "crm", "2026-11-20/full.csv", ("\n".join([CRM_HEADER, *rows]) + "\n").encode())
    # Reordered columns, an unknown column, a BOM and CRLF line endings, gzip.
    cols = CRM_HEADER.split(",")
    reordered = list(reversed(cols)) + ["vip_note"]
    values = dict(zip(cols, CRM_ROW.format(n=4, d=4).split(","), strict=True))
    line = ",".join(values[c] for c in reversed(cols)) + ",likes window seats"
    body = "\ufeff" + ",".join(reordered) + "\r\n" + line + "\r\n"
    land(config, "crm", "2026-11-21/partial.csv.gz", gzip.compress(body.encode("utf-8"), mtime=0))
    result = ingest.run(spark, config, source="crm", run_id="r1")
    assert (result.rows_in, result.rows_out, result.rows_quarantined) == (4, 4, 0)
    c4 = table(spark, config, "bronze.crm").where("customer_id = 'C4'").first()
    assert (c4.first_name, c4.email, c4.updated_at) == ("Ana", "ana4@x.fr", "2026-11-04T10:00:00Z")
    assert c4._extra == {"vip_note": "likes window seats"}


def test_unreadable_parts_are_quarantined_and_the_run_goes_on(spark, config):
    lines = "".join(_event(i) + "\n" for i in range(1, 3001)).encode()
    packed = gzip.compress(lines, mtime=0)
    land(config, "events", "2026-11-20/cut.jsonl.gz", packed[: len(packed) // 2])
    land(config, "events", "2026-11-20/bytes.jsonl", _event(9001).encode() + b"\n" + b'{"messageId":"\xff"}\n')
    result = ingest.run(spark, config, source="events", run_id="r1")
    quarantine = table(spark, config, "ops.quarantine")
    assert {r.reason for r in quarantine.collect()} == {"truncated_file", "invalid_encoding"}
    cut = quarantine.where("reason = 'truncated_file'").first()
    intact = table(spark, config, "bronze.events").where(F.col("_source_file").endswith("cut.jsonl.gz")).count()
    assert 0 < intact < 3000 and cut.line_number == intact + 1
    assert result.rows_in == result.rows_out + result.rows_quarantined == intact + 1 + 2


def test_logical_date_holds_back_later_folders(spark, events_landing):
    config = events_landing
    result = ingest.run(spark, config, source="events", run_id="d20", logical_date=dt.date(2026, 11, 20))
    assert result.details["files"] == 2
    assert ingest.run(spark, config, source="events", run_id="d21", logical_date=dt.date(2026, 11, 21)).details["files"] == 1


def test_unknown_source_is_a_clear_error(spark, config):
    with pytest.raises(PipelineError, match="unknown source 'loyalty': no loyalty.yaml in .*schemas/landing; "
                                            "known: call_center, campaigns"):
        ingest.run(spark, config, source="loyalty", run_id="r1")


def test_a_table_another_process_created_meanwhile_is_used_not_recreated(spark, config):
    """Parallel ingest tasks race to create ops tables. The loser's session still has the path
    cached as "no table"; here the winner is another writer (delta-rs), outside this JVM."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from jobs.common.contracts import table_schema
    from jobs.common.tables import created_meanwhile, ensure_table, table_exists

    path = str(config.paths.table("ops.job_watermarks"))
    assert not table_exists(spark, path) and not created_meanwhile(path)   # cached: no table
    write_deltalake(path, pa.table({"job": ["other"], "input_table": ["x"], "watermark": [1], "run_id": ["r"],
                                    "recorded_at": pa.array([None], pa.timestamp("us", tz="UTC"))}))
    assert created_meanwhile(path)
    assert ensure_table(spark, config, table_schema("ops.job_watermarks")) == path
    assert spark.read.format("delta").load(path).count() == 1


def test_latest_version_follows_every_writer(spark, tmp_path):
    """Gates record the version they judged, which must not be stale: here the writer is delta-rs,
    outside this JVM."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from jobs.common.tables import latest_version

    path = str(tmp_path / "lake" / "ops" / "things")
    assert latest_version(path) is None
    write_deltalake(path, pa.table({"n": [1]}))
    assert latest_version(path) == 0
    write_deltalake(path, pa.table({"n": [2]}), mode="append")
    assert latest_version(path) == 1
    assert spark.read.format("delta").option("versionAsOf", 1).load(path).count() == 2


def test_a_version_read_keeps_deletions_and_ignores_later_commits(spark, tmp_path):
    """Gates read each table at the version latest_version (delta-rs) gives: Spark's read of it has
    the rows of that version, with a deletion vector applied, and no rows committed later."""
    from jobs.common.tables import latest_version, read_table

    path = str(tmp_path / "lake" / "bronze" / "things")
    (spark.range(0, 60).withColumn("k", F.col("id") % 6).repartition(3).write.format("delta")
     .option("delta.enableDeletionVectors", "true").save(path))
    spark.sql(f"DELETE FROM delta.`{path}` WHERE k = 3")
    log = spark.read.json(f"{path}/_delta_log/00000000000000000001.json")
    assert log.where("add.deletionVector IS NOT NULL").count() > 0   # the delete left the files, marked rows
    version = latest_version(path)
    pinned = read_table(spark, path, version)
    spark.range(60, 70).withColumn("k", F.lit(3).cast("bigint")).write.format("delta").mode("append").save(path)

    assert (version, latest_version(path)) == (1, 2)
    assert pinned.count() == 50 and pinned.where("k = 3").count() == 0
    assert read_table(spark, path).where("k = 3").count() == 10
