"""Check a running Airflow the way an engineer would in the UI, through its public REST API:
the project's DAGs are listed with no import errors, and a triggered daily run succeeds.

    python dags/c360_dags/smoke.py --url http://127.0.0.1:8080 --password-file PATH [--date D]

`make airflow-smoke` starts Airflow standalone, runs this, and stops it. Standard library only,
so it runs from any Python. Exit status 0 when the run succeeded, 1 when it did not, 2 when
Airflow could not be reached or the DAGs did not load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DAILY_DAG_ID = "customer360_daily"
EXPECTED_DAGS = (DAILY_DAG_ID, "customer360_maintenance", "customer360_models", "customer360_scoring")
FINISHED = {"success", "failed"}


class SmokeError(Exception):
    """Airflow is not there, or not in the state the check needs."""


class Api:
    def __init__(self, url: str, username: str, password: str):
        self.url, self.username, self.password, self.token = url.rstrip("/"), username, password, None

    def _call(self, method: str, path: str, body: dict | None = None, auth: bool = True):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        if auth:
            request.add_header("Authorization", f"Bearer {self.login()}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def login(self) -> str:
        if self.token is None:
            answer = self._call("POST", "/auth/token", {"username": self.username, "password": self.password},
                                auth=False)
            self.token = answer["access_token"]
        return self.token

    def get(self, path: str):
        return self._call("GET", path)

    def post(self, path: str, body: dict):
        return self._call("POST", path, body)

    def patch(self, path: str, body: dict):
        return self._call("PATCH", path, body)


def wait_until_healthy(api: Api, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            health = api._call("GET", "/api/v2/monitor/health", auth=False)
            if health.get("scheduler", {}).get("status") == "healthy":
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise SmokeError(f"Airflow at {api.url} did not report a healthy scheduler within {timeout:.0f} s")
        time.sleep(3)


def wait_for_dags(api: Api, timeout: float) -> list[str]:
    """The project's DAG ids once every expected one is parsed; import errors stop the check."""
    deadline = time.monotonic() + timeout
    while True:
        errors = api.get("/api/v2/importErrors").get("import_errors", [])
        if errors:
            lines = "; ".join(f"{e.get('filename')}: {str(e.get('stack_trace', '')).strip().splitlines()[-1:]}"
                              for e in errors)
            raise SmokeError(f"DAG import errors: {lines}")
        dags = [d["dag_id"] for d in api.get("/api/v2/dags?limit=100").get("dags", [])]
        if all(d in dags for d in EXPECTED_DAGS):
            return dags
        if time.monotonic() > deadline:
            raise SmokeError(f"DAGs {EXPECTED_DAGS} not all listed after {timeout:.0f} s; listed: {dags}")
        time.sleep(3)


def newest_landed_day(landing: Path) -> dt.date:
    days = {dt.date.fromisoformat(p.name) for p in landing.rglob("*")
            if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name)}
    if not days:
        raise SmokeError(f"nothing landed under {landing} in YYYY-MM-DD folders; run `make data` first")
    return max(days)


def trigger_and_wait(api: Api, day: dt.date, timeout: float) -> tuple[str, dict[str, str]]:
    """(final run state, task id -> state); progress printed as tasks finish."""
    api.patch(f"/api/v2/dags/{DAILY_DAG_ID}", {"is_paused": False})
    run_id = f"smoke__{day.isoformat()}__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    api.post(f"/api/v2/dags/{DAILY_DAG_ID}/dagRuns",
             {"dag_run_id": run_id, "logical_date": f"{day.isoformat()}T00:00:00Z"})
    print(f"triggered {DAILY_DAG_ID} run {run_id} for logical date {day}", flush=True)
    deadline, seen = time.monotonic() + timeout, {}
    while True:
        run = api.get(f"/api/v2/dags/{DAILY_DAG_ID}/dagRuns/{run_id}")
        tasks = api.get(f"/api/v2/dags/{DAILY_DAG_ID}/dagRuns/{run_id}/taskInstances?limit=200")
        states = {t["task_id"]: t.get("state") or "none" for t in tasks.get("task_instances", [])}
        for task, state in sorted(states.items()):
            if state != seen.get(task) and state in ("success", "failed", "upstream_failed", "up_for_retry"):
                print(f"  {task}: {state}", flush=True)
        seen = states
        if run["state"] in FINISHED:
            return run["state"], states
        if time.monotonic() > deadline:
            raise SmokeError(f"run {run_id} still {run['state']} after {timeout:.0f} s; tasks: {states}")
        time.sleep(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password-file", type=Path, required=True,
                        help="simple auth manager's generated passwords (JSON: user -> password)")
    parser.add_argument("--landing", type=Path, default=Path("data/landing"))
    parser.add_argument("--date", type=dt.date.fromisoformat, help="logical date (default: newest landed day)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the run")
    args = parser.parse_args(argv)
    try:
        password = json.loads(args.password_file.read_text())[args.username]
        api = Api(args.url, args.username, password)
        wait_until_healthy(api, timeout=180)
        print(f"Airflow is up at {args.url}; DAGs: {', '.join(wait_for_dags(api, timeout=180))}", flush=True)
        state, tasks = trigger_and_wait(api, args.date or newest_landed_day(args.landing), args.timeout)
    except (SmokeError, OSError, KeyError, ValueError) as exc:
        print(f"airflow smoke check: {exc}", file=sys.stderr)
        return 2
    bad = {t: s for t, s in tasks.items() if s != "success"}
    print(f"run {state}: {len(tasks) - len(bad)} of {len(tasks)} tasks succeeded" + (f"; not: {bad}" if bad else ""))
    return 0 if state == "success" and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
