"""`generate()`: the day loop that drives every source, then the ground truth.

Memory stays flat whatever the scale: records are streamed to files day by day; what is held is
per-person state, the files open for the current day, and short queues of actions that fall
on the next days (campaign funnels, order status changes).
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from jobs.generate.calls import CallGen
from jobs.generate.campaigns import CampaignGen
from jobs.generate.clock import Clock
from jobs.generate.consents import ConsentGen
from jobs.generate.context import Context
from jobs.generate.contract import GENERATED_SOURCES
from jobs.generate.crm import CrmGen
from jobs.generate.events import EventGen
from jobs.generate.orders import OrderGen
from jobs.generate.people import build_world
from jobs.generate.seeds import Seeds
from jobs.generate.truth import Truth
from jobs.generate.writer import Landing, Specials

TRUTH_FILES = ("manifest.json", "bad_records.csv", "people.csv", "identifiers.csv", "records.csv.gz",
               "campaigns.json")


def generate(landing: Path, truth: Path, *, scale: int = 20000, seed: int = 42, days: int = 60,
             end_date: dt.date = dt.date(2026, 11, 21), bad_record_rate: float = 0.01,
             progress: Callable[[str], None] | None = print, max_lines_per_file: int = 250_000) -> dict:
    """Write synthetic landing files for the six sources and their ground truth; return the manifest.

    Deterministic: the same arguments give byte-identical files. `landing` must be empty (or not
    exist); `truth` must not lie inside it. `scale` is about the number of web/app events; the
    other sources scale with it. `max_lines_per_file` is the rotation cap of one landed file.
    """
    landing, truth = Path(landing), Path(truth)
    _check(landing, truth, scale, days, bad_record_rate, max_lines_per_file)
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    clock = Clock(end_date - dt.timedelta(days=days - 1), days)
    seeds = Seeds(seed)
    world = _build_world(scale, clock, seeds)
    say(f"generate: {len(world.persons):,} persons, {len(world.members):,} CRM customers, "
        f"{days} days {clock.day_text(0)}..{clock.day_text(days - 1)}, scale {scale:,}, seed {seed}")
    try:
        manifest = _write(landing, truth, world, clock, seeds, scale, bad_record_rate, max_lines_per_file,
                          say, started)
    finally:
        gc.unfreeze()
    totals = manifest["sources"]
    say(f"generate: done in {time.perf_counter() - started:.1f} s: " + ", ".join(
        f"{s} {totals[s]['records']:,} records/{totals[s]['files']} files" for s in GENERATED_SOURCES))
    return manifest


def _write(landing: Path, truth: Path, world, clock: Clock, seeds: Seeds, scale: int, bad_record_rate: float,
           max_lines_per_file: int, say, started: float) -> dict:
    """The day loop over every source, then the ground truth; returns the manifest."""
    days = clock.days
    landing.mkdir(parents=True, exist_ok=True)
    truth_out = Truth(truth)
    specials = Specials(truncate_day=days // 2, resend_day=days // 3, empty_day=(2 * days) // 3)
    files = Landing(landing, truth_out, clock, seeds, bad_record_rate, max_lines_per_file, specials)
    ctx = Context(world, clock, seeds, files, scale, days, Context.weights(clock))
    crm, consents, orders, calls = CrmGen(ctx), ConsentGen(ctx), OrderGen(ctx), CallGen(ctx)
    campaigns = CampaignGen(ctx, consents)
    events = EventGen(ctx, orders)

    next_report = 0.1
    for d in range(days):
        if d == specials.empty_day:
            files.empty_file("call_center", d, gz=False)
            files.empty_file("consents", d, gz=True)
        crm.day(d)                 # first: today's CRM changes are what other systems see today
        consents.open_day(d)
        campaigns.day(d)           # unsubscribes withdraw consents in today's consent files
        consents.close_day()
        orders.open_day(d)
        events.day(d)              # web/app sessions also place orders
        orders.close_day(d)        # offline orders and status changes due today
        calls.day(d)
        done = (d + 1) / days
        if done >= next_report - 1e-9 and days >= 5:
            seconds = time.perf_counter() - started
            say(f"generate: {done:4.0%} day {d + 1}/{days}, {events.written:,} events "
                f"({events.written / max(seconds, 1e-6):,.0f}/s), {seconds:.1f} s")
            while next_report <= done + 1e-9:
                next_report += 0.1

    truth_out.close()
    truth_out.write_people(world, clock)
    truth_out.write_identifiers(world)
    truth_out.write_json("campaigns.json", campaigns.truth())
    manifest = _manifest(files, world, clock, seeds.seed, scale, days, bad_record_rate, max_lines_per_file)
    truth_out.write_json("manifest.json", manifest)
    return manifest


def _build_world(scale: int, clock: Clock, seeds: Seeds):
    """Build the population with the cyclic GC paused, then freeze it: hundreds of thousands of
    long-lived objects would otherwise be rescanned by every full collection (quadratic time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        world = build_world(scale, clock, seeds.rng("people"), seeds.rng("children"))
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return world


def _check(landing: Path, truth: Path, scale: int, days: int, rate: float, max_lines: int) -> None:
    if truth.resolve().is_relative_to(landing.resolve()):
        raise ValueError(f"truth folder {truth} lies inside the landing zone {landing}: the pipeline "
                         f"would ingest the answers; put it beside the landing zone")
    if landing.exists() and any(p.is_file() for p in landing.rglob("*")):
        raise ValueError(f"landing folder {landing} already holds files; empty it (or choose another "
                         f"folder) before generating, so old and new data do not mix")
    if not isinstance(scale, int) or scale < 100:
        raise ValueError(f"scale must be an integer >= 100 (about the number of events), got {scale!r}")
    if not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be an integer >= 1, got {days!r}")
    if not 0 <= rate <= 0.5:
        raise ValueError(f"bad_record_rate must be within [0, 0.5], got {rate!r}")
    if max_lines < 1:
        raise ValueError(f"max_lines_per_file must be >= 1, got {max_lines!r}")


def _manifest(files: Landing, world, clock: Clock, seed, scale, days, rate, max_lines) -> dict:
    entries = sorted(files.files, key=lambda e: e["path"])
    sources = {}
    for source in GENERATED_SOURCES:
        mine = [e for e in entries if e["source"] == source]
        bad = Counter()
        for e in mine:
            bad.update(e["bad"])
        sources[source] = {
            "files": len(mine),
            "records": sum(e["records"] for e in mine),
            "bad": dict(sorted(bad.items())),
            "bad_total": sum(bad.values()),
            "retried_lines": sum(e["retried_lines"] for e in mine),
            "late_files": sum(e["late"] for e in mine),
            "bytes": sum(e["bytes"] for e in mine),
        }
    quirks: dict[str, list[str]] = {}
    for e in entries:
        for q in e["quirks"]:
            quirks.setdefault(q, []).append(e["path"])
    return {
        "generator": "jobs.generate",
        "parameters": {"seed": seed, "scale": scale, "days": days, "start_date": clock.day_text(0),
                       "end_date": clock.day_text(days - 1), "bad_record_rate": rate,
                       "max_lines_per_file": max_lines},
        "population": {
            "persons": len(world.persons), "households": len(world.households),
            "crm_customers": len(world.members),
            "crm_duplicates": sum(p.dup_crm_id is not None for p in world.persons),
            "shared_family_emails": len({p.family_email for p in world.persons if p.family_email}),
            "companies_with_switchboard": sum(c.switchboard is not None for c in world.companies),
            "kiosks": len(world.kiosks),
        },
        "sources": sources,
        "specials": {
            "truncated_files": [e["path"] for e in entries if "truncated" in e],
            "resent_files": [{"path": e["path"], "resent_of": e["resent_of"]} for e in entries if "resent_of" in e],
            "empty_files": [e["path"] for e in entries if e["empty"]],
            "late_files": [e["path"] for e in entries if e["late"]],
            "csv_quirks": quirks,
        },
        "truth_files": list(TRUTH_FILES),
        "files": entries,
    }
