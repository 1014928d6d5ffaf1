"""The identity job: evidence -> shared-identifier protection -> components -> probabilistic
matches -> stable keys -> silver.identity_graph, key history, attribution, silver.customers.

    python -m jobs run resolve_identity [--full-rebuild]

The graph is recomputed from all evidence each run (it is small next to the touchpoints), but
only what changed is written: nodes whose key or rule moved, rows whose key moved, customers
whose profile changed. `--full-rebuild` also rewrites the key of every attributed row. The key
registry is kept either way: keys are the customers' identities, not derived data, so a rebuild
must not rename anyone.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.contracts import table_schema
from jobs.common.privacy import resolve_secret
from jobs.common.results import JobResult, utc_now
from jobs.common.tables import ensure_table, merge_counts, merge_state
from jobs.identity.attach import ATTRIBUTED, attach_keys, changed_nodes
from jobs.identity.customers import build_customers
from jobs.identity.graph import connected_components
from jobs.identity.keys import assign_keys, key_events
from jobs.identity.matching import candidate_pairs, decide, score_pairs
from jobs.identity.overmerge import shared_identifiers, without_shared
from jobs.identity.profiles import profiles as build_profiles
from jobs.silver.nodes import node_type

log = logging.getLogger(__name__)

# Evidence recorded but never enough to join two identifiers on its own: the number a call came
# from may be an office switchboard, a hotel or a friend's phone. It still counts towards an
# identifier's customers (so a switchboard is found), and a number the CRM or the customer's
# own identify calls confirm attributes unidentified calls.
CORROBORATING_RULES = ("call_phone",)
# Strongest evidence first: the rule shown for a node is the strongest link it has.
RULE_PRIORITY = ("signed_in", "alias", "crm_email", "crm_phone", "identify_email", "identify_phone",
                 "order_email", "call_phone", "probabilistic")
OUTPUTS = ("silver.identity_graph", "silver.customer_keys", "silver.customer_key_events",
           "silver.identity_rejections", "silver.customers")
INPUTS = ("silver.identity_links", "silver.identity_nodes", "silver.customer_pii")


def _load(spark: SparkSession, path: str) -> DataFrame:
    return spark.read.format("delta").load(path)


def node_rules(edges: DataFrame, anchors: DataFrame) -> DataFrame:
    """(node, link_rule, match_score): 'anchor' for a key's anchor, else its strongest link (pure)."""
    ends = (edges.select(F.col("left_node").alias("node"), "rule", "match_score")
            .unionByName(edges.select(F.col("right_node").alias("node"), "rule", "match_score")))
    priority = F.array_position(F.array(*[F.lit(r) for r in RULE_PRIORITY]), F.col("rule"))
    best = ends.groupBy("node").agg(F.min(F.struct(priority.alias("p"), "rule", F.col("match_score"))).alias("b"))
    return (best.join(anchors.select(F.col("anchor_node").alias("node"), F.lit(True).alias("is_anchor")), "node", "full")
            .select("node", F.when(F.col("is_anchor"), "anchor").otherwise(F.col("b.rule")).alias("link_rule"),
                    F.when(~F.coalesce("is_anchor", F.lit(False)) & (F.col("b.rule") == "probabilistic"),
                           F.col("b.match_score")).alias("match_score")))


def _merge_graph(spark, path: str, graph: DataFrame) -> dict:
    from delta.tables import DeltaTable

    changed = F.lit(False)
    for c in ("customer_key", "link_rule", "match_score", "first_seen_at", "last_seen_at"):
        changed = changed | ~F.col(f"s.{c}").eqNullSafe(F.col(f"t.{c}"))
    return merge_counts(DeltaTable.forPath(spark, path).alias("t").merge(graph.alias("s"), "t.node = s.node")
                        .whenMatchedUpdateAll(condition=changed).whenNotMatchedInsertAll()
                        .whenNotMatchedBySourceDelete().execute())


def run(spark: SparkSession, config: Config, *, run_id: str, logical_date: dt.date | None = None,
        full_rebuild: bool = False) -> JobResult:
    from delta.tables import DeltaTable

    started = time.monotonic()
    secret = resolve_secret(config.env)
    settings = config.identity
    paths = {t: ensure_table(spark, config, table_schema(t)) for t in (*INPUTS, *OUTPUTS, *ATTRIBUTED)}
    now = utc_now()

    links = _load(spark, paths["silver.identity_links"]).select("left_node", "right_node", "rule")
    links = links.distinct().localCheckpoint()
    seen = (_load(spark, paths["silver.identity_nodes"]).groupBy("node")
            .agg(F.min("first_seen_at").alias("first_seen_at"), F.max("last_seen_at").alias("last_seen_at"),
                 F.max("shared_hint").alias("shared_hint"))
            .localCheckpoint())
    pii = _load(spark, paths["silver.customer_pii"])
    profiles = build_profiles(pii, secret).localCheckpoint()

    # 1. Shared identifiers link no one.
    shared = shared_identifiers(links, profiles, settings.max_customers, seen).localCheckpoint()
    safe = (without_shared(links, shared).where(~F.col("rule").isin(*CORROBORATING_RULES))
            .withColumn("match_score", F.lit(None).cast("double")))
    shared_nodes = shared.select("node")
    nodes = seen.select("node").join(shared_nodes, "node", "left_anti")

    # 2. Deterministic components, then probabilistic links between them.
    components = connected_components(nodes, safe)
    unshared = profiles
    for col in ("email_node", "phone_node"):   # a shared mailbox is no evidence that two people are one
        unshared = (unshared.join(shared_nodes.withColumnRenamed("node", col).withColumn("_shared", F.lit(True)),
                                  col, "left")
                    .withColumn(col, F.when(F.col("_shared").isNull(), F.col(col))).drop("_shared"))
    matchable = unshared.join(components.withColumnRenamed("node", "profile_node"), "profile_node")
    scored = score_pairs(candidate_pairs(matchable), matchable).localCheckpoint()
    accepted, ambiguous = decide(scored, settings.match_threshold, settings.match_margin)
    accepted = accepted.localCheckpoint()
    n_prob = accepted.count()
    edges = safe.select("left_node", "right_node", "rule", "match_score").unionByName(accepted)
    if n_prob:
        components = connected_components(nodes, edges)

    # 3. Stable keys.
    keys_path, graph_path = paths["silver.customer_keys"], paths["silver.identity_graph"]
    registry_all = _load(spark, keys_path)
    previous_graph = _load(spark, graph_path).select("node", "customer_key")
    active = registry_all.where(F.col("status") == "active")
    assigned = assign_keys(components, seen.drop("shared_hint"), active, secret).localCheckpoint()
    rules = node_rules(edges, assigned)
    graph = (components.join(assigned.select("component", "customer_key"), "component")
             .join(rules, "node", "left").join(seen.drop("shared_hint"), "node", "left")
             .select("node", node_type(F.col("node")).alias("node_type"), "customer_key",
                     F.coalesce("link_rule", F.lit("anchor")).alias("link_rule"), "match_score",
                     "first_seen_at", "last_seen_at"))
    shared_rows = (shared_nodes.join(seen.drop("shared_hint"), "node", "left")
                   .select("node", node_type(F.col("node")).alias("node_type"),
                           F.lit(None).cast("string").alias("customer_key"), F.lit("shared").alias("link_rule"),
                           F.lit(None).cast("double").alias("match_score"), "first_seen_at", "last_seen_at"))
    graph = graph.unionByName(shared_rows).withColumn("_silver_run_id", F.lit(run_id)).localCheckpoint()

    events = key_events(assigned, previous_graph, graph.select("node", "customer_key"),
                        registry_all.select("customer_key"), run_id)
    evidence = (edges.join(components.withColumnRenamed("node", "left_node"), "left_node")
                .join(assigned.select("component", F.col("customer_key").alias("related_key")), "component")
                .groupBy("related_key").agg(F.concat_ws(",", F.sort_array(F.collect_set("rule"))).alias("evidence")))
    events = (events.join(evidence, "related_key", "left")
              .select("run_id", "event", "customer_key", "related_key", "evidence", "nodes",
                      F.lit(now).cast("timestamp").alias("recorded_at"))).localCheckpoint()

    # 4. Write: key history first (a crash after it re-derives the same events), then state.
    if not events.isEmpty():
        (DeltaTable.forPath(spark, paths["silver.customer_key_events"]).alias("t")
         .merge(events.alias("s"), "t.run_id = s.run_id AND t.event = s.event AND t.customer_key = s.customer_key "
                                   "AND t.related_key <=> s.related_key")
         .whenNotMatchedInsertAll().execute())
    _write_registry(spark, keys_path, assigned, events, run_id)
    graph_counts = _merge_graph(spark, graph_path, graph)
    _write_rejections(spark, paths["silver.identity_rejections"], shared, ambiguous, run_id)

    # 5. Attribute rows and rebuild customers.
    moved = graph.select("node") if full_rebuild else changed_nodes(previous_graph, graph)
    attributed = {t: attach_keys(spark, paths[t], col, graph, moved) for t, col in ATTRIBUTED.items()}
    customers = build_customers(graph, _load(spark, paths["silver.crm_records"]),
                                _load(spark, paths["silver.customer_pii"]), secret)
    customer_counts = _merge_customers(spark, paths["silver.customers"], customers, run_id)

    counts = {r["event"]: r["n"] for r in events.groupBy("event").agg(F.count(F.lit(1)).alias("n")).collect()}
    result = JobResult(job="resolve_identity", rows_in=graph.count(), rows_out=customer_counts["total"])
    result.seconds = time.monotonic() - started
    result.details = {"shared_identifiers": shared.count(), "probabilistic_links": n_prob,
                      "keys_created": counts.get("created", 0), "keys_merged": counts.get("merged", 0),
                      "keys_split": counts.get("split", 0), "graph": graph_counts,
                      "rows_reattributed": sum(attributed.values()), "customers": customer_counts}
    return result


def _write_registry(spark, path: str, assigned: DataFrame, events: DataFrame, run_id: str) -> None:
    from delta.tables import DeltaTable

    table = DeltaTable.forPath(spark, path)
    live = assigned.select("customer_key", "anchor_node", "anchor_first_seen_at", F.lit("active").alias("status"),
                           F.lit(None).cast("string").alias("merged_into"), F.lit(run_id).alias("created_run_id"),
                           F.lit(run_id).alias("_silver_run_id"))
    merged = events.where(F.col("event") == "merged").select("customer_key", F.col("related_key").alias("merged_into"))
    (table.alias("t").merge(live.alias("s"), "t.customer_key = s.customer_key")
     .whenMatchedUpdate(condition="t.status <> 'active'", set={"status": "'active'", "merged_into": "NULL",
                                                                 "_silver_run_id": "s._silver_run_id"})
     .whenNotMatchedInsertAll().execute())
    if not merged.isEmpty():
        (table.alias("t").merge(merged.alias("s"), "t.customer_key = s.customer_key")
         .whenMatchedUpdate(set={"status": F.lit("merged"), "merged_into": F.col("s.merged_into"),
                                 "_silver_run_id": F.lit(run_id)}).execute())


def _write_rejections(spark, path: str, shared: DataFrame, ambiguous: DataFrame, run_id: str) -> None:
    from delta.tables import DeltaTable

    rows = (shared.select("node", F.lit(None).cast("string").alias("other_node"), "node_type", "reason",
                          "linked_customers", "detail")
            .unionByName(ambiguous.select("node", "other_node", node_type(F.col("node")).alias("node_type"), "reason",
                                          F.lit(None).cast("bigint").alias("linked_customers"), "detail"))
            .withColumn("first_rejected_run_id", F.lit(run_id)).withColumn("_silver_run_id", F.lit(run_id)))
    (DeltaTable.forPath(spark, path).alias("t")
     .merge(rows.alias("s"), "t.node = s.node AND t.reason = s.reason AND t.other_node <=> s.other_node")
     .whenMatchedUpdate(condition="NOT (t.detail <=> s.detail)",
                        set={"detail": "s.detail", "linked_customers": "s.linked_customers",
                             "_silver_run_id": "s._silver_run_id"})
     .whenNotMatchedInsertAll().whenNotMatchedBySourceDelete().execute())


def _merge_customers(spark, path: str, customers: DataFrame, run_id: str) -> dict:
    columns = [c.name for c in table_schema("silver.customers").columns if c.name != "_silver_run_id"]
    rows = customers.select(*columns).withColumn("_silver_run_id", F.lit(run_id))
    merged = merge_state(spark, path, rows, ["customer_key"], run_column="_silver_run_id")
    return {"total": _load(spark, path).count(), **merged}
