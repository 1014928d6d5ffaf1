"""Ground truth written beside (never inside) the landing zone.

- records.csv.gz   source, record_id, person_id: every record bronze should accept, once
                   (retries, re-sent copies and order status changes repeat an id: listed once)
- bad_records.csv  source, file, line, expected_reason: every record bronze must quarantine
- people.csv       persons, traits and planted propensities; p_respond_<channel>: the planted
                   P(clicks | a marketing message on the channel is sent), so an offer of category c
                   on channel ch is accepted with the planted probability p_<c> * p_respond_<ch>
- identifiers.csv  identifier_type, identifier_value (normalised), person_id, shared_kind, n_persons
- campaigns.json, manifest.json
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

from jobs.generate.campaigns import FUNNEL, response_probability
from jobs.generate.contract import CONSENT_CHANNELS, CONSENT_PURPOSES
from jobs.generate.people import SEAT_FOLLOWS_PREFERENCE, World, consent_slot

PEOPLE_COLUMNS = (
    "person_id", "household_id", "first_name", "last_name", "gender", "birth_date", "age_band",
    "country", "city", "postal_code", "segment", "company", "has_children", "party_size",
    "children_along", "loyalty_tier", "crm_id", "crm_created_date", "duplicate_crm_id", "email", "phone",
    "family_email", "n_devices", "used_kiosk", "activity", "p_extra_bag", "p_seat_purchase",
    "seat_preference", "p_seat_follows_preference", "p_insurance", "p_upgrade", "churn_risk",
    "churned_at", "consents_granted", *(f"p_respond_{channel}" for channel in FUNNEL),
)
IDENTIFIER_COLUMNS = ("identifier_type", "identifier_value", "person_id", "shared_kind", "n_persons")


class Truth:
    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self._records_file = open(root / "records.csv.gz", "wb")
        self._records = gzip.GzipFile(fileobj=self._records_file, mode="wb", mtime=0, filename="", compresslevel=4)
        self._buf = ["source,record_id,person_id\n"]
        self._bad = open(root / "bad_records.csv", "w", encoding="utf-8", newline="")
        self._bad.write("source,file,line,expected_reason\n")

    def record(self, source: str, record_id: str, person_id: str) -> None:
        buf = self._buf
        buf.append(f"{source},{record_id},{person_id}\n")
        if len(buf) >= 20000:
            self._flush()

    def bad(self, source: str, file: str, line: int, reason: str) -> None:
        self._bad.write(f"{source},{file},{line},{reason}\n")

    def _flush(self) -> None:
        self._records.write("".join(self._buf).encode())
        self._buf.clear()

    def close(self) -> None:
        self._flush()
        self._records.close()
        self._records_file.close()
        self._bad.close()

    def write_json(self, name: str, obj) -> None:
        text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False)
        (self.root / name).write_text(text + "\n", encoding="utf-8")

    def write_people(self, world: World, clock) -> None:
        with open(self.root / "people.csv", "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f, lineterminator="\n")
            out.writerow(PEOPLE_COLUMNS)
            for p in world.persons:
                granted = ";".join(f"{purpose}:{channel}" for purpose in CONSENT_PURPOSES for channel in CONSENT_CHANNELS
                                   if p.consents >> consent_slot(purpose, channel) & 1)
                out.writerow((
                    p.person_id, p.household_id, p.first_name, p.last_name, p.gender, p.birth_date.isoformat(),
                    p.age_band, p.country, p.city, p.postal_code, p.segment,
                    world.companies[p.company].name if p.company >= 0 else "", int(p.has_children), p.party_size,
                    p.children_along, p.loyalty_tier, p.crm_id or "", clock.day_text(p.crm_day) if p.crm_id else "",
                    p.dup_crm_id or "", p.email, p.phone, p.family_email or "", len(p.devices), int(p.kiosk_used),
                    round(p.activity, 4), p.p_extra_bag, p.p_seat_purchase, p.seat_preference,
                    SEAT_FOLLOWS_PREFERENCE, p.p_insurance, p.p_upgrade, p.churn_risk,
                    clock.day_text(p.churn_day) if p.churn_day is not None else "", granted,
                    *(response_probability(p, channel) for channel in FUNNEL),
                ))

    def write_identifiers(self, world: World) -> None:
        """One row per (identifier, person); shared identifiers get one row per person sharing them."""
        with open(self.root / "identifiers.csv", "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f, lineterminator="\n")
            out.writerow(IDENTIFIER_COLUMNS)
            households = world.households
            for p in world.persons:
                pid = p.person_id
                if p.crm_id:
                    out.writerow(("crm_id", p.crm_id, pid, "", 1))
                    out.writerow(("user_id", p.crm_id, pid, "", 1))
                if p.dup_crm_id:
                    out.writerow(("crm_id", p.dup_crm_id, pid, "", 1))
                for device in p.devices:
                    out.writerow(("anonymous_id", device.anonymous_id, pid, "", 1))
                personal = [p.personal_email, p.work_email, p.typo_email, *p.old_emails]
                for email in dict.fromkeys(e for e in personal if e):
                    out.writerow(("email", email.strip().lower(), pid, "", 1))
                if p.family_email:
                    out.writerow(("email", p.family_email, pid, "family_email", len(households[p.household_id])))
                for phone in dict.fromkeys((p.phone, *p.old_phones)):
                    out.writerow(("phone", phone, pid, "", 1))
            for company in world.companies:
                for idx in sorted(company.callers):
                    out.writerow(("phone", company.switchboard, world.persons[idx].person_id, "switchboard",
                                  len(company.callers)))
            for kiosk, users in zip(world.kiosks, world.kiosk_users, strict=True):
                for idx in sorted(users):
                    out.writerow(("anonymous_id", kiosk.anonymous_id, world.persons[idx].person_id, "kiosk", len(users)))
