"""Over-merge protection: find identifiers shared by several people and refuse their links.

Three tests, all recorded in silver.identity_rejections:
- family_mailbox / role_mailbox / landline: the address names a household or a role, or the
  number is a fixed line (flagged at conform time from the clear value, see
  jobs.silver.standardise.mailbox_kind and phone_line_kind);
- too_many_customers: more distinct CRM customers behind the identifier than its type allows
  (a kiosk device, a company switchboard, a large family mailbox);
- conflicting_profiles: two people behind it whose birth dates differ, or whose names cannot be
  the same person (a couple's shared mailbox with only two CRM records, a non-member's
  identify that gave the family mailbox).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver.nodes import node_type


def _other_end(links: DataFrame) -> DataFrame:
    """(node, neighbour) both ways."""
    a = links.select(F.col("left_node").alias("node"), F.col("right_node").alias("neighbour"))
    b = links.select(F.col("right_node").alias("node"), F.col("left_node").alias("neighbour"))
    return a.unionByName(b).distinct()


def too_many_customers(links: DataFrame, limits: dict[str, int]) -> DataFrame:
    """(node, node_type, linked_customers, reason, detail) for identifiers over their type's limit."""
    limit = F.element_at(F.create_map(*[F.lit(x) for kv in limits.items() for x in kv]), F.col("node_type"))
    counts = (_other_end(links).withColumn("node_type", node_type(F.col("node")))
              .where(F.col("node_type").isin(*limits) & (node_type(F.col("neighbour")) == "customer_id"))
              .groupBy("node", "node_type").agg(F.count_distinct("neighbour").alias("linked_customers")))
    return (counts.where(F.col("linked_customers") > limit)
            .select("node", "node_type", "linked_customers", F.lit("too_many_customers").alias("reason"),
                    F.concat(F.lit("linked to "), F.col("linked_customers").cast("string"),
                             F.lit(" CRM customers; limit for "), F.col("node_type"), F.lit(" is "),
                             limit.cast("string")).alias("detail")))


def names_compatible(first_a: Column, last_a: Column, first_b: Column, last_b: Column) -> Column:
    """Could these two names belong to one person (typos, swapped fields)? Null when unknown."""
    def close(x: Column, y: Column) -> Column:
        # One typo in a short name, two in a long one: "lea"/"zoe" are two people, not a typo.
        allowed = F.when(F.least(F.length(x), F.length(y)) <= 5, 1).otherwise(2)
        return (x == y) | (F.levenshtein(x, y) <= allowed)
    same = close(first_a, first_b) & (close(last_a, last_b) | last_a.isNull() | last_b.isNull())
    swapped = close(first_a, last_b) & close(last_a, first_b)
    return F.when(first_a.isNull() | first_b.isNull(), None).otherwise(same | F.coalesce(swapped, F.lit(False)))


def profiles_conflict(a: str, b: str) -> Column:
    """Two profiles (struct columns a, b) that cannot be one person."""
    pa, pb = F.col(a), F.col(b)
    dob_differs = pa["birth_date"].isNotNull() & pb["birth_date"].isNotNull() & (pa["birth_date"] != pb["birth_date"])
    dob_same = F.coalesce(pa["birth_date"] == pb["birth_date"], F.lit(False))
    names_clash = ~F.coalesce(names_compatible(pa["first"], pa["last"], pb["first"], pb["last"]), F.lit(True))
    return F.coalesce(dob_differs, F.lit(False)) | (names_clash & ~dob_same)


def conflicting_profiles(links: DataFrame, profiles: DataFrame) -> DataFrame:
    """Identifiers (not customer ids) with two linked profiles that cannot be one person."""
    prof = profiles.select("profile_node", F.struct("first", "last", "birth_date").alias("p"))
    behind = (_other_end(links).where(node_type(F.col("node")) != "customer_id")
              .join(prof, F.col("neighbour") == F.col("profile_node"))
              .select("node", "neighbour", "p"))
    pairs = (behind.alias("x").join(behind.alias("y"), "node")
             .where(F.col("x.neighbour") < F.col("y.neighbour"))
             .select("node", F.col("x.p").alias("a"), F.col("y.p").alias("b")))
    return (pairs.where(profiles_conflict("a", "b")).groupBy("node").agg(F.count(F.lit(1)).alias("pairs"))
            .select("node", node_type(F.col("node")).alias("node_type"), F.lit(None).cast("bigint").alias("linked_customers"),
                    F.lit("conflicting_profiles").alias("reason"),
                    F.concat(F.col("pairs").cast("string"),
                             F.lit(" pair(s) of people behind it with different birth dates or names")).alias("detail")))


def shared_by_design(seen: DataFrame) -> DataFrame:
    """Identifiers whose text says they are shared (seen: node, shared_hint)."""
    return seen.where(F.col("shared_hint").isNotNull()).select(
        "node", node_type(F.col("node")).alias("node_type"), F.lit(None).cast("bigint").alias("linked_customers"),
        F.col("shared_hint").alias("reason"),
        F.lit("shared by design: a household or role mailbox, or a fixed line").alias("detail"))


def shared_identifiers(links: DataFrame, profiles: DataFrame, limits: dict[str, int], seen: DataFrame) -> DataFrame:
    """Every identifier refused as shared, one row per identifier (first test that fires wins)."""
    out = shared_by_design(seen)
    for found in (too_many_customers(links, limits), conflicting_profiles(links, profiles)):
        out = out.unionByName(found.join(out.select("node"), "node", "left_anti"))
    return out


def without_shared(links: DataFrame, shared: DataFrame) -> DataFrame:
    """Links that touch no shared identifier."""
    refused = shared.select("node")
    return (links.join(refused.withColumnRenamed("node", "left_node"), "left_node", "left_anti")
            .join(refused.withColumnRenamed("node", "right_node"), "right_node", "left_anti"))
