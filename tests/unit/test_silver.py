"""Silver's pure parts: batch reduction per merge mode, shared-mailbox hints, conform steps."""

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import functions as F

from jobs.common.contracts import bronze_schema
from jobs.common.tables import spark_schema
from jobs.silver import standardise as std
from jobs.silver.merge import reduce_to_keys
from jobs.silver.sources import events, orders
from jobs.silver.spec import Output

SECRET = b"unit-test-secret-0123456789"
T = dt.datetime


def _out(mode, **kw):
    return Output("silver.x", ("k",), lambda df: df, mode=mode, **kw)


def test_first_mode_keeps_the_earliest_arrival(spark):
    rows = spark.createDataFrame([("m1", "retry", 2, "f2", 1), ("m1", "original", 1, "f9", 5), ("m2", "only", 3, "f1", 1)],
                                 "k string, v string, _batch_id bigint, _source_file string, _line_number bigint")
    got = reduce_to_keys(rows, _out("first")).select("k", "v").orderBy("k")
    assert [tuple(r) for r in got.collect()] == [("m1", "original"), ("m2", "only")]


def test_latest_mode_takes_the_newest_and_keeps_the_earliest_date(spark):
    rows = spark.createDataFrame([("o1", "completed", T(2026, 1, 1), T(2026, 1, 1)),
                                  ("o1", "refunded", T(2026, 1, 5), T(2026, 1, 5))],
                                 "k string, status string, status_at timestamp, ordered_at timestamp")
    got = reduce_to_keys(rows, _out("latest", newer="status_at", keep_earliest=("ordered_at",))).first()
    assert (got.status, got.status_at, got.ordered_at) == ("refunded", T(2026, 1, 5), T(2026, 1, 1))


def test_span_and_fields_latest_modes(spark):
    seen = spark.createDataFrame([("n", T(2026, 1, 3), T(2026, 1, 3)), ("n", T(2026, 1, 1), T(2026, 1, 1))],
                                 "k string, first_seen_at timestamp, last_seen_at timestamp")
    got = reduce_to_keys(seen, _out("span")).first()
    assert (got.first_seen_at, got.last_seen_at) == (T(2026, 1, 1), T(2026, 1, 3))
    profiles = spark.createDataFrame([("p", "old@x.fr", "Ann", T(2026, 1, 1)), ("p", None, "Anne", T(2026, 1, 2))],
                                     "k string, email string, first string, observed_at timestamp")
    got = reduce_to_keys(profiles, _out("fields_latest", newer="observed_at")).first()
    # the newest sighting had no email: the latest non-empty one survives
    assert (got.email, got.first, got.observed_at) == ("old@x.fr", "Anne", T(2026, 1, 2))


def test_mailbox_kind_flags_household_and_role_addresses(spark):
    df = spark.createDataFrame([("famille.martin@orange.fr",), ("the.smiths@gmail.com",), ("info@acme.fr",),
                                ("marie.martin@orange.fr",), ("theo.petit@free.fr",)], "email string")
    got = [r.k for r in df.select(std.mailbox_kind(F.col("email")).alias("k")).collect()]
    assert got == ["family_mailbox", "family_mailbox", "role_mailbox", None, None]


def test_fixed_lines_are_shared_by_design_and_mobiles_are_personal(spark):
    df = spark.createDataFrame([("+33145840003",), ("+33612345678",), (None,)], "phone string")
    got = [r.k for r in df.select(std.phone_line_kind(F.col("phone")).alias("k")).collect()]
    assert got == ["landline", None, None]


def _bronze(spark, source, rows):
    schema = spark_schema(bronze_schema(source))
    lineage = {"_extra": None, "_source_file": "f.jsonl", "_line_number": 1, "_batch_id": 0, "_run_id": "r",
               "_ingested_at": T(2026, 1, 1)}
    full = [{**{f.name: None for f in schema.fields}, **lineage, **r} for r in rows]
    return spark.createDataFrame([tuple(r[f.name] for f in schema.fields) for r in full], schema)


def test_events_conform_to_touchpoints_and_identity_evidence(spark):
    bronze = _bronze(spark, "events", [
        {"message_id": "m1", "type": "identify", "timestamp": "2026-11-21T10:00:00+01:00", "user_id": "C1",
         "anonymous_id": "A1", "traits": '{"email": " Marie@Orange.FR ", "phone": "06 12 34 56 78", '
                                         '"firstName": "Marie", "lastName": "Martin"}',
         "context": '{"channel": "mobile", "ip": "81.2.3.4"}'},
        {"message_id": "m2", "type": "page", "timestamp": "2026-11-21T09:05:00Z", "anonymous_id": "A2",
         "name": "Home", "context": '{"channel": "web", "page": {"path": "/"}}'},
    ])
    conformed = events.conform(bronze, SECRET)
    tps = {r.source_record_id: r for r in events.to_touchpoints(conformed).collect()}
    assert tps["m1"].channel == "app" and tps["m1"].occurred_at == T(2026, 11, 21, 9, 0)
    assert tps["m1"].identity_node == "customer_id:C1" and tps["m2"].identity_node == "anonymous_id:A2"
    assert tps["m1"].ip_hash and "81.2.3.4" not in tps["m1"].ip_hash
    links = {(r.rule, r.left_node, r.right_node.split(":")[0]) for r in events.to_links(conformed).collect()}
    assert links == {("signed_in", "customer_id:C1", "anonymous_id"), ("identify_email", "customer_id:C1", "email"),
                     ("identify_phone", "customer_id:C1", "phone")}
    profile = events.to_profiles(conformed).first()
    assert (profile.profile_node, profile.email, profile.phone) == ("customer_id:C1", "marie@orange.fr", "+33612345678")


def test_a_guest_order_is_attributed_through_its_email_hash(spark):
    bronze = _bronze(spark, "orders", [
        {"order_id": "O1", "email": "Guest@Mail.com", "ordered_at": "2026-11-21T10:00:00Z", "channel": "web",
         "currency": "eur", "total_amount": "120.5", "status": "completed",
         "items": '[{"sku": "F1", "category": "Flight", "quantity": 2, "unit_price": 50, "attributes": {"seat": "Window"}},'
                  ' {"sku": "B1", "category": "extra_bag", "quantity": 1, "unit_price": 20.5}]'}])
    conformed = orders.conform(bronze, SECRET)
    order = orders.to_orders(conformed).first()
    assert order.customer_id is None and order.identity_node == "email:" + order.email_hash
    assert "guest" not in order.identity_node.lower() and order.currency == "EUR"
    items = orders.to_items(conformed).select("item_index", "category", "quantity", "line_amount", "seat")
    expected = spark.createDataFrame([(0, "flight", 2, 100.0, "window"), (1, "extra_bag", 1, 20.5, None)],
                                     "item_index int, category string, quantity int, line_amount double, seat string")
    assert_df_equality(items, expected, ignore_nullable=True, ignore_row_order=True)
