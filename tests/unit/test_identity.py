"""Identity resolution's pure parts on tiny inline frames: components, over-merge protection,
Fellegi-Sunter scoring and decisions, stable keys."""

import datetime as dt

from pyspark.sql import functions as F

from jobs.identity.graph import connected_components
from jobs.identity.keys import assign_keys, key_events, key_of
from jobs.identity.matching import candidate_pairs, decide, score_pairs
from jobs.identity.overmerge import (
    conflicting_profiles,
    shared_identifiers,
    too_many_customers,
    without_shared,
)

SECRET = b"unit-test-secret-0123456789"
LIMITS = {"anonymous_id": 2, "email": 3, "phone": 3}
PROFILE_COLS = "profile_node string, first string, last string, birth_date date, street string, city string, " \
               "postal_code string, email_node string, phone_node string"


def _links(spark, rows):
    return spark.createDataFrame(rows, "left_node string, right_node string, rule string")


def _profiles(spark, rows):
    return spark.createDataFrame(rows, PROFILE_COLS)


def _components(df):
    groups = {}
    for r in df.collect():
        groups.setdefault(r.component, set()).add(r.node)
    return sorted(sorted(g) for g in groups.values())


def test_connected_components_follow_chains_and_keep_singletons(spark):
    nodes = spark.createDataFrame([(n,) for n in ["a", "b", "c", "d", "e", "z"]], "node string")
    edges = _links(spark, [("a", "b", "r"), ("c", "b", "r"), ("d", "c", "r"), ("e", "e", "r")])
    assert _components(connected_components(nodes, edges)) == [["a", "b", "c", "d"], ["e"], ["z"]]


def test_an_identifier_behind_too_many_customers_is_refused(spark):
    kiosk = "anonymous_id:kiosk"
    links = _links(spark, [(f"customer_id:C{i}", kiosk, "signed_in") for i in range(3)]
                   + [("customer_id:C0", "anonymous_id:own", "signed_in")])
    shared = too_many_customers(links, LIMITS).collect()
    assert [(r.node, r.linked_customers, r.reason) for r in shared] == [(kiosk, 3, "too_many_customers")]
    kept = without_shared(links, too_many_customers(links, LIMITS)).collect()
    assert [(r.left_node, r.right_node) for r in kept] == [("customer_id:C0", "anonymous_id:own")]


def test_a_mailbox_of_two_people_with_different_birth_dates_is_refused(spark):
    family, own = "email:family", "email:own"
    links = _links(spark, [("customer_id:C1", family, "crm_email"), ("customer_id:C2", family, "crm_email"),
                           ("customer_id:C1", own, "crm_email"), ("customer_id:C3", own, "crm_email")])
    profiles = _profiles(spark, [
        ("customer_id:C1", "marie", "martin", dt.date(1980, 1, 2), None, None, None, None, None),
        ("customer_id:C2", "paul", "martin", dt.date(1978, 5, 6), None, None, None, None, None),
        # C3 is C1 typed again by an agent: one typo, same birth date - the same person
        ("customer_id:C3", "mrie", "martin", dt.date(1980, 1, 2), None, None, None, None, None),
    ])
    refused = {r.node: r.reason for r in conflicting_profiles(links, profiles).collect()}
    assert refused == {family: "conflicting_profiles"}


def test_names_decide_when_a_birth_date_is_missing(spark):
    links = _links(spark, [("customer_id:C1", "email:x", "crm_email"), ("anonymous_id:A", "email:x", "identify_email"),
                           ("customer_id:C4", "email:y", "crm_email"), ("anonymous_id:B", "email:y", "identify_email")])
    profiles = _profiles(spark, [
        ("customer_id:C1", "lea", "martin", dt.date(1990, 1, 1), None, None, None, None, None),
        ("anonymous_id:A", "zoe", "martin", None, None, None, None, None, None),      # a sister: conflict
        ("customer_id:C4", "jerome", "petit", None, None, None, None, None, None),
        ("anonymous_id:B", "petit", "jerome", None, None, None, None, None, None),    # fields swapped: same
    ])
    assert {r.node for r in conflicting_profiles(links, profiles).collect()} == {"email:x"}


def test_shared_by_design_mailboxes_are_refused_first(spark):
    links = _links(spark, [("customer_id:C1", "email:fam", "crm_email")])
    seen = spark.createDataFrame([("email:fam", "family_mailbox"), ("customer_id:C1", None)],
                                 "node string, shared_hint string")
    out = shared_identifiers(links, _profiles(spark, []), LIMITS, seen).collect()
    assert [(r.node, r.reason) for r in out] == [("email:fam", "family_mailbox")]


def _matchable(spark, rows):
    return _profiles(spark, [r[1:] for r in rows]).join(
        spark.createDataFrame([(r[1], r[0]) for r in rows], "profile_node string, component string"), "profile_node")


def test_a_crm_duplicate_with_typos_matches_and_a_sibling_does_not(spark):
    rows = [
        ("k1", "customer_id:C1", "helene", "dupont", dt.date(1970, 3, 4), "12 rue de la paix", "paris", "75002",
         "email:a", "phone:1"),
        # duplicate: typo in the first name, another email, no phone; same birth date and address
        ("k2", "customer_id:C2", "heleen", "dupont", dt.date(1970, 3, 4), "12 rue de la paix", "paris", "75002",
         "email:typo", None),
        # sister at the same address with the same surname and a different birth date
        ("k3", "customer_id:C3", "claire", "dupont", dt.date(1975, 8, 9), "12 rue de la paix", "paris", "75002",
         "email:c", "phone:3"),
    ]
    matchable = _matchable(spark, rows)
    scored = score_pairs(candidate_pairs(matchable), matchable)
    accepted, ambiguous = decide(scored, threshold=18.0, margin=4.0)
    assert [(r.left_node, r.right_node) for r in accepted.collect()] == [("customer_id:C1", "customer_id:C2")]
    assert ambiguous.count() == 0
    sister = scored.where(F.col("b_node") == "customer_id:C3").collect()
    assert sister and all(r.match_score <= 0 for r in sister)   # different birth dates veto the link


def test_a_profile_matching_two_customers_equally_links_to_neither(spark):
    twin = ("paul", "durand", dt.date(1980, 1, 1), "3 avenue foch", "lyon", "69006")
    rows = [("k1", "customer_id:C1", *twin, None, None), ("k2", "customer_id:C2", *twin, None, None),
            ("k3", "anonymous_id:A", *twin, None, None)]
    matchable = _matchable(spark, rows)
    accepted, ambiguous = decide(score_pairs(candidate_pairs(matchable), matchable), threshold=18.0, margin=4.0)
    assert "anonymous_id:A" in {r.node for r in ambiguous.collect()}
    assert all("anonymous_id:A" not in (r.left_node, r.right_node) for r in accepted.collect())


def _seen(spark, rows):
    return spark.createDataFrame([(n, dt.datetime(2026, 1, d)) for n, d in rows], "node string, first_seen_at timestamp")


def _registry(spark, rows):
    return spark.createDataFrame(rows, "customer_key string, anchor_node string, anchor_first_seen_at timestamp")


def _key(spark, node):
    return spark.range(1).select(key_of(F.lit(node), SECRET).alias("k")).first().k


def test_keys_survive_growth_and_the_earliest_anchor_wins_a_merge(spark):
    seen = _seen(spark, [("a", 1), ("b", 2), ("c", 3), ("d", 4)])
    registry = _registry(spark, [("K_A", "a", dt.datetime(2026, 1, 1)), ("K_B", "b", dt.datetime(2026, 1, 2))])
    comps = spark.createDataFrame([("a", "g1"), ("b", "g1"), ("c", "g1"), ("d", "g2")], "node string, component string")
    assigned = {r.component: r for r in assign_keys(comps, seen, registry, SECRET).collect()}
    assert assigned["g1"].customer_key == "K_A" and assigned["g1"].claimed_keys == ["K_A", "K_B"]
    assert assigned["g2"].customer_key == _key(spark, "d") and assigned["g2"].anchor_node == "d"

    previous = spark.createDataFrame([("a", "K_A"), ("b", "K_B"), ("c", "K_B")], "node string, customer_key string")
    new_graph = spark.createDataFrame([("a", "K_A"), ("b", "K_A"), ("c", "K_A"), ("d", assigned["g2"].customer_key)],
                                      "node string, customer_key string")
    events = {(r.event, r.customer_key, r.related_key) for r in
              key_events(assign_keys(comps, seen, registry, SECRET), previous, new_graph,
                         registry.select("customer_key"), "run-2").collect()}
    assert events == {("merged", "K_B", "K_A"), ("created", assigned["g2"].customer_key, None)}


def test_a_split_keeps_the_key_with_its_anchor_and_records_the_new_one(spark):
    seen = _seen(spark, [("a", 1), ("b", 2), ("c", 3)])
    registry = _registry(spark, [("K_A", "a", dt.datetime(2026, 1, 1))])
    comps = spark.createDataFrame([("a", "g1"), ("b", "g2"), ("c", "g2")], "node string, component string")
    assigned = assign_keys(comps, seen, registry, SECRET)
    keys = {r.component: r.customer_key for r in assigned.collect()}
    assert keys["g1"] == "K_A" and keys["g2"] == _key(spark, "b")
    previous = spark.createDataFrame([("a", "K_A"), ("b", "K_A"), ("c", "K_A")], "node string, customer_key string")
    new_graph = spark.createDataFrame([("a", "K_A"), ("b", keys["g2"]), ("c", keys["g2"])],
                                      "node string, customer_key string")
    events = {(r.event, r.customer_key, r.related_key, r.nodes) for r in
              key_events(assigned, previous, new_graph, registry.select("customer_key"), "run-3").collect()}
    assert events == {("created", keys["g2"], None, None), ("split", keys["g2"], "K_A", 2)}


def test_customers_sharing_an_address_share_a_household_and_nobody_sees_it(spark):
    from jobs.identity.customers import build_customers
    from tests.gold_frames import T, frame

    seen = T(2026, 1, 1)
    graph = spark.createDataFrame(
        [(f"customer_id:{k}", "customer_id", k, seen, seen) for k in ("A", "B", "C", "D")],
        "node string, node_type string, customer_key string, first_seen_at timestamp, last_seen_at timestamp")
    crm = frame(spark, "silver.crm_records", [
        {"customer_id": k, "customer_key": k, "loyalty_tier": "blue", "created_at": seen, "updated_at": seen}
        for k in ("A", "B", "C", "D")])

    def pii(key, source, street, postal="10115", at=seen):
        return {"profile_node": f"{source}:{key}", "source": source, "customer_key": key, "street": street,
                "postal_code": postal, "country": "DE", "observed_at": at}
    profiles = frame(spark, "silver.customer_pii", [
        pii("A", "crm", "Hauptstr. 12"), pii("B", "crm", "hauptstrasse 12"),       # one address, two spellings
        pii("B", "events", "Gartenweg 3", at=T(2026, 1, 5)),                      # later web traits: CRM wins
        pii("C", "crm", "Hauptstr. 12", postal="80331"),                          # same street, another town
        pii("D", "crm", None)])
    homes = {r.customer_key: r.household_hash for r in
             build_customers(graph, crm, profiles, b"secret").collect()}
    assert homes["A"] == homes["B"] and len(homes["A"]) == 32
    assert homes["C"] not in (None, homes["A"]) and homes["D"] is None
    assert "hauptstr" not in homes["A"].lower()


def test_an_email_at_an_employer_marks_a_work_email_and_consumer_providers_do_not(spark):
    from jobs.identity.customers import is_work_email

    emails = ["anna.berg@quartz-finance.fr", "anna@gmail.com", "jo@yahoo.co.uk", "jo@hotmail.fr",
              "famille.roux@orange.fr", "x@GMX.DE", "not-an-email", None]
    df = spark.createDataFrame([(e,) for e in emails], "email string")
    got = [r.work for r in df.select(is_work_email(F.col("email")).alias("work")).collect()]
    assert got == [True, False, False, False, False, False, None, None]
