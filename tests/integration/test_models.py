"""Training, the registry and scoring on the generated lake, with a real MLflow store.

One module-scoped copy of the generated gold lake, trained twice and scored twice (the costly
parts), then checked from every side: the MLflow runs and registry, the champion rule, the scores
table and its gate, the MLflow server's REST API.
"""

import datetime as dt
import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
from pyspark.sql import functions as F

from jobs.common.publication import published_version
from jobs.common.tables import latest_version
from jobs.models import next_best_offer, score, tracking, train
from jobs.models.settings import model_settings
from jobs.models.ui import command
from jobs.quality import gate
from tests.conftest import make_config
from tests.integration.conftest import END

FLIGHT = """\
name: flight_propensity
description: Books a flight the next day.
target: {kind: purchase, category: flight}
horizon_days: 1
features: [orders_with_flight, completed_orders, sessions_30d, page_views_30d, days_since_last_seen,
           preferred_channel]
algorithm: {name: gbt, params: {maxIter: 8, maxDepth: 3}}
training: {cutoffs: 2, step_days: 1}
"""
LOUNGE = FLIGHT.replace("flight_propensity", "lounge_propensity").replace("category: flight", "category: lounge")


@pytest.fixture(scope="module")
def lake(spark, generated_gold_lake, tmp_path_factory):
    """(config, first training, second training, (first scoring, its rows), (second scoring, its rows,
    the scores gate that published it), (offers, offers again))."""
    source, _ = generated_gold_lake
    root = tmp_path_factory.mktemp("models_lake")
    specs = root / "specs"
    specs.mkdir()
    (specs / "flight.yaml").write_text(FLIGHT)
    (specs / "lounge.yaml").write_text(LOUNGE)   # nobody buys lounge access: refused
    config = make_config(root, **{"paths.landing": str(source.paths.landing), "paths.truth": str(source.paths.truth),
                                  "models.store": str(root / "mlflow"), "models.specs_dir": str(specs),
                                  "models.min_positives": 3, "models.min_roc_auc": 0.5})
    shutil.copytree(source.paths.lake, config.paths.lake)
    first = train.run(spark, config, run_id="train-1", logical_date=END)
    second = train.run(spark, config, run_id="train-2", logical_date=END, models="flight_propensity")
    scored = score.run(spark, config, run_id="score-1", logical_date=END)
    rows_1 = _scores(spark, config)
    rescored = score.run(spark, config, run_id="score-2", logical_date=END)
    offers = next_best_offer.run(spark, config, run_id="offers-1")
    again = next_best_offer.run(spark, config, run_id="offers-2")
    # Published, as the pipeline does: analysts, the notebook and the views read published scores.
    gated = gate.run(spark, config, run_id="score-2", logical_date=END, stage="scores", gx_folder=root / "gx")
    rows_2 = _scores(spark, config)
    return config, first, second, (scored, rows_1), (rescored, rows_2, gated), (offers, again)


def _scores(spark, config):
    df = spark.read.format("delta").load(str(config.paths.table("gold.customer_scores")))
    return sorted((r.customer_key, r.model, r.model_version, r.score, r.decile) for r in df.collect())


def _client(config):
    return tracking.open_tracking(model_settings(config))


def test_training_logs_a_reproducible_run_and_registers_the_first_champion(spark, lake):
    config, first, *_ = lake
    flight = first.details["models"]["flight_propensity"]
    assert flight["promoted"] and flight["version"] == "1" and 0.5 < flight["roc_auc"] <= 1.0
    client = _client(config)
    run = client.get_run(flight["mlflow_run_id"])
    assert {"roc_auc", "pr_auc", "log_loss", "brier"} <= set(run.data.metrics)
    assert run.data.metrics["roc_auc"] == pytest.approx(flight["roc_auc"], abs=1e-4)
    touchpoints = str(config.paths.table("silver.touchpoints"))
    assert run.data.tags["input_version.silver.touchpoints"] == str(latest_version(touchpoints))
    assert run.data.tags["as_of_date"] == str(END) and run.data.params["seed"] == "42"
    artifacts = {a.path for folder in ("plots", "evaluation") for a in client.list_artifacts(run.info.run_id, folder)}
    assert {"plots/calibration.png", "plots/lift_gains.png", "evaluation/feature_importances.json",
            "evaluation/deciles.json"} <= artifacts
    version = client.get_model_version_by_alias("flight_propensity", tracking.CHAMPION)
    assert str(version.version) == "1" and version.run_id == run.info.run_id
    from mlflow.models import get_model_info

    info = get_model_info(f"models:/flight_propensity/{version.version}")
    assert {c["name"] for c in _model_inputs("flight_propensity", version.version)} >= {"orders_with_flight",
                                                                                       "preferred_channel"}
    assert info.saved_input_example_info is not None


def test_a_model_without_enough_positives_is_refused_and_not_registered(lake):
    config, first, *_ = lake
    refused = first.details["models"]["lounge_propensity"]["refused"]
    assert "lounge_propensity" in refused and "min_positives" in refused and "lounge.yaml" in refused
    assert tracking.champion_version(_client(config), "lounge_propensity") is None
    assert [m.name for m in _client(config).search_registered_models(filter_string="name = 'lounge_propensity'")] == []


def test_a_second_run_on_the_same_data_does_not_replace_the_champion(lake):
    config, first, second, *_ = lake
    again = second.details["models"]["flight_propensity"]
    assert again["version"] == "2" and not again["promoted"]
    assert again["roc_auc"] == first.details["models"]["flight_propensity"]["roc_auc"]   # same seed, same data
    client = _client(config)
    assert str(client.get_model_version_by_alias("flight_propensity", tracking.CHAMPION).version) == "1"
    run = client.get_run(again["mlflow_run_id"])
    assert run.data.metrics["champion_roc_auc"] == pytest.approx(run.data.metrics["roc_auc"])
    assert run.data.tags["promotion"] == "kept champion" and "margin" in run.data.tags["promotion_reason"]


def _model_inputs(name: str, version: str) -> list[dict]:
    from mlflow.models import get_model_info

    return get_model_info(f"models:/{name}/{version}").signature.inputs.to_dict()


def test_lifetime_value_is_fitted_logged_and_scored(spark, lake):
    config, first, _, (scored, _), *_ = lake
    fitted = first.details["models"]["clv"]
    assert fitted["promoted"] and min(fitted["r"], fitted["alpha"], fitted["b"]) > 0
    client = _client(config)
    run = client.get_run(fitted["mlflow_run_id"])
    assert {"bgnbd_r", "gamma_gamma_p"} <= set(run.data.params)
    assert "plots/predicted_vs_actual.png" in {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    rows = (spark.read.format("delta").load(str(config.paths.table("gold.customer_scores")))
            .where(F.col("model") == "clv").collect())
    assert rows and all(r.score >= 0 and 0 <= r.p_alive <= 1 and r.expected_purchases_365d >= 0 for r in rows)


def test_scores_are_identical_for_the_same_champion_and_inputs_and_pass_their_gate(spark, lake):
    config, _, _, (scored, rows_1), (rescored, rows_2, gated), _ = lake
    assert rows_1 == rows_2 and rows_1
    assert {m for _, m, _, _, _ in rows_1} == {"flight_propensity", "clv"}
    assert {v for _, m, v, _, _ in rows_1 if m == "flight_propensity"} == {"1"}   # the champion, not v2
    customers = spark.read.format("delta").load(str(config.paths.table("gold.customer_360")))
    assert sum(1 for r in rows_1 if r[1] == "flight_propensity") == customers.count()   # eligibility: everyone
    assert rescored.details["inserted"] == rescored.details["updated"] == rescored.details["deleted"] == 0
    offers = spark.read.format("delta").load(str(config.paths.table(next_best_offer.TABLE))).count()
    assert gated.rows_in == len(rows_1) + offers
    assert published_version(config.paths.lake, "gold.customer_scores") == latest_version(
        str(config.paths.table("gold.customer_scores")))


def test_each_customers_latest_scores_are_a_view_beside_customer_360(spark, lake):
    from jobs.gold import access, fast

    config, _, _, (_, rows_1), *_ = lake
    sql = "SELECT customer_key, model, model_version, score, decile FROM gold.customer_latest_scores"
    via_duckdb = sorted(tuple(r) for r in fast.query(sql, config.paths.lake).itertuples(index=False))
    assert via_duckdb == rows_1
    assert "gold.customer_latest_scores" in access.register_analyst_tables(spark, config)
    assert sorted(tuple(r) for r in spark.sql(sql).collect()) == rows_1


def test_offers_go_only_to_consented_channels_under_the_contact_cap(spark, lake):
    config, *_, (offers, again) = lake
    assert offers.details["as_of"] == str(END) and again.details["inserted"] == again.details["updated"] == again.details["deleted"] == 0
    made = spark.read.format("delta").load(str(config.paths.table(next_best_offer.TABLE))).collect()
    c360 = {r.customer_key: r for r in
            spark.read.format("delta").load(str(config.paths.table("gold.customer_360"))).collect()}
    window = F.to_date("occurred_at").between(END - dt.timedelta(days=6), END)
    sends = {r.customer_key: r.n for r in
             spark.read.format("delta").load(str(config.paths.table("silver.campaign_events")))
             .where((F.col("action") == "sent") & window).groupBy("customer_key").agg(F.count("*").alias("n"))
             .collect()}
    decisions = {r.decision for r in made}
    assert "offer" in decisions and "no_marketing_consent" in decisions
    scales = []
    for r in made:
        consented = {c for c in ("email", "sms", "push", "phone") if c360[r.customer_key][f"consent_marketing_{c}"]}
        assert set(r.consented_channels) == consented and r.contacts_7d == sends.get(r.customer_key, 0)
        if r.decision == "offer":
            assert r.channel in consented and r.contacts_7d < r.contact_cap and r.offer == "flight"
            # The chance per offer: the score times the category's one scale from past bookings, at most 1.
            per_offer = float(re.search(r"\(([0-9.]+) per offer", r.reason).group(1))
            assert 0 <= per_offer <= 1
            base = r.propensity * r.response_rate * r.offer_value_eur
            if base == 0:     # no response on any consented channel yet, or a zero score
                assert r.expected_value_eur == 0
            elif r.expected_value_eur < r.response_rate * r.offer_value_eur * (1 - 1e-9):   # not capped at 1
                scales.append(r.expected_value_eur / base)
                assert per_offer == pytest.approx(r.expected_value_eur / (r.response_rate * r.offer_value_eur),
                                                  abs=6e-4)
        else:
            assert r.offer is None and r.channel is None
            assert not consented if r.decision == "no_marketing_consent" else r.contacts_7d >= r.contact_cap
    assert scales and max(scales) - min(scales) <= 1e-9 * max(scales), (min(scales), max(scales))


def test_scoring_without_a_champion_says_to_train_first(spark, lake, tmp_path):
    config, *_ = lake
    empty = make_config(tmp_path, **{"paths.lake": str(config.paths.lake), "models.store": str(tmp_path / "none"),
                                     "models.specs_dir": str(model_settings(config).specs_dir)})
    with pytest.raises(tracking.NoChampion, match="run `make train` first"):
        score.run(spark, empty, run_id="score-x", logical_date=END)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_the_mlflow_ui_serves_the_runs_their_plots_and_the_champions(lake):
    config, first, *_ = lake
    port = _free_port()
    server = subprocess.Popen(command(model_settings(config), "127.0.0.1", port),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                models = _get(f"{base}/api/2.0/mlflow/registered-models/search")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "MLflow server did not start"
                time.sleep(1)
        aliases = {m["name"]: {a["alias"]: str(a["version"]) for a in m.get("aliases", [])}
                   for m in models["registered_models"]}
        assert aliases["flight_propensity"] == {"champion": "1"} and aliases["clv"]["champion"] == "1"
        run_id = first.details["models"]["flight_propensity"]["mlflow_run_id"]
        run = _get(f"{base}/api/2.0/mlflow/runs/get?run_id={run_id}")["run"]
        assert {m["key"] for m in run["data"]["metrics"]} >= {"roc_auc", "pr_auc", "log_loss", "brier"}
        listed = _get(f"{base}/api/2.0/mlflow/artifacts/list?run_id={run_id}&path=plots")
        assert {f["path"] for f in listed["files"]} >= {"plots/calibration.png", "plots/lift_gains.png"}
        with urllib.request.urlopen(f"{base}/", timeout=10) as page:    # the UI itself
            assert page.status == 200 and b"<html" in page.read(2000).lower()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_models_notebook_runs_on_this_lake(lake, tmp_path):
    from jobs.common.config import PROJECT_ROOT
    from jobs.gold.notebooks import execute

    config, *_ = lake
    nb = execute(PROJECT_ROOT / "notebooks" / "models.ipynb", lake=config.paths.lake, output_dir=tmp_path,
                 environ={"C360__MODELS__STORE": str(model_settings(config).specs_dir.parent / "mlflow")})
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2
