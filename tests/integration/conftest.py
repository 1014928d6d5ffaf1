"""A generated lake built once for the whole run: landing -> bronze -> silver -> identity -> gold.

Several modules read it (gold values, the gold gate); a module that changes it works on a copy
(`copy_lake`), so what each module sees does not depend on the order modules run in.
"""

import datetime as dt
import shutil

import pytest

from jobs.bronze import ingest
from jobs.generate import generate
from jobs.generate.contract import GENERATED_SOURCES
from jobs.identity import resolve
from jobs.quality import gate
from jobs.runner import run_stage
from jobs.silver import conform
from tests.conftest import make_config

END = dt.date(2026, 11, 21)
GOLD_RUN = "gold-1"


@pytest.fixture(scope="session")
def generated_gold_lake(spark, tmp_path_factory):
    """(config, results by job) after one full pipeline run over six generated days, gold published
    by its gate (results["gate_gold"])."""
    config = make_config(tmp_path_factory.mktemp("gold_generated"))
    generate(config.paths.landing, config.paths.truth, scale=2500, seed=5, days=6, end_date=END,
             bad_record_rate=0.0, progress=None)
    for source in GENERATED_SOURCES:
        ingest.run(spark, config, source=source, run_id="build")
    for source in GENERATED_SOURCES:
        conform.run(spark, config, source=source, run_id="build")
    resolve.run(spark, config, run_id="build")
    results = {r.job: r for r in run_stage(spark, config, "gold", run_id=GOLD_RUN, logical_date=END)}
    # Published, as the pipeline does: analysts and the scoring stage read gold at published versions.
    results["gate_gold"] = gate.run(spark, config, run_id=GOLD_RUN, stage="gold", logical_date=END,
                                    gx_folder=tmp_path_factory.mktemp("gold_gx"))
    return config, results


def copy_lake(config, tmp_path):
    """A config over a private copy of `config`'s lake (landing and truth are shared, read-only)."""
    copy = make_config(tmp_path, **{"paths.landing": str(config.paths.landing),
                                    "paths.truth": str(config.paths.truth)})
    shutil.copytree(config.paths.lake, copy.paths.lake)
    return copy
