"""Every job takes the parameters the runner passes and names the ones it does not take; the
registry's declared inputs are what the jobs read."""

import importlib
import inspect

import pytest

from jobs import registry
from jobs.common.errors import JobError
from jobs.runner import run_job
from tests.conftest import make_config

RUNNER_PARAMETERS = {"run_id", "logical_date", "full_rebuild"}


@pytest.mark.parametrize("job", registry.JOBS, ids=lambda job: job.name)
def test_each_job_declares_every_parameter_it_is_given_and_swallows_none(job):
    parameters = inspect.signature(importlib.import_module(job.module).run).parameters
    assert RUNNER_PARAMETERS | set(job.kwargs) <= set(parameters)
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def test_an_unknown_parameter_is_a_clear_error_naming_it_and_what_the_job_takes(tmp_path):
    with pytest.raises(JobError, match=r"job 'gold_marts' takes no parameter 'crash_at'; it takes: run_id, "
                                       r"logical_date, full_rebuild \(jobs.gold.marts.run\)"):
        run_job(None, make_config(tmp_path), registry.get_job("gold_marts"), run_id="r1", logical_date=None,
                crash_at="after_bronze_write")


def test_customer_360_and_the_models_declare_the_silver_tables_they_read():
    from jobs.gold import customer_360

    assert registry.GOLD_CUSTOMER_360.inputs == tuple(customer_360.INPUTS)
    assert registry.TRAIN_MODELS.inputs == registry.SCORE_CUSTOMERS.inputs == registry.GOLD_CUSTOMER_360.inputs
