"""The `gold:` section of config/pipeline.yaml, validated; every key optional."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jobs.common.config import PROJECT_ROOT, Config, bounded_number
from jobs.common.errors import ConfigError

DEFAULT_SEGMENTS_FILE = "segments/segments.yaml"
DEFAULT_FX_TO_EUR = {"EUR": 1.0}


@dataclass(frozen=True)
class AlertSettings:
    """gold.service_alerts: which departures and which problems make an alert."""
    horizon_days: int = 7
    lookback_days: int = 30
    complaint_reasons: tuple[str, ...] = ("lost_bag", "damaged_bag", "refund_request", "cancellation",
                                          "points_missing")
    low_csat: int = 2


def alert_settings(raw) -> AlertSettings:
    """gold.service_alerts of config/pipeline.yaml, validated; every key optional."""
    raw = {} if raw is None else raw
    allowed = "horizon_days, lookback_days, complaint_reasons, low_csat"
    if not isinstance(raw, dict):
        raise ConfigError("gold.service_alerts", f"got {raw!r}", allowed=f"a mapping of {allowed}")
    unknown = set(raw) - set(AlertSettings.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"gold.service_alerts.{sorted(unknown)[0]}", "unknown key", allowed=allowed)
    for key, low, high in (("horizon_days", 0, 366), ("lookback_days", 1, 3660), ("low_csat", 1, 5)):
        bounded_number(f"gold.service_alerts.{key}", raw.get(key, getattr(AlertSettings, key)), low, high)
    reasons = raw.get("complaint_reasons", list(AlertSettings.complaint_reasons))
    if not isinstance(reasons, list) or not all(isinstance(r, str) and r for r in reasons):
        raise ConfigError("gold.service_alerts.complaint_reasons", f"got {reasons!r}",
                          allowed="a list of call reason codes, e.g. [lost_bag, refund_request]")
    return AlertSettings(**{**raw, "complaint_reasons": tuple(reasons)})


@dataclass(frozen=True)
class GoldSettings:
    segments_file: Path
    session_gap_minutes: int = 30
    fx_to_eur: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FX_TO_EUR))
    service_alerts: AlertSettings = AlertSettings()


def gold_settings(config: Config, root: Path | None = None) -> GoldSettings:
    raw = dict(config.gold or {})
    unknown = set(raw) - {"segments_file", "session_gap_minutes", "fx_to_eur", "service_alerts"}
    if unknown:
        raise ConfigError(f"gold.{sorted(unknown)[0]}", "unknown key",
                          allowed="segments_file, session_gap_minutes, fx_to_eur, service_alerts")
    text = raw.get("segments_file", DEFAULT_SEGMENTS_FILE)
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("gold.segments_file", f"got {text!r}", allowed="a path to a YAML file")
    path = Path(text)
    if not path.is_absolute():
        path = (root or PROJECT_ROOT) / path
    gap = bounded_number("gold.session_gap_minutes", raw.get("session_gap_minutes", 30), 1)
    fx = raw.get("fx_to_eur", DEFAULT_FX_TO_EUR)
    if not isinstance(fx, dict) or not fx:
        raise ConfigError("gold.fx_to_eur", f"got {fx!r}", allowed="a mapping currency: rate, e.g. {EUR: 1.0}")
    rates = {}
    for currency, rate in fx.items():
        if (not isinstance(currency, str) or len(currency) != 3 or isinstance(rate, bool)
                or not isinstance(rate, (int, float)) or rate <= 0):
            raise ConfigError(f"gold.fx_to_eur.{currency}", f"got {rate!r}",
                              allowed="an ISO-4217 code mapped to a rate > 0")
        rates[currency.upper()] = float(rate)
    return GoldSettings(segments_file=path, session_gap_minutes=gap, fx_to_eur=rates,
                        service_alerts=alert_settings(raw.get("service_alerts")))
