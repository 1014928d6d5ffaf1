"""Landed files: naming, rotation, gzip or plain, CSV quirks, late and special files.

Layout: <landing>/<source>/<arrival YYYY-MM-DD>/part-NNNN.<ext>. A `DayRouter` takes the records a
source produces for one day and spreads them over that day's files (a few shards, rotated at
a line cap) and, some days, a late file that lands 2-10 days later. Each file (`Sink`) counts
its lines and remembers its bad ones; when it closes, its manifest entry and its rows of
bad_records.csv are written, so nothing about a file is kept after it is closed.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from jobs.generate.bad import (
    LINE_KINDS,
    BadInjector,
    bad_encoding,
    malformed_csv,
    malformed_json,
    spoil_fields,
)
from jobs.generate.contract import (
    BAD_ENCODING,
    CSV_COLUMNS,
    FORMAT,
    GENERATED_SOURCES,
    MALFORMED,
    TRUNCATED,
)

# Level 3: about twice as fast as level 6 on this JSON/CSV text for ~15% more bytes.
GZIP_LEVEL = 3
FLUSH_EVERY = 2000
# Compact UTF-8 JSON; records never hold cycles, so the (costly) circular-reference check is off.
ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
BOM = b"\xef\xbb\xbf"
CSV_QUIRKS = ("bom", "crlf", "reordered_columns", "extra_column", "quote_all")
QUIRK_CHANCE = 0.06
EXTRA_COLUMN = "export_batch"
GZIP_SHARE = {"events": 0.6, "orders": 0.4, "consents": 0.35, "crm": 0.3, "call_center": 0.3, "campaigns": 0.4}
LATE_CHANCE = {"events": 0.2, "orders": 0.12, "consents": 0.1, "crm": 0.1, "call_center": 0.1, "campaigns": 0.12}
_NEEDS_QUOTES = re.compile(r'[",\r\n]')


@dataclass(frozen=True)
class Specials:
    """Days on which the one-off files are made (see Landing)."""
    truncate_day: int     # first on-time events file of that day is gzip and gets cut short
    resend_day: int       # first on-time orders file of that day is landed again, next day, renamed
    empty_day: int        # a 0-byte call_center .csv and an empty consents .jsonl.gz land that day


class Sink:
    """One landed file being written."""

    def __init__(self, landing: Landing, source: str, data_day: int, arrival_day: int, rel: str, gz: bool,
                 quirks: tuple[str, ...], late: bool, truncate: bool, resend_to: int | None):
        self.landing, self.source, self.arrival_day, self.rel = landing, source, arrival_day, rel
        self.data_day = data_day   # a file only ever holds records of one day (its router's)
        self.fmt = FORMAT[source]
        self.gz, self.quirks, self.late = gz, quirks, late
        self.truncate, self.resend_to = truncate, resend_to
        self.path = landing.root / rel
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "wb")
        self._out = (gzip.GzipFile(fileobj=self._file, mode="wb", mtime=0, filename="", compresslevel=GZIP_LEVEL)
                     if gz else self._file)
        self._buf: list[bytes] = []
        self.eol = b"\r\n" if "crlf" in quirks else b"\n"
        self._record = landing.truth.record
        self.records = 0
        self.retried = 0
        self.bad: list[tuple[int, str]] = []
        # Truth rows of a file that will be cut are held until the cut is known.
        self.held: list[tuple[int, str, str]] | None = [] if truncate else None
        self.header_lines = 0
        if self.fmt == "csv":
            rng = landing.rng
            columns = list(CSV_COLUMNS[source])
            if "reordered_columns" in quirks:
                rng.shuffle(columns)
            if "extra_column" in quirks:
                columns.insert(rng.randrange(len(columns) + 1), EXTRA_COLUMN)
            self.columns = columns
            # The unknown column holds an export batch tag, as a real extract tool would add.
            self.extra_value = f"{landing.clock.day_text(arrival_day).replace('-', '')}-{Path(rel).name.split('.')[0]}"
            header = self._csv_line(columns).encode()
            self._buf.append(BOM + header if "bom" in quirks else header)
            self.header_lines = 1

    def _csv_line(self, values) -> str:
        if "quote_all" in self.quirks:
            return ",".join('"' + v.replace('"', '""') + '"' for v in values)
        return ",".join('"' + v.replace('"', '""') + '"' if _NEEDS_QUOTES.search(v) else v for v in values)

    def write(self, rec: dict, kind: str | None, record_id: str | None, person_id: str | None,
              rng, tail: str | None = None) -> bytes:
        if self.fmt == "jsonl":
            text = ENCODE(rec)
            if tail is not None:
                text = text[:-1] + tail + "}"
            line = text.encode()
            if kind == MALFORMED:
                line = malformed_json(line, rng)
        else:
            extra = self.extra_value
            values = [rec.get(c, extra) for c in self.columns]
            if kind == MALFORMED:
                values = malformed_csv(values, rng)
            line = self._csv_line(values).encode()
        if kind == BAD_ENCODING:
            line = bad_encoding(line, rng)
        buf = self._buf
        buf.append(line)
        self.records += 1
        if kind is not None:
            self.bad.append((self.records + self.header_lines, kind))
        elif record_id is not None:
            if self.held is None:
                self._record(self.source, record_id, person_id)
            else:
                self.held.append((self.records + self.header_lines, record_id, person_id))
        if len(buf) >= FLUSH_EVERY:
            self._flush()
        return line

    def write_again(self, line: bytes) -> None:
        """A retried message: the very same line once more (same messageId)."""
        self._append(line)
        self.retried += 1

    def _append(self, line: bytes) -> None:
        self._buf.append(line)
        self.records += 1
        if len(self._buf) >= FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        if self._buf:
            self._out.write(self.eol.join(self._buf) + self.eol)
            self._buf.clear()

    def close(self) -> None:
        self._flush()
        if self.gz:
            self._out.close()
        self._file.close()
        self.landing.closed(self)


class DayRouter:
    """Spreads one source's records of one day over that day's files (and maybe a late file)."""

    def __init__(self, landing: Landing, source: str, day: int, late: tuple[int, float] | None):
        self.landing, self.source, self.day = landing, source, day
        self.injector = landing.injectors[source]
        self.rng = landing.spoil_rng
        self.late = late
        self.max_lines = landing.max_lines
        self._sinks: dict[object, Sink] = {}

    def write(self, rec: dict, record_id: str | None = None, person_id: str | None = None,
              shard: int = 0, tail: str | None = None) -> bytes | None:
        """Write one record; returns its line if it went out clean (callers may retry it).

        `tail` (JSON Lines only): members already encoded, such as `,"context":{...}`, appended to
        the object. A session encodes its context once instead of once per message.
        """
        kind = self.injector.draw()
        if kind is not None and kind not in LINE_KINDS:
            spoil_fields(self.source, rec, kind, self.rng)
        if self.late is not None and self.landing.rng.random() < self.late[1]:
            shard = "late"
        sink = self._sinks.get(shard)
        if sink is None or sink.records >= self.max_lines:
            sink = self._sink(shard)
        line = sink.write(rec, kind, record_id, person_id, self.rng, tail)
        return None if kind is not None or sink.truncate else line

    def write_again(self, line: bytes, shard: int = 0) -> None:
        self._sink(shard).write_again(line)

    def _sink(self, shard) -> Sink:
        sink = self._sinks.get(shard)
        if sink is None or sink.records >= self.max_lines:
            if sink is not None:
                sink.close()
            late = shard == "late"
            arrival = self.late[0] if late else self.day
            sink = self._sinks[shard] = self.landing.open_sink(self.source, self.day, arrival, late)
        return sink

    def close(self) -> None:
        for sink in self._sinks.values():
            sink.close()
        self._sinks.clear()


class Landing:
    """Owns the landing folder: part numbers, file options, special files and the manifest list."""

    def __init__(self, root: Path, truth, clock, seeds, bad_record_rate: float, max_lines: int,
                 specials: Specials):
        self.root, self.truth, self.clock = root, truth, clock
        self.max_lines = max_lines
        self.specials = specials
        self.rng = seeds.rng("landing")         # file options and routing
        self.spoil_rng = seeds.rng("spoil")     # how a bad record is spoilt
        self.injectors = {s: BadInjector(s, bad_record_rate, seeds.rng(f"bad:{s}")) for s in GENERATED_SOURCES}
        self.files: list[dict] = []
        self._parts: dict[tuple[str, int], int] = {}
        self._forced_quirks = list(CSV_QUIRKS)  # each quirk at least once, then by chance
        self._had_late: set[str] = set()
        self._truncated = self._resent = False

    def router(self, source: str, day: int, late_ok: bool = True) -> DayRouter:
        late = None
        last = self.clock.days - 1
        if late_ok and day + 2 <= last:
            chance = 1.0 if source not in self._had_late else LATE_CHANCE[source]
            if self.rng.random() < chance:
                self._had_late.add(source)
                lag = self.rng.randint(2, min(10, last - day))
                late = (day + lag, 0.1 + 0.2 * self.rng.random())
        return DayRouter(self, source, day, late)

    def _rel(self, source: str, day: int, gz: bool) -> str:
        key = (source, day)
        part = self._parts[key] = self._parts.get(key, 0) + 1
        ext = "." + FORMAT[source] + (".gz" if gz else "")
        return f"{source}/{self.clock.day_text(day)}/part-{part:04d}{ext}"

    def open_sink(self, source: str, data_day: int, arrival_day: int, late: bool) -> Sink:
        sp = self.specials
        truncate = (not self._truncated and not late and source == "events" and arrival_day == sp.truncate_day)
        resend = (not self._resent and not late and source == "orders" and arrival_day == sp.resend_day)
        self._truncated |= truncate
        self._resent |= resend
        gz = truncate or self.rng.random() < GZIP_SHARE[source]
        quirks: tuple[str, ...] = ()
        if FORMAT[source] == "csv":
            if self._forced_quirks:
                quirks = (self._forced_quirks.pop(0),)
            else:
                quirks = tuple(q for q in CSV_QUIRKS if self.rng.random() < QUIRK_CHANCE)
        resend_to = min(arrival_day + 1, self.clock.days - 1) if resend else None
        return Sink(self, source, data_day, arrival_day, self._rel(source, arrival_day, gz), gz, quirks, late,
                    truncate, resend_to)

    def empty_file(self, source: str, day: int, gz: bool) -> None:
        """A file with no records: 0 bytes, or a valid gzip stream of nothing."""
        rel = self._rel(source, day, gz)
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            if gz:
                gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="").close()
        self.files.append(self._entry(source, rel, day, gz, records=0, bad=[], data_day=day, empty=True))

    def closed(self, sink: Sink) -> None:
        """Book a closed file: cut it if it is the truncated one, write its truth, maybe re-send it."""
        bad = sink.bad
        records = sink.records
        extra: dict = {}
        if sink.truncate:
            intact = _cut_gzip(sink.path)
            records = max(0, intact - sink.header_lines)
            bad = [(n, k) for n, k in bad if n <= intact] + [(intact + 1, TRUNCATED)]
            for number, record_id, person_id in sink.held:
                if number <= intact:
                    self.truth.record(sink.source, record_id, person_id)
            extra["truncated"] = {"lines_written": sink.records + sink.header_lines, "intact_lines": intact}
        for number, kind in bad:
            self.truth.bad(sink.source, sink.rel, number, kind)
        entry = self._entry(sink.source, sink.rel, sink.arrival_day, sink.gz, records, bad, late=sink.late,
                            retried=sink.retried, quirks=sink.quirks, data_day=sink.data_day, **extra)
        self.files.append(entry)
        if sink.resend_to is not None:
            rel = self._rel(sink.source, sink.resend_to, sink.gz)
            (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sink.path, self.root / rel)
            for number, kind in bad:
                self.truth.bad(sink.source, rel, number, kind)
            copy = dict(entry, path=rel, arrival_date=self.clock.day_text(sink.resend_to), resent_of=sink.rel,
                        late=False, bytes=(self.root / rel).stat().st_size)
            self.files.append(copy)

    def _entry(self, source, rel, arrival_day, gz, records, bad, late=False, retried=0, quirks=(),
               data_day=None, empty=False, **extra) -> dict:
        entry = {
            "source": source,
            "path": rel,
            "arrival_date": self.clock.day_text(arrival_day),
            "format": FORMAT[source],
            "compression": "gzip" if gz else "none",
            "records": records,
            "bad": dict(sorted(Counter(kind for _, kind in bad).items())),
            "retried_lines": retried,
            "late": late,
            # The day of data the file carries (a late file lands 2-10 days after it; the first-day
            # CRM and consent extracts carry history up to that day).
            "data_date": self.clock.day_text(data_day) if data_day is not None else None,
            "quirks": list(quirks),
            "empty": empty,
            "bytes": (self.root / rel).stat().st_size,
        }
        entry.update(extra)
        return entry


def _cut_gzip(path: Path) -> int:
    """Cut a gzip file to ~60% of its bytes; return how many complete lines remain readable."""
    data = path.read_bytes()
    cut = max(20, int(len(data) * 0.6))
    path.write_bytes(data[:cut])
    inflater = zlib.decompressobj(wbits=31)
    readable = inflater.decompress(data[:cut]) + inflater.flush()
    return readable.count(b"\n")
