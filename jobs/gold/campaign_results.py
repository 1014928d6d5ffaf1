"""gold.campaign_results: per campaign and A/B arm, reach and funnel rates, the lift of each
treatment arm over control with a 95% confidence interval and p-value, and a sample-ratio check.

    python -m jobs run gold_campaign_results [--date 2026-11-21]

- The unit is the recipient: the CRM customer id the campaign platform assigned to an arm
  (silver.campaign_events.customer_id). recipients = those with a `sent` event in the arm;
  every other count is of recipients who also have that event (delivered, opened, ...).
- delivery_rate = delivered / recipients; open_rate and click_rate are per delivered;
  conversion_rate = converted / recipients (the generator's truth uses the same definition).
- lift = conversion_rate(arm) - conversion_rate(control), in rate points; the 95% interval is
  the normal (Wald) interval of a difference of two proportions (unpooled standard error);
  the p-value is the two-sided two-proportion z-test (pooled standard error). `math.erf` only.
- Sample-ratio mismatch: chi-square of the recipients per arm against the planned split (equal
  arms unless told otherwise); has_srm when its p-value is below 0.001: then the arms are not
  comparable and the lift should not be trusted.

Small enough to recompute whole every run (events up to the as-of date), MERGEd on
(campaign_id, variant) so unchanged rows keep their `_gold_run_id`.
"""

from __future__ import annotations

import datetime as dt
import math
import time

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.contracts import table_schema
from jobs.common.results import JobResult
from jobs.common.tables import ensure_table, merge_state, read_table, table_exists
from jobs.gold.common import default_as_of, to_schema, upto

JOB = "gold_campaign_results"
TABLE = "gold.campaign_results"
CONTROL = "control"
Z_95 = 1.959963984540054          # two-sided 95% quantile of the standard normal
ALPHA = 0.05
SRM_ALPHA = 0.001
ACTIONS = ("sent", "delivered", "bounced", "opened", "clicked", "converted", "unsubscribed")


# --- statistics (pure Python) -------------------------------------------------------------------

def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def two_proportion(x_t: int, n_t: int, x_c: int, n_c: int) -> dict[str, float | None]:
    """Treatment vs control conversion: lift (p_t - p_c), its 95% Wald interval, z and p-value.

    None everywhere when an arm has no recipients. When nobody (or everybody) converted in both
    arms the normal approximation has no variance: lift 0, no interval, p-value 1.
    """
    if n_t <= 0 or n_c <= 0:
        return {"lift": None, "ci_low": None, "ci_high": None, "z": None, "p_value": None}
    p_t, p_c = x_t / n_t, x_c / n_c
    lift = p_t - p_c
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    pooled = (x_t + x_c) / (n_t + n_c)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    if se_pooled == 0:   # nobody (or everybody) converted in either arm: no evidence either way
        return {"lift": lift, "ci_low": None, "ci_high": None, "z": 0.0, "p_value": 1.0}
    z = lift / se_pooled
    return {"lift": lift, "ci_low": lift - Z_95 * se, "ci_high": lift + Z_95 * se, "z": z,
            "p_value": normal_two_sided_p(z)}


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with integer df >= 1 (closed forms; no scipy)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    if x <= 0:
        return 1.0
    half = x / 2.0
    if df % 2 == 0:            # exp(-x/2) * sum_{i < df/2} (x/2)^i / i!
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    # odd: erfc(sqrt(x/2)) + sqrt(2x/pi) e^(-x/2) sum_{i=1}^{(df-1)/2} x^(i-1) / (1*3*...*(2i-1))
    total, term = 0.0, math.sqrt(2.0 * x / math.pi) * math.exp(-half)
    for i in range(1, (df - 1) // 2 + 1):
        if i > 1:
            term *= x / (2 * i - 1)
        total += term
    return min(1.0, math.erfc(math.sqrt(half)) + total)


def sample_ratio(counts: list[int], shares: list[float] | None = None) -> tuple[float | None, float | None]:
    """Chi-square statistic and p-value of arm sizes against the planned shares (equal if None)."""
    k, n = len(counts), sum(counts)
    if k < 2 or n == 0:
        return None, None
    shares = shares or [1.0 / k] * k
    total = sum(shares)
    stat = sum((c - n * s / total) ** 2 / (n * s / total) for c, s in zip(counts, shares, strict=True))
    return stat, chi2_sf(stat, k - 1)


# --- transformations ----------------------------------------------------------------------------

def arm_counts(events: DataFrame, as_of: dt.date) -> DataFrame:
    """Per campaign and arm: recipients and how many of them reached each funnel step (pure).

    Staged: one row per recipient first (a flag per action), then sums per arm.
    """
    per_recipient = (upto(events, as_of).where(F.col("customer_id").isNotNull())
                     .groupBy("campaign_id", "variant", "customer_id").agg(
                         F.first("channel", ignorenulls=True).alias("channel"),
                         F.min(F.when(F.col("action") == "sent", F.col("occurred_at"))).alias("sent_at"),
                         *[F.max(F.col("action") == a).alias(f"is_{a}") for a in ACTIONS]))
    recipients = per_recipient.where("is_sent")
    return recipients.groupBy("campaign_id", "variant").agg(
        F.first("channel", ignorenulls=True).alias("channel"), F.min("sent_at").alias("first_sent_at"),
        F.count(F.lit(1)).alias("recipients"),
        *[F.sum(F.col(f"is_{a}").cast("long")).alias(a) for a in ACTIONS if a != "sent"])


RESULT_DDL = ("campaign_id string, variant string, is_control boolean, lift double, lift_ci_low double, "
              "lift_ci_high double, relative_lift double, z_score double, p_value double, "
              "is_significant boolean, planned_share double, srm_chi2 double, srm_p_value double, has_srm boolean")


def _campaign_stats(arms: pd.DataFrame) -> pd.DataFrame:
    """One campaign's arms (campaign_id, variant, recipients, converted) -> statistics per arm."""
    arms = arms.sort_values("variant").reset_index(drop=True)
    counts = [int(n) for n in arms["recipients"]]
    chi2, srm_p = sample_ratio(counts)
    control = arms[arms["variant"].str.lower() == CONTROL]
    rows = []
    for _, arm in arms.iterrows():
        is_control = str(arm["variant"]).lower() == CONTROL
        stats = {"lift": None, "ci_low": None, "ci_high": None, "z": None, "p_value": None}
        relative = None
        if not is_control and len(control) == 1:
            c = control.iloc[0]
            stats = two_proportion(int(arm["converted"]), int(arm["recipients"]),
                                   int(c["converted"]), int(c["recipients"]))
            p_c = c["converted"] / c["recipients"] if c["recipients"] else 0
            relative = stats["lift"] / p_c if stats["lift"] is not None and p_c > 0 else None
        rows.append({
            "campaign_id": arm["campaign_id"], "variant": arm["variant"], "is_control": is_control,
            "lift": stats["lift"], "lift_ci_low": stats["ci_low"], "lift_ci_high": stats["ci_high"],
            "relative_lift": relative, "z_score": stats["z"], "p_value": stats["p_value"],
            "is_significant": None if stats["p_value"] is None else bool(stats["p_value"] < ALPHA),
            "planned_share": 1.0 / len(arms), "srm_chi2": chi2, "srm_p_value": srm_p,
            "has_srm": None if srm_p is None else bool(srm_p < SRM_ALPHA)})
    return pd.DataFrame(rows, columns=[c.split(" ")[0] for c in RESULT_DDL.split(", ")])


def campaign_results(arms: DataFrame, as_of: dt.date) -> DataFrame:
    """Arm counts -> rates, lift against control, interval, p-value, SRM (pure; stats per campaign
    run in Python workers with applyInPandas, nothing collected to the driver)."""
    stats = (arms.select("campaign_id", "variant", "recipients", "converted")
             .groupBy("campaign_id").applyInPandas(_campaign_stats, RESULT_DDL))

    def rate(num: str, den: str):
        return F.when(F.col(den) > 0, F.col(num) / F.col(den))

    control = arms.where(F.lower("variant") == CONTROL).select(
        "campaign_id", rate("converted", "recipients").alias("control_conversion_rate"))
    return (arms.join(stats, ["campaign_id", "variant"]).join(control, "campaign_id", "left")
            .withColumn("delivery_rate", rate("delivered", "recipients"))
            .withColumn("open_rate", rate("opened", "delivered"))
            .withColumn("click_rate", rate("clicked", "delivered"))
            .withColumn("conversion_rate", rate("converted", "recipients"))
            .withColumn("as_of_date", F.lit(as_of)))


def run(spark: SparkSession, config: Config, *, run_id: str, logical_date: dt.date | None = None,
        full_rebuild: bool = False) -> JobResult:
    started = time.monotonic()
    source = ensure_table(spark, config, table_schema("silver.campaign_events"))   # campaigns disabled: empty
    events = read_table(spark, source)
    touchpoints = str(config.paths.table("silver.touchpoints"))
    as_of = logical_date or (default_as_of(spark, touchpoints) if table_exists(spark, touchpoints)
                             else dt.datetime.now(dt.UTC).date())
    schema = table_schema(TABLE)
    target = ensure_table(spark, config, schema)
    state = to_schema(campaign_results(arm_counts(events, as_of), as_of), schema, run_id).localCheckpoint()
    merged = merge_state(spark, target, state, ["campaign_id", "variant"])
    result = JobResult(job=JOB, rows_in=state.count(), rows_out=merged["inserted"] + merged["updated"])
    result.seconds = time.monotonic() - started
    result.details = {"as_of": str(as_of), **merged}
    return result
