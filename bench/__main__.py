"""Benchmark the pipeline stages on generated data at a given scale.

    python -m bench [--scale 2000000] [--stages bronze,bronze_gate] [--keep-lake] [--reuse-lake] [--no-duckdb]
                    [--erase 1,1000|none]

Landing data is generated once per (scale, seed) under data/bench/ and reused; the lake is
rebuilt from scratch each run so every figure is a cold, full run. Every stage of
jobs.registry.PIPELINE_STAGES (landing to gated gold, then training and scoring) runs in order (or those --stages names), each job through
jobs.runner.run_job with one run_id for the whole bench run and no logical date (as `make run`),
so gates judge the rows the jobs before them wrote. Reported: per stage and per job wall and CPU
seconds and records/s; the plain Spark read reference and the bronze ratio; each gate's cost as a
share of the stages it guards (the non-gate stages since the previous gate); silver (bronze rows
read/s) and identity (identifiers/s) throughput; and, after the gold stage, a --full-rebuild of
gold_customer_360 against the same aggregation in DuckDB over the same silver tables read
JVM-free (bench/duckdb_gold.py), as a ratio, with an agreement check of the two results. Last,
erasures of one customer and then of a batch of 1,000 (right to erasure), one against the other.
Results are printed and appended to data/bench/results.jsonl with the machine they were taken on.
A failed gate is measured and reported and the run goes on; a failed job stops it after its stage
(results still written). `kill -USR1 <pid>` prints the Python stacks of a run that seems stuck.

Besides wall time, each figure carries the CPU seconds this process tree used (the driver JVM
and its Python workers) and the load average: on a shared machine wall time depends on what
else runs, so compare the ratio to the plain read taken in the same run, and CPU seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import faulthandler
import json
import logging
import os
import platform
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from jobs.common.config import PROJECT_ROOT, load_config

BENCH_DIR = PROJECT_ROOT / "data" / "bench"
log = logging.getLogger("bench")


def machine() -> dict:
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        pass
    return {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "load_avg_1m_at_start": round(os.getloadavg()[0], 1),
            "python": platform.python_version(), "platform": platform.platform(terse=True)}


def cpu_seconds() -> float | None:
    """User + system CPU of this process and all its descendants (Linux /proc; None elsewhere).

    A descendant that exits while the tree is walked is skipped (its CPU moves to its parent's
    reaped-children counters once waited for)."""
    tick, total, todo = os.sysconf("SC_CLK_TCK"), 0, [os.getpid()]
    if not os.path.isdir(f"/proc/{os.getpid()}"):
        return None
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime, stime, and of reaped children
            tasks = os.listdir(f"/proc/{pid}/task")
        except (OSError, ValueError, IndexError):
            if pid == os.getpid():
                return None
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            except (OSError, ValueError):
                continue
    return total / tick


def measured(fn):
    """(result, wall seconds, CPU seconds, 1-minute load at the end)."""
    c0, t0 = cpu_seconds(), time.monotonic()
    result = fn()
    c1 = cpu_seconds()
    cpu = round(c1 - c0, 1) if c0 is not None and c1 is not None else None
    return result, time.monotonic() - t0, cpu, round(os.getloadavg()[0], 1)


def plain_spark_read(spark, landing: Path) -> tuple[int, float]:
    """Reference: Spark's own JSON reader with an explicit schema, written to Parquet."""
    from jobs.common.contracts import source_contract

    fields = source_contract("events").fields
    schema = ", ".join(f"`{f.name}` string" for f in fields)
    out = BENCH_DIR / "plain-read.parquet"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.monotonic()
    # ignoreCorruptFiles: Spark's own reader would otherwise fail the whole read on the truncated gzip.
    df = (spark.read.schema(schema).option("recursiveFileLookup", "true")
          .option("ignoreCorruptFiles", "true").json(str(landing / "events")))
    df.write.mode("overwrite").parquet(str(out))
    seconds = time.monotonic() - t0
    rows = spark.read.parquet(str(out)).count()
    shutil.rmtree(out, ignore_errors=True)
    return rows, seconds


def is_gate(stage: str, jobs: list) -> bool:
    """Gate stages sit between layers: named <layer>_gate (or holding only gate jobs)."""
    return stage.endswith("_gate") or (bool(jobs) and all(j.is_gate for j in jobs))


def guarded_stages(stages: list[str], gates: set[str]) -> dict[str, list[str]]:
    """gate stage -> the non-gate stages it guards: those after the previous gate, in order."""
    out, since = {}, []
    for stage in stages:
        if stage in gates:
            out[stage], since = since, []
        else:
            since.append(stage)
    return out


def per_s(n, seconds) -> int | None:
    return round(n / seconds) if n and seconds else None


def spark_cores(master: str) -> int:
    m = re.fullmatch(r"local\[(\d+)(?:,\d+)?\]", master or "")
    return int(m.group(1)) if m else (os.cpu_count() or 1)


def git_state() -> dict:
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def json_safe(value):
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def run_one(spark, config, job, run_id: str, **extra) -> dict:
    """Run a job through jobs.runner.run_job; its figures (an `error` entry when it failed)."""
    from jobs.runner import run_job

    error = None

    def call():
        nonlocal error
        try:
            return run_job(spark, config, job, run_id=run_id, logical_date=None, **extra)
        except Exception as exc:  # noqa: BLE001 - recorded and reported; the bench decides whether to go on
            error = f"{type(exc).__name__}: {str(exc).strip()[:4000]}"
            log.error("%s failed: %s", job.name, error)
            return None

    r, wall, cpu, load = measured(call)
    if r is None:
        return {"error": error, "seconds": round(wall, 1), "wall_seconds": round(wall, 1), "records": 0,
                "records_per_s": None, "cpu_seconds": cpu, "load_at_end": load}
    return {"records": r.rows_in, "rows_out": r.rows_out, "quarantined": r.rows_quarantined,
            "seconds": round(r.seconds, 1), "wall_seconds": round(wall, 1),
            "records_per_s": per_s(r.rows_in, r.seconds), "cpu_seconds": cpu, "load_at_end": load,
            "details": json_safe(r.details)}


def run_stages(spark, config, selected: list[str], run_id: str) -> tuple[dict, str | None]:
    """Every selected stage of jobs.registry.PIPELINE_STAGES in order; (stage -> figures, stage that stopped the run)."""
    from jobs import registry

    stages, enabled = {}, (None, *config.enabled_sources())
    for stage in selected:
        jobs = [j for j in registry.jobs_in_stage(stage) if j.kwargs.get("source") in enabled]
        gate = is_gate(stage, registry.jobs_in_stage(stage))
        log.info("stage %s starting (%d jobs: %s)", stage, len(jobs), ", ".join(j.name for j in jobs) or "none")
        figures = {}

        def stage_jobs(jobs=jobs, figures=figures):
            t0 = time.monotonic()
            for job in jobs:
                figures[job.name] = run_one(spark, config, job, run_id)
            return time.monotonic() - t0

        wall, _, cpu, load = measured(stage_jobs)
        records = sum(j["records"] for j in figures.values())
        failed = [name for name, j in figures.items() if "error" in j]
        stages[stage] = {"seconds": round(wall, 1), "cpu_seconds": cpu, "records": records,
                         "records_per_s": per_s(records, wall), "load_at_end": load, "gate": gate,
                         "jobs": figures, **({"failed": failed} if failed else {})}
        log.info("stage %s done in %.1fs (%s CPU-s, load %s)%s", stage, wall, cpu, load,
                 f"; FAILED: {', '.join(failed)}" if failed else "")
        if failed and not gate:   # a failed gate is measured and reported; a failed job leaves nothing to bench
            return stages, stage
    return stages, None


def gate_costs(stages: dict) -> dict:
    gates = {s for s, d in stages.items() if d["gate"]}
    out = {}
    for gate, guarded in guarded_stages(list(stages), gates).items():
        wall = sum(stages[s]["seconds"] for s in guarded)
        cpus = [stages[s]["cpu_seconds"] for s in guarded]
        cpu = sum(cpus) if cpus and None not in cpus else None
        g = stages[gate]
        out[gate] = {"guards": guarded, "gate_seconds": g["seconds"], "guarded_seconds": round(wall, 1),
                     "share": round(g["seconds"] / wall, 3) if wall else None,
                     "cpu_share": round(g["cpu_seconds"] / cpu, 3) if cpu and g["cpu_seconds"] is not None else None}
    return out


def gold_vs_duckdb(spark, config, run_id: str) -> dict:
    """gold_customer_360 --full-rebuild against bench/duckdb_gold.py on the same silver tables."""
    from bench import duckdb_gold
    from jobs import registry
    from jobs.gold.settings import gold_settings

    job = registry.get_job("gold_customer_360")
    log.info("gold_customer_360 --full-rebuild (for the DuckDB comparison)")
    spark_fig = run_one(spark, config, job, run_id, full_rebuild=True)
    out: dict = {"spark": spark_fig}
    if "error" in spark_fig:
        return out
    steps = spark_fig["details"].get("seconds_by_step", {})
    as_of = dt.date.fromisoformat(spark_fig["details"]["as_of"])
    settings = gold_settings(config)
    threads = spark_cores(config.spark.master)
    log.info("DuckDB customer_360 as of %s (%d threads)", as_of, threads)
    con = duckdb_gold.connect(threads=threads)
    built, wall, cpu, load = measured(lambda: duckdb_gold.build(con, config.paths.lake, as_of,
                                                                settings.session_gap_minutes, settings.fx_to_eur))
    out["duckdb"] = {"customers": built["customers"], "seconds": round(built["seconds"], 2), "cpu_seconds": cpu,
                     "load_at_end": load, "threads": threads}
    log.info("DuckDB built %d customers in %.1fs; checking agreement", built["customers"], built["seconds"])
    out["ratio"] = round(spark_fig["seconds"] / built["seconds"], 1) if built["seconds"] else None
    if steps.get("build"):
        out["ratio_build_step"] = round(steps["build"] / built["seconds"], 1)
    if cpu and spark_fig["cpu_seconds"]:
        out["ratio_cpu"] = round(spark_fig["cpu_seconds"] / cpu, 1)
    out["agreement"] = duckdb_gold.agreement(con, config.paths.lake)
    con.close()
    return out


def erase_figures(spark, config, sizes: list[int], seed: int) -> dict:
    """Erase one batch of each size (distinct customers, a seeded sample named by customer_key),
    one after the other: seconds per batch and each against the first (the issue's goal: 1,000 in
    one batch under 3x one). Destructive: the lake loses those customers."""
    from pyspark.sql import functions as F

    from jobs.common.tables import read_table
    from jobs.privacy.erase import Request, erase

    path = str(config.paths.table("silver.customers"))
    keys = [r[0] for r in read_table(spark, path).select("customer_key")
            .orderBy(F.xxhash64("customer_key", F.lit(seed))).limit(sum(sizes)).collect()]
    out: dict = {"batches": []}
    start = 0
    for size in sizes:
        batch = [Request(k, f"bench:{start + i}") for i, k in enumerate(keys[start:start + size])]
        start += size
        log.info("erasing %d customer(s) in one batch", len(batch))
        (record, outcome), wall, cpu, load = measured(lambda b=batch: erase(spark, config, b, "customer_key"))
        out["batches"].append({"customers": record.customers, "seconds": round(wall, 1), "cpu_seconds": cpu,
                               "load_at_end": load, "rows": sum(outcome.rows.values()),
                               "tables": len(outcome.versions)})
    first = out["batches"][0]["seconds"]
    for batch in out["batches"][1:]:
        batch["vs_first"] = round(batch["seconds"] / first, 2) if first else None
    return out


def model_figures(stages: dict) -> str | None:
    """Training and scoring time and customer scores per second, when those stages ran."""
    train = (stages.get("train") or {}).get("jobs", {}).get("train_models")
    score = (stages.get("score") or {}).get("jobs", {}).get("score_customers")
    offers = (stages.get("offers") or {}).get("jobs", {}).get("choose_offers")
    parts = []
    if train and "error" not in train:
        d = train.get("details", {})
        parts.append(f"training {train['seconds']}s ({d.get('trained', 0)} models trained, "
                     f"{d.get('refused', 0)} refused)")
    if score and "error" not in score:
        parts.append(f"scoring {score['seconds']}s: {score['records']:,} customer scores = "
                     f"{score['records_per_s'] or 0:,} scores/s")
    if offers and "error" not in offers:
        parts.append(f"offers {offers['seconds']}s for {offers['records']:,} customers")
    return "models: " + "; ".join(parts) if parts else None


def print_summary(figures: dict) -> None:
    m = figures["machine"]
    print(f"\n=== bench: scale {figures['scale']:,} events, {m['cores']} cores, {m['memory_gb']} GB, "
          f"load {m['load_avg_1m_at_start']} at start, {figures['load_avg_1m_at_end']} at end "
          f"(1-min averages), run {figures['run_id']} ===")
    plain = figures.get("plain_spark_read")
    if plain:
        print(f"plain Spark JSON read -> Parquet: {plain['events']:,} events in {plain['seconds']}s "
              f"= {plain['events_per_s']:,} events/s (reference), {plain['cpu_seconds']} CPU-s, "
              f"load {plain['load_at_end']} at end")
    stages = figures["stages"]
    for stage, data in stages.items():
        print(f"stage {stage}: {data['seconds']}s, {data['cpu_seconds']} CPU-s, {data['records']:,} records "
              f"= {data['records_per_s'] or 0:,}/s, load {data['load_at_end']} at end"
              + (f"  FAILED: {', '.join(data['failed'])}" if data.get("failed") else ""))
        for job, j in data["jobs"].items():
            print(f"  {job:<22}{j['records']:>12,} records {j['seconds']:>8}s {j['records_per_s'] or 0:>10,}/s"
                  f" {j['cpu_seconds']!s:>8} CPU-s  load {j['load_at_end']}"
                  + (f"  ERROR {j['error'].splitlines()[0]}" if "error" in j else ""))
            if "error" in j:
                for line in j["error"].splitlines()[1:8]:
                    print(f"      {line}")
    if figures.get("stopped_at"):
        print(f"(stopped after stage {figures['stopped_at']}: a job failed; later stages not run)")
    if "bronze_events_vs_plain_read" in figures:
        print(f"bronze events throughput = {figures['bronze_events_vs_plain_read']:.2f} x the plain Spark read"
              + (f" ({figures['bronze_events_vs_plain_read_cpu']:.2f} x by CPU seconds)"
                 if "bronze_events_vs_plain_read_cpu" in figures else ""))
    gates = figures.get("gate_cost") or {}
    if gates:
        parts = []
        for gate, g in gates.items():
            share = f"{g['share']:.0%}" if g["share"] is not None else "n/a"
            cpu = f", {g['cpu_share']:.0%} by CPU" if g["cpu_share"] is not None else ""
            parts.append(f"{gate} {share} of {' + '.join(g['guards']) or 'nothing'} "
                         f"({g['gate_seconds']}s / {g['guarded_seconds']}s{cpu})")
        print("gate cost: " + ", ".join(parts) + "; target <= 20%")
    tput = figures.get("throughput") or {}
    if tput.get("silver"):
        print("silver throughput (bronze rows read/s): " + ", ".join(
            f"{job} {t['records']:,} in {t['seconds']}s = {t['per_s'] or 0:,}/s" for job, t in tput["silver"].items()))
    for job, t in (tput.get("identity") or {}).items():
        print(f"identity throughput: {job} {t['records']:,} {t['unit']} in {t['seconds']}s = {t['per_s'] or 0:,} "
              f"{t['unit']}/s ({t['customers']:,} customers out)")
    models_line = model_figures(figures.get("stages") or {})
    if models_line:
        print(models_line)
    if "offers_vs_oracle" in figures:
        from jobs.models.evaluate import offers_report

        print(offers_report(figures["offers_vs_oracle"]))
    for batch in (figures.get("erase") or {}).get("batches", []):
        ratio = f", {batch['vs_first']}x the first batch" if "vs_first" in batch else ""
        print(f"erase: {batch['customers']} customer(s) in one batch: {batch['seconds']}s, {batch['rows']} rows "
              f"from {batch['tables']} tables{ratio}")
    cmp_ = figures.get("gold_vs_duckdb")
    if cmp_:
        sp = cmp_["spark"]
        if "error" in sp:
            print(f"gold_customer_360 full build failed: {sp['error']}")
        else:
            steps = sp["details"].get("seconds_by_step", {})
            dd = cmp_["duckdb"]
            print(f"gold_customer_360 full build: {sp['seconds']}s ({sp['cpu_seconds']} CPU-s; build step "
                  f"{steps.get('build')}s, merge {steps.get('merge')}s, segments {steps.get('segments')}s); "
                  f"DuckDB same aggregation: {dd['seconds']}s ({dd['cpu_seconds']} CPU-s, {dd['threads']} threads); "
                  f"ratio {cmp_['ratio']} (build step alone {cmp_.get('ratio_build_step')}, "
                  f"by CPU {cmp_.get('ratio_cpu')})")
            a = cmp_["agreement"]
            c = a["customers"]
            same = c["gold"] == c["duckdb"] == c["in_both"]
            print(f"agreement: customers gold {c['gold']:,}, DuckDB {c['duckdb']:,}, in both {c['in_both']:,}"
                  f" ({'same' if same else 'MISMATCH'})")
            def verdict(k, v):
                if v["gold"] == v["duckdb"]:
                    return ""
                diff = abs((v["gold"] or 0) - (v["duckdb"] or 0))
                within = k.endswith("_eur") and diff <= 0.011 * c["in_both"]   # a cent per row: rounding
                return f" (off by {diff:.2f}, {'rounding' if within else 'MISMATCH'})"
            print("  totals (gold / DuckDB): " + ", ".join(
                f"{k} {v['gold']:,} / {v['duckdb']:,}{verdict(k, v)}" for k, v in a["totals"].items()))
            bad = {k: n for k, n in a["rows_differing"].items() if n}
            print(f"  rows differing, of {c['in_both']:,} in both, on {len(a['columns_compared'])} columns "
                  f"(money within a cent): " + (", ".join(f"{k} {n:,}" for k, n in bad.items()) if bad else "none"))
            off = {k: n for k, n in a["rows_not_bit_identical"].items() if n}
            if off:
                print("  doubles not bit-identical (rounding): " + ", ".join(f"{k} {n:,}" for k, n in off.items()))
            print(f"  not compared: {', '.join(a['not_compared']) or 'none'}")
            if a["not_computed"]:
                print(f"  MISMATCH: gold.customer_360 has columns the DuckDB copy does not compute: "
                      f"{', '.join(a['not_computed'])}; add them to customer_360_sql in bench/duckdb_gold.py, "
                      f"or to its NOT_COMPARED with the reason")


def main(argv=None) -> int:
    from jobs import registry

    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scale", type=int, default=2_000_000, help="web/app events to generate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stages", default=",".join(registry.PIPELINE_STAGES),
                        help=f"comma-separated stages to run, in registry order (default all: "
                             f"{','.join(registry.PIPELINE_STAGES)})")
    parser.add_argument("--keep-lake", action="store_true", help="keep the lake after the run")
    parser.add_argument("--reuse-lake", action="store_true",
                        help="start from the lake a --keep-lake run left (e.g. --stages gold) instead of a fresh one")
    parser.add_argument("--no-duckdb", action="store_true", help="skip the gold-against-DuckDB comparison")
    parser.add_argument("--erase", default="1,1000", metavar="SIZES",
                        help="last, erase batches of these many customers (right to erasure), timed one "
                             "against the other; 'none' to skip (default 1,1000)")
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in registry.PIPELINE_STAGES]
    if unknown or not wanted:
        parser.error(f"unknown stage(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(registry.PIPELINE_STAGES)}")
    selected = [s for s in registry.PIPELINE_STAGES if s in wanted]
    try:
        erase_sizes = [] if args.erase == "none" else [int(x) for x in args.erase.split(",") if x.strip()]
    except ValueError:
        parser.error(f"--erase {args.erase!r}: give batch sizes such as 1,1000, or none")

    root = BENCH_DIR / f"scale-{args.scale}-seed-{args.seed}"
    overrides = {"paths.landing": str(root / "landing"), "paths.truth": str(root / "truth"),
                 "paths.lake": str(root / "lake"), "paths.checkpoints": str(root / "checkpoints"),
                 "paths.restricted": str(root / "restricted"),
                 "models.store": str(root / "mlflow"),   # the bench's own runs and registry, rebuilt with its lake
                 "generator.scale": args.scale, "generator.seed": args.seed}
    config = load_config(overrides=overrides)
    from jobs.common.logs import setup_logging
    from jobs.common.results import new_run_id
    from jobs.runner import ensure_landing

    setup_logging()
    faulthandler.register(signal.SIGUSR1, all_threads=True)   # `kill -USR1 <pid>`: Python stacks to stderr
    run_id = new_run_id().replace("manual__", "bench__", 1)
    figures: dict = {"scale": args.scale, "seed": args.seed, "machine": machine(), "git": git_state(),
                     "taken_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "run_id": run_id,
                     "stages_selected": selected, "reused_lake": args.reuse_lake}
    log.info("scale %d seed %d, stages %s, run %s, load %s", args.scale, args.seed, ",".join(selected),
             run_id, figures["machine"]["load_avg_1m_at_start"])
    t0 = time.monotonic()
    if ensure_landing(config):
        figures["generate_seconds"] = round(time.monotonic() - t0, 1)
    if not args.reuse_lake:
        shutil.rmtree(config.paths.lake, ignore_errors=True)
        shutil.rmtree(root / "mlflow", ignore_errors=True)

    from jobs.common.spark import build_spark
    from jobs.runner import start_gx_import

    start_gx_import(registry.jobs_in_stages(selected))  # as `python -m jobs` does
    spark = build_spark(config, app_name="customer360-bench")
    spark.range(1).count()  # session start is not part of any stage
    if "bronze" in selected:
        log.info("plain Spark JSON read -> Parquet (reference)")
        (rows, seconds), _, cpu, load = measured(lambda: plain_spark_read(spark, config.paths.landing))
        figures["plain_spark_read"] = {"events": rows, "seconds": round(seconds, 1), "events_per_s": round(rows / seconds),
                                       "cpu_seconds": cpu, "load_at_end": load}

    stages, stopped = run_stages(spark, config, selected, run_id)
    figures["stages"] = stages
    if stopped:
        figures["stopped_at"] = stopped

    plain = figures.get("plain_spark_read")
    events = stages.get("bronze", {}).get("jobs", {}).get("ingest_events")
    if plain and events and events.get("records_per_s"):
        figures["bronze_events_vs_plain_read"] = round(plain["seconds"] / events["seconds"], 2)
        if plain["cpu_seconds"] and events["cpu_seconds"]:
            figures["bronze_events_vs_plain_read_cpu"] = round(plain["cpu_seconds"] / events["cpu_seconds"], 2)
    figures["gate_cost"] = gate_costs(stages)
    tput: dict = {}
    for stage, unit, key in (("silver", "bronze rows", "silver"), ("identity", "identifiers", "identity")):
        for job, j in stages.get(stage, {}).get("jobs", {}).items():
            if "error" in j:
                continue
            t = {"records": j["records"], "seconds": j["seconds"], "per_s": j["records_per_s"], "unit": unit}
            if key == "identity":
                t["customers"] = j.get("rows_out", 0)
            tput.setdefault(key, {})[job] = t
    figures["throughput"] = tput

    gold = stages.get("gold", {}).get("jobs", {}).get("gold_customer_360")
    if gold and "error" not in gold and not args.no_duckdb:
        figures["gold_vs_duckdb"] = gold_vs_duckdb(spark, config, run_id)
    offered = stages.get("offers", {}).get("jobs", {}).get("choose_offers")
    if offered and "error" not in offered:
        from jobs.models.evaluate import evaluate_offers

        figures["offers_vs_oracle"] = evaluate_offers(spark, config)
    if erase_sizes and not stopped and config.paths.table("silver.customers").exists():
        figures["erase"] = erase_figures(spark, config, erase_sizes, args.seed)
    figures["load_avg_1m_at_end"] = round(os.getloadavg()[0], 1)
    spark.stop()
    if not args.keep_lake:
        shutil.rmtree(config.paths.lake, ignore_errors=True)

    print_summary(figures)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    with open(BENCH_DIR / "results.jsonl", "a") as f:
        f.write(json.dumps(json_safe(figures)) + "\n")
    print(f"(appended to {BENCH_DIR / 'results.jsonl'})")
    failed = stopped or any(d.get("failed") for d in stages.values())
    uncomputed = figures.get("gold_vs_duckdb", {}).get("agreement", {}).get("not_computed")
    return 1 if failed or uncomputed else 0


if __name__ == "__main__":
    raise SystemExit(main())
