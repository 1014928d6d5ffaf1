"""Named random streams derived from one seed.

Each concern (people, events, orders, ...) draws from its own stream, so a change in how one
source is generated does not reshuffle every other source: same seed, same population.
"""

from __future__ import annotations

import hashlib
import random


class Seeds:
    def __init__(self, seed: int):
        self.seed = seed

    def rng(self, name: str) -> random.Random:
        # sha256 rather than hash(): str hashes are salted per process, which would break determinism.
        digest = hashlib.sha256(f"{self.seed}:{name}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))


def hex_id(rng: random.Random, digits: int) -> str:
    """Random lowercase hex id (collision odds are negligible at 64+ bits)."""
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def uuid4(rng: random.Random) -> str:
    """A version-4 UUID string drawn from `rng` (uuid.uuid4() would use the OS entropy)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def weighted_choice(pairs, rng: random.Random):
    """Pick a name from (name, weight) pairs; cheaper than rng.choices for one draw."""
    r = rng.random() * sum(w for _, w in pairs)
    for name, w in pairs:
        r -= w
        if r < 0:
            return name
    return pairs[-1][0]
