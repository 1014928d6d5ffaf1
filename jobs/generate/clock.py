"""Time as float seconds since 00:00 UTC of the first generated day (day 0), and its ISO-8601 text.

Formatting uses lookup tables (every HH:MM:SS of a day, every .mmm, every date seen) instead of
datetime objects: it runs three times per event on the hot path. Styles mimic the systems that
write each source: `Z` (UTC designator), an offset such as `+01:00` (device local time), or
`naive` (no offset, which the contract reads as UTC).
"""

from __future__ import annotations

import datetime as dt

DAY = 86400.0

Z, OFFSET, NAIVE = "Z", "offset", "naive"

_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
_MS = [f".{i:03d}" for i in range(1000)]


class Clock:
    def __init__(self, start: dt.date, days: int):
        self.start = start
        self.days = days
        self._ordinal = start.toordinal()
        self._day_text: dict[int, str] = {}
        self._prefix: dict[int, str] = {}

    def date(self, day: int) -> dt.date:
        return dt.date.fromordinal(self._ordinal + day)

    def day_text(self, day: int) -> str:
        text = self._day_text.get(day)
        if text is None:
            text = self._day_text[day] = self.date(day).isoformat()
        return text

    def suffix(self, zone: str, offset_min: int = 0) -> tuple[int, str]:
        """(seconds to add to UTC, text after the time) for a timestamp style."""
        if zone == Z:
            return 0, "Z"
        if zone == NAIVE:
            return 0, ""
        sign = "+" if offset_min >= 0 else "-"
        hours, mins = divmod(abs(offset_min), 60)
        return offset_min * 60, f"{sign}{hours:02d}:{mins:02d}"

    def stamp(self, t: float, shift: int, suffix: str, ms: bool = True) -> str:
        """Fast path: instant `t` as wall clock UTC+shift seconds, then `suffix` (see `suffix`)."""
        local = t + shift
        whole = int(local)
        if whole > local:          # int() truncates towards zero; we want the floor
            whole -= 1
        day, second = divmod(whole, 86400)
        prefix = self._prefix.get(day)
        if prefix is None:
            prefix = self._prefix[day] = self.day_text(day) + "T"
        if ms:
            return prefix + _HMS[second] + _MS[int((local - whole) * 1000)] + suffix
        return prefix + _HMS[second] + suffix

    def iso(self, t: float, zone: str = Z, offset_min: int = 0, ms: bool = False) -> str:
        shift, suffix = self.suffix(zone, offset_min)
        return self.stamp(t, shift, suffix, ms)
