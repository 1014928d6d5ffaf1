"""The synthetic landing-data generator: determinism, layout, bad records, ground truth.

A small reference validator below mirrors the bronze rules (jobs/bronze/parse.py + reader.py) in
plain Python, so every line is checked: each line named in bad_records.csv must fail with
exactly its expected reason, and every other line must pass.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from jobs.generate import generate

SMALL = {"scale": 3000, "days": 5, "seed": 7}
MEDIUM = {"scale": 20000, "days": 5, "seed": 11}
SOURCES = ("events", "crm", "call_center", "orders", "campaigns", "consents")


def _generate(base: Path, **kwargs) -> dict:
    return generate(base / "landing", base / "truth", progress=None, **kwargs)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    base = tmp_path_factory.mktemp("small")
    return base, _generate(base, **SMALL)


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    base = tmp_path_factory.mktemp("medium")
    return base, _generate(base, **MEDIUM)


# --------------------------------------------------------------------------- reading files
def _physical_lines(path: Path) -> tuple[list[bytes], bool]:
    """Complete physical lines of a landed file (decompressed), and whether the gzip was cut."""
    data = path.read_bytes()
    truncated = False
    if path.name.endswith(".gz") and data:
        inflater = zlib.decompressobj(wbits=31)
        data = inflater.decompress(data) + inflater.flush()
        truncated = not inflater.eof
    if not data:
        return [], truncated
    lines = data.split(b"\n")
    tail = lines.pop()
    assert truncated or tail == b"", f"{path} must end with one newline"
    assert all(line.strip() for line in lines), f"{path} holds a blank line"
    return [line[:-1] if line.endswith(b"\r") else line for line in lines], truncated


def _files(base: Path, manifest: dict):
    for entry in manifest["files"]:
        lines, truncated = _physical_lines(base / "landing" / entry["path"])
        yield entry, lines, truncated


def _bad_rows(base: Path) -> list[dict]:
    with open(base / "truth" / "bad_records.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------- reference validator
REQUIRED = {
    "events": ("messageId", "type", "timestamp"), "orders": ("order_id", "ordered_at", "status"),
    "call_center": ("call_id", "started_at"), "crm": ("customer_id", "updated_at"),
    "campaigns": ("event_id", "campaign_id", "variant", "channel", "customer_id", "occurred_at", "action"),
    "consents": ("customer_id", "purpose", "channel", "status", "occurred_at"),
}
ONE_OF = {"events": ("userId", "anonymousId"), "orders": ("customer_id", "email")}
TIMESTAMPS = {
    "events": ("timestamp", "sentAt", "receivedAt"), "orders": ("ordered_at",),
    "call_center": ("started_at", "ended_at"), "crm": ("created_at", "updated_at"),
    "campaigns": ("occurred_at",), "consents": ("occurred_at",),
}
ALLOWED = {
    "events": {"type": {"track", "page", "screen", "identify", "alias"}},
    "orders": {"status": {"completed", "cancelled", "refunded"},
               "channel": {"web", "app", "call_center", "agency", "airport", "store"}},
    "campaigns": {"channel": {"email", "sms", "push", "phone"},
                  "action": {"sent", "delivered", "opened", "clicked", "converted", "unsubscribed", "bounced"}},
    "consents": {"purpose": {"marketing", "personalization", "analytics"},
                 "channel": {"email", "sms", "push", "phone", "any"}, "status": {"granted", "withdrawn"}},
}
FORMAT = {"events": "jsonl", "orders": "jsonl", "consents": "jsonl", "crm": "csv", "call_center": "csv",
          "campaigns": "csv"}


def _present(value) -> bool:
    return value is not None and str(value).strip() != ""


def _is_timestamp(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
        return "T" in text
    except ValueError:
        return False


def _numeric(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def _parse(source: str, raw: bytes, header: list[str] | None):
    """(fields, reasons): the record's fields, or the read/parse reason that stops it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, {"invalid_encoding"}
    if FORMAT[source] == "jsonl":
        try:
            fields = json.loads(text)
        except json.JSONDecodeError:
            return None, {"malformed_record"}
        return (fields, set()) if isinstance(fields, dict) else (None, {"malformed_record"})
    row = next(csv.reader([text]))
    if len(row) != len(header):
        return None, {"malformed_record"}
    return {h: (v if v != "" else None) for h, v in zip(header, row, strict=True)}, set()


def reasons(source: str, raw: bytes, header: list[str] | None = None) -> set[str]:
    """Every reason the bronze rules would find in one line (empty: accepted)."""
    fields, found = _parse(source, raw, header)
    if fields is None:
        return found
    if any(not _present(fields.get(name)) for name in REQUIRED[source]):
        found.add("missing_required_field")
    if source in ONE_OF and not any(_present(fields.get(n)) for n in ONE_OF[source]):
        found.add("missing_required_field")
    for name in TIMESTAMPS[source]:
        if _present(fields.get(name)) and not _is_timestamp(str(fields[name])):
            found.add("invalid_timestamp")
    if source == "events":
        for name in ("properties", "traits", "context"):
            if fields.get(name) is not None and not isinstance(fields[name], dict):
                found.add("invalid_type")
    if source == "orders":
        if _present(fields.get("total_amount")) and not _numeric(fields["total_amount"]):
            found.add("invalid_type")
        items = fields.get("items")
        if items is not None:
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                found.add("invalid_type")
            elif any(not _numeric(i[k]) for i in items for k in ("quantity", "unit_price") if i.get(k) is not None):
                found.add("invalid_type")
    if source == "call_center" and _present(fields.get("csat")):
        try:
            if not 1 <= int(fields["csat"]) <= 5:
                found.add("invalid_value")
        except ValueError:
            found.add("invalid_type")
    if source == "crm" and _present(fields.get("birth_date")):
        try:
            dt.date.fromisoformat(fields["birth_date"])
        except ValueError:
            found.add("invalid_type")
    for name, allowed in ALLOWED.get(source, {}).items():
        if _present(fields.get(name)) and fields[name] not in allowed:
            found.add("invalid_value")
    return found


def _record_id(source: str, fields: dict) -> str:
    key = {"events": "messageId", "orders": "order_id", "call_center": "call_id", "crm": "customer_id",
           "campaigns": "event_id"}.get(source)
    if key:
        return fields[key]
    return "|".join(fields[k] for k in ("customer_id", "purpose", "channel", "occurred_at"))


def _records(base: Path, manifest: dict):
    """(source, path, line number, fields or None, raw) for every record line of every file."""
    for entry, lines, _ in _files(base, manifest):
        source = entry["source"]
        header = None
        for number, raw in enumerate(lines, start=1):
            if FORMAT[source] == "csv" and number == 1:
                header = next(csv.reader([raw.decode("utf-8").lstrip("\ufeff")]))
                continue
            yield source, entry["path"], number, raw, header


# --------------------------------------------------------------------------- tests
def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path, small):
    base, _ = small
    again = tmp_path / "again"
    _generate(again, **SMALL)
    for folder in ("landing", "truth"):
        ours = sorted(p.relative_to(base / folder) for p in (base / folder).rglob("*") if p.is_file())
        theirs = sorted(p.relative_to(again / folder) for p in (again / folder).rglob("*") if p.is_file())
        assert ours == theirs
        for rel in ours:
            assert (base / folder / rel).read_bytes() == (again / folder / rel).read_bytes(), rel
    other = tmp_path / "other"
    _generate(other, **dict(SMALL, seed=SMALL["seed"] + 1))
    assert (other / "truth" / "people.csv").read_bytes() != (base / "truth" / "people.csv").read_bytes()


def test_layout_every_source_has_dated_files_and_truth_stays_outside(small):
    base, manifest = small
    landing = base / "landing"
    assert sorted(p.name for p in landing.iterdir()) == sorted(SOURCES)
    for source in SOURCES:
        files = [p for p in (landing / source).rglob("*") if p.is_file()]
        assert len(files) >= SMALL["days"], source
        for p in files:
            day, name = p.parent.name, p.name
            dt.date.fromisoformat(day)
            ext = ".jsonl" if FORMAT[source] == "jsonl" else ".csv"
            assert name.startswith("part-") and (name.endswith(ext) or name.endswith(ext + ".gz")), p
    assert {e["compression"] for e in manifest["files"]} == {"gzip", "none"}
    for p in landing.rglob("*.gz"):
        head = p.read_bytes()[:10]
        assert head[3] & 0x08 == 0 and head[4:8] == b"\0\0\0\0", f"{p}: gzip header names a file or a time"
    truth = base / "truth"
    for name in manifest["truth_files"]:
        assert (truth / name).is_file(), name
    assert not list(landing.rglob("*.json")) and not list(landing.rglob("people.csv"))


def test_refuses_truth_inside_landing_and_a_landing_that_holds_files(tmp_path):
    with pytest.raises(ValueError, match="inside the landing"):
        generate(tmp_path / "landing", tmp_path / "landing" / "truth", scale=500, days=2, progress=None)
    (tmp_path / "busy" / "events").mkdir(parents=True)
    (tmp_path / "busy" / "events" / "old.jsonl").write_text("{}\n")
    with pytest.raises(ValueError, match="already holds files"):
        generate(tmp_path / "busy", tmp_path / "truth", scale=500, days=2, progress=None)


def test_manifest_counts_equal_the_lines_in_each_file(small):
    base, manifest = small
    bad_per_file = Counter(row["file"] for row in _bad_rows(base))
    totals = Counter()
    for entry, lines, truncated in _files(base, manifest):
        header = 1 if entry["format"] == "csv" and lines else 0
        assert entry["records"] == len(lines) - header, entry["path"]
        assert sum(entry["bad"].values()) == bad_per_file[entry["path"]], entry["path"]
        assert truncated == ("truncated" in entry), entry["path"]
        totals[entry["source"]] += entry["records"]
    for source in SOURCES:
        assert manifest["sources"][source]["records"] == totals[source] > 0


def test_every_bad_line_fails_with_its_reason_and_every_other_line_passes(small):
    base, manifest = small
    expected = {(r["file"], int(r["line"])): r["expected_reason"] for r in _bad_rows(base)}
    kinds = Counter(expected.values())
    assert set(kinds) == {"malformed_record", "missing_required_field", "invalid_timestamp", "invalid_type",
                          "invalid_value", "invalid_encoding", "truncated_file"}
    seen = set()
    for source, path, number, raw, header in _records(base, manifest):
        want = expected.get((path, number))
        assert reasons(source, raw, header) == ({want} if want else set()), (path, number, raw[:200])
        seen.add((path, number))
    # The one row not seen is the truncated file's cut line: it names where the damage starts.
    (cut,) = [key for key, reason in expected.items() if reason == "truncated_file"]
    assert set(expected) - seen == {cut}
    entry = next(e for e in manifest["files"] if e["path"] == cut[0])
    assert cut[1] == entry["truncated"]["intact_lines"] + 1 == entry["records"] + 1
    # About bad_record_rate of each source's records are bad (rate 1% by default).
    total_records = sum(s["records"] for s in manifest["sources"].values())
    assert 0.005 * total_records < len(expected) < 0.02 * total_records


def test_records_truth_lists_each_accepted_record_once(small):
    base, manifest = small
    bad = {(r["file"], int(r["line"])) for r in _bad_rows(base)}
    landed = defaultdict(set)
    for source, path, number, raw, header in _records(base, manifest):
        if (path, number) not in bad:
            fields, _ = _parse(source, raw, header)
            landed[source].add(_record_id(source, fields))
    with gzip.open(base / "truth" / "records.csv.gz", "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    truth = defaultdict(set)
    for row in rows:
        truth[row["source"]].add(row["record_id"])
    assert len(rows) == sum(len(ids) for ids in truth.values()), "a record id is listed twice"
    for source in SOURCES:
        assert truth[source] == landed[source], source
    persons = {row["person_id"] for row in csv.DictReader(open(base / "truth" / "people.csv", encoding="utf-8"))}
    assert {row["person_id"] for row in rows} <= persons


def test_normal_quirks_and_special_files_are_all_there(small):
    base, manifest = small
    specials = manifest["specials"]
    assert set(specials["csv_quirks"]) == {"bom", "crlf", "reordered_columns", "extra_column", "quote_all"}
    landing = base / "landing"
    bom = specials["csv_quirks"]["bom"][0]
    raw_bom = (landing / bom).read_bytes()
    assert (gzip.decompress(raw_bom) if bom.endswith(".gz") else raw_bom).startswith(b"\xef\xbb\xbf")
    crlf = specials["csv_quirks"]["crlf"][0]
    raw_crlf = (landing / crlf).read_bytes()
    assert b"\r\n" in (gzip.decompress(raw_crlf) if crlf.endswith(".gz") else raw_crlf)
    empty = [landing / p for p in specials["empty_files"]]
    assert any(p.stat().st_size == 0 for p in empty)
    assert any(p.name.endswith(".gz") and gzip.decompress(p.read_bytes()) == b"" for p in empty)
    (resent,) = specials["resent_files"]
    assert (landing / resent["path"]).read_bytes() == (landing / resent["resent_of"]).read_bytes()
    assert resent["path"] != resent["resent_of"]
    assert len(specials["truncated_files"]) == 1
    late = [e for e in manifest["files"] if e["late"]]
    assert late and all(2 <= (dt.date.fromisoformat(e["arrival_date"]) - dt.date.fromisoformat(e["data_date"])).days
                        <= 10 for e in late)
    # Retried messages: the same messageId on two lines, sometimes in two files.
    ids = Counter()
    unknown_fields = set()
    for entry, lines, _ in _files(base, manifest):
        if entry["source"] == "events":
            for raw in lines:
                try:
                    msg = json.loads(raw)
                except (UnicodeDecodeError, json.JSONDecodeError):
                    continue
                if isinstance(msg, dict) and "messageId" in msg:
                    ids[msg["messageId"]] += 1
                    unknown_fields |= set(msg) - {"messageId", "type", "timestamp", "userId", "anonymousId", "event",
                                                  "name", "properties", "traits", "previousId", "context", "sentAt",
                                                  "receivedAt"}
    assert sum(n - 1 for n in ids.values()) >= manifest["sources"]["events"]["retried_lines"] > 0
    assert unknown_fields


def test_identity_traps_and_duplicates_are_in_the_truth(medium):
    base, _ = medium
    rows = list(csv.DictReader(open(base / "truth" / "identifiers.csv", encoding="utf-8")))
    shared = defaultdict(set)
    for row in rows:
        if row["shared_kind"]:
            shared[row["shared_kind"], row["identifier_value"]].add(row["person_id"])
            assert int(row["n_persons"]) == len({r["person_id"] for r in rows
                                                 if r["identifier_value"] == row["identifier_value"]
                                                 and r["shared_kind"] == row["shared_kind"]})
    for kind in ("family_email", "switchboard", "kiosk"):
        assert max(len(p) for (k, _), p in shared.items() if k == kind) >= 2, kind
    crm_ids = Counter(row["person_id"] for row in rows if row["identifier_type"] == "crm_id")
    assert max(crm_ids.values()) == 2, "some persons have a duplicate CRM record"
    assert all(row["identifier_value"].startswith("+") for row in rows if row["identifier_type"] == "phone")
    assert all(row["identifier_value"] == row["identifier_value"].strip().lower()
               for row in rows if row["identifier_type"] == "email")
    people = list(csv.DictReader(open(base / "truth" / "people.csv", encoding="utf-8")))
    for column in ("p_extra_bag", "p_seat_purchase", "p_insurance", "p_upgrade", "churn_risk"):
        assert all(0.0 <= float(p[column]) <= 1.0 for p in people)
    assert {p["seat_preference"] for p in people} == {"window", "aisle"}


def test_planted_campaign_effect_is_visible_and_the_null_campaign_exists(medium):
    base, manifest = medium
    truth = json.loads((base / "truth" / "campaigns.json").read_text())
    by_id = {c["campaign_id"]: c for c in truth["campaigns"]}
    planted, null = by_id[truth["planted_effect_campaign"]], by_id[truth["null_campaign"]]
    assert planted["arms"]["B"]["planted_lift_vs_control"] >= 0.03
    assert len({arm["true_conversion_rate"] for arm in null["arms"].values()}) == 1
    sent, converted = Counter(), Counter()
    bad = {(r["file"], int(r["line"])) for r in _bad_rows(base)}
    for source, path, number, raw, header in _records(base, manifest):
        if source == "campaigns" and (path, number) not in bad:
            fields, _ = _parse(source, raw, header)
            if fields["campaign_id"] == planted["campaign_id"] and fields["action"] in ("sent", "converted"):
                (sent if fields["action"] == "sent" else converted)[fields["variant"]] += 1
    assert sent["control"] > 50 and sent["B"] > 50
    assert converted["B"] / sent["B"] > converted["control"] / sent["control"]
    assert sent["B"] == planted["arms"]["B"]["recipients"]


def test_planted_purchase_propensities_show_in_orders(medium):
    base, manifest = medium
    people = {p["person_id"]: p for p in csv.DictReader(open(base / "truth" / "people.csv", encoding="utf-8"))}
    with gzip.open(base / "truth" / "records.csv.gz", "rt", encoding="utf-8") as f:
        owner = {row["record_id"]: row["person_id"] for row in csv.DictReader(f) if row["source"] == "orders"}
    bags = {True: [0, 0], False: [0, 0]}   # family?: [orders, orders with an extra bag]
    seats = [0, 0]                           # [seats bought, seats matching the person's preference]
    bad = {(r["file"], int(r["line"])) for r in _bad_rows(base)}
    for source, path, number, raw, header in _records(base, manifest):
        if source != "orders" or (path, number) in bad:
            continue
        order, _ = _parse(source, raw, header)
        if order["order_id"] in owner and order["status"] == "completed":
            family = people[owner[order["order_id"]]]["has_children"] == "1"
            bags[family][0] += 1
            bags[family][1] += any(i["category"] == "extra_bag" for i in order["items"])
            for item in order["items"]:
                if item["category"] == "flight":   # the passenger list counts the minors who fly along
                    passengers, person = item["attributes"]["passengers"], people[owner[order["order_id"]]]
                    assert passengers["adult"] + passengers["child"] == item["quantity"]
                    assert passengers["child"] == int(person["children_along"])
                if item["category"] == "seat":
                    seats[0] += 1
                    seats[1] += item["attributes"]["seat"] == people[owner[order["order_id"]]]["seat_preference"]
    assert bags[True][1] / bags[True][0] > 2 * bags[False][1] / bags[False][0]
    assert 0.75 < seats[1] / seats[0] < 0.95
    # Families fly with their minors; business travellers fly alone, children or not.
    parents = [p for p in people.values() if p["has_children"] == "1" and p["segment"] == "leisure"]
    assert sum(int(p["children_along"]) > 0 for p in parents) > len(parents) / 2
    assert all(p["children_along"] == "0" for p in people.values() if p["segment"] == "business")


def test_consent_truth_is_what_latest_change_wins_gives(small):
    base, manifest = small
    bad = {(r["file"], int(r["line"])) for r in _bad_rows(base)}
    latest = {}
    for source, path, number, raw, header in _records(base, manifest):
        if source == "consents" and (path, number) not in bad:
            c, _ = _parse(source, raw, header)
            key = (c["customer_id"], f"{c['purpose']}:{c['channel']}")
            when = dt.datetime.fromisoformat(c["occurred_at"])
            when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
            if key not in latest or when > latest[key][0]:
                latest[key] = (when, c["status"])
    granted = defaultdict(set)
    for (customer, slot), (_, status) in latest.items():
        if status == "granted":
            granted[customer].add(slot)
    people = list(csv.DictReader(open(base / "truth" / "people.csv", encoding="utf-8")))
    assert any(p["consents_granted"] for p in people)
    for p in people:
        expected = set(p["consents_granted"].split(";")) - {""}
        assert granted.get(p["crm_id"], set()) == expected, p["person_id"]


def test_generator_writes_the_fields_of_the_landing_contracts():
    from jobs.common.contracts import source_contract
    from jobs.generate.contract import CSV_COLUMNS

    for source in SOURCES:
        contract = source_contract(source)
        assert contract.format == FORMAT[source]
        if source in CSV_COLUMNS:
            assert list(CSV_COLUMNS[source]) == contract.field_names, source
        assert [f.name for f in contract.fields if f.required] == list(REQUIRED[source]), source


def test_files_rotate_at_the_line_cap(tmp_path):
    manifest = generate(tmp_path / "landing", tmp_path / "truth", scale=2000, days=2, max_lines_per_file=100,
                        progress=None)
    assert max(e["records"] for e in manifest["files"]) <= 100
    assert sum(e["source"] == "events" for e in manifest["files"]) > 10
