"""Probabilistic matching of profiles that no deterministic link joined (Fellegi-Sunter).

Candidate pairs come from blocking rules (same birth date; same postal code and last-name
initial; same normalised full name), only between profiles of different components. Each
field is compared at a few levels; the pair's match weight is the sum of log2(m/u) of its levels
(m: chance of that level for a true match, u: for two random people). A pair links when its
weight reaches `identity.match_threshold`, and never across two different birth dates or first
names; a profile whose two best candidate components score
within `identity.match_margin` of each other links to neither (ambiguous_match) - the
over-merge protection for probabilistic links.
"""

from __future__ import annotations

import math

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.identity.overmerge import names_compatible

# (m, u) per comparison level. m from how sources garble one person (typos, missing values);
# u from how often two different people agree. Households share a street, a surname and often
# a mailbox or a landline, so email and phone agreement is strong but not conclusive evidence.
M_U = {
    "first": {"exact": (0.80, 0.02), "close": (0.18, 0.02), "differ": (0.02, 0.96)},
    "last": {"exact": (0.80, 0.02), "close": (0.18, 0.01), "differ": (0.02, 0.97)},
    "birth_date": {"exact": (0.97, 0.0002), "differ": (0.03, 0.9998)},
    "street": {"exact": (0.85, 0.002), "differ": (0.15, 0.998)},
    "postal_code": {"exact": (0.90, 0.01), "differ": (0.10, 0.99)},
    "email": {"exact": (0.50, 0.002), "differ": (0.50, 0.998)},
    "phone": {"exact": (0.60, 0.002), "differ": (0.40, 0.998)},
}
WEIGHTS = {field: {level: math.log2(m / u) for level, (m, u) in levels.items()} for field, levels in M_U.items()}
BLOCKING_RULES = (("birth_date",), ("postal_code", "last_initial"), ("full_name",))


def _with_block_keys(profiles: DataFrame) -> DataFrame:
    names = F.array_sort(F.array(F.coalesce("first", F.lit("")), F.coalesce("last", F.lit(""))))
    return (profiles.withColumn("last_initial", F.substring("last", 1, 1))
            .withColumn("full_name", F.when(F.col("first").isNotNull() & F.col("last").isNotNull(),
                                            F.concat_ws(" ", names))))


def candidate_pairs(profiles: DataFrame) -> DataFrame:
    """Profile pairs (a < b, different components) sharing at least one blocking key."""
    keyed = _with_block_keys(profiles)
    pairs = None
    for rule in BLOCKING_RULES:
        cond = F.lit(True)
        for k in rule:
            cond = cond & F.col(f"a.{k}").isNotNull() & (F.col(f"a.{k}") == F.col(f"b.{k}"))
        found = (keyed.alias("a").join(keyed.alias("b"), cond)
                 .where((F.col("a.component") != F.col("b.component"))
                        & (F.col("a.profile_node") < F.col("b.profile_node")))
                 .select(F.col("a.profile_node").alias("a_node"), F.col("b.profile_node").alias("b_node")))
        pairs = found if pairs is None else pairs.unionByName(found)
    return pairs.distinct()


def _level(a: Column, b: Column, close: Column | None = None) -> Column:
    level = F.when(a.isNull() | b.isNull(), None).when(a == b, "exact")
    if close is not None:
        level = level.when(close, "close")
    return level.otherwise("differ")


def _weight(field: str, level: Column) -> Column:
    w = F.lit(0.0)   # a missing value says nothing either way
    for name, value in WEIGHTS[field].items():
        w = F.when(level == name, F.lit(value)).otherwise(w)
    return w


def score_pairs(pairs: DataFrame, profiles: DataFrame) -> DataFrame:
    """Add comparison levels and the match weight to each candidate pair (pure)."""
    cols = ["profile_node", "component", "first", "last", "birth_date", "street", "postal_code",
            "email_node", "phone_node"]
    a = profiles.select(*[F.col(c).alias(f"a_{c}") for c in cols])
    b = profiles.select(*[F.col(c).alias(f"b_{c}") for c in cols])
    df = (pairs.join(a, F.col("a_node") == F.col("a_profile_node"))
          .join(b, F.col("b_node") == F.col("b_profile_node")))
    swapped = (F.col("a_first") == F.col("b_last")) & (F.col("a_last") == F.col("b_first"))
    first_close = names_compatible(F.col("a_first"), F.lit(None), F.col("b_first"), F.lit(None))
    last_close = names_compatible(F.col("a_last"), F.lit(None), F.col("b_last"), F.lit(None))
    levels = {
        "first": F.when(swapped, "exact").otherwise(_level(F.col("a_first"), F.col("b_first"), first_close)),
        "last": F.when(swapped, "exact").otherwise(_level(F.col("a_last"), F.col("b_last"), last_close)),
        "birth_date": _level(F.col("a_birth_date"), F.col("b_birth_date")),
        "street": _level(F.col("a_street"), F.col("b_street")),
        "postal_code": _level(F.col("a_postal_code"), F.col("b_postal_code")),
        "email": _level(F.col("a_email_node"), F.col("b_email_node")),
        "phone": _level(F.col("a_phone_node"), F.col("b_phone_node")),
    }
    weight = sum((_weight(f, lv) for f, lv in levels.items()), F.lit(0.0))
    # Veto: two known, different birth dates are two people, whatever else they share (siblings,
    # a couple at one address with one mailbox). A typo'd birth date costs a missed link instead.
    # The same holds for two different first names (typos and swapped fields are "close"/"exact").
    vetoed = (levels["birth_date"] == "differ") | (levels["first"] == "differ")
    weight = F.when(vetoed, F.least(weight, F.lit(0.0))).otherwise(weight)
    return df.select("a_node", "b_node", F.col("a_component"), F.col("b_component"),
                     F.struct(*[lv.alias(f) for f, lv in levels.items()]).alias("levels"),
                     F.round(weight, 3).alias("match_score"))


def decide(scored: DataFrame, threshold: float, margin: float) -> tuple[DataFrame, DataFrame]:
    """(accepted links, ambiguous refusals). Per profile, the best score per other component counts."""
    above = scored.where(F.col("match_score") >= threshold)
    sides = (above.select(F.col("a_node").alias("profile_node"), F.col("b_component").alias("other"), "match_score")
             .unionByName(above.select(F.col("b_node").alias("profile_node"), F.col("a_component").alias("other"),
                                       "match_score")))
    per_component = sides.groupBy("profile_node", "other").agg(F.max("match_score").alias("best"))
    ranked = per_component.withColumn("rank", F.row_number().over(
        Window.partitionBy("profile_node").orderBy(F.col("best").desc(), F.col("other"))))
    runner_up = ranked.where("rank = 2").select("profile_node", F.col("best").alias("second"))
    top = ranked.where("rank = 1").join(runner_up, "profile_node", "left")
    ambiguous = top.where(F.col("second").isNotNull() & (F.col("best") - F.col("second") < margin))
    refused = ambiguous.select("profile_node")
    accepted = (above.join(refused.withColumnRenamed("profile_node", "a_node"), "a_node", "left_anti")
                .join(refused.withColumnRenamed("profile_node", "b_node"), "b_node", "left_anti")
                .select(F.col("a_node").alias("left_node"), F.col("b_node").alias("right_node"),
                        F.lit("probabilistic").alias("rule"), "match_score"))
    rejections = ambiguous.select(
        F.col("profile_node").alias("node"), F.col("other").alias("other_node"),
        F.lit("ambiguous_match").alias("reason"),
        F.concat(F.lit("best candidate scores "), F.col("best").cast("string"), F.lit(", runner-up "),
                 F.col("second").cast("string"), F.lit(f" (margin {margin})")).alias("detail"))
    return accepted, rejections
