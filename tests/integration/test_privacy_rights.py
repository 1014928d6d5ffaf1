"""The data subject's rights on the generated lake.

Access: a person's export holds their CRM record, orders, calls, consents and touchpoints, and
nothing of anyone else, even when they share a family mailbox.
Erasure: afterwards no file under the lake (data files of every retained version, the Delta logs,
the checkpoints) holds any of the person's identifiers, clear or hashed, nor their customer key;
every other customer's gold row is unchanged.
"""

import csv
import json
import re

import pytest
from pyspark.sql import functions as F

from jobs.common.tables import latest_version, read_table
from jobs.privacy import audit
from jobs.privacy.erase import Request, erase, read_requests
from jobs.privacy.export import export
from jobs.privacy.subject import RequestError
from tests.integration.conftest import copy_lake


@pytest.fixture(scope="module")
def lake(generated_gold_lake, tmp_path_factory):
    """A private copy: requests append to ops.privacy_requests."""
    config, _ = generated_gold_lake
    return copy_lake(config, tmp_path_factory.mktemp("privacy"))


@pytest.fixture(scope="module")
def people(lake):
    with open(lake.paths.truth / "people.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _silver(spark, config, table):
    return read_table(spark, str(config.paths.table(table)))


def _key_of(spark, config, crm_id):
    rows = (_silver(spark, config, "silver.identity_graph")
            .filter(F.col("node") == f"customer_id:{crm_id}").select("customer_key").collect())
    return rows[0][0] if rows else None


def _values(obj):
    """Every scalar value in the document, as text."""
    if isinstance(obj, dict):
        return {v for x in obj.values() for v in _values(x)}
    if isinstance(obj, list):
        return {v for x in obj for v in _values(x)}
    return set() if obj is None else {str(obj)}


def _personal(person):
    return {person[c] for c in ("crm_id", "duplicate_crm_id", "email", "phone", "family_email") if person[c]}


def _assert_nobody_else(doc, person, people):
    held = _values(doc)
    own = _personal(person)
    leaked = {p["person_id"]: (_personal(p) - own) & held for p in people if p["person_id"] != person["person_id"]}
    assert {k: v for k, v in leaked.items() if v} == {}


def _crm_ids_by_key(spark, config):
    out = {}
    for r in _silver(spark, config, "silver.crm_records").select("customer_key", "customer_id").collect():
        out.setdefault(r[0], set()).add(r[1])
    return out


def _resolved_alone(person, key, crm_ids_by_key):
    """The person's key holds only their own CRM records (not one of the rare over-merged keys)."""
    return key is not None and crm_ids_by_key.get(key, set()) <= {person["crm_id"], person["duplicate_crm_id"]}


def _busy_member(spark, config, people):
    """A CRM member with orders, calls, consents and touchpoints in silver."""
    counts = {}
    for table in ("silver.orders", "silver.calls", "silver.consents", "silver.touchpoints"):
        counts[table] = {r[0]: r[1] for r in _silver(spark, config, table).groupBy("customer_key").count().collect()}
    crm_ids = _crm_ids_by_key(spark, config)
    for person in people:
        key = person["crm_id"] and _key_of(spark, config, person["crm_id"])
        if _resolved_alone(person, key, crm_ids) and all(key in c for c in counts.values()):
            return person, key, {t: c[key] for t, c in counts.items()}
    pytest.fail("no generated member has orders, calls, consents and touchpoints")


def test_export_holds_the_persons_data_and_nobody_elses(spark, lake, people):
    person, key, expected = _busy_member(spark, lake, people)
    path, record = export(spark, lake, person["crm_id"])
    doc = json.loads(path.read_text(encoding="utf-8"))
    tables = doc["tables"]
    assert doc["customer_keys"] == [key] and doc["identified_by"] == "customer_id"
    assert person["crm_id"] in {r["customer_id"] for r in tables["silver.crm_records"]["rows"]}
    for table, n in expected.items():
        assert len(tables[table]["rows"]) == n, table
    orders = {r["order_id"] for r in tables["silver.orders"]["rows"]}
    assert {r["order_id"] for r in tables["silver.order_items"]["rows"]} <= orders
    assert tables["silver.order_items"]["rows"], "the orders' items are part of the export"
    emails = {r["email"] for r in tables["silver.customer_pii"]["rows"]}
    assert person["email"].lower() in emails       # in clear, from the restricted table
    assert len(tables["gold.customer_360"]["rows"]) == 1
    _assert_nobody_else(doc, person, people)
    # The file is the owner's alone; the audit record names neither the person nor their key.
    assert path.stat().st_mode & 0o077 == 0
    assert path.parent.parent == lake.paths.restricted
    rows = read_table(spark, str(lake.paths.table(audit.TABLE))).filter(
        F.col("request_id") == record.request_id).collect()
    assert len(rows) == 1 and rows[0].request_type == "access"
    assert rows[0].table_rows["silver.orders"] == expected["silver.orders"]
    assert not {key, person["crm_id"], person["email"]} & _values(rows[0].asDict(recursive=True))


def test_a_family_mailbox_names_several_and_shares_nothing(spark, lake, people):
    by_email = {}
    crm_ids = _crm_ids_by_key(spark, lake)
    for p in people:
        if p["family_email"] and p["crm_id"] and _resolved_alone(p, _key_of(spark, lake, p["crm_id"]), crm_ids):
            by_email.setdefault(p["family_email"], []).append(p)
    family = next((members for members in by_email.values() if len(members) >= 2), None)
    assert family, "the generated lake has a family mailbox shared by two members"
    person = family[0]
    path, _ = export(spark, lake, person["crm_id"])
    _assert_nobody_else(json.loads(path.read_text(encoding="utf-8")), person, people)

    with pytest.raises(RequestError, match=r"names \d+ customers: ck_.*--all"):
        export(spark, lake, person["family_email"].upper())
    path, record = export(spark, lake, person["family_email"], allow_several=True)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert record.customers >= 2 and len(doc["customer_keys"]) == record.customers
    assert {_key_of(spark, lake, p["crm_id"]) for p in family} <= set(doc["customer_keys"])


def test_bad_requests_change_nothing(spark, lake):
    before = read_table(spark, str(lake.paths.table(audit.TABLE))).count() \
        if lake.paths.table(audit.TABLE).exists() else 0
    with pytest.raises(RequestError, match="no customer is known by customer_id 'C0000000'"):
        export(spark, lake, "C0000000")
    with pytest.raises(RequestError, match="not a valid email"):
        export(spark, lake, "nobody@nowhere")
    with pytest.raises(RequestError, match="no customer is known by customer_key"):
        export(spark, lake, "ck_00000000000000000000")
    after = read_table(spark, str(lake.paths.table(audit.TABLE))).count() \
        if lake.paths.table(audit.TABLE).exists() else 0
    assert after == before


# --- erasure -------------------------------------------------------------------------------------

def _files_under(*folders):
    return sorted(p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file())


def _texts_of(path):
    """A file's contents as text: every cell of a Parquet file (data or log checkpoint), else its bytes."""
    import pyarrow.parquet as pq

    if path.suffix == ".parquet":
        return [json.dumps(pq.read_table(path).to_pylist(), default=str)]
    return [path.read_bytes().decode("utf-8", errors="replace")]


def _found(folders, identifiers):
    """{file: identifiers it holds}, each identifier as a whole token, case-insensitively."""
    pattern = re.compile("|".join(rf"(?<![A-Za-z0-9_]){re.escape(i)}(?![A-Za-z0-9_])"
                                  for i in sorted(identifiers, key=len, reverse=True)), re.I)
    hits = {}
    for path in _files_under(*folders):
        held = {m.group(0).lower() for text in _texts_of(path) for m in pattern.finditer(text)}
        if held:
            hits[str(path)] = sorted(held)
    return hits


def _gold_rows(spark, config, key):
    rows = read_table(spark, str(config.paths.table("gold.customer_360"))).filter(F.col("customer_key") != key)
    return sorted(json.dumps(r.asDict(recursive=True), sort_keys=True, default=str) for r in rows.collect())


@pytest.fixture(scope="module")
def erased(spark, generated_gold_lake, people, tmp_path_factory):
    """A private lake where a member who shares a family mailbox was erased by their CRM id."""
    config, _ = generated_gold_lake
    lake = copy_lake(config, tmp_path_factory.mktemp("erasure"))
    crm_ids = _crm_ids_by_key(spark, lake)
    sharing = {p["family_email"] for p in people if p["family_email"]}
    person, key = next((p, k) for p in people
                       if p["crm_id"] and p["family_email"] in sharing
                       and _resolved_alone(p, k := _key_of(spark, lake, p["crm_id"]), crm_ids))
    export(spark, lake, person["crm_id"])   # an access export of theirs, to be deleted too
    nodes = {r[0] for r in _silver(spark, lake, "silver.identity_graph")
             .filter(F.col("customer_key") == key).select("node").collect()}
    pii = _silver(spark, lake, "silver.customer_pii").filter(F.col("customer_key") == key).collect()
    identifiers = ({key, person["crm_id"], person["email"], person["duplicate_crm_id"]}
                   | nodes | {n.split(":", 1)[1] for n in nodes}
                   | {r["email"] for r in pii if r["email"]} | {r["phone"] for r in pii if r["phone"]})
    # The family mailbox is the other members' identifier too: it stays (and links no one).
    identifiers = {i for i in identifiers if i and i.lower() != person["family_email"].lower()}
    gold = str(lake.paths.table("gold.customer_360"))
    before = {"gold": _gold_rows(spark, lake, key), "gold_version": latest_version(gold),
              "family_links": _silver(spark, lake, "silver.identity_nodes").filter(
                  F.col("shared_hint") == "family_mailbox").count()}
    assert _found([lake.paths.lake], identifiers), "the person is in the lake before the erasure"
    record, outcome = erase(spark, lake, [Request(person["crm_id"], "test")])
    return lake, person, key, identifiers, before, record, outcome


def test_erasure_leaves_no_trace_in_any_file(erased):
    lake, _, _, identifiers, _, record, outcome = erased
    assert record.request_type == "erasure" and record.customers == 1
    for table in ("bronze.crm", "silver.crm_records", "silver.identity_graph", "gold.customer_360"):
        assert outcome.rows.get(table, 0) >= 1, table
    assert _found([lake.paths.lake, lake.paths.checkpoints, lake.paths.restricted], identifiers) == {}
    assert outcome.exports_deleted == 1
    assert any(f.endswith(".jsonl") or f.endswith(".csv") or ".gz" in f for f in outcome.landed_files)


def test_erased_versions_cannot_be_read_and_readers_see_the_erasure(spark, erased):
    lake, _, key, _, before, _, _ = erased
    from jobs.common.publication import published_version

    gold = str(lake.paths.table("gold.customer_360"))
    with pytest.raises(Exception, match="FILE_NOT_EXIST|does not exist"):
        read_table(spark, gold, before["gold_version"]).filter(F.col("customer_key") == key).count()
    assert published_version(lake.paths.lake, "gold.customer_360") == latest_version(gold)


def test_erasure_leaves_everyone_else_unchanged(spark, erased):
    lake, _, key, _, before, _, _ = erased
    assert _gold_rows(spark, lake, key) == before["gold"]
    # The family mailbox they shared stays: it is the other members' identifier too.
    assert _silver(spark, lake, "silver.identity_nodes").filter(
        F.col("shared_hint") == "family_mailbox").count() == before["family_links"]


def test_an_erased_person_is_not_found_again_and_bad_batches_change_nothing(spark, erased, tmp_path):
    lake, person, _, _, _, _, _ = erased
    versions = {t: latest_version(str(lake.paths.table(t))) for t in ("silver.crm_records", "gold.customer_360")}
    with pytest.raises(RequestError, match="no customer is known"):
        erase(spark, lake, [Request(person["crm_id"], "--customer")])
    requests = tmp_path / "requests.txt"
    requests.write_text("# erasure requests\nC0000001\nC0000002, C0000003\n", encoding="utf-8")
    with pytest.raises(RequestError, match=r"requests.txt:3: .* one identifier per line"):
        read_requests(requests)
    requests.write_text("ck_00000000000000000000\n", encoding="utf-8")
    with pytest.raises(RequestError, match=r"requests.txt:1: no customer is known.*nothing was erased"):
        erase(spark, lake, read_requests(requests))
    assert {t: latest_version(str(lake.paths.table(t))) for t in versions} == versions
