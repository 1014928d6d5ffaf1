"""Consent changes: a first-day snapshot of historical choices, then grants and withdrawals.

Withdrawals also follow campaign unsubscribes (the campaign generator calls `withdraw`). The
person's consent bitmask tracks only records that bronze will accept, so people.csv's
`consents_granted` is what the pipeline should conclude.
"""

from __future__ import annotations

from jobs.generate.clock import DAY, OFFSET, Z
from jobs.generate.context import Context, Quota
from jobs.generate.people import Person, consent_slot

# (purpose, channel, chance a customer grants it when signing up)
GRANT_CHANCE = (
    ("marketing", "email", 0.70), ("marketing", "sms", 0.30), ("marketing", "push", 0.25),
    ("marketing", "phone", 0.05), ("personalization", "any", 0.12), ("analytics", "any", 0.15),
)
CHANGES_PER_MEMBER = 0.12     # later grant/withdraw decisions over the window, per customer
SOURCES = ("web", "app", "call_center", "preference_center")


class ConsentGen:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.rng = ctx.seeds.rng("consents")
        self.router = None
        self.changes = Quota()

    def open_day(self, d: int) -> None:
        """Open the day's files and write the day's own changes; campaigns may add withdrawals."""
        ctx, rng, persons = self.ctx, self.rng, self.ctx.world.persons
        if d == 0:
            snapshot = ctx.landing.router("consents", 0, late_ok=False)
            for p in persons:
                if p.crm_id is not None and p.crm_day < 0:
                    self._sign_up(snapshot, p, p.crm_day * DAY + 30000 + rng.random() * 40000, "crm_import")
            snapshot.close()
        self.router = ctx.landing.router("consents", d)
        for p in ctx.world.joining.get(d, ()):
            self._sign_up(self.router, p, d * DAY + 40000 + rng.random() * 30000, rng.choice(("web", "app")))
        n = self.changes.take(len(ctx.world.members) * CHANGES_PER_MEMBER * ctx.day_weights[d])
        for _ in range(n):
            p = persons[rng.choice(ctx.world.members)]
            if p.crm_day > d:
                continue
            purpose, channel, _ = rng.choice(GRANT_CHANCE)
            granted = p.consents >> consent_slot(purpose, channel) & 1
            t = d * DAY + rng.uniform(7, 23) * 3600
            self._write(self.router, p, purpose, channel, "withdrawn" if granted else "granted", t, rng.choice(SOURCES))

    def withdraw(self, p: Person, channel: str, t: float, source: str) -> None:
        self._write(self.router, p, "marketing", channel, "withdrawn", t, source)

    def close_day(self) -> None:
        self.router.close()
        self.router = None

    def _sign_up(self, router, p: Person, t: float, source: str) -> None:
        rng = self.rng
        mobile = any(dev.kind == "mobile" for dev in p.devices)
        for purpose, channel, chance in GRANT_CHANCE:
            if channel == "push" and not mobile:
                continue
            if rng.random() < chance:
                self._write(router, p, purpose, channel, "granted", t + rng.random() * 5, source)

    def _write(self, router, p: Person, purpose: str, channel: str, status: str, t: float, source: str) -> None:
        rng = self.rng
        # A person's changes get strictly increasing times, so "latest occurred_at wins" replays
        # them in the order they were made (and the bitmask below is what the pipeline concludes).
        t = p.consent_t = max(t, p.consent_t + 1.0)
        zone = OFFSET if rng.random() < 0.5 else Z
        occurred = self.ctx.clock.iso(t, zone, p.offset_min)
        rec = {"customer_id": p.crm_id, "purpose": purpose, "channel": channel, "status": status,
               "occurred_at": occurred, "source": source}
        if rng.random() < 0.02:
            rec["policy_version"] = "2025-09"   # an unknown field: bronze keeps it, never fails on it
        line = router.write(rec, f"{p.crm_id}|{purpose}|{channel}|{occurred}", p.person_id)
        if line is not None:
            bit = 1 << consent_slot(purpose, channel)
            p.consents = p.consents | bit if status == "granted" else p.consents & ~bit
