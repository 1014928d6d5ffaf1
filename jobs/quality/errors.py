"""The two errors a quality gate raises on purpose, both inside jobs.common.errors' tree."""

from __future__ import annotations

from jobs.common.errors import ContractError, PipelineError


class SuiteError(ContractError):
    """A suite file under expectations/ is malformed, or names something the table does not have."""


class GateFailed(PipelineError):
    """A fail-severity expectation did not hold: nothing was promoted, the stage stops (exit 2)."""

    def __init__(self, message: str, results: list | None = None):
        super().__init__(message)
        self.results = results or []  # the GateResults that failed, for callers and tests
