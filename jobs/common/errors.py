"""One small exception tree. Every message says what was wrong, where, and what to do."""

import sys


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose (exit code 2, no stack trace)."""

    exit_code = 2


class ConfigError(PipelineError):
    """A configuration value is missing or not allowed."""

    def __init__(self, key: str, problem: str, allowed: str | None = None, source: str | None = None):
        self.key = key
        where = f" (from {source})" if source else ""
        hint = f"; allowed: {allowed}" if allowed else ""
        super().__init__(f"config key '{key}'{where}: {problem}{hint}")


class ContractError(PipelineError):
    """A schema or contract file under schemas/ is malformed."""


class LandingError(PipelineError):
    """The landing zone cannot be read (missing folder, unreadable file system)."""


class JobError(PipelineError):
    """A job was asked for something it cannot do (unknown job, bad argument)."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message (Spark's run on for pages), or its type when empty."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


def report(exc: PipelineError) -> int:
    """What every command-line entry point does with a deliberate error: one line, no trace."""
    print(f"error: {exc}", file=sys.stderr)
    return exc.exit_code
