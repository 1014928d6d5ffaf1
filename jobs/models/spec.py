"""Models declared in YAML (models/*.yaml), checked on load like segments.yaml.

    name: extra_bag_propensity
    description: Buys an extra bag within 30 days.
    target: {kind: purchase, category: extra_bag}
    horizon_days: 30
    eligibility: completed_orders > 0        # Spark SQL over the features; who is trained and scored
    features: [flight_orders, orders_with_extra_bag, extra_bag_order_share, avg_passengers]
    algorithm: {name: gbt, params: {maxIter: 40, maxDepth: 4}}
    training: {cutoffs: 3, step_days: 7}     # training cutoffs before the holdout cutoff

A new propensity target is a new file. The shape is checked in pure Python (`load_specs`); the
features, the eligibility condition and the algorithm's parameters are checked against the real
feature frame and estimator (`validate_specs`), and an unknown name stops with the file, the key
and the closest names.

    python -m jobs check-models [FOLDER]          # validate every model file, no lake needed
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from jobs.common.errors import PipelineError, first_line
from jobs.models.targets import CATEGORY_KINDS, TARGET_KINDS, Target

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
KEYS = {"name": True, "description": True, "target": True, "horizon_days": True, "features": True,
        "algorithm": True, "eligibility": False, "training": False}
TRAINING_DEFAULTS = {"cutoffs": 3, "step_days": 7}


class ModelSpecError(PipelineError):
    """A model file is malformed or names something that does not exist."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    target: Target
    horizon_days: int
    features: tuple[str, ...]
    algorithm: str
    params: dict
    eligibility: str = "true"
    cutoffs: int = TRAINING_DEFAULTS["cutoffs"]
    step_days: int = TRAINING_DEFAULTS["step_days"]
    source: str = ""           # the file it came from, for messages

    def where(self, key: str) -> str:
        return f"{self.source}: key '{key}'"


def close_matches(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=4, cutoff=0.5)
    return f"; close matches: {', '.join(close)}" if close else f"; known: {', '.join(sorted(known))}"


def _int(raw: dict, key: str, where: str, minimum: int) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ModelSpecError(f"{where}: key '{key}' got {value!r}; expected an integer >= {minimum}")
    return value


def load_spec(path: Path) -> ModelSpec:
    """One model file, its shape checked (pure Python)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ModelSpecError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ModelSpecError(f"{path}: expected a mapping with keys {', '.join(KEYS)}")
    for key in raw:
        if key not in KEYS:
            raise ModelSpecError(f"{path}: unknown key '{key}'{close_matches(key, KEYS)}")
    for key, required in KEYS.items():
        if required and key not in raw:
            raise ModelSpecError(f"{path}: add the key '{key}'")
    name = raw["name"]
    if not isinstance(name, str) or not NAME.match(name):
        raise ModelSpecError(f"{path}: key 'name' {name!r} must be snake_case (a-z, 0-9, _), starting with a letter")
    if not isinstance(raw["description"], str) or not raw["description"].strip():
        raise ModelSpecError(f"{path}: key 'description' must be a non-empty text")

    target_raw = raw["target"]
    if isinstance(target_raw, str):
        target_raw = {"kind": target_raw}
    if not isinstance(target_raw, dict) or "kind" not in target_raw:
        raise ModelSpecError(f"{path}: key 'target' must be a mapping with 'kind' ({', '.join(TARGET_KINDS)})")
    kind = target_raw["kind"]
    if kind not in TARGET_KINDS:
        raise ModelSpecError(f"{path}: key 'target.kind' names unknown target '{kind}'"
                             f"{close_matches(str(kind), TARGET_KINDS)}")
    extra = set(target_raw) - {"kind", "category"}
    if extra:
        raise ModelSpecError(f"{path}: key 'target' has unknown key '{sorted(extra)[0]}'; allowed: kind, category")
    category = target_raw.get("category")
    if (kind in CATEGORY_KINDS) != (category is not None):
        raise ModelSpecError(f"{path}: key 'target.category' is required for a {' or '.join(CATEGORY_KINDS)} "
                             "target and only for those")
    if category is not None and (not isinstance(category, str) or not NAME.match(category)):
        raise ModelSpecError(f"{path}: key 'target.category' {category!r} must be an item category "
                             "as silver.order_items writes it (lower-case, e.g. extra_bag)")

    features = raw["features"]
    if (not isinstance(features, list) or not features
            or not all(isinstance(f, str) and f for f in features)):
        raise ModelSpecError(f"{path}: key 'features' must be a non-empty list of feature names")
    if len(set(features)) != len(features):
        raise ModelSpecError(f"{path}: key 'features' lists a feature twice")

    algorithm = raw["algorithm"]
    if isinstance(algorithm, str):
        algorithm = {"name": algorithm}
    if not isinstance(algorithm, dict) or not isinstance(algorithm.get("name"), str):
        raise ModelSpecError(f"{path}: key 'algorithm' must be a mapping with 'name' and optional 'params'")
    from jobs.models.algorithms import ALGORITHMS

    if algorithm["name"] not in ALGORITHMS:
        raise ModelSpecError(f"{path}: key 'algorithm.name' names unknown algorithm '{algorithm['name']}'"
                             f"{close_matches(algorithm['name'], ALGORITHMS)}")
    params = algorithm.get("params") or {}
    if not isinstance(params, dict):
        raise ModelSpecError(f"{path}: key 'algorithm.params' must be a mapping of parameter: value")

    eligibility = raw.get("eligibility", "true")
    if not isinstance(eligibility, str) or not eligibility.strip():
        raise ModelSpecError(f"{path}: key 'eligibility' must be a Spark SQL condition (or leave it out)")
    training = raw.get("training") or {}
    if not isinstance(training, dict) or set(training) - set(TRAINING_DEFAULTS):
        raise ModelSpecError(f"{path}: key 'training' must be a mapping with {', '.join(TRAINING_DEFAULTS)}")
    training = {**TRAINING_DEFAULTS, **training}
    return ModelSpec(
        name=name, description=" ".join(raw["description"].split()),
        target=Target(kind, category), horizon_days=_int(raw, "horizon_days", str(path), 1),
        features=tuple(features), algorithm=algorithm["name"], params=dict(params),
        eligibility=" ".join(eligibility.split()),
        cutoffs=_int(training, "cutoffs", f"{path}: training", 1),
        step_days=_int(training, "step_days", f"{path}: training", 1), source=str(path))


def load_specs(folder: str | Path) -> tuple[ModelSpec, ...]:
    """Every models/*.yaml, in name order; names unique."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelSpecError(f"model folder {folder} does not exist (config key models.specs_dir)")
    specs = tuple(load_spec(p) for p in sorted(folder.glob("*.yaml")))
    if not specs:
        raise ModelSpecError(f"{folder} holds no model file (*.yaml); see models/README.md")
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.name in seen:
            raise ModelSpecError(f"{spec.source}: model '{spec.name}' is also declared in {seen[spec.name]}")
        seen[spec.name] = spec.source
    return specs


def target_categories(specs) -> tuple[str, ...]:
    return tuple(sorted({s.target.category for s in specs if s.target.category}))


def validate_specs(spark, specs: tuple[ModelSpec, ...], schemas: dict) -> None:
    """Features exist and are usable, eligibility is a boolean over them, algorithm params exist.

    schemas: population (customers, visitors) -> its feature frame's schema; a model is checked
    against the frame of its target's population."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType

    from jobs.gold.segments import quiet_analyzer
    from jobs.models.algorithms import check_params
    from jobs.models.features import usable_features

    for spec in specs:
        feature_schema = schemas[spec.target.population]
        kinds = usable_features(feature_schema)
        empty = spark.createDataFrame([], feature_schema)
        for feature in spec.features:
            if feature not in kinds:
                why = ("is not a number, flag or category" if feature in feature_schema.fieldNames()
                       else "names an unknown feature")
                raise ModelSpecError(f"{spec.where('features')} {why} '{feature}'{close_matches(feature, kinds)}")
        try:
            with quiet_analyzer():
                dtype = empty.select(F.expr(spec.eligibility).alias("e")).schema["e"].dataType
        except AnalysisException as exc:
            params = exc.getMessageParameters() or {}
            if (exc.getCondition() or "").startswith("UNRESOLVED_COLUMN"):
                name = params.get("objectName", "?").strip("`")
                raise ModelSpecError(f"{spec.where('eligibility')} names unknown feature '{name}'"
                                     f"{close_matches(name, feature_schema.fieldNames())}") from None
            raise ModelSpecError(f"{spec.where('eligibility')} is not valid Spark SQL over the features: "
                                 f"{first_line(exc)}") from None
        if not isinstance(dtype, BooleanType):
            raise ModelSpecError(f"{spec.where('eligibility')} gives {dtype.simpleString()}, not a boolean")
        problem = check_params(spec.algorithm, spec.params)
        if problem:
            raise ModelSpecError(f"{spec.where('algorithm.params')} {problem}")


def cli(args, config) -> int:
    """`python -m jobs check-models [FOLDER]`: validate the model files against the feature frames."""
    from jobs.models.settings import model_settings
    from jobs.models.training import feature_schemas
    from jobs.runner import spark_for

    specs = load_specs(args.folder or model_settings(config).specs_dir)
    spark = spark_for(config)
    validate_specs(spark, specs, feature_schemas(spark, config, specs))
    for s in specs:
        print(f"ok  {s.name:<28} {s.target.description}, {s.horizon_days} days, {s.algorithm}, "
              f"{len(s.features)} features")
    return 0
