"""Score identity resolution against the generator's ground truth (pairwise, over records).

Every record the truth lists (records.csv.gz: source, record_id, person_id) is looked up in its
silver table; two records form a predicted pair when they share a customer_key and a true pair
when they share a person. Unresolved records (no key) pair with nothing.

    precision = true pairs predicted / pairs predicted;  recall = true pairs predicted / true pairs

Some true pairs carry no evidence at all: a device that only ever browsed anonymously belongs
to its owner in the truth, but nothing in the data says so. `linkable` pairs are those an
oracle could join: records of one person whose identifiers are connected by that person's own
evidence (links among identifiers the truth gives the person, or two profiles of the person
that matching could compare; identifiers the truth marks as shared between people count as no
evidence). `recall_linkable` is measured against them; `recall` against all.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.errors import JobError
from jobs.common.privacy import resolve_secret
from jobs.identity.graph import connected_components
from jobs.silver.nodes import anonymous_node, customer_node, email_node, phone_node

# source -> (silver table, record id column, filter on source column)
ATTRIBUTION = {
    "events": ("silver.touchpoints", "source_record_id", "events"),
    "orders": ("silver.orders", "order_id", None),
    "call_center": ("silver.calls", "call_id", None),
    "campaigns": ("silver.campaign_events", "event_id", None),
    "consents": ("silver.consents", "consent_event_id", None),
    "crm": ("silver.crm_records", "customer_id", None),
}


def attributions(spark: SparkSession, config: Config) -> DataFrame:
    parts = []
    for source, (table, id_col, only) in ATTRIBUTION.items():
        df = spark.read.format("delta").load(str(config.paths.table(table)))
        if only:
            df = df.where(F.col("source") == only)
        parts.append(df.select(F.lit(source).alias("source"), F.col(id_col).alias("record_id"), "customer_key",
                               "identity_node"))
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def _pairs(n):
    return n * (n - 1) / 2


def pairwise(truth: DataFrame, attributed: DataFrame) -> dict:
    """truth(source, record_id, person_id) vs attributed(source, record_id, customer_key) (pure)."""
    joined = (truth.join(attributed, ["source", "record_id"], "left")
              .withColumn("cluster", F.coalesce("customer_key", F.concat_ws("|", F.lit("unresolved"), "source",
                                                                            "record_id"))))
    joined = joined.cache()
    both = joined.groupBy("cluster", "person_id").count().agg(F.sum(_pairs(F.col("count")))).first()[0] or 0
    predicted = joined.groupBy("cluster").count().agg(F.sum(_pairs(F.col("count")))).first()[0] or 0
    true = joined.groupBy("person_id").count().agg(F.sum(_pairs(F.col("count")))).first()[0] or 0
    stats = joined.agg(F.count(F.lit(1)).alias("records"),
                       F.sum(F.col("customer_key").isNull().cast("int")).alias("unresolved")).first()
    joined.unpersist()
    precision = both / predicted if predicted else 1.0
    recall = both / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"records": stats["records"], "unresolved_records": stats["unresolved"],
            "pairs_predicted": int(predicted), "pairs_true": int(true), "pairs_correct": int(both),
            "precision": precision, "recall": recall, "f1": f1}


def truth_nodes(identifiers: DataFrame, secret: bytes) -> DataFrame:
    """identifiers.csv rows -> (node, person_id) for identifiers of one person (the truth's shared
    ones - family mailboxes, switchboards, kiosks - identify nobody), as silver writes the node."""
    kind, value = F.col("identifier_type"), F.col("identifier_value")
    node = (F.when(kind.isin("crm_id", "user_id"), customer_node(value))
            .when(kind == "anonymous_id", anonymous_node(value))
            .when(kind == "email", email_node(value, secret))
            .when(kind == "phone", phone_node(value, secret)))
    own = identifiers.where(F.coalesce(F.col("shared_kind"), F.lit("")) == "")
    return own.select(node.alias("node"), "person_id").where(F.col("node").isNotNull()).distinct()


def linkable_components(person_nodes: DataFrame, links: DataFrame, profile_nodes: DataFrame) -> DataFrame:
    """(person_id, node, component): each person's identifiers grouped by that person's own evidence."""
    left = person_nodes.toDF("left_node", "person_id")
    right = person_nodes.toDF("right_node", "person_id")
    own = links.join(left, "left_node").join(right, ["right_node", "person_id"])
    vertex = lambda col: F.concat_ws("|", "person_id", col)  # noqa: E731 - one person's copy of a node
    edges = own.select(vertex("left_node").alias("left_node"), vertex("right_node").alias("right_node"))
    profiled = person_nodes.join(profile_nodes, "node")   # two profiles of one person are comparable
    edges = edges.unionByName(profiled.select(vertex("node").alias("left_node"),
                                              F.concat(F.lit("profiles|"), "person_id").alias("right_node")))
    vertices = person_nodes.select(vertex("node").alias("node"))
    comps = connected_components(vertices, edges)
    return (comps.join(person_nodes.select(vertex("node").alias("node"), "person_id",
                                           F.col("node").alias("identity_node")), "node")
            .select("person_id", "identity_node", "component"))


def linkable(truth: DataFrame, attributed: DataFrame, components: DataFrame) -> dict:
    """True pairs an oracle could link, and how many of them were linked (pure)."""
    joined = (truth.join(attributed, ["source", "record_id"], "left")
              .join(components, ["person_id", "identity_node"], "left")
              .withColumn("component", F.coalesce("component", F.concat_ws("|", F.lit("alone"), "source",
                                                                            "record_id"))))
    possible = joined.groupBy("component").count().agg(F.sum(_pairs(F.col("count")))).first()[0] or 0
    found = (joined.where(F.col("customer_key").isNotNull()).groupBy("component", "customer_key").count()
             .agg(F.sum(_pairs(F.col("count")))).first()[0] or 0)
    return {"pairs_linkable": int(possible), "pairs_linkable_found": int(found),
            "recall_linkable": found / possible if possible else 1.0}


def merged_people(truth: DataFrame, attributed: DataFrame, people: DataFrame, shared_groups: DataFrame) -> dict:
    """Keys holding several true people; those whose people share a household or a switchboard."""
    per_key = (truth.join(attributed.where(F.col("customer_key").isNotNull()), ["source", "record_id"])
               .select("customer_key", "person_id").distinct())
    multi = per_key.groupBy("customer_key").agg(F.count(F.lit(1)).alias("people")).where("people > 1")
    members = per_key.join(multi, "customer_key")
    pairs = (members.alias("a").join(members.alias("b"), "customer_key")
             .where(F.col("a.person_id") < F.col("b.person_id"))
             .select("customer_key", F.col("a.person_id").alias("p1"), F.col("b.person_id").alias("p2")))
    household = people.select("person_id", "household_id")
    same_household = (pairs.join(household.toDF("p1", "h1"), "p1").join(household.toDF("p2", "h2"), "p2")
                      .where(F.col("h1") == F.col("h2")).select("customer_key"))
    same_board = (pairs.join(shared_groups.toDF("p1", "g1"), "p1").join(shared_groups.toDF("p2", "g2"), "p2")
                  .where(F.col("g1") == F.col("g2")).select("customer_key"))
    return {"keys_with_several_people": multi.count(),
            "keys_merging_a_household": same_household.distinct().count(),
            "keys_merging_switchboard_callers": same_board.distinct().count()}


def largest_clusters(attributed: DataFrame, truth: DataFrame, top: int = 5) -> list[dict]:
    rows = (truth.join(attributed.where(F.col("customer_key").isNotNull()), ["source", "record_id"])
            .groupBy("customer_key").agg(F.count(F.lit(1)).alias("records"),
                                         F.count_distinct("person_id").alias("people"))
            .orderBy(F.col("people").desc(), F.col("records").desc()).limit(top).collect())
    return [r.asDict() for r in rows]


def evaluate(spark: SparkSession, config: Config) -> dict:
    truth_dir = Path(config.paths.truth)
    needed = [truth_dir / n for n in ("records.csv.gz", "people.csv", "identifiers.csv")]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise JobError(f"ground truth not found ({', '.join(missing)}): evaluation needs data made by "
                       f"`make data` (the generator writes its truth beside the landing zone)")
    graph = config.paths.table("silver.identity_graph")
    if not (graph / "_delta_log").is_dir():
        raise JobError(f"{graph} does not exist yet: run `make run` first")
    read = spark.read.option("header", True)
    truth = read.csv(str(needed[0])).select("source", "record_id", "person_id")
    people = read.csv(str(needed[1])).select("person_id", "household_id")
    switchboards = (read.csv(str(needed[2])).where(F.col("shared_kind") == "switchboard")
                    .select("person_id", F.col("identifier_value").alias("group")))
    attributed = attributions(spark, config).cache()
    out = pairwise(truth, attributed)
    secret = resolve_secret(config.env)
    person_nodes = truth_nodes(read.csv(str(needed[2])), secret)
    links = spark.read.format("delta").load(str(config.paths.table("silver.identity_links")))
    profile_nodes = (spark.read.format("delta").load(str(config.paths.table("silver.customer_pii")))
                     .select(F.col("profile_node").alias("node")).distinct())
    components = linkable_components(person_nodes, links.select("left_node", "right_node"), profile_nodes)
    out.update(linkable(truth, attributed, components))
    p, r = out["precision"], out["recall_linkable"]
    out["f1_all"], out["f1"] = out["f1"], (2 * p * r / (p + r) if p + r else 0.0)
    out.update(merged_people(truth, attributed, people, switchboards))
    out["largest_clusters"] = largest_clusters(attributed, truth)
    attributed.unpersist()
    return out


def report(metrics: dict) -> str:
    lines = [
        "identity resolution against the generator's truth (pairwise over records)",
        f"  records {metrics['records']:,}  unresolved {metrics['unresolved_records']:,}",
        f"  precision {metrics['precision']:.4f}  recall {metrics['recall_linkable']:.4f} (of linkable pairs)  "
        f"F1 {metrics['f1']:.4f}",
        f"  recall of all true pairs {metrics['recall']:.4f}: {metrics['pairs_true'] - metrics['pairs_linkable']:,} "
        f"of {metrics['pairs_true']:,} true pairs have no evidence identifying one person (anonymous-only "
        f"devices, family mailboxes, switchboards, kiosks)",
        f"  pairs: predicted {metrics['pairs_predicted']:,}, true {metrics['pairs_true']:,}, "
        f"correct {metrics['pairs_correct']:,}",
        f"  keys holding several people: {metrics['keys_with_several_people']} "
        f"(a household: {metrics['keys_merging_a_household']}, "
        f"switchboard callers: {metrics['keys_merging_switchboard_callers']})",
        "  largest clusters (people, records):",
    ]
    lines += [f"    {c['customer_key']}  {c['people']}  {c['records']}" for c in metrics["largest_clusters"]]
    return "\n".join(lines)


def cli(args, config: Config) -> int:
    """`python -m jobs eval-identity`."""
    from jobs.runner import spark_for

    print(report(evaluate(spark_for(config), config)))
    return 0
