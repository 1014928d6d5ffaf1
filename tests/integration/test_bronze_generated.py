"""Bronze over generated landing data, scored against the generator's ground truth."""

import csv
import json

import pytest
from pyspark.sql import functions as F

from jobs.bronze import ingest
from jobs.generate import generate
from jobs.generate.contract import GENERATED_SOURCES
from tests.conftest import make_config


@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    config = make_config(root)
    manifest = generate(config.paths.landing, config.paths.truth, scale=3000, seed=11, days=4,
                        bad_record_rate=0.05, progress=None)
    results = {s: ingest.run(spark, config, source=s, run_id="first") for s in GENERATED_SOURCES}
    return config, manifest, results


def _read(spark, config, name):
    return spark.read.format("delta").load(str(config.paths.table(name)))


def _relative(config, path: str) -> str:
    return path.split(str(config.paths.landing) + "/", 1)[1]


def test_every_bad_record_is_quarantined_with_its_expected_reason(spark, generated):
    config, _, _ = generated
    with open(config.paths.truth / "bad_records.csv", newline="") as f:
        expected = {(r["source"], r["file"], int(r["line"]), r["expected_reason"]) for r in csv.DictReader(f)}
    got = {(r.source, _relative(config, r.source_file), r.line_number, r.reason)
           for r in _read(spark, config, "ops.quarantine").collect()}
    assert {e[3] for e in expected} >= {"malformed_record", "missing_required_field", "invalid_timestamp",
                                        "invalid_type", "invalid_value", "invalid_encoding", "truncated_file"}
    assert got == expected


def test_every_landed_file_reconciles_with_the_manifest(spark, generated):
    config, manifest, _ = generated
    state = {_relative(config, r.file_path): r for r in
             _read(spark, config, "ops.ingested_files").where("status = 'committed'").collect()}
    assert set(state) == {f["path"] for f in manifest["files"]}
    for f in manifest["files"]:
        row = state[f["path"]]
        truncated_marker = 1 if f.get("truncated") else 0
        assert row.records == f["records"] + truncated_marker, f["path"]
        assert row.records == row.accepted + row.quarantined, f["path"]
        assert row.quarantined == sum(f["bad"].values()), f["path"]


def test_bronze_holds_exactly_the_accepted_records(spark, generated):
    config, manifest, results = generated
    for source in GENERATED_SOURCES:
        landed = sum(f["records"] for f in manifest["files"] if f["source"] == source)
        bad = sum(sum(f["bad"].values()) for f in manifest["files"] if f["source"] == source)
        truncated = sum(1 for f in manifest["files"] if f["source"] == source and f.get("truncated"))
        bronze = _read(spark, config, f"bronze.{source}").count()
        assert bronze == results[source].rows_out == landed + truncated - bad, source


def test_second_run_leaves_bronze_counts_unchanged(spark, generated):
    config, _, _ = generated
    before = {s: _read(spark, config, f"bronze.{s}").count() for s in GENERATED_SOURCES}
    again = [ingest.run(spark, config, source=s, run_id="second") for s in GENERATED_SOURCES]
    assert [r.rows_in for r in again] == [0] * len(GENERATED_SOURCES)
    assert {s: _read(spark, config, f"bronze.{s}").count() for s in GENERATED_SOURCES} == before


def test_retried_messages_are_kept_as_landed_for_silver_to_collapse(spark, generated):
    config, manifest, _ = generated
    events = _read(spark, config, "bronze.events")
    repeats = events.groupBy("message_id").count().where("count > 1").count()
    assert manifest["sources"]["events"]["retried_lines"] > 0
    assert repeats > 0  # bronze is the record of what landed; dedup is silver's job


def test_unknown_fields_are_kept(spark, generated):
    config, _, _ = generated
    with_extra = _read(spark, config, "bronze.crm").where(F.col("_extra").isNotNull()).count()
    quirks = json.loads((config.paths.truth / "manifest.json").read_text())["specials"]["csv_quirks"]
    assert (with_extra > 0) == any(p.startswith("crm/") for p in quirks.get("extra_column", []))
