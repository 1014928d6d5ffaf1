"""Privacy requests: what an identifier is, how each table declares the person behind a row, and
which rows are one person's alone."""

from pathlib import Path

import pytest

from jobs.common.contracts import Column, DataSubject, _data_subject, declared_tables, table_schema
from jobs.common.errors import ContractError
from jobs.privacy.subject import RequestError, Subject, identifier_kind, owned_rows


@pytest.mark.parametrize("text, kind", [
    ("ck_0a1b2c3d4e5f6a7b8c9d", "customer_key"),
    ("  Jean.Dupont@Gmail.com ", "email"),
    ("+33 6 12 34 56 78", "phone"),
    ("06.12.34.56.78", "phone"),
    ("C9523701", "customer_id"),
    ("12345", "customer_id"),          # too few digits for a phone
])
def test_identifier_kind_from_its_shape(text, kind):
    assert identifier_kind(text) == kind


def test_identifier_kind_as_given_or_refused():
    assert identifier_kind("0612345678", "customer_id") == "customer_id"
    with pytest.raises(RequestError, match="unknown identifier kind 'passport'.*customer_id, email"):
        identifier_kind("X1", "passport")
    with pytest.raises(RequestError, match="empty"):
        identifier_kind("   ")


def test_every_table_naming_people_declares_how():
    """A table with a customer_key or an identity node cannot escape access and erasure requests."""
    naming = {"customer_key", "node", "left_node", "right_node", "identity_node", "profile_node"}
    silent = [t for t in declared_tables()
              if naming & set(table_schema(t).column_names) and table_schema(t).data_subject is None]
    assert silent == []
    for t in declared_tables():   # a `via` table names people itself
        via = (table_schema(t).data_subject or DataSubject()).via
        assert via is None or table_schema(via[0]).data_subject is not None, t
    assert table_schema("silver.order_items").data_subject == DataSubject(via=("silver.orders", "order_id"))
    assert table_schema("gold.channel_daily_kpis").data_subject is None


def test_data_subject_declaration_errors_name_the_file_and_fix():
    cols = (Column("customer_key", "string", False, "k"), Column("order_id", "string", True, "o"))
    path = Path("schemas/silver/x.yaml")
    with pytest.raises(ContractError, match=r"x.yaml: data_subject names unknown columns \['custkey'\]"):
        _data_subject(path, {"keys": ["custkey"]}, cols)
    with pytest.raises(ContractError, match="must be a mapping of keys, nodes and via"):
        _data_subject(path, {"key": ["customer_key"]}, cols)
    with pytest.raises(ContractError, match="via must name a table and a column"):
        _data_subject(path, {"via": "silver.orders"}, cols)
    assert _data_subject(path, None, cols) is None


def test_owned_rows_are_the_persons_alone(spark):
    subject = Subject("customer_id", keys=("ck_a",), nodes=("customer_id:A", "email:ha"))
    links = spark.createDataFrame([
        ("customer_id:A", "email:ha"),      # both theirs
        ("customer_id:A", "customer_id:B"),  # a link to someone else: not theirs to see
        ("email:hb", "customer_id:B"),       # someone else's
        ("email:ha", None),
    ], "left_node string, right_node string")
    got = owned_rows(links, DataSubject(nodes=("left_node", "right_node")), subject).collect()
    assert sorted((r.left_node, r.right_node or "") for r in got) == [("customer_id:A", "email:ha"),
                                                                       ("email:ha", "")]
    keys = spark.createDataFrame([("ck_a", None), ("ck_b", "ck_a"), ("ck_a", "ck_c"), (None, None)],
                                 "customer_key string, merged_into string")
    got = owned_rows(keys, DataSubject(keys=("customer_key", "merged_into")), subject).collect()
    assert [(r.customer_key, r.merged_into) for r in got] == [("ck_a", None)]
    items = spark.createDataFrame([("o1", 1), ("o2", 1), ("o3", 2)], "order_id string, n int")
    got = owned_rows(items, DataSubject(via=("silver.orders", "order_id")), subject, ("o1", "o3")).collect()
    assert sorted(r.order_id for r in got) == ["o1", "o3"]
    assert owned_rows(items, DataSubject(via=("silver.orders", "order_id")), subject, ()).count() == 0
