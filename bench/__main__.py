"""Benchmark the pipeline stages on generated data at a given scale.

    python -m bench [--scale 2000000] [--keep-lake]

Landing data is generated once per (scale, seed) under data/bench/ and reused; the lake is
rebuilt from scratch each run so every figure is a cold, full ingestion. Results are printed
and appended to data/bench/results.jsonl with the machine they were taken on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

from jobs.common.config import PROJECT_ROOT, load_config

BENCH_DIR = PROJECT_ROOT / "data" / "bench"


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scale", type=int, default=2_000_000, help="web/app events to generate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-lake", action="store_true", help="keep the lake after the run")
    args = parser.parse_args(argv)

    root = BENCH_DIR / f"scale-{args.scale}-seed-{args.seed}"
    overrides = {"paths.landing": str(root / "landing"), "paths.truth": str(root / "truth"),
                 "paths.lake": str(root / "lake"), "paths.checkpoints": str(root / "checkpoints"),
                 "generator.scale": args.scale, "generator.seed": args.seed}
    config = load_config(overrides=overrides)
    from jobs.__main__ import _setup_logging, ensure_landing, run_stage

    _setup_logging()
    figures: dict = {"scale": args.scale, "seed": args.seed, "machine": machine(),
                     "taken_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    t0 = time.monotonic()
    if ensure_landing(config):
        figures["generate_seconds"] = round(time.monotonic() - t0, 1)
    shutil.rmtree(config.paths.lake, ignore_errors=True)

    from jobs.common.spark import build_spark

    spark = build_spark(config, app_name="customer360-bench")
    spark.range(1).count()  # session start is not part of any stage
    rows, seconds = plain_spark_read(spark, config.paths.landing)
    figures["plain_spark_read"] = {"events": rows, "seconds": round(seconds, 1),
                                   "events_per_s": round(rows / seconds)}

    stages = {}
    for stage in ("bronze",):
        t_stage = time.monotonic()
        results = run_stage(spark, config, stage, run_id=f"bench-{stage}")
        stages[stage] = {
            "seconds": round(time.monotonic() - t_stage, 1),
            "jobs": {r.job: {"records": r.rows_in, "seconds": round(r.seconds, 1),
                             "records_per_s": round(r.rows_in / r.seconds) if r.seconds else None}
                     for r in results},
        }
    figures["stages"] = stages
    if not args.keep_lake:
        shutil.rmtree(config.paths.lake, ignore_errors=True)

    print(f"\n=== bench: scale {args.scale:,} events, {figures['machine']['cores']} cores, "
          f"{figures['machine']['memory_gb']} GB, load {figures['machine']['load_avg_1m_at_start']} at start ===")
    plain = figures["plain_spark_read"]
    print(f"plain Spark JSON read -> Parquet: {plain['events']:,} events in {plain['seconds']}s "
          f"= {plain['events_per_s']:,} events/s (reference)")
    for stage, data in stages.items():
        print(f"stage {stage}: {data['seconds']}s")
        for job, j in data["jobs"].items():
            print(f"  {job:<22}{j['records']:>12,} records {j['seconds']:>8}s {j['records_per_s'] or 0:>10,}/s")
    events = stages["bronze"]["jobs"].get("ingest_events")
    if events and events["records_per_s"]:
        ratio = plain["seconds"] / events["seconds"]
        print(f"bronze events throughput = {ratio:.2f} x the plain Spark read")
        figures["bronze_events_vs_plain_read"] = round(ratio, 2)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    with open(BENCH_DIR / "results.jsonl", "a") as f:
        f.write(json.dumps(figures) + "\n")
    print(f"(appended to {BENCH_DIR / 'results.jsonl'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
