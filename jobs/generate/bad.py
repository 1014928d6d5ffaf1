"""Bad-record injection: which records go bad, and how, with the reason bronze must give.

Each bad record carries exactly one defect, so its expected reason is unambiguous whatever order
the bronze checks run in. Field-level defects (missing field, bad timestamp/type/value) change
the record before it is serialised; line-level ones (malformed, invalid encoding) change the
serialised bytes. Bronze semantics followed here (jobs/bronze/parse.py): a JSON field is
"missing" when absent, null or blank; timestamps are checked with Spark's try_cast; `properties`,
`traits` and `context` must be JSON objects; `items` must be an array of objects whose
`quantity`/`unit_price` are numeric.
"""

from __future__ import annotations

import random

from jobs.generate.contract import (
    BAD_ENCODING,
    BAD_TIMESTAMP,
    BAD_TYPE,
    BAD_VALUE,
    MALFORMED,
    MISSING,
)

# Kinds each source can carry; the first one is drawn first, so even a source with a single bad
# record at tiny scale contributes the kind the others cannot (invalid_type is rare elsewhere).
KINDS = {
    "events": (BAD_VALUE, MALFORMED, MISSING, BAD_TIMESTAMP, BAD_ENCODING, BAD_TYPE),
    "orders": (BAD_TYPE, MISSING, BAD_VALUE, BAD_TIMESTAMP, MALFORMED, BAD_ENCODING),
    "call_center": (BAD_VALUE, BAD_TYPE, MISSING, BAD_TIMESTAMP, MALFORMED, BAD_ENCODING),
    "crm": (BAD_TYPE, MISSING, BAD_TIMESTAMP, MALFORMED, BAD_ENCODING),
    "campaigns": (BAD_VALUE, MISSING, BAD_TIMESTAMP, MALFORMED, BAD_ENCODING),
    "consents": (BAD_VALUE, MISSING, BAD_TIMESTAMP, MALFORMED, BAD_ENCODING),
}
LINE_KINDS = (MALFORMED, BAD_ENCODING)

# Not ISO-8601 for Spark or Python. ("yesterday"/"now" are avoided: Spark casts some such
# special words in literals, which would make the expected reason depend on the engine.)
BAD_TIMESTAMPS = ("21/11/2026 10:00", "2026-13-45T25:61:00Z", "Nov 21 2026 10:00AM", "n/a",
                  "2026/11/21 10h30", "32.11.2026")
JSON_GARBAGE = ('<html><body><h1>502 Bad Gateway</h1></body></html>', 'Internal Server Error',
                '--boundary_7f3a Content-Type: application/json')


class BadInjector:
    """Decides, record by record, which ones of a source go bad and with which kind.

    An accumulator with jittered steps instead of a coin flip per record: the share is the
    configured rate even for a source with a few dozen records, yet bad lines are not evenly
    spaced. Kinds rotate so every kind a source can carry shows up in proportion.
    """

    def __init__(self, source: str, rate: float, rng: random.Random):
        first, *rest = KINDS[source]
        rng.shuffle(rest)
        self.kinds = (first, *rest)
        self.rate = rate
        self.rng = rng
        self.acc = rng.random()
        self.turn = 0

    def draw(self) -> str | None:
        if not self.rate:
            return None
        self.acc += self.rate * (0.5 + self.rng.random())
        if self.acc < 1.0:
            return None
        self.acc -= 1.0
        kind = self.kinds[self.turn % len(self.kinds)]
        self.turn += 1
        return kind


def spoil_fields(source: str, rec: dict, kind: str, rng: random.Random) -> None:
    """Give `rec` (a contract record about to be written) the field-level defect `kind`."""
    if kind == MISSING:
        _drop_required(source, rec, rng)
    elif kind == BAD_TIMESTAMP:
        field = rng.choice(_TIMESTAMP_FIELDS[source])
        if field not in rec or rec[field] in (None, ""):
            field = _TIMESTAMP_FIELDS[source][0]
        rec[field] = rng.choice(BAD_TIMESTAMPS)
    elif kind == BAD_TYPE:
        _wrong_type(source, rec, rng)
    elif kind == BAD_VALUE:
        field, values = rng.choice(_BAD_VALUES[source])
        rec[field] = rng.choice(values)


_TIMESTAMP_FIELDS = {
    "events": ("timestamp", "timestamp", "sentAt", "receivedAt"),
    "orders": ("ordered_at",),
    "call_center": ("started_at", "ended_at"),
    "crm": ("updated_at", "created_at"),
    "campaigns": ("occurred_at",),
    "consents": ("occurred_at",),
}
_REQUIRED = {
    "events": ("messageId", "type", "timestamp"),
    "orders": ("order_id", "ordered_at", "status"),
    "call_center": ("call_id", "started_at"),
    "crm": ("customer_id", "updated_at"),
    "campaigns": ("event_id", "campaign_id", "variant", "channel", "customer_id", "occurred_at", "action"),
    "consents": ("customer_id", "purpose", "channel", "status", "occurred_at"),
}
_BAD_VALUES = {
    "events": (("type", ("click", "pageview", "event", "Track")),),
    "orders": (("status", ("lost", "pending", "COMPLETED")), ("channel", ("fax", "kiosk"))),
    "call_center": (("csat", ("9", "0", "10", "-1")),),
    "campaigns": (("action", ("liked", "forwarded", "read")), ("channel", ("fax", "whatsapp"))),
    "consents": (("status", ("maybe", "pending", "yes")), ("purpose", ("sales", "profiling")),
                 ("channel", ("mail", "letter"))),
}


def _drop_required(source: str, rec: dict, rng: random.Random) -> None:
    csv_source = source in ("crm", "call_center", "campaigns")
    if source in ("events", "orders") and rng.random() < 0.3:
        # Neither link: both ids of an event, or customer_id and email of an order.
        pair = ("userId", "anonymousId") if source == "events" else ("customer_id", "email")
        for name in pair:
            rec.pop(name, None)
        return
    field = rng.choice(_REQUIRED[source])
    if csv_source:
        rec[field] = ""
    elif rng.random() < 0.7:
        rec.pop(field, None)
    else:
        rec[field] = None if rng.random() < 0.5 else ""


def _wrong_type(source: str, rec: dict, rng: random.Random) -> None:
    if source == "events":
        # A JSON field holding something other than an object.
        field = next((f for f in ("properties", "traits", "context") if f in rec), "properties")
        rec[field] = rng.choice(("n/a", "[object Object]", "[]"))
    elif source == "orders":
        r = rng.random()
        if r < 0.35:
            rec["total_amount"] = rng.choice(("abc", "12,50", "EUR 120"))
        elif r < 0.6 or not rec.get("items"):
            rec["items"] = rng.choice(("none", "flight+bag", 3))
        else:
            items = rec["items"] = list(rec["items"])  # copies: the clean order may be re-sent later
            item = items[0] = dict(items[0])
            if rng.random() < 0.5:
                item["quantity"] = rng.choice(("two", "1x"))
            else:
                item["unit_price"] = rng.choice(("12,50", "free", "N/A"))
    elif source == "call_center":
        rec["csat"] = rng.choice(("x", "good", "4/5", "three"))
    elif source == "crm":
        rec["birth_date"] = rng.choice(("not-a-date", "unknown", "31/02/1985", "1985-02-31"))
    else:  # pragma: no cover - KINDS keeps invalid_type away from the other sources
        raise ValueError(f"no invalid_type defect for {source}")


def malformed_json(line: bytes, rng: random.Random) -> bytes:
    """A line that is not a JSON object: cut in half (a partial write) or garbage."""
    if rng.random() < 0.75:
        cut = int(len(line) * (0.3 + 0.5 * rng.random()))
        # Cut on an ASCII byte so the line stays valid UTF-8 (one defect only).
        while cut > 1 and line[cut - 1] >= 0x80:
            cut -= 1
        return line[:cut]
    return rng.choice(JSON_GARBAGE).encode()


def malformed_csv(values: list[str], rng: random.Random) -> list[str]:
    """Too many fields (an unquoted comma inside a value) or too few (a truncated export row)."""
    values = list(values)
    if rng.random() < 0.5 and len(values) > 2:
        del values[-rng.randint(1, 2):]
    else:
        i = rng.randrange(len(values))
        values[i:i + 1] = [values[i] or "x", rng.choice(("France", "see notes", "ok"))]
    return values


def bad_encoding(line: bytes, rng: random.Random) -> bytes:
    """Invalid UTF-8 inside a value: Latin-1 text from a legacy export, or stray bytes."""
    text = line.decode("utf-8")
    if rng.random() < 0.5 and any(0x80 <= ord(c) < 0x100 for c in text):
        try:
            latin = text.encode("latin-1")
        except UnicodeEncodeError:
            latin = None
        if latin is not None and not _valid_utf8(latin):
            return latin
    # Insert at the start of some string value (JSON) or some field (CSV), keeping the syntax.
    marker = b'":"' if line.startswith(b"{") else b","
    spots = [i + len(marker) for i in range(len(line)) if line.startswith(marker, i)] or [0]
    at = rng.choice(spots)
    if line[at:at + 1] == b'"':
        at += 1
    return line[:at] + rng.choice((b"\xff\xfe", b"\xc3\x28", b"\xe9t\xe9", b"\x80")) + line[at:]


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
