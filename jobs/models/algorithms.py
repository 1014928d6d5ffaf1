"""The algorithms a model file may name, as Spark ML pipelines (so training runs unchanged on a
cluster), and what each reports as feature importance.

    algorithm: {name: gbt, params: {maxIter: 40, maxDepth: 4}}

`params` are the estimator's own Spark ML parameters (camelCase, as in the Spark docs); what a
file does not set takes the defaults below, chosen on the generated data (README "Models").
The pipeline one-hot encodes categorical features, assembles one vector and, for the linear
model, standardises it; the seed makes a fit repeatable.
"""

from __future__ import annotations

import difflib

DEFAULTS = {
    "logistic_regression": {"maxIter": 100, "regParam": 0.01, "elasticNetParam": 0.0},
    "gbt": {"maxIter": 40, "maxDepth": 4, "stepSize": 0.1, "subsamplingRate": 0.8, "minInstancesPerNode": 5},
    "random_forest": {"numTrees": 100, "maxDepth": 6, "minInstancesPerNode": 5},
}
ALGORITHMS = tuple(DEFAULTS)
# Pipeline-owned columns a file may not override.
RESERVED = ("featuresCol", "labelCol", "predictionCol", "probabilityCol", "rawPredictionCol", "seed")


def _estimator_class(name: str):
    from pyspark.ml.classification import GBTClassifier, LogisticRegression, RandomForestClassifier

    return {"logistic_regression": LogisticRegression, "gbt": GBTClassifier,
            "random_forest": RandomForestClassifier}[name]


def check_params(name: str, params: dict) -> str | None:
    """What is wrong with these parameters for the algorithm (None: nothing). Needs a session."""
    estimator = _estimator_class(name)()
    known = [p.name for p in estimator.params if p.name not in RESERVED]
    for key, value in params.items():
        if key not in known:
            close = difflib.get_close_matches(key, known, n=4, cutoff=0.5)
            hint = f"; close matches: {', '.join(close)}" if close else f"; known: {', '.join(sorted(known))}"
            return f"names unknown parameter '{key}' of {name}{hint}"
        try:
            estimator.copy().setParams(**{key: value})
        except (TypeError, ValueError) as exc:
            return f"parameter '{key}' = {value!r} is not accepted by {name}: {exc}"
    return None


def build_pipeline(name: str, params: dict, numeric: tuple[str, ...], categorical: tuple[str, ...], seed: int):
    """Encode, assemble, (scale), classify: one Spark ML Pipeline reading `label` and the features."""
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import OneHotEncoder, StandardScaler, StringIndexer, VectorAssembler

    stages = []
    encoded = []
    if categorical:
        indexed = [f"{c}__index" for c in categorical]
        encoded = [f"{c}__onehot" for c in categorical]
        stages.append(StringIndexer(inputCols=list(categorical), outputCols=indexed, handleInvalid="keep",
                                    stringOrderType="alphabetAsc"))
        stages.append(OneHotEncoder(inputCols=indexed, outputCols=encoded, handleInvalid="keep"))
    assembled = "features_raw" if name == "logistic_regression" else "features"
    stages.append(VectorAssembler(inputCols=[*numeric, *encoded], outputCol=assembled))
    if name == "logistic_regression":
        stages.append(StandardScaler(inputCol=assembled, outputCol="features", withMean=True, withStd=True))
    estimator = _estimator_class(name)(featuresCol="features", labelCol="label")
    settings = {**DEFAULTS[name], **params}
    if estimator.hasParam("seed"):
        settings["seed"] = seed
    stages.append(estimator.setParams(**settings))
    return Pipeline(stages=stages)


def vector_slots(numeric: tuple[str, ...], categorical: tuple[str, ...], pipeline_model) -> list[str]:
    """The name of every slot of the assembled feature vector (category values spelled out)."""
    from pyspark.ml.feature import OneHotEncoderModel, StringIndexerModel

    slots = list(numeric)
    indexers = [s for s in pipeline_model.stages if isinstance(s, StringIndexerModel)]
    encoders = [s for s in pipeline_model.stages if isinstance(s, OneHotEncoderModel)]
    if indexers:
        for column, labels, size in zip(categorical, indexers[0].labelsArray, encoders[0].categorySizes,
                                        strict=True):
            # The indexer keeps unseen values as one more index; the encoder (keep + dropLast)
            # gives each index but the last a slot.
            slots += [f"{column}={label}" for label in [*labels, "(unseen)"][:size]]
    return slots


def feature_importances(numeric: tuple[str, ...], categorical: tuple[str, ...], pipeline_model) -> dict[str, float]:
    """slot -> importance: trees' impurity importance, or the linear model's |coefficient| on
    standardised features; normalised to sum to 1, largest first."""
    model = pipeline_model.stages[-1]
    values = (model.featureImportances.toArray() if hasattr(model, "featureImportances")
              else abs(model.coefficients.toArray()))
    slots = vector_slots(numeric, categorical, pipeline_model)
    total = float(sum(values)) or 1.0
    pairs = sorted(zip(slots, (float(v) / total for v in values), strict=True), key=lambda kv: -kv[1])
    return dict(pairs)
