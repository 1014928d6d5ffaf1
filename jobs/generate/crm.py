"""CRM extracts: one full extract on the first day, then daily partial extracts.

Partial extracts carry new customers, duplicate records opened by mistake, and updates (tier,
phone, address, email, or a mere re-save); every row is the customer's full current state so
"latest updated_at wins" works. Names come as the CRM holds them (Person.crm_name); duplicates
carry a typo'd name and often a typo'd email, for the probabilistic matcher.
"""

from __future__ import annotations

from collections import defaultdict

from jobs.generate import refdata as ref
from jobs.generate.clock import DAY, NAIVE, Z
from jobs.generate.context import Context, Quota
from jobs.generate.people import TIERS, Person, unique_email, unique_phone
from jobs.generate.variants import (
    ascii_slug,
    email_as_typed,
    email_typo,
    name_as_typed,
    phone_as_typed,
)

UPDATES_PER_MEMBER = 0.15     # partial-update rows over the whole window, per customer


class CrmGen:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.rng = ctx.seeds.rng("crm")
        self.dup_on: dict[int, list[Person]] = defaultdict(list)   # window day -> duplicates opened
        for p in ctx.world.persons:
            if p.dup_crm_id is not None and p.dup_crm_day >= 0:
                self.dup_on[p.dup_crm_day].append(p)
        self.recorded: set[str] = set()   # customer_ids already in the records truth
        self.updates = Quota()

    def day(self, d: int) -> None:
        ctx, rng = self.ctx, self.rng
        if d == 0:
            full = ctx.landing.router("crm", 0, late_ok=False)
            t_extract = 2 * 3600.0  # the nightly job exports at 02:00
            for p in ctx.world.persons:
                if p.crm_id is not None and p.crm_day < 0:
                    updated = max(self._created(p, p.crm_day), -rng.randint(1, 700) * DAY + rng.random() * DAY)
                    self._write(full, p, p.crm_id, p.crm_day, min(updated, t_extract))
                if p.dup_crm_id is not None and p.dup_crm_day < 0:
                    self._write_duplicate(full, p, self._created(p, p.dup_crm_day))
            full.close()
        router = ctx.landing.router("crm", d)
        for p in ctx.world.joining.get(d, ()):
            self._write(router, p, p.crm_id, d, self._created(p, d))
        for p in self.dup_on.get(d, ()):
            self._write_duplicate(router, p, self._created(p, d))
        if d > 0:
            members = ctx.world.members
            n = self.updates.take(len(members) * UPDATES_PER_MEMBER * ctx.day_weights[d])
            # In time order: a customer changed twice today has its latest state at the latest updated_at.
            for t in sorted(d * DAY + rng.uniform(6, 21) * 3600 for _ in range(n)):
                p = ctx.world.persons[rng.choice(members)]
                if p.crm_day < d:
                    self._change(p)
                    self._write(router, p, p.crm_id, p.crm_day, t)
        router.close()

    def _created(self, p: Person, day: int) -> float:
        # A stable time of day per person, so every row of a customer repeats the same created_at.
        return day * DAY + (p.idx * 7919 % 50000) + 25000

    def _change(self, p: Person) -> None:
        """Apply one real-life change to the person; later rows (and other sources) see it."""
        rng, world = self.rng, self.ctx.world
        r = rng.random()
        if r < 0.45:
            i = TIERS.index(p.loyalty_tier)
            p.loyalty_tier = TIERS[min(len(TIERS) - 1, i + 1) if rng.random() < 0.75 or i == 0 else i - 1]
        elif r < 0.65:
            p.old_phones.append(p.phone)
            p.phone = unique_phone(p.country, rng, world.used_phones)
        elif r < 0.80:
            city, postcodes, state = rng.choice(ref.CITIES[p.country])
            p.street = rng.choice(ref.STREETS[p.country]).format(n=rng.randint(1, 180))
            p.city, p.postal_code, p.state = city, rng.choice(postcodes), state
        elif r < 0.90:
            local = f"{ascii_slug(p.first_name)}.{ascii_slug(p.last_name)}{rng.randint(1, 99)}"
            new = unique_email(local, p.country, rng, world.used_emails)
            p.old_emails.append(p.personal_email)
            if p.email == p.personal_email:
                p.email = new
            p.personal_email = new
        # else: a re-save with nothing changed (updated_at moves anyway)

    def _row(self, p: Person, customer_id: str, first: str, last: str, email: str, phone: str,
             birth: str, created: float, updated: float) -> dict:
        rng, clock = self.rng, self.ctx.clock
        zone = Z if rng.random() < 0.6 else NAIVE
        no_address = rng.random() < 0.05
        country = p.country if rng.random() < 0.85 else rng.choice(ref.COUNTRY_SPELLINGS[p.country])
        return {
            "customer_id": customer_id, "first_name": first, "last_name": last, "email": email,
            "phone": phone, "birth_date": birth,
            "street": "" if no_address else p.street, "city": "" if no_address else p.city,
            "postal_code": "" if no_address else p.postal_code, "country": country,
            "loyalty_tier": p.loyalty_tier,
            "created_at": clock.iso(created, zone), "updated_at": clock.iso(updated, zone),
        }

    def _write(self, router, p: Person, customer_id: str, created_day: int, updated: float) -> None:
        rng = self.rng
        first, last = p.crm_name
        email = email_as_typed(p.email, rng) if rng.random() < 0.05 else p.email
        phone = "" if rng.random() < 0.05 else phone_as_typed(p.phone, p.country, rng)
        birth = "" if rng.random() < 0.08 else p.birth_date.isoformat()
        row = self._row(p, customer_id, first, last, email, phone, birth, self._created(p, created_day), updated)
        self._emit(router, row, customer_id, p)

    def _write_duplicate(self, router, p: Person, created: float) -> None:
        """A second customer record for the same person, typed again by someone else."""
        rng = self.rng
        first, last = name_as_typed(p.first_name, p.last_name, rng, noise=1.0)
        r = rng.random()
        if r < 0.5:
            p.typo_email = email_typo(p.email, rng)
            email = p.typo_email
        elif r < 0.7:
            email = p.personal_email
        else:
            email = p.email
        phone = phone_as_typed(p.phone, p.country, rng) if rng.random() < 0.6 else ""
        birth = p.birth_date.isoformat() if rng.random() < 0.8 else ""
        row = self._row(p, p.dup_crm_id, first, last, email, phone, birth, created, created)
        row["loyalty_tier"] = "blue"
        self._emit(router, row, p.dup_crm_id, p)

    def _emit(self, router, row: dict, customer_id: str, p: Person) -> None:
        first_time = customer_id not in self.recorded
        line = router.write(row, customer_id if first_time else None, p.person_id)
        if line is not None:
            self.recorded.add(customer_id)
