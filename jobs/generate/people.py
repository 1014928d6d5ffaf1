"""The synthetic population: persons, households, employers, devices and planted behaviour.

Everything the sources later write about a person derives from one `Person`, so the ground
truth (who is who, what they tend to buy) is known exactly. State per person is small
(`__slots__`) so ten million events' worth of customers (~300k persons) fits comfortably.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random

from jobs.generate import refdata as ref
from jobs.generate.clock import NAIVE, OFFSET, Z
from jobs.generate.contract import CONSENT_CHANNELS, CONSENT_PURPOSES
from jobs.generate.seeds import uuid4
from jobs.generate.variants import ascii_slug, fill_digits, name_as_typed

TIERS = ("blue", "silver", "gold", "platinum")
AGE_BANDS = ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 200))
EVENTS_PER_PERSON = 34        # scale / 34 persons, ~85% of them CRM customers => ~scale/40 customers
MEMBER_SHARE = 0.85
NEW_MEMBER_SHARE = 0.12       # customers whose CRM record is created inside the window
DUPLICATE_SHARE = 0.03        # customers with a second, typo'd CRM record
SHARED_EMAIL_SHARE = 0.35     # multi-person households that use one family mailbox
KIOSK_POOL_SHARE = 0.04       # persons who sometimes use an airport kiosk
SEAT_FOLLOWS_PREFERENCE = 0.85


class Device:
    __slots__ = ("anonymous_id", "kind", "user_agent", "zone")

    def __init__(self, anonymous_id: str, kind: str, user_agent: str, zone: str):
        self.anonymous_id = anonymous_id
        self.kind = kind            # web | mobile | kiosk
        self.user_agent = user_agent
        self.zone = zone            # timestamp style its SDK writes: Z, offset or naive


class Person:
    __slots__ = (
        "idx", "person_id", "household_id", "first_name", "last_name", "gender", "birth_date",
        "age", "age_band", "country", "city", "postal_code", "street", "state", "segment", "company",
        "has_children", "party_size", "children_along", "loyalty_tier", "crm_id", "crm_day", "dup_crm_id",
        "dup_crm_day",
        "email", "personal_email", "work_email", "family_email", "old_emails", "typo_email",
        "phone", "old_phones", "devices", "logged_in", "activity", "p_extra_bag", "p_seat_purchase",
        "seat_preference", "p_insurance", "p_upgrade", "churn_risk", "churn_day", "consents",
        "offset_min", "locale", "crm_name", "kiosk_used", "consent_t",
    )

    def is_member(self, day: int) -> bool:
        """Has a CRM customer_id (a userId) on `day`."""
        return self.crm_id is not None and self.crm_day <= day

    def active(self, day: int) -> bool:
        return self.churn_day is None or day < self.churn_day


def channel_affinity(p: Person, channel: str) -> float:
    """How readily the person responds to marketing on the channel, relative to its average reader:
    a planted trait (from age and devices, no noise) shared by the campaign funnel, which makes it
    visible in the data, and the truth's offer-acceptance probabilities."""
    senior = p.age >= 60
    if channel == "push":
        return 0.3 + 1.2 * any(device.kind == "mobile" for device in p.devices)
    return {"email": 1.2 - 0.6 * senior, "sms": 0.6 + 0.9 * senior, "phone": 0.4 + 1.6 * senior}[channel]


def consent_slot(purpose: str, channel: str) -> int:
    """Bit of a (purpose, channel) pair in Person.consents, the person's granted consents."""
    return CONSENT_PURPOSES.index(purpose) * len(CONSENT_CHANNELS) + CONSENT_CHANNELS.index(channel)


class Company:
    __slots__ = ("name", "domain", "switchboard", "callers")

    def __init__(self, name: str, domain: str, switchboard: str | None):
        self.name, self.domain, self.switchboard = name, domain, switchboard
        self.callers: set[int] = set()   # persons who called from the switchboard


class World:
    """Persons plus the lookups the generators need (weighted picks, members, kiosks)."""

    def __init__(self, persons, households, companies, kiosks, kiosk_pool, used_emails, used_phones):
        self.persons: list[Person] = persons
        self.used_emails: set[str] = used_emails   # kept so later changes stay unique
        self.used_phones: set[str] = used_phones
        self.households: dict[str, list[int]] = households
        self.companies: list[Company] = companies
        self.kiosks: list[Device] = kiosks
        self.kiosk_users: list[set[int]] = [set() for _ in kiosks]
        self.kiosk_pool: list[int] = kiosk_pool
        self.members = [p.idx for p in persons if p.crm_id is not None]
        self.joining: dict[int, list[Person]] = {}   # window day -> customers whose CRM record opens that day
        for i in self.members:
            if persons[i].crm_day >= 0:
                self.joining.setdefault(persons[i].crm_day, []).append(persons[i])
        self._cum, total = [], 0.0
        for p in persons:
            total += p.activity
            self._cum.append(total)
        self._total = total

    def pick(self, rng: random.Random) -> Person:
        """A person drawn in proportion to activity (heavy users generate most traffic)."""
        return self.persons[bisect.bisect(self._cum, rng.random() * self._total)]


def build_world(scale: int, clock, rng: random.Random, children_rng: random.Random) -> World:
    """`children_rng` draws the minor children of families from its own stream, so the rest of the
    population is the same as before minors were drawn."""
    n_persons = max(40, round(scale / EVENTS_PER_PERSON))
    days = clock.days
    end = clock.date(days - 1)
    n_companies = max(3, n_persons // 150)
    companies = []
    for i in range(n_companies):
        name = ref.COMPANY_NAMES[i % len(ref.COMPANY_NAMES)] + (f" {i // len(ref.COMPANY_NAMES) + 1}" if i >= len(ref.COMPANY_NAMES) else "")
        switchboard = "+33" + fill_digits(ref.SWITCHBOARD_TEMPLATE, rng) if rng.random() < 0.7 else None
        companies.append(Company(name, ascii_slug(name) + ".fr", switchboard))

    used_emails: set[str] = set()
    used_phones: set[str] = set()
    persons: list[Person] = []
    households: dict[str, list[int]] = {}
    countries, weights = zip(*ref.COUNTRY_WEIGHTS, strict=True)

    while len(persons) < n_persons:
        hid = f"H{len(households) + 1:07d}"
        country = rng.choices(countries, weights)[0]
        r = rng.random()
        kind = "single" if r < 0.45 else "couple" if r < 0.70 else "family"
        size = 1 if kind == "single" else 2 if kind == "couple" else 2 + rng.choices((0, 1, 2, 3), (35, 35, 20, 10))[0]
        size = min(size, n_persons - len(persons))
        city, postcodes, state = rng.choice(ref.CITIES[country])
        address = (rng.choice(ref.STREETS[country]).format(n=rng.randint(1, 180)), city, rng.choice(postcodes), state)
        family_last = rng.choice(ref.LAST_NAMES[country])
        family_email = None
        if size > 1 and rng.random() < SHARED_EMAIL_SHARE:
            family_email = unique_email(_family_local(country, family_last), country, rng, used_emails)
        members = []
        for m in range(size):
            child = kind == "family" and m >= 2
            if child:
                age = rng.randint(18, 24)
            elif kind == "family":
                age = rng.randint(30, 56)
            elif kind == "couple":
                age = rng.randint(24, 78)
            else:
                age = rng.randint(19, 82)
            p = _person(len(persons), hid, country, age, child, kind, size, address, family_last,
                        family_email, companies, end, rng, used_emails, used_phones)
            members.append(p.idx)
            persons.append(p)
        households[hid] = members
        if kind == "family":
            _add_minors([persons[i] for i in members], children_rng)

    _assign_crm(persons, days, rng)
    for p in persons:
        _plant_behaviour(p, days, rng)

    kiosks = [Device(uuid4(rng), "kiosk", ref.KIOSK_USER_AGENT, Z) for _ in range(2)]
    pool_size = max(3, int(n_persons * KIOSK_POOL_SHARE))
    kiosk_pool = sorted(rng.sample(range(n_persons), pool_size))
    return World(persons, households, companies, kiosks, kiosk_pool, used_emails, used_phones)


def _add_minors(family: list[Person], rng: random.Random) -> None:
    """Minor children are not persons (no accounts, no devices) but fly with the family, and the
    booking's passenger list counts them as children, as an airline's does. A family of two adults
    has at least one; one with grown-up children may have younger ones too."""
    minors = (1 if len(family) == 2 else 0) + rng.choices((0, 1, 2), (50, 35, 15))[0]
    for p in family:
        if p.party_size > 1:   # not the business traveller, who flies alone
            p.party_size += minors
            p.children_along = minors


def _family_local(country: str, last: str) -> str:
    slug = ascii_slug(last)
    return {"FR": f"famille.{slug}", "DE": f"familie.{slug}", "ES": f"familia.{slug}",
            "IT": f"famiglia.{slug}"}.get(country, f"the.{slug}s")


def unique_email(local: str, country: str, rng: random.Random, used: set[str], domain: str | None = None) -> str:
    domain = domain or rng.choice(ref.EMAIL_DOMAINS[country])
    email = f"{local}@{domain}"
    while email in used:
        email = f"{local}{rng.randint(1, 999)}@{domain}"
    used.add(email)
    return email


def _person(idx, hid, country, age, child, kind, size, address, family_last, family_email,
            companies, end: dt.date, rng, used_emails, used_phones) -> Person:
    p = Person()
    p.idx = idx
    p.person_id = f"P{idx + 1:07d}"
    p.household_id = hid
    p.gender = rng.choice("FM")
    p.first_name = rng.choice(ref.FIRST_NAMES[country][0 if p.gender == "M" else 1])
    # Partners keep their own family name a third of the time; children take the household's.
    p.last_name = family_last if child or rng.random() < 0.67 else rng.choice(ref.LAST_NAMES[country])
    p.age = age
    p.birth_date = end - dt.timedelta(days=age * 365 + rng.randrange(365))
    p.age_band = next(f"{lo}-{hi}" if hi < 200 else f"{lo}+" for lo, hi in AGE_BANDS if lo <= age <= hi)
    p.country = country
    p.street, p.city, p.postal_code, p.state = address
    business = not child and 25 <= age <= 63 and rng.random() < 0.30
    p.segment = "business" if business else "leisure"
    p.company = rng.randrange(len(companies)) if business else -1
    p.has_children = kind == "family" and not child
    # Travel party: families fly together, business travellers alone.
    p.party_size = 1 if business else size if kind == "family" else rng.choice((1, 2)) if kind == "couple" else 1
    p.children_along = 0   # minors in the travel party, set with the household (_add_minors)
    tier_weights = (25, 35, 28, 12) if business else (55, 28, 13, 4)
    p.loyalty_tier = rng.choices(TIERS, tier_weights)[0]
    first, last = ascii_slug(p.first_name), ascii_slug(p.last_name)
    pattern = rng.random()
    local = (f"{first}.{last}" if pattern < 0.4 else f"{first[0]}{last}" if pattern < 0.6
             else f"{first}{last}{rng.randint(1, 99)}" if pattern < 0.8 else f"{last}.{first}")
    p.personal_email = unique_email(local, country, rng, used_emails)
    p.work_email = (unique_email(f"{first}.{last}", country, rng, used_emails, companies[p.company].domain)
                    if business else None)
    p.family_email = family_email
    if family_email:
        p.email = family_email   # the whole household books and registers with the family mailbox
    elif business and rng.random() < 0.5:
        p.email = p.work_email
    else:
        p.email = p.personal_email
    p.old_emails = []
    p.typo_email = None
    p.phone = unique_phone(country, rng, used_phones)
    p.old_phones = []
    p.offset_min = ref.TZ_OFFSET[country]
    p.locale = ref.LOCALES[country]
    n_devices = rng.choices((1, 2, 3), (45, 38, 17))[0]
    p.devices = []
    for d in range(n_devices):
        mobile = rng.random() < (0.4 if d == 0 else 0.6)
        if mobile:
            zone = OFFSET if rng.random() < 0.85 else NAIVE
            p.devices.append(Device(uuid4(rng), "mobile", rng.choice(ref.USER_AGENTS_APP), zone))
        else:
            p.devices.append(Device(uuid4(rng), "web", rng.choice(ref.USER_AGENTS_WEB), Z))
    p.logged_in = 0
    p.consents = 0
    p.consent_t = float("-inf")   # time of the person's latest consent change (kept increasing)
    p.kiosk_used = False
    p.crm_id = p.dup_crm_id = None
    p.crm_day = p.dup_crm_day = None
    # How the CRM holds the name: one stable spelling per person, sometimes not the canonical one.
    p.crm_name = name_as_typed(p.first_name, p.last_name, rng, noise=0.25)
    return p


def unique_phone(country: str, rng: random.Random, used: set[str]) -> str:
    cc, _, templates = ref.PHONE_PLANS[country]
    while True:
        phone = "+" + cc + fill_digits(rng.choice(templates), rng)
        if phone not in used:
            used.add(phone)
            return phone


def _assign_crm(persons: list[Person], days: int, rng: random.Random) -> None:
    """CRM customer ids (C + 7 digits, random so that id order says nothing about age)."""
    members = [p for p in persons if rng.random() < MEMBER_SHARE]
    n_dups = max(1, round(len(members) * DUPLICATE_SHARE)) if len(members) >= 10 else 0
    ids = rng.sample(range(100_000, 10_000_000), len(members) + n_dups)
    for p, number in zip(members, ids[:len(members)], strict=True):
        p.crm_id = f"C{number:07d}"
        new = days > 1 and rng.random() < NEW_MEMBER_SHARE
        p.crm_day = rng.randint(1, days - 1) if new else -rng.randint(1, 3000)
    for p, number in zip(rng.sample(members, n_dups), ids[len(members):], strict=True):
        p.dup_crm_id = f"C{number:07d}"
        # The duplicate was opened at a desk or by an agent, before the window or inside it.
        p.dup_crm_day = -rng.randint(1, 1500) if rng.random() < 0.7 or days < 3 else rng.randint(1, days - 1)


def _clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return round(min(hi, max(lo, x)), 4)


def _plant_behaviour(p: Person, days: int, rng: random.Random) -> None:
    """Propensities driven by traits (plus personal noise): the answers the models should find."""
    business, family = p.segment == "business", p.has_children
    high_tier = p.loyalty_tier in ("gold", "platinum")
    noise = rng.gauss
    p.activity = rng.lognormvariate(0, 0.9) * (1.6 if business else 1.0) * (1.2 if p.crm_id else 0.7)
    p.p_extra_bag = _clamp(0.10 + 0.45 * family + 0.06 * (p.party_size > 2) - 0.06 * business + noise(0, 0.04), 0.01, 0.95)
    p.p_seat_purchase = _clamp(0.18 + 0.22 * business + 0.10 * high_tier + 0.08 * family + noise(0, 0.04), 0.01, 0.95)
    if business:
        p.seat_preference = "aisle" if rng.random() < 0.75 else "window"
    elif family:
        p.seat_preference = "window" if rng.random() < 0.70 else "aisle"
    else:
        p.seat_preference = rng.choice(("window", "aisle"))
    p.p_insurance = _clamp(0.06 + 0.16 * (p.age >= 55) + 0.10 * family + 0.05 * (p.country in ("US", "GB"))
                           + noise(0, 0.03), 0.01, 0.95)
    p.p_upgrade = _clamp(0.02 + 0.20 * business + 0.08 * high_tier + noise(0, 0.02), 0.0, 0.9)
    low_activity = p.activity < 0.6
    p.churn_risk = _clamp(0.03 + 0.12 * (p.loyalty_tier == "blue") + 0.08 * low_activity
                          + 0.04 * (not business) - 0.03 * high_tier + noise(0, 0.03), 0.0, 0.9)
    # A churner goes quiet from a day inside the window (no events, orders or calls after it).
    churned = days >= 5 and rng.random() < p.churn_risk
    p.churn_day = rng.randint(max(1, days // 5), max(1, days * 9 // 10)) if churned else None
