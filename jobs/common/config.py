"""Load config/pipeline.yaml once, apply environment overrides, validate, return a typed object.

Overrides: C360__SECTION__KEY=value (double underscores between levels; the value is read as
YAML, so `8`, `true` and `[a, b]` keep their types). C360_CONFIG names another file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jobs.common.errors import ConfigError
from jobs.common.sources import PROJECT_ROOT, source_names

DEFAULT_CONFIG = PROJECT_ROOT / "config" / "pipeline.yaml"
ENV_PREFIX = "C360__"
ENVIRONMENTS = ("dev", "test", "prod")


@dataclass(frozen=True)
class Paths:
    landing: Path
    lake: Path
    truth: Path
    checkpoints: Path
    restricted: Path   # clear personal data leaving the lake (privacy exports): never for analysts

    def table(self, name: str) -> Path:
        """`bronze.events` -> <lake>/bronze/events."""
        layer, _, entity = name.partition(".")
        if not entity:
            raise ConfigError("table", f"'{name}' is not a <layer>.<entity> name")
        return self.lake / layer / entity


@dataclass(frozen=True)
class SparkSettings:
    master: str
    app_name: str
    delta_jars: str
    conf: dict[str, str]


@dataclass(frozen=True)
class BronzeSettings:
    max_files_per_batch: int
    lines_per_arrow_batch: int


@dataclass(frozen=True)
class IdentitySettings:
    max_customers: dict[str, int]     # per identifier type: more CRM customers behind it = shared
    match_threshold: float            # Fellegi-Sunter log2 weight a probabilistic link needs
    match_margin: float               # a profile whose two best candidates are closer than this is ambiguous


IDENTIFIER_TYPES = ("anonymous_id", "email", "phone")


@dataclass(frozen=True)
class GeneratorSettings:
    seed: int
    scale: int
    days: int
    end_date: dt.date
    bad_record_rate: float


@dataclass(frozen=True)
class Config:
    env: str
    paths: Paths
    spark: SparkSettings
    bronze: BronzeSettings
    sources: dict[str, dict[str, Any]]
    generator: GeneratorSettings
    identity: IdentitySettings
    airflow: dict[str, Any] = field(default_factory=dict)      # validated in dags/c360_dags/settings.py
    maintenance: dict[str, Any] = field(default_factory=dict)  # validated in jobs/ops/maintenance.py
    gold: dict[str, Any] = field(default_factory=dict)         # validated in jobs/gold/settings.py
    models: dict[str, Any] = field(default_factory=dict)       # validated in jobs/models/settings.py
    source_file: str = field(default="")

    def enabled_sources(self) -> list[str]:
        """Every declared source (jobs.common.sources) but those `sources.<name>.enabled: false`."""
        return [name for name in source_names() if self.sources.get(name, {}).get("enabled", True)]


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                environ: dict[str, str] | None = None) -> Config:
    """Read the YAML file, layer env-var and explicit overrides on top, validate."""
    environ = dict(os.environ if environ is None else environ)
    path = Path(path or environ.get("C360_CONFIG") or DEFAULT_CONFIG)
    if not path.is_file():
        raise ConfigError("C360_CONFIG", f"config file {path} does not exist",
                          allowed="a readable YAML file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("<file>", f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError("<file>", f"{path} must hold a mapping at top level")
    for key, value in _env_overrides(environ).items():
        _set_dotted(raw, key, value)
    for key, value in (overrides or {}).items():
        _set_dotted(raw, key, value)
    root = Path(environ.get("C360_HOME") or PROJECT_ROOT)
    return _validate(raw, root, str(path))


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out = {}
    for name, text in environ.items():
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            key = ".".join(part.lower() for part in name[len(ENV_PREFIX):].split("__"))
            # Spark keys keep their dots and case: C360__SPARK__CONF__spark.sql.shuffle.partitions
            if key.startswith("spark.conf."):
                key = "spark.conf." + name[len(ENV_PREFIX):].split("__", 2)[2]
            try:
                out[key] = yaml.safe_load(text)
            except yaml.YAMLError:
                out[key] = text
    return out


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    head, _, rest = dotted.partition(".")
    if head in ("conf",) or not rest:
        if rest:  # spark.conf.<spark key with dots>
            tree.setdefault(head, {})[rest] = value
        else:
            tree[head] = value
        return
    node = tree.setdefault(head, {})
    if not isinstance(node, dict):
        raise ConfigError(dotted, f"cannot set a sub-key under scalar '{head}'")
    _set_dotted(node, rest, value)


def _section(raw: dict, key: str) -> dict:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise ConfigError(key, "missing or not a mapping", allowed="a YAML mapping")
    return value


def bounded_number(key: str, value: Any, low: float, high: float | None = None, integer: bool = True):
    """`value` when it is an integer (or, integer=False, any number) in [low, high]; else a
    ConfigError naming the dotted `key` and what is allowed. Every section's validator uses it."""
    kind = "an integer" if integer else "a number"
    if (isinstance(value, bool) or not isinstance(value, int if integer else (int, float))
            or value < low or (high is not None and value > high)):
        allowed = f"{kind} in [{low}, {high}]" if high is not None else f"{kind} >= {low}"
        raise ConfigError(key, f"got {value!r}", allowed=allowed)
    return value


def _int(section: dict, prefix: str, key: str, minimum: int) -> int:
    return bounded_number(f"{prefix}.{key}", section.get(key), minimum)


def _str(section: dict, prefix: str, key: str, choices: tuple[str, ...] | None = None) -> str:
    value = section.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{prefix}.{key}", f"got {value!r}", allowed="a non-empty string")
    if choices and value not in choices:
        raise ConfigError(f"{prefix}.{key}", f"got {value!r}", allowed=" | ".join(choices))
    return value


def _validate(raw: dict, root: Path, source_file: str) -> Config:
    env = _str(raw, "", "env", ENVIRONMENTS).strip()

    paths_raw = _section(raw, "paths")
    resolved = {}
    for key in ("landing", "lake", "truth", "checkpoints", "restricted"):
        text = _str(paths_raw, "paths", key)
        p = Path(text)
        resolved[key] = p if p.is_absolute() or re.match(r"^\w+://", text) else root / p
    paths = Paths(**resolved)
    if paths.truth.resolve().is_relative_to(paths.landing.resolve()):
        raise ConfigError("paths.truth", "must not lie inside paths.landing (the pipeline "
                          "would ingest the answers)", allowed="a folder beside the landing zone")

    spark_raw = _section(raw, "spark")
    conf = spark_raw.get("conf") or {}
    if not isinstance(conf, dict):
        raise ConfigError("spark.conf", "not a mapping", allowed="spark setting: value pairs")
    spark = SparkSettings(
        master=_str(spark_raw, "spark", "master"),
        app_name=_str(spark_raw, "spark", "app_name"),
        delta_jars=_str(spark_raw, "spark", "delta_jars", ("auto", "none")),
        conf={str(k): _spark_value(v) for k, v in conf.items()},
    )

    bronze_raw = _section(raw, "bronze")
    bronze = BronzeSettings(
        max_files_per_batch=_int(bronze_raw, "bronze", "max_files_per_batch", 1),
        lines_per_arrow_batch=_int(bronze_raw, "bronze", "lines_per_arrow_batch", 100),
    )

    sources, declared = _section(raw, "sources"), source_names()
    for name, opts in sources.items():
        if name not in declared:
            raise ConfigError(f"sources.{name}", "unknown source (no contract in schemas/landing "
                                                 "or a C360_SOURCE_PATH folder)",
                              allowed=", ".join(declared))
        if opts is not None and not isinstance(opts, dict):
            raise ConfigError(f"sources.{name}", f"got {opts!r}", allowed="a mapping such as {enabled: true}")
        enabled = (opts or {}).get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"sources.{name}.enabled", f"got {enabled!r}", allowed="true | false")
    sources = {name: dict(opts or {}) for name, opts in sources.items()}

    gen_raw = _section(raw, "generator")
    rate = gen_raw.get("bad_record_rate")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 0.5:
        raise ConfigError("generator.bad_record_rate", f"got {rate!r}", allowed="a number in [0, 0.5]")
    end_date = gen_raw.get("end_date")
    try:
        end_date = end_date if isinstance(end_date, dt.date) else dt.date.fromisoformat(str(end_date))
    except ValueError:
        raise ConfigError("generator.end_date", f"got {end_date!r}", allowed="a date YYYY-MM-DD") from None
    generator = GeneratorSettings(
        seed=_int(gen_raw, "generator", "seed", 0),
        scale=_int(gen_raw, "generator", "scale", 100),
        days=_int(gen_raw, "generator", "days", 1),
        end_date=end_date,
        bad_record_rate=float(rate),
    )
    identity = _identity(_section(raw, "identity"))
    optional = {}
    for key in ("airflow", "maintenance", "gold", "models"):
        value = raw.get(key) or {}
        if not isinstance(value, dict):
            raise ConfigError(key, "not a mapping", allowed="a YAML mapping")
        optional[key] = dict(value)
    return Config(env=env, paths=paths, spark=spark, bronze=bronze, sources=sources,
                  generator=generator, identity=identity, source_file=source_file, **optional)


def _identity(section: dict) -> IdentitySettings:
    limits = section.get("max_customers")
    if not isinstance(limits, dict) or set(limits) != set(IDENTIFIER_TYPES):
        raise ConfigError("identity.max_customers", f"got {limits!r}",
                          allowed=f"a mapping with exactly {', '.join(IDENTIFIER_TYPES)}")
    for key in IDENTIFIER_TYPES:
        _int(limits, "identity.max_customers", key, 1)
    numbers = {}
    for key in ("match_threshold", "match_margin"):
        value = section.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"identity.{key}", f"got {value!r}", allowed="a number >= 0")
        numbers[key] = float(value)
    return IdentitySettings(max_customers=dict(limits), **numbers)


def _spark_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
