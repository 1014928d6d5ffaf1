"""What a gate concluded, per expectation and per batch, and the message when it stops a stage.

Pure Python: GX results come in as plain dicts (kinds.result_dict), nothing here touches Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.quality.errors import GateFailed
from jobs.quality.kinds import KINDS, META_KEY, Spec

ACTIONS = {"fail": "failed", "drop": "dropped", "warn": "warned"}


@dataclass(frozen=True)
class Outcome:
    expectation: str
    kind: str
    severity: str
    success: bool
    observed: str
    unexpected_count: int | None = None
    error: str | None = None        # the expectation could not be evaluated

    @property
    def action(self) -> str:
        """passed | failed (stops promotion) | dropped (rows quarantined) | warned | error."""
        if self.error:
            return "error"
        return "passed" if self.success else ACTIONS[self.severity]

    @property
    def blocks(self) -> bool:
        # An expectation that cannot be evaluated proves nothing: it stops promotion too.
        return self.error is not None or (self.severity == "fail" and not self.success)

    def line(self) -> str:
        what = f"could not be evaluated: {self.error}" if self.error else self.observed
        return f"{self.expectation} [{self.severity}, {self.kind}]: {what}"


@dataclass
class GateResult:
    table: str
    suite: str
    run_id: str
    table_version: int | None       # the version the results describe (after the write, if any)
    outcomes: list[Outcome]
    rows_in: int
    rows_dropped: int = 0
    promoted: bool = False
    seconds: float = 0.0            # check_all: this table's GX run (the SQL checks of all tables run before, together)

    @property
    def rows_promoted(self) -> int:
        return self.rows_in - self.rows_dropped

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.blocks]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.action == "warned"]

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def line(self) -> str:
        counts = {a: sum(1 for o in self.outcomes if o.action == a)
                  for a in ("passed", "failed", "dropped", "warned", "error")}
        return (f"gate {self.table}: {self.rows_in} rows, "
                + ", ".join(f"{n} {a}" for a, n in counts.items() if n)
                + (f", {self.rows_dropped} rows quarantined" if self.rows_dropped else ""))

    def raise_if_failed(self, consequence: str) -> None:
        if self.failed:
            raise gate_failed([self], consequence)


def gate_failed(results: list[GateResult], consequence: str) -> GateFailed:
    """One error for every failed table: what failed, what was observed, what happens, what to do."""
    lines = []
    for r in results:
        version = "no version yet" if r.table_version is None else f"version {r.table_version}"
        lines.append(f"quality gate failed for {r.table} ({version}, run {r.run_id}, {r.rows_in} rows):")
        lines.extend(f"  - {o.line()}" for o in r.failures)
    suites = ", ".join(f"expectations/{r.suite}.yaml" for r in results)
    lines.append(f"{consequence}. Every result is in ops.quality_results (run_id = '{results[0].run_id}') "
                 f"and in Data Docs (make docs). Fix the data at its source, or change {suites} "
                 f"through review if the expectation is wrong.")
    return GateFailed("\n".join(lines), results)


def outcomes_from(specs: tuple[Spec, ...], results: list[dict],
                  samples: dict[str, list[dict]] | None = None) -> list[Outcome]:
    """Group GX results by the expectation (spec) they came from and judge each spec once."""
    by_spec: dict[str, list[dict]] = {}
    for r in results:
        name = r["meta"].get(META_KEY)
        if name:
            by_spec.setdefault(name, []).append(r)
    outcomes = []
    for spec in specs:
        mine = by_spec.get(spec.name, [])
        kind = KINDS[spec.kind]
        errors = [r["error"] for r in mine if r["error"]]
        if not mine:
            errors = ["GX returned no result for it"]
        if errors:
            outcomes.append(Outcome(spec.name, spec.kind, spec.severity, False, "", None,
                                    "; ".join(dict.fromkeys(errors))))
            continue
        outcomes.append(Outcome(
            expectation=spec.name, kind=spec.kind, severity=spec.severity,
            success=all(r["success"] for r in mine),
            observed=kind.observed(spec, mine, (samples or {}).get(spec.name, [])),
            unexpected_count=kind.unexpected_count(mine)))
    return outcomes
