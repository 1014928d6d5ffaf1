"""One module per source: pure bronze -> silver transformations and the source's SourceSpec."""

from __future__ import annotations

from jobs.silver.spec import SourceSpec


def spec_for(source: str) -> SourceSpec:
    from jobs.silver.sources import call_center, campaigns, consents, crm, events, orders

    specs = {m.SPEC.source: m.SPEC for m in (events, crm, call_center, orders, campaigns, consents)}
    return specs[source]
