"""Quality gates: Great Expectations suites (expectations/*.yaml) that block bad data from being promoted.

Public API (what silver/gold writers and the bronze gate call):
    promote(spark, config, table, batch_df, run_id, write)   validate, quarantine `drop` rows,
                                                             raise GateFailed before `write` on `fail`
    check(spark, config, table, frame, run_id)               validate + record rows already written
    load_suite(name) -> Suite                                parse and check one suite file
    GateResult, Outcome, GateFailed, SuiteError
"""

from jobs.quality.api import check, promote
from jobs.quality.errors import GateFailed, SuiteError
from jobs.quality.kinds import IngestedBatches
from jobs.quality.outcomes import GateResult, Outcome
from jobs.quality.suite import Suite, load_suite

__all__ = ["IngestedBatches", "GateFailed", "GateResult", "Outcome", "Suite", "SuiteError", "check",
           "load_suite", "promote"]
