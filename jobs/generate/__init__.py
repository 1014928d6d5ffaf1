"""Synthetic landing data for the six sources, with its ground truth.

    from jobs.generate import generate
    manifest = generate(Path("data/landing"), Path("data/truth"), scale=20000, seed=42)

Modules, one purpose each: people (population and planted behaviour), variants (how a person
gets written differently), events/orders/crm/calls/campaigns/consents (one per source), bad
(bad-record injection), writer (landed files), truth (ground truth), run (the day loop).
Standard library only.
"""

from jobs.generate.run import generate

__all__ = ["generate"]
