"""What every source generator needs, passed explicitly (no module-level state)."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.generate.clock import Clock
from jobs.generate.people import World
from jobs.generate.seeds import Seeds
from jobs.generate.writer import Landing

# Weekday traffic factors (Monday first): travel browsing peaks on Sundays and Mondays.
WEEKDAY_FACTOR = (1.10, 1.0, 0.95, 0.95, 0.95, 0.90, 1.15)


@dataclass
class Context:
    world: World
    clock: Clock
    seeds: Seeds
    landing: Landing
    scale: int
    days: int
    day_weights: list[float]   # share of the window's traffic on each day (sums to 1)

    @staticmethod
    def weights(clock: Clock) -> list[float]:
        """Weekly rhythm plus a gentle rise towards the end of the window (winter-holiday bookings)."""
        raw = [WEEKDAY_FACTOR[clock.date(d).weekday()] * (1.0 + 0.15 * d / max(1, clock.days - 1))
               for d in range(clock.days)]
        total = sum(raw)
        return [w / total for w in raw]


class Quota:
    """Turns fractional daily targets into whole counts whose running total tracks the target."""

    def __init__(self):
        self.carry = 0.0

    def take(self, amount: float) -> int:
        self.carry += amount
        whole = int(self.carry)
        self.carry -= whole
        return whole
