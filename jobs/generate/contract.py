"""Field names and formats of the landing sources, and the bronze reason codes.

Mirrors shared/landing-contract.md (and schemas/landing/*.yaml) as plain tuples, so the generator
stays standard-library only. The allowed values of each enum are written where they are drawn.
"""

from __future__ import annotations

FORMAT = {
    "events": "jsonl",
    "orders": "jsonl",
    "consents": "jsonl",
    "crm": "csv",
    "call_center": "csv",
    "campaigns": "csv",
}
# The sources the generator writes, in the manifest's order (a source added later is not among them).
GENERATED_SOURCES = ("events", "crm", "call_center", "orders", "campaigns", "consents")

CSV_COLUMNS = {
    "crm": ("customer_id", "first_name", "last_name", "email", "phone", "birth_date", "street",
            "city", "postal_code", "country", "loyalty_tier", "created_at", "updated_at"),
    "call_center": ("call_id", "customer_id", "caller_phone", "started_at", "ended_at", "queue",
                    "reason", "outcome", "csat", "agent_id"),
    "campaigns": ("event_id", "campaign_id", "variant", "channel", "customer_id", "occurred_at",
                  "action"),
}

CONSENT_PURPOSES = ("marketing", "personalization", "analytics")
CONSENT_CHANNELS = ("email", "sms", "push", "phone", "any")

# Reason codes the bronze layer gives a quarantined record (jobs/bronze/parse.py + reader.py).
MALFORMED = "malformed_record"
MISSING = "missing_required_field"
BAD_TIMESTAMP = "invalid_timestamp"
BAD_TYPE = "invalid_type"
BAD_VALUE = "invalid_value"
BAD_ENCODING = "invalid_encoding"
TRUNCATED = "truncated_file"
