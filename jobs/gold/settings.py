"""The `gold:` section of config/pipeline.yaml, validated; every key optional."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jobs.common.config import PROJECT_ROOT, Config
from jobs.common.errors import ConfigError

DEFAULT_SEGMENTS_FILE = "segments/segments.yaml"
DEFAULT_FX_TO_EUR = {"EUR": 1.0}


@dataclass(frozen=True)
class GoldSettings:
    segments_file: Path
    session_gap_minutes: int = 30
    fx_to_eur: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FX_TO_EUR))


def gold_settings(config: Config, root: Path | None = None) -> GoldSettings:
    raw = dict(config.gold or {})
    unknown = set(raw) - {"segments_file", "session_gap_minutes", "fx_to_eur"}
    if unknown:
        raise ConfigError(f"gold.{sorted(unknown)[0]}", "unknown key",
                          allowed="segments_file, session_gap_minutes, fx_to_eur")
    text = raw.get("segments_file", DEFAULT_SEGMENTS_FILE)
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("gold.segments_file", f"got {text!r}", allowed="a path to a YAML file")
    path = Path(text)
    if not path.is_absolute():
        path = (root or PROJECT_ROOT) / path
    gap = raw.get("session_gap_minutes", 30)
    if isinstance(gap, bool) or not isinstance(gap, int) or gap < 1:
        raise ConfigError("gold.session_gap_minutes", f"got {gap!r}", allowed="an integer >= 1")
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
    return GoldSettings(segments_file=path, session_gap_minutes=gap, fx_to_eur=rates)
