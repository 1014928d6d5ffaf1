"""Call-center calls: identified callers, callers known only by phone, company switchboards.

An agent identifies most customers (customer_id filled); otherwise caller_phone, written as the
telephony system or agent captured it, is the only link. Business travellers often call from
their company switchboard: one number shared by many different people (an over-merge trap).
Timestamps are naive (no offset = UTC), as this telephony export writes them.
"""

from __future__ import annotations

from jobs.generate.clock import DAY, NAIVE, Z
from jobs.generate.context import Context, Quota
from jobs.generate.seeds import weighted_choice
from jobs.generate.variants import phone_as_typed

CALLS_PER_EVENT = 1 / 60
QUEUES = {
    "bookings": ("new_booking", "fare_question", "group_booking"),
    "changes": ("date_change", "name_correction", "seat_change"),
    "baggage": ("lost_bag", "extra_bag", "damaged_bag"),
    "refunds": ("refund_request", "voucher", "cancellation"),
    "loyalty": ("points_missing", "tier_status", "upgrade_request"),
}
OUTCOMES = (("resolved", 60), ("transferred", 10), ("callback", 10), ("escalated", 8), ("abandoned", 12))
CSAT = (("5", 35), ("4", 30), ("3", 15), ("2", 10), ("1", 10))


class CallGen:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.rng = ctx.seeds.rng("calls")
        self.quota = Quota()
        self.next_id = self.rng.randint(1_000_000, 2_000_000)
        self.agents = [f"AG{self.rng.randint(100, 999)}" for _ in range(max(8, ctx.scale // 20000))]

    def day(self, d: int) -> None:
        ctx, rng, world = self.ctx, self.rng, self.ctx.world
        router = ctx.landing.router("call_center", d)
        n = self.quota.take(ctx.scale * CALLS_PER_EVENT * ctx.day_weights[d])
        zone = NAIVE if rng.random() < 0.85 else Z    # one export job, one habit per day
        for t in sorted(d * DAY + rng.uniform(6, 19) * 3600 for _ in range(n)):
            p = world.pick(rng)
            if not p.active(d):
                continue
            company = world.companies[p.company] if p.company >= 0 else None
            if company is not None and company.switchboard and rng.random() < 0.4:
                phone = phone_as_typed(company.switchboard, "FR", rng)
                company.callers.add(p.idx)
                identified = rng.random() < 0.5
            else:
                phone = "" if rng.random() < 0.02 else phone_as_typed(p.phone, p.country, rng, national_ok=False)
                identified = rng.random() < 0.75
            customer_id = ""
            if identified and p.is_member(d):
                customer_id = p.dup_crm_id if p.dup_crm_id and rng.random() < 0.2 else p.crm_id
            queue = rng.choice(tuple(QUEUES))
            outcome = weighted_choice(OUTCOMES, rng)
            duration = rng.uniform(20, 90) if outcome == "abandoned" else rng.uniform(120, 1800)
            csat = "" if outcome == "abandoned" or rng.random() < 0.55 else weighted_choice(CSAT, rng)
            self.next_id += 1
            call_id = f"CALL-{self.next_id:08d}"
            rec = {"call_id": call_id, "customer_id": customer_id, "caller_phone": phone,
                   "started_at": ctx.clock.iso(t, zone), "ended_at": ctx.clock.iso(t + duration, zone),
                   "queue": queue, "reason": rng.choice(QUEUES[queue]), "outcome": outcome, "csat": csat,
                   "agent_id": "" if outcome == "abandoned" else rng.choice(self.agents)}
            router.write(rec, call_id, p.person_id, shard=0 if t < d * DAY + 13 * 3600 else 1)
        router.close()

