"""Orders: web/app bookings (made from event sessions) and offline ones, with planted propensities.

What a person adds to a flight follows their planted propensities (people.py): families add
extra bags, business travellers upgrades and seats, the seat bought matches the person's
preference 85% of the time. Some orders later change status: the same order_id re-arrives
with status cancelled/refunded and a later ordered_at. Guest orders carry no customer_id, only
an email written as the buyer typed it.
"""

from __future__ import annotations

from collections import defaultdict

from jobs.generate import refdata as ref
from jobs.generate.clock import DAY, OFFSET, Z
from jobs.generate.context import Context, Quota
from jobs.generate.people import SEAT_FOLLOWS_PREFERENCE, Person
from jobs.generate.seeds import weighted_choice
from jobs.generate.variants import email_as_typed

ORDERS_PER_EVENT = 1 / 15
WEB_SHARE = 0.6               # the rest is sold by call center, agencies, airport desks and stores
CANCEL, REFUND = 0.07, 0.03
OFFLINE_CHANNELS = {"business": (("call_center", 30), ("agency", 50), ("airport", 20)),
                    "leisure": (("agency", 35), ("store", 25), ("airport", 20), ("call_center", 20))}
RATE = {"EUR": 1.0, "GBP": 0.86, "USD": 1.08}
PROMO_CODES = ("WINTER25", "FAMILY10", "BLACKFRIDAY", "LOYALTY15")


class OrderGen:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.rng = ctx.seeds.rng("orders")
        self.next_id = self.rng.randint(10_000_000, 20_000_000)
        self.offline = Quota()
        self.pending: dict[int, list] = defaultdict(list)   # day -> [(t, record, person, recorded)]
        self.router = None

    def open_day(self, d: int) -> None:
        self.router = self.ctx.landing.router("orders", d)

    def close_day(self, d: int) -> None:
        """Offline orders of the day and status changes falling due, then close the day's files."""
        rng, world = self.rng, self.ctx.world
        n = self.offline.take(self.ctx.scale * ORDERS_PER_EVENT * (1 - WEB_SHARE) * self.ctx.day_weights[d])
        times = sorted(d * DAY + rng.uniform(6, 20) * 3600 for _ in range(n))
        for t in times:
            p = world.pick(rng)
            if not p.active(d):
                continue
            channel = weighted_choice(OFFLINE_CHANNELS[p.segment], rng)
            member = p.is_member(d) and rng.random() < 0.85
            self.place(p, d, t, channel, guest=not member)
        for _when, rec, p, recorded in sorted(self.pending.pop(d, ()), key=lambda e: e[0]):
            self._emit(rec, p, recorded)
        self.router.close()
        self.router = None

    def place(self, p: Person, d: int, t: float, channel: str, guest: bool) -> dict:
        """Write one new order; returns it (the event generator copies it into `Order Completed`)."""
        rng = self.rng
        self.next_id += rng.randint(1, 3)
        order_id = f"O{self.next_id:09d}"
        items, currency = self._items(p, d, rng)
        total = round(sum(i["quantity"] * i["unit_price"] for i in items), 2)
        customer_id = None
        if not guest:
            # Agencies and airport desks sometimes find the duplicate record first.
            use_dup = p.dup_crm_id is not None and channel in ("agency", "airport") and rng.random() < 0.5
            customer_id = p.dup_crm_id if use_dup else p.crm_id
        email = p.email
        if guest or rng.random() < 0.1:
            email = email_as_typed(email, rng) if rng.random() < 0.6 else email
        elif rng.random() < 0.05:
            email = None   # an agency booking keyed by customer_id only
        zone = OFFSET if rng.random() < 0.5 else Z
        rec = {"order_id": order_id, "customer_id": customer_id, "email": email,
               "ordered_at": self.ctx.clock.iso(t, zone, p.offset_min), "channel": channel,
               "currency": currency, "total_amount": total, "status": "completed", "items": items}
        if rng.random() < 0.03:
            rec["promo_code"] = rng.choice(PROMO_CODES)   # unknown to the contract: kept, never fatal
        recorded = self._emit(rec, p, False)
        r = rng.random()
        if r < CANCEL + REFUND:
            status, lag = ("cancelled", rng.uniform(0.1, 10)) if r < CANCEL else ("refunded", rng.uniform(3, 20))
            when = t + lag * DAY
            day = int(when // DAY)
            if day < self.ctx.days:
                changed = dict(rec, status=status, ordered_at=self.ctx.clock.iso(when, zone, p.offset_min))
                changed.pop("promo_code", None)
                self.pending[day].append((when, changed, p, recorded))
        return rec

    def _emit(self, rec: dict, p: Person, recorded: bool) -> bool:
        """Write; the order id enters the records truth once, with its first accepted version."""
        shard = 0 if rec["channel"] in ("web", "app") else 1   # booking engine vs partner systems export
        line = self.router.write(dict(rec), None if recorded else rec["order_id"], p.person_id, shard=shard)
        return recorded or line is not None

    def _items(self, p: Person, d: int, rng) -> tuple[list[dict], str]:
        currency = ("GBP" if p.country == "GB" and rng.random() < 0.7 else
                    "USD" if p.country == "US" and rng.random() < 0.8 else "EUR")
        fx = RATE[currency]
        origin = rng.choice(ref.HOME_AIRPORTS[p.country])
        long_haul = rng.random() < (0.35 if p.segment == "business" else 0.2)
        dest = rng.choice(ref.LONG_HAUL if long_haul else ref.SHORT_HAUL)
        if dest == origin:
            dest = "JFK" if origin != "JFK" else "CDG"
        departure = self.ctx.clock.day_text(d + rng.randint(2, 120))
        cabin = "business" if p.segment == "business" and rng.random() < 0.3 else "economy"
        fare = (rng.uniform(380, 1250) if long_haul else rng.uniform(45, 260)) * (3.2 if cabin == "business" else 1.0)
        pax = p.party_size
        items = [{"sku": f"FL-{origin}-{dest}", "category": "flight", "quantity": pax,
                  "unit_price": round(fare * fx, 2),
                  "attributes": {"origin": origin, "destination": dest, "departure_date": departure, "cabin": cabin,
                                 "passengers": {"adult": pax - p.children_along, "child": p.children_along}}}]
        if rng.random() < p.p_extra_bag:
            items.append({"sku": "BAG-23KG", "category": "extra_bag", "quantity": rng.randint(1, pax),
                          "unit_price": round((65.0 if long_haul else 35.0) * fx, 2), "attributes": {"weight_kg": 23}})
        if rng.random() < p.p_seat_purchase:
            seat = p.seat_preference if rng.random() < SEAT_FOLLOWS_PREFERENCE else (
                "aisle" if p.seat_preference == "window" else "window")
            items.append({"sku": f"SEAT-{seat.upper()}", "category": "seat", "quantity": pax,
                          "unit_price": round(rng.choice((12.0, 15.0, 18.0, 25.0)) * fx, 2), "attributes": {"seat": seat}})
        if rng.random() < p.p_insurance:
            items.append({"sku": "INS-CANCEL", "category": "insurance", "quantity": 1,
                          "unit_price": round((9.9 + 0.04 * fare * pax) * fx, 2), "attributes": {"cover": "cancellation"}})
        if rng.random() < p.p_upgrade:
            items.append({"sku": "UPG-PREMIUM", "category": "upgrade", "quantity": 1,
                          "unit_price": round(rng.uniform(60, 320) * fx, 2), "attributes": {"to": "premium_economy"}})
        return items, currency

