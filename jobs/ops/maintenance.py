"""Delta housekeeping over every table of the lake: compaction, then VACUUM that keeps time travel.

    python -m jobs maintenance compact [--table bronze.events ...] [--date D] [--run-id R]
    python -m jobs maintenance vacuum  [--table ...] [--retention-days N] [--dry-run]

The weekly Airflow DAG `customer360_maintenance` runs `compact` then `vacuum` through spark-submit
(jobs/submit.py), the same code path as these commands.

- compact: `OPTIMIZE` (bin-packing small files into larger ones; a `dataChange=false` commit, so
  readers and concurrent appends are unaffected).
- vacuum: deletes files no longer referenced by any table version younger than the retention.
  The retention is the time-travel window we promise (`maintenance.time_travel_days`, default 30
  days, the same as Delta's default log retention), and never shorter than the table's own
  `delta.deletedFileRetentionDuration` (Delta's safety check stays on): any version inside the
  window can still be read with `versionAsOf` / `timestampAsOf`.

Tables are found at run time (every Delta table under <lake>/<layer>/<entity>), so tables added
by later stages are maintained without a change here.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from jobs.common.config import Config
from jobs.common.errors import ConfigError, JobError
from jobs.common.results import JobResult, new_run_id

log = logging.getLogger(__name__)

ACTIONS = ("compact", "vacuum")
DEFAULT_TIME_TRAVEL_DAYS = 30
MIN_RETENTION_HOURS = 168       # Delta's default delta.deletedFileRetentionDuration (7 days)
_INTERVAL = re.compile(r"^\s*interval\s+(\d+)\s+(second|minute|hour|day|week)s?\s*$", re.I)
_UNIT_HOURS = {"second": 1 / 3600, "minute": 1 / 60, "hour": 1, "day": 24, "week": 168}


@dataclass(frozen=True)
class MaintenanceSettings:
    time_travel_days: int = DEFAULT_TIME_TRAVEL_DAYS


def maintenance_settings(config: Config) -> MaintenanceSettings:
    """`maintenance:` section of the config when it has one (Config.maintenance), else defaults."""
    section = getattr(config, "maintenance", None) or {}
    unknown = sorted(set(section) - {"time_travel_days"}) if isinstance(section, dict) else []
    if unknown:
        raise ConfigError(f"maintenance.{unknown[0]}", "unknown key", allowed="time_travel_days")
    days = section.get("time_travel_days") if isinstance(section, dict) else getattr(section, "time_travel_days", None)
    if days is None:
        return MaintenanceSettings()
    if isinstance(days, bool) or not isinstance(days, int) or days < 7:
        raise ConfigError("maintenance.time_travel_days", f"got {days!r}",
                          allowed="an integer >= 7 (Delta refuses to vacuum files younger than 7 days)")
    return MaintenanceSettings(time_travel_days=days)


def interval_hours(text: str | None) -> float | None:
    """'interval 7 days' -> 168.0 (the format of Delta's duration table properties)."""
    if not text:
        return None
    match = _INTERVAL.match(text)
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_HOURS[match.group(2).lower()]


def retention_hours(time_travel_days: int, table_properties: dict[str, str]) -> int:
    """The VACUUM retention: the time-travel window, never below the table's own safety minimum."""
    table_minimum = interval_hours(table_properties.get("delta.deletedFileRetentionDuration"))
    return int(max(time_travel_days * 24, table_minimum or MIN_RETENTION_HOURS))


def lake_tables(config: Config) -> list[tuple[str, Path]]:
    """(`layer.entity`, path) of every Delta table under the lake, sorted."""
    lake = config.paths.lake
    if not lake.is_dir():
        return []
    found = []
    for layer_dir in sorted(p for p in lake.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        for table_dir in sorted(p for p in layer_dir.iterdir() if p.is_dir()):
            if (table_dir / "_delta_log").is_dir():
                found.append((f"{layer_dir.name}.{table_dir.name}", table_dir))
    return found


def run(spark, config: Config, *, action: str, run_id: str, logical_date: dt.date | None = None,
        tables: list[str] | None = None, retention_days: int | None = None, dry_run: bool = False) -> JobResult:
    from delta.tables import DeltaTable

    if action not in ACTIONS:
        raise JobError(f"maintenance action {action!r} unknown; use one of {', '.join(ACTIONS)}")
    settings = maintenance_settings(config)
    window_days = retention_days if retention_days is not None else settings.time_travel_days
    if window_days < 7:
        raise JobError(f"retention of {window_days} days would break Delta's 7-day safety minimum; use 7 or more")
    started = time.monotonic()
    result = JobResult(job=f"{action}_lake")
    available = dict(lake_tables(config))
    chosen = tables or list(available)
    missing = sorted(set(chosen) - set(available))
    if missing:
        raise JobError(f"no Delta table {missing[0]} under {config.paths.lake}; tables found: "
                       f"{', '.join(available) or 'none'}")
    per_table = {}
    for name in chosen:
        t0 = time.monotonic()
        table = DeltaTable.forPath(spark, str(available[name]))
        if action == "compact":
            metrics = table.optimize().executeCompaction().collect()[0]["metrics"]
            removed, added = metrics["numFilesRemoved"], metrics["numFilesAdded"]
            per_table[name] = f"{removed}->{added} files"
            result.rows_in += removed
            result.rows_out += added
            log.info("compact %s: %d files rewritten into %d, %.1fs", name, removed, added,
                     time.monotonic() - t0)
        else:
            properties = table.detail().collect()[0]["properties"] or {}
            hours = retention_hours(window_days, dict(properties))
            if dry_run:
                files = spark.sql(f"VACUUM delta.`{available[name]}` RETAIN {hours} HOURS DRY RUN").count()
                per_table[name] = f"{files} files would be deleted (retain {hours}h)"
            else:
                table.vacuum(float(hours))
                per_table[name] = f"retain {hours}h"
            log.info("vacuum %s: %s, %.1fs", name, per_table[name], time.monotonic() - t0)
    result.seconds = time.monotonic() - started
    result.details = {"tables": len(chosen), "run_id": run_id,
                      "logical_date": str(logical_date) if logical_date else None, "per_table": per_table}
    return result


def cli(args, config: Config) -> int:
    """`python -m jobs maintenance compact|vacuum [...]` (also the maintenance DAG's tasks)."""
    from jobs.runner import spark_for

    result = run(spark_for(config), config, action=args.action, run_id=args.run_id or new_run_id(),
                 logical_date=args.date, tables=args.tables, retention_days=args.retention_days,
                 dry_run=args.dry_run)
    log.info(result.line())
    return 0
