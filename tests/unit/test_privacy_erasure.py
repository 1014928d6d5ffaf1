"""Erasure's parts on tiny inputs: which rows name the people, which quoted text mentions them, what
a requests file may hold, and that the Delta log keeps no trace of whom a deletion was about."""

import datetime as dt

import pytest

from jobs.common.contracts import Column, DataSubject, TableSchema, table_schema
from jobs.common.tables import ensure_table, read_table, spark_schema, statistics_properties
from jobs.privacy.erase import (
    QUALITY_RESULTS,
    QUARANTINE,
    Outcome,
    _delete_named,
    erase_quoted,
    read_requests,
)
from jobs.privacy.matching import (
    VALUE,
    bronze_lines,
    delete_condition,
    identifier_texts,
    quoted_values,
    rows_quoting,
    values_for,
)
from jobs.privacy.subject import RequestError
from tests.conftest import make_config

LINEAGE = ("_source_file", "_line_number")


def _quoting(spark, values, texts):
    # A map column as bronze's _extra: rows are deduplicated without comparing it.
    df = spark.createDataFrame([(t, {"x": "1"}) for t in texts], "text string, extra map<string,string>")
    found = rows_quoting(df, ("text",), spark.createDataFrame([(v,) for v in values], f"{VALUE} string"))
    return sorted(r[0] for r in found.collect())


def test_quoted_identifiers_are_found_whole_and_phones_however_spaced(spark):
    values = quoted_values({"C0001234", "Jean.Dupont@gmail.com", "ck_0a1b"}, {"+33612345678"})
    texts = ['{"customer_id":"C0001234"}', "C00012345,x", "JEAN.DUPONT@GMAIL.COM;", "xjean.dupont@gmail.com",
             "mail jean.dupont@gmail.com.", "tel 06 12 34 56 78", "+33 6 12 34 56 789", "key=ck_0a1b", "ck_0a1bc",
             "order 12345678", None, "key=ck_0a1b"]   # the last twice: one row out
    assert _quoting(spark, values, texts) == sorted(['{"customer_id":"C0001234"}', "JEAN.DUPONT@GMAIL.COM;",
                                                     "key=ck_0a1b", "mail jean.dupont@gmail.com.",
                                                     "tel 06 12 34 56 78"])
    assert quoted_values(set(), ("123",)) == []


def test_identifier_texts_hold_nodes_whole_and_by_value():
    texts = identifier_texts({"ck_1"}, {"email:9f86d0", "customer_id:C1"}, {"a@b.fr"})
    assert texts == {"ck_1", "email:9f86d0", "9f86d0", "customer_id:C1", "C1", "a@b.fr"}


def test_rows_naming_the_person_in_any_declared_column_go_and_the_log_never_names_them(spark, tmp_path):
    declared = DataSubject(keys=("customer_key",), nodes=("left_node", "right_node"))
    path = str(tmp_path / "links")
    rows = [("ck_gone", "email:h1", "phone:h2", {"k": "v"}),   # their own row, naming them twice
            (None, "customer_id:C9", "email:h1", None),      # a link between them and someone else
            ("ck_kept", "customer_id:C9", "email:h3", None),
            (None, "email:shared", "customer_id:C9", {"k": "v"})]
    spark.createDataFrame(rows, "customer_key string, left_node string, right_node string, "
                                "extra map<string,string>").write.format("delta").save(path)
    values = spark.createDataFrame([(v,) for v in values_for(declared, {"ck_gone"}, {"email:h1", "phone:h2"})],
                                   f"{VALUE} string")
    assert _delete_named(spark, path, declared, values) == 2
    assert sorted(r[0] for r in read_table(spark, path).select("left_node").collect()) == [
        "customer_id:C9", "email:shared"]
    merge = (tmp_path / "links" / "_delta_log" / f"{1:020d}.json").read_text().splitlines()
    commit = next(line for line in merge if line.startswith('{"commitInfo"'))
    assert '"MERGE"' in commit and not {"ck_gone", "email:h1", "phone:h2"} & set(commit.replace('"', " ").split())
    assert "ck_gone" not in commit and "h1" not in commit


def test_a_via_table_is_matched_by_its_parents_ids_only():
    declared = DataSubject(via=("silver.orders", "order_id"))
    assert values_for(declared, {"ck_1"}, {"email:h"}, ["o2", "o1", "o2"]) == ["o1", "o2"]
    assert delete_condition(declared, ["order_id", "sku"]) == "t.`order_id` = s.`value`"


def test_bronze_lines_are_the_records_whose_conformed_nodes_are_theirs(spark):
    conformed = spark.createDataFrame(
        [("f1", 1, "customer_id:C1", None), ("f1", 2, "customer_id:C2", "email:h1"),
         ("f2", 7, "customer_id:C3", "email:h9"), ("f2", 8, None, None)],
        "_source_file string, _line_number bigint, identity_node string, email_node string")
    nodes = spark.createDataFrame([("customer_id:C1",), ("email:h1",)], f"{VALUE} string")
    assert sorted(tuple(r) for r in bronze_lines(conformed, nodes, LINEAGE).collect()) == [("f1", 1), ("f1", 2)]


def test_quoted_text_goes_from_quarantine_and_is_redacted_from_gate_samples(spark, tmp_path):
    config = make_config(tmp_path)
    now = dt.datetime(2026, 12, 1)
    quarantine = ensure_table(spark, config, table_schema(QUARANTINE))
    spark.createDataFrame([
        ("bronze.crm", "crm", "/landing/crm/a.csv", 3, "C0001234,Jean,jean@x.fr,not-a-date", "invalid_timestamp",
         "created_at", 1, "r1", now),
        ("bronze.crm", "crm", "/landing/crm/a.csv", 4, "C0009999,Ann,ann@x.fr,not-a-date", "invalid_timestamp",
         "created_at", 1, "r1", now),
    ], spark_schema(table_schema(QUARANTINE))).write.format("delta").mode("append").save(quarantine)
    results = ensure_table(spark, config, table_schema(QUALITY_RESULTS))
    spark.createDataFrame([
        ("r1", "silver.crm_records", 1, "silver", "email_valid", "regex", "warn", False, "warned",
         "2 rows, e.g. JEAN@X.FR", 2, 10, now),
        ("r1", "silver.crm_records", 1, "silver", "rows", "row_count", "fail", True, "passed", "10 rows", None, 10, now),
    ], spark_schema(table_schema(QUALITY_RESULTS))).write.format("delta").mode("append").save(results)

    outcome = Outcome()
    erase_quoted(spark, config, quoted_values({"C0001234", "jean@x.fr"}), "pr_test", outcome)
    assert [r.line_number for r in read_table(spark, quarantine).collect()] == [4]
    assert sorted(r.observed_value for r in read_table(spark, results).collect()) == [
        "(redacted by privacy request pr_test)", "10 rows"]
    assert outcome.rows == {QUARANTINE: 1, QUALITY_RESULTS: 1}
    assert outcome.landed_files == {"/landing/crm/a.csv"}


def test_requests_file_one_identifier_per_line(tmp_path):
    path = tmp_path / "requests.txt"
    path.write_text("# from the DPO's queue\nC0001234\n\n  jean@x.fr  # by email\n", encoding="utf-8")
    assert [(r.identifier, r.where) for r in read_requests(path)] == [
        ("C0001234", f"{path}:2"), ("jean@x.fr", f"{path}:4")]
    with pytest.raises(RequestError, match="not found"):
        read_requests(tmp_path / "missing.txt")
    path.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(RequestError, match="no identifier in it"):
        read_requests(path)
    path.write_bytes(b"C1\n\xff\xfe\n")
    with pytest.raises(RequestError, match="not UTF-8"):
        read_requests(path)


def test_delta_keeps_statistics_only_for_non_text_columns():
    def schema(*types):
        return TableSchema("x.y", "", tuple(Column(f"c{i}", t, True, "d") for i, t in enumerate(types)))

    assert statistics_properties(schema("string", "bigint", "timestamp", "decimal(12,2)", "boolean",
                                        "array<string>")) == {"delta.dataSkippingStatsColumns": "c1,c2,c3"}
    assert statistics_properties(schema("string", "map<string,string>")) == {"delta.dataSkippingNumIndexedCols": "0"}
