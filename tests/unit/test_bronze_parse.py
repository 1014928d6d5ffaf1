"""Contract validation of bronze records: each bad kind gets its reason, good rows keep landed text."""

from chispa import assert_df_equality

from jobs.bronze import parse
from jobs.bronze.reader import READ_SCHEMA_DDL
from jobs.common.contracts import source_contract

EVENTS = source_contract("events")
ORDERS = source_contract("orders")
CALLS = source_contract("call_center")


def _records(spark, rows):
    """Reader-shaped frame: (file, line, raw, fields, read_error, read_detail)."""
    return spark.createDataFrame(rows, READ_SCHEMA_DDL)


def _verdicts(spark, contract, rows):
    df = (_records(spark, rows).transform(parse.with_fields(contract))
          .transform(parse.validate(contract)))
    return {r["_line_number"]: r[parse.REASON] for r in df.collect()}


def _json_rows(lines):
    return [("f.jsonl", i, line, None, None, None) for i, line in enumerate(lines, start=1)]


def test_each_bad_event_kind_gets_its_reason(spark):
    good = '{"messageId":"m1","type":"track","timestamp":"2026-11-21T10:00:00+01:00","userId":"C1"}'
    lines = [
        good,
        '{"messageId":"m2","type":"track"',                                           # cut in half
        '["not", "an", "object"]',
        '{"type":"page","timestamp":"2026-11-21T10:00:00Z","anonymousId":"a"}',      # no messageId
        '{"messageId":"m5","type":"page","timestamp":"2026-11-21T10:00:00Z"}',       # no user/anon id
        '{"messageId":"m6","type":"page","timestamp":"21/11/2026 10:00","anonymousId":"a"}',
        '{"messageId":"m7","type":"click","timestamp":"2026-11-21","anonymousId":"a"}',
        '{"messageId":"m8","type":"page","timestamp":"2026-11-21","anonymousId":"a","properties":"x"}',
        '{"messageId":"m9","type":"page","timestamp":"2026-11-21 10:00:00","anonymousId":"a"}',
    ]
    rows = _json_rows(lines) + [("f.jsonl", 10, '{"b":"\\xff"}', None, "invalid_encoding", "bad bytes")]
    assert _verdicts(spark, EVENTS, rows) == {
        1: None, 2: "malformed_record", 3: "malformed_record", 4: "missing_required_field",
        5: "missing_required_field", 6: "invalid_timestamp", 7: "invalid_value", 8: "invalid_type",
        9: None, 10: "invalid_encoding",
    }


def test_order_amounts_items_and_enums_are_checked(spark):
    base = '"order_id":"o{n}","customer_id":"C1","ordered_at":"2026-11-21T10:00:00Z"'
    lines = [
        '{%s,"status":"completed","total_amount":12.5,"items":[{"sku":"F1","quantity":1,"unit_price":12.5}]}',
        '{%s,"status":"completed","total_amount":"abc","items":[]}',
        '{%s,"status":"completed","total_amount":1,"items":{"sku":"F1"}}',
        '{%s,"status":"completed","total_amount":1,"items":[{"sku":"F1","quantity":"two"}]}',
        '{%s,"status":"lost","total_amount":1,"items":[]}',
        '{"order_id":"o6","ordered_at":"2026-11-21T10:00:00Z","status":"completed"}',
    ]
    lines = [line.replace("%s", base.format(n=i)) for i, line in enumerate(lines)]
    assert _verdicts(spark, ORDERS, _json_rows(lines)) == {
        1: None, 2: "invalid_type", 3: "invalid_type", 4: "invalid_type", 5: "invalid_value",
        6: "missing_required_field"}


def test_csv_csat_range_and_required_fields(spark):
    def row(line, **fields):
        base = {"call_id": f"k{line}", "started_at": "2026-11-21T09:00:00Z"}
        base.update(fields)
        return ("c.csv", line, "raw", base, None, None)

    rows = [row(2, csat="5"), row(3, csat="9"), row(4, csat="x"), row(5, call_id=None),
            ("c.csv", 6, "1,2", None, "malformed_record", "2 fields where the header has 10")]
    assert _verdicts(spark, CALLS, rows) == {
        2: None, 3: "invalid_value", 4: "invalid_type", 5: "missing_required_field", 6: "malformed_record"}


def test_bronze_columns_keep_landed_text_and_unknown_fields(spark):
    line = ('{"messageId":"m1","type":"identify","timestamp":"2026-11-21T10:00:00Z","userId":"C1",'
            '"traits":{"email":"A@B.fr"},"newField":[1,2],"score":7}')
    df = (_records(spark, _json_rows([line])).transform(parse.with_fields(EVENTS))
          .transform(parse.validate(EVENTS)).transform(parse.to_bronze_columns(EVENTS)))
    actual = df.select("message_id", "traits", "_extra", "_raw")
    expected = spark.createDataFrame(
        [("m1", '{"email":"A@B.fr"}', {"newField": "[1,2]", "score": "7"}, None)],
        "message_id string, traits string, _extra map<string,string>, _raw string")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_counts_per_file_reconcile(spark):
    rows = _json_rows(['{"messageId":"m","type":"page","timestamp":"2026-11-21","anonymousId":"a"}', "{"])
    df = (_records(spark, rows).transform(parse.with_fields(EVENTS)).transform(parse.validate(EVENTS))
          .transform(parse.to_bronze_columns(EVENTS)))
    (counts,) = parse.counts_per_file(df).collect()
    assert (counts.records, counts.accepted, counts.quarantined) == (2, 1, 1)
    quarantined = parse.quarantined_rows(df, "events", 3, "run-1", "2026-11-21 00:00:00").collect()
    assert [(q.stage, q.line_number, q.raw, q.reason, q.batch_id) for q in quarantined] == [
        ("bronze.events", 2, "{", "malformed_record", 3)]


def test_unknown_fields_are_found_exactly_whatever_the_nulls(spark):
    base = '"messageId":"m{n}","type":"page","timestamp":"2026-11-21","anonymousId":"a"'
    lines = [
        '{%s,"userId":null}',                 # a named key without a value is not unknown
        '{%s,"userId":null,"x":null}',        # an unknown key without a value is kept
        '{%s,"y":"1","z":{"k":[1, 2]}}',      # nested values as landed JSON text
        '{%s,"name":null,"event":null}',
        '{%s,"type":"track"}',                # a key landed twice keeps its first value
    ]
    lines = [line.replace("%s", base.format(n=i)) for i, line in enumerate(lines, start=1)]
    df = (_records(spark, _json_rows(lines)).transform(parse.with_fields(EVENTS))
          .transform(parse.validate(EVENTS)).transform(parse.to_bronze_columns(EVENTS)))
    got = {r["_line_number"]: (r["_extra"], r["type"], r[parse.REASON]) for r in df.collect()}
    assert got == {1: (None, "page", None), 2: ({"x": None}, "page", None),
                   3: ({"y": "1", "z": '{"k":[1,2]}'}, "page", None), 4: (None, "page", None),
                   5: (None, "page", None)}


def test_a_line_that_is_not_strict_json_is_malformed(spark):
    base = '"messageId":"m","type":"page","timestamp":"2026-11-21","anonymousId":"a"'
    lines = ["{" + base + tail for tail in (',"n":NaN}', ',"n":Infinity}', ',"name":"tab\there"}')]
    assert _verdicts(spark, EVENTS, _json_rows(lines)) == {
        1: "malformed_record", 2: "malformed_record", 3: "malformed_record"}
