"""Segments declared in YAML: validation messages, evaluation, membership history."""

import pytest

from jobs.common.contracts import table_schema
from jobs.common.tables import spark_schema
from jobs.gold.segments import (
    Segment,
    SegmentError,
    load_segments,
    membership_changes,
    segments_column,
    validate_segments,
)
from jobs.gold.settings import DEFAULT_SEGMENTS_FILE
from tests.gold_frames import D


@pytest.fixture
def schema(spark):
    return spark_schema(table_schema("gold.customer_360"))


def _write(tmp_path, text):
    path = tmp_path / "segments.yaml"
    path.write_text(text)
    return path


def test_a_condition_naming_an_unknown_column_fails_with_file_segment_column_and_close_matches(spark, schema, tmp_path):
    path = _write(tmp_path, """segments:
  - name: frequent_flyers_no_bag
    description: Frequent flyers who never buy a bag.
    condition: orders_356d >= 4 AND extra_bag_share = 0
""")
    with pytest.raises(SegmentError) as err:
        validate_segments(spark, load_segments(path), schema, path)
    message = str(err.value)
    assert str(path) in message and "'frequent_flyers_no_bag'" in message
    assert "unknown column 'orders_356d'" in message
    assert "close matches: orders_365d" in message


@pytest.mark.parametrize("condition, expected", [
    ("revenue_eur + 1", "not a boolean"),
    ("orders_365d >= ", "not valid Spark SQL"),
    ("no_such_function(orders_365d) > 1", "not valid Spark SQL"),
    ("array_contains(segments, 'x')", "other segments"),
])
def test_other_bad_conditions_are_named(spark, schema, condition, expected):
    with pytest.raises(SegmentError, match=expected):
        validate_segments(spark, (Segment("s", "d", condition),), schema, "f.yaml")


@pytest.mark.parametrize("text, expected", [
    ("segments: [{name: Bad-Name, description: d, condition: 'true'}]", "snake_case"),
    ("segments: [{name: a, description: d, condition: 'true'}, {name: a, description: d, condition: 'true'}]",
     "declared twice"),
    ("segments: [{name: a, condition: 'true'}]", "description"),
    ("segments: [{name: a, description: d, condition: 'true', owner: me}]", "unknown keys"),
    ("nothing: here", "'segments:' list"),
])
def test_malformed_files_are_refused_on_load(tmp_path, text, expected):
    with pytest.raises(SegmentError, match=expected):
        load_segments(_write(tmp_path, text))


def test_the_shipped_segments_file_is_valid(spark, schema):
    from jobs.common.config import PROJECT_ROOT

    path = PROJECT_ROOT / DEFAULT_SEGMENTS_FILE
    segments = load_segments(path)
    assert "frequent_flyers_no_bag" in [s.name for s in segments]
    validate_segments(spark, segments, schema, path)


def test_members_get_every_segment_that_holds_in_declaration_order(spark):
    df = spark.createDataFrame([("A", 5, 0.0), ("B", 1, None), ("C", 5, None)],
                               "customer_key string, orders_365d bigint, extra_bag_share double")
    segments = (Segment("frequent", "d", "orders_365d >= 4"),
                Segment("no_bag", "d", "extra_bag_share = 0"))   # NULL for B and C: not a member
    got = {r.customer_key: r.s for r in df.select("customer_key", segments_column(segments).alias("s")).collect()}
    assert got == {"A": ["frequent", "no_bag"], "B": [], "C": ["frequent"]}


def test_membership_history_opens_closes_and_reopens_intervals(spark):
    ddl = "customer_key string, segment string, valid_from_date date, valid_to_date date, is_current boolean, _gold_run_id string"
    history = spark.createDataFrame([
        ("A", "s", D(2026, 1, 1), None, True, "r1"),        # still a member: unchanged
        ("B", "s", D(2026, 1, 1), None, True, "r1"),        # leaves on Jan 5
        ("C", "s", D(2026, 1, 5), None, True, "r2"),        # opened today, gone by a same-day re-run: removed
        ("D", "s", D(2026, 1, 1), D(2026, 1, 5), False, "r2"),  # closed today, member again: reopened
        ("E", "s", D(2026, 1, 1), D(2026, 1, 3), False, "r1"),  # an old stretch stays as it is
    ], ddl)
    current = spark.createDataFrame([("A", "s"), ("D", "s"), ("E", "s"), ("F", "s")], "customer_key string, segment string")
    to_close, to_open = membership_changes(history, current, D(2026, 1, 5))
    assert sorted(tuple(r) for r in to_close.collect()) == [("B", "s", D(2026, 1, 1), D(2026, 1, 5)),
                                                            ("C", "s", D(2026, 1, 5), None)]
    assert sorted(tuple(r) for r in to_open.collect()) == [("D", "s", D(2026, 1, 1), None),
                                                           ("E", "s", D(2026, 1, 5), None),
                                                           ("F", "s", D(2026, 1, 5), None)]
