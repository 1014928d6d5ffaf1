"""What a job reports back: one line per stage in the logs, and the pipeline summary."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field


@dataclass
class JobResult:
    job: str
    rows_in: int = 0
    rows_out: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0
    details: dict = field(default_factory=dict)

    def line(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.details.items() if not isinstance(v, (dict, list)))
        return (f"{self.job}: rows_in={self.rows_in} rows_out={self.rows_out} "
                f"quarantined={self.rows_quarantined} seconds={self.seconds:.1f}"
                + (f" {extra}" if extra else ""))


def new_run_id() -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"manual__{now}__{uuid.uuid4().hex[:6]}"


def utc_now() -> dt.datetime:
    """Naive UTC timestamp (the session time zone is UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
