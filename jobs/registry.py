"""The job list: one source of truth for the Makefile, the CLI, the pipeline and the Airflow DAGs.

Standard library only, so DAG files can import it at parse time for free. A stage added later
(gates, silver, identity, gold, scoring, privacy) is one more `Job` here; every caller follows.
A source is not declared here: its files are (jobs.common.sources), and its jobs follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.common.sources import sources

GATE_MODULE = "jobs.quality.gate"
# Declared by their files (jobs.common.sources): a landing contract, and a conform module for silver.
SOURCES: tuple[str, ...] = tuple(sources())
SILVER_SOURCES: tuple[str, ...] = tuple(name for name, source in sources().items() if source.conform)


@dataclass(frozen=True)
class Job:
    name: str                       # unique, used on the command line and as the Airflow task id
    stage: str                      # one of STAGES; jobs of a stage may run in parallel
    layer: str                      # bronze | silver | gold | ops: the layer it writes
    module: str                     # module with run(spark, config, args)
    description: str
    inputs: tuple[str, ...] = ()    # tables or landing folders read
    outputs: tuple[str, ...] = ()   # tables written
    depends_on: tuple[str, ...] = ()
    params: tuple[tuple[str, str], ...] = ()  # fixed keyword arguments, e.g. (("source", "events"),)
    suite: str | None = None        # expectations/<suite>.yaml guarding its outputs (quality gates)

    @property
    def kwargs(self) -> dict[str, str]:
        return dict(self.params)

    @property
    def is_gate(self) -> bool:
        """A quality gate: it validates with Great Expectations (jobs.quality.gate)."""
        return self.module == GATE_MODULE


def _ingest_job(source: str) -> Job:
    return Job(
        name=f"ingest_{source}",
        stage="bronze",
        layer="bronze",
        module="jobs.bronze.ingest",
        description=f"Ingest new files of landing/{source}/ into bronze.{source} exactly once; "
                    f"records that cannot be accepted go to ops.quarantine with a reason.",
        inputs=(f"landing/{source}",),
        outputs=(f"bronze.{source}", "ops.quarantine", "ops.ingested_files"),
        params=(("source", source),),
        suite=f"bronze_{source}",
    )


GATE_BRONZE = Job(
    name="gate_bronze",
    stage="bronze_gate",
    layer="ops",
    module=GATE_MODULE,
    description="Validate what this run ingested into every bronze table (expectations/bronze_*.yaml, "
                "ops_quarantine.yaml) and the files behind it (ops_ingested_files.yaml); results to "
                "ops.quality_results; fails the run before silver on a fail-severity expectation.",
    inputs=tuple(f"bronze.{source}" for source in SOURCES) + ("ops.ingested_files", "ops.quarantine"),
    outputs=("ops.quality_results",),
    depends_on=tuple(f"ingest_{source}" for source in SOURCES),
    params=(("stage", "bronze"),),
)

def _silver_job(source: str) -> Job:
    return Job(
        name=f"silver_{source}",
        stage="silver",
        layer="silver",
        module="jobs.silver.conform",
        description=f"Standardise, deduplicate and pseudonymise the bronze.{source} rows committed since the "
                    f"last run into silver; record identity evidence; reconcile bronze against silver.",
        inputs=(f"bronze.{source}", "ops.ingested_files"),
        outputs=(*sources()[source].silver_outputs, "ops.job_watermarks", "ops.silver_reconciliation"),
        depends_on=("gate_bronze",),
        params=(("source", source),),
    )


RESOLVE_IDENTITY = Job(
    name="resolve_identity",
    stage="identity",
    layer="silver",
    module="jobs.identity.resolve",
    description="Resolve every identifier to one stable customer_key: deterministic links with over-merge "
                "protection, connected components, Fellegi-Sunter matching of unlinked profiles; record "
                "merges, splits and refused links; attribute silver rows; rebuild silver.customers.",
    inputs=("silver.identity_links", "silver.identity_nodes", "silver.customer_pii", "silver.crm_records"),
    outputs=("silver.identity_graph", "silver.customer_keys", "silver.customer_key_events",
             "silver.identity_rejections", "silver.customers", "silver.touchpoints", "silver.orders",
             "silver.calls", "silver.campaign_events", "silver.consents", "silver.consent_current",
             "silver.crm_records", "silver.customer_pii"),
    depends_on=tuple(f"silver_{source}" for source in SILVER_SOURCES),
)

GATE_SILVER = Job(
    name="gate_silver",
    stage="silver_gate",
    layer="ops",
    module=GATE_MODULE,
    description="Validate this run's silver (expectations/silver_*.yaml, ops_silver_reconciliation.yaml): "
                "reconciliation with bronze, unique keys, referential integrity, no direct identifiers, "
                "shared identifiers keyless; fails the run before gold on a fail-severity expectation.",
    inputs=("silver.touchpoints", "silver.customers", "silver.identity_graph", "ops.silver_reconciliation"),
    outputs=("ops.quality_results",),
    depends_on=("resolve_identity",),
    params=(("stage", "silver"),),
)

GOLD_CUSTOMER_360 = Job(
    name="gold_customer_360",
    stage="gold",
    layer="gold",
    module="jobs.gold.customer_360",
    description="One row per customer as of the logical date (identity, consent, value and RFM, behaviour, "
                "ancillaries, calls, campaigns, segments from segments/segments.yaml); only customers touched "
                "since the last run are recomputed, MERGEd on customer_key; segment membership history.",
    inputs=("silver.customers", "silver.touchpoints", "silver.order_items", "silver.calls",
            "silver.campaign_events", "silver.consents"),
    outputs=("gold.customer_360", "gold.segment_membership", "ops.job_watermarks"),
    depends_on=("gate_silver",),
)

GOLD_CAMPAIGN_RESULTS = Job(
    name="gold_campaign_results",
    stage="gold",
    layer="gold",
    module="jobs.gold.campaign_results",
    description="Per campaign and A/B arm: reach, open/click/conversion rates, lift against control with a "
                "95% interval and p-value, sample-ratio-mismatch check.",
    inputs=("silver.campaign_events",),
    outputs=("gold.campaign_results",),
    depends_on=("gate_silver",),
)

GOLD_MARTS = Job(
    name="gold_marts",
    stage="gold",
    layer="gold",
    module="jobs.gold.marts",
    description="Marts: per day and channel KPIs (active customers, sessions, orders, revenue, conversion, "
                "calls, CSAT) and customer journeys (touchpoints sessionised across channels).",
    inputs=("silver.touchpoints", "silver.calls"),
    outputs=("gold.channel_daily_kpis", "gold.customer_journeys"),
    depends_on=("gate_silver",),
)

GOLD_SERVICE_ALERTS = Job(
    name="gold_service_alerts",
    stage="gold",
    layer="gold",
    module="jobs.gold.service_alerts",
    description="Travellers departing in the next days (flight items' departure_date) with an unresolved "
                "problem (a complaint call not resolved, a call rated low, an order cancelled or refunded): "
                "the flight, the problems and the facts staff need, without direct identifiers.",
    inputs=("silver.orders", "silver.order_items", "silver.calls"),
    outputs=("gold.service_alerts",),
    depends_on=("gate_silver",),
)

GOLD_JOBS: tuple[Job, ...] = (GOLD_CUSTOMER_360, GOLD_CAMPAIGN_RESULTS, GOLD_MARTS, GOLD_SERVICE_ALERTS)
GOLD_TABLES: tuple[str, ...] = tuple(t for job in GOLD_JOBS for t in job.outputs if t.startswith("gold."))

def _publishing_gate(name: str, layer_stage: str, writers: tuple[Job, ...], tables: tuple[str, ...],
                     references: tuple[str, ...], checks: str) -> Job:
    """A gate that judges whole tables after their writers' stage and, only when they pass, publishes
    the versions it judged (jobs.quality.gate: gold, scores)."""
    return Job(
        name=name,
        stage=f"{writers[0].stage}_gate",
        layer="ops",
        module=GATE_MODULE,
        description=f"Validate {checks}. On success publishes the versions it judged (readers see them; "
                    f"Airflow assets follow); on a fail-severity expectation fails and publishes nothing, so "
                    f"readers keep the last published versions.",
        inputs=tables + references,
        outputs=("ops.quality_results",),
        depends_on=tuple(job.name for job in writers),
        params=(("stage", layer_stage),),
    )


GATE_GOLD = _publishing_gate(
    "gate_gold", "gold", GOLD_JOBS, GOLD_TABLES, ("silver.customers",),
    "every gold table whole (expectations/gold_*.yaml): exactly one row per customer, rates and shares "
    "within [0, 1], consistent counts, no direct identifiers, customer volume against earlier runs")

# Model features are customer_360's columns as of a cutoff, read the way it reads silver (open_silver).
MODEL_INPUTS = GOLD_CUSTOMER_360.inputs

TRAIN_MODELS = Job(
    name="train_models",
    stage="train",
    layer="ops",
    module="jobs.models.train",
    description="Fit every model of models/*.yaml and the CLV model on point-in-time training sets (features "
                "as of earlier cutoffs, labels from the horizon after each), evaluate on the latest cutoff, log "
                "the run to MLflow, register it, and move the champion alias only to a version that beats the "
                "champion.",
    inputs=MODEL_INPUTS,
    outputs=(),
    depends_on=("gate_gold",),
)

SCORE_CUSTOMERS = Job(
    name="score_customers",
    stage="score",
    layer="gold",
    module="jobs.models.score",
    description="Score every eligible customer with each champion model as of the logical date "
                "(features computed as in training) into gold.customer_scores, with deciles and CLV outputs.",
    inputs=MODEL_INPUTS,
    outputs=("gold.customer_scores",),
    depends_on=("train_models",),
)
CHOOSE_OFFERS = Job(
    name="choose_offers",
    stage="offers",
    layer="gold",
    module="jobs.models.next_best_offer",
    description="The next best offer per scored customer as of the date: the offer and consented marketing "
                "channel with the best expected value (propensity x channel response x offer value), at the "
                "customer's usual hour, under the contact cap, with a reason, into gold.next_best_offer.",
    inputs=("gold.customer_scores", "gold.customer_360", "silver.customers", "silver.campaign_events",
            "silver.order_items", "silver.orders", "silver.touchpoints"),
    outputs=("gold.next_best_offer",),
    depends_on=("score_customers",),
)
SCORING_JOBS: tuple[Job, ...] = (SCORE_CUSTOMERS, CHOOSE_OFFERS)
SCORING_TABLES: tuple[str, ...] = tuple(t for job in SCORING_JOBS for t in job.outputs if t.startswith("gold."))

GATE_SCORES = _publishing_gate(
    "gate_scores", "scores", SCORING_JOBS, SCORING_TABLES, ("gold.customer_360",),
    "the latest date's scores and offers (expectations/gold_customer_scores.yaml, gold_next_best_offer.yaml): "
    "one row per customer, model and date, probabilities in [0, 1], deciles 1-10, offers only on consented "
    "channels and under the contact cap, customers known to customer_360, no direct identifiers")

# Written in place by their stage, judged whole by its publishing gate, and read by everyone else at
# the version the gate last published (jobs.common.publication: write-audit-publish).
PUBLISHED_TABLES: tuple[str, ...] = GOLD_TABLES + SCORING_TABLES

JOBS: tuple[Job, ...] = (tuple(_ingest_job(source) for source in SOURCES) + (GATE_BRONZE,)
                         + tuple(_silver_job(source) for source in SILVER_SOURCES) + (RESOLVE_IDENTITY, GATE_SILVER)
                         + GOLD_JOBS + (GATE_GOLD,) + (TRAIN_MODELS,) + SCORING_JOBS + (GATE_SCORES,))

# In pipeline order; each stage starts when the previous one succeeded. Gate stages sit between
# layers. STAGES is one logical date's data, landing to gated gold: the daily DAG. MODEL_STAGES
# train and score on gated gold: the models DAGs (weekly training; scoring after each gated gold).
# `python -m jobs pipeline` (make run) runs both, in this order.
STAGES: tuple[str, ...] = ("bronze", "bronze_gate", "silver", "identity", "silver_gate", "gold", "gold_gate")
MODEL_STAGES: tuple[str, ...] = ("train", "score", "offers", "score_gate")
PIPELINE_STAGES: tuple[str, ...] = STAGES + MODEL_STAGES


def get_job(name: str) -> Job:
    for job in JOBS:
        if job.name == name:
            return job
    known = ", ".join(job.name for job in JOBS)
    from jobs.common.errors import JobError

    raise JobError(f"unknown job '{name}'; known jobs: {known}")


def jobs_in_stage(stage: str) -> list[Job]:
    return [job for job in JOBS if job.stage == stage]


def jobs_in_stages(stages) -> list[Job]:
    """The jobs of these stages, stage by stage in the order given."""
    return [job for stage in stages for job in jobs_in_stage(stage)]
