"""``train(config)``: the whole pipeline as one MLflow run, with a nested run per model.

For each model in the config the harness
1. measures it honestly on time: the recommender on a temporal split of the history before
   ``as_of`` (PROTOCOL.md), churn/CLTV by fitting at ``as_of − horizon`` and scoring the real
   outcome in ``[as_of − horizon, as_of)`` beside the baselines (recency, BG/NBD, BG/NBD × GG);
2. refits it on everything before ``as_of`` for the bundle.
It then saves the cxml bundle, logs it as an artifact and as an MLflow pyfunc model (models from
code; see :mod:`cxml.tracking.pyfunc`) and optionally registers it with alias ``challenger``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cxml._uri import resolve_tracking_uri, tracking_uri_context
from cxml.bundle import read_metadata, save_bundle
from cxml.exceptions import BundleError, CxmlError, CxmlWarning
from cxml.recommend import PopularityRecommender, evaluate, temporal_split
from cxml.report import build as build_report
from cxml.schema import Columns
from cxml.tracking._inputs import TrainInputs, dataset_fingerprint, training_inputs
from cxml.tracking._models import log_model_details, make_recommender, train_value_model
from cxml.tracking._scale import in_sample
from cxml.tracking._signature import log_events_input, model_code_paths, model_requirements, model_signature
from cxml.tracking.config import TrainConfig, apply_overrides, load_config
from cxml.tracking.registry import register

__all__ = ["TrainResult", "dataset_fingerprint", "train"]

#: held-out customers the recommender is evaluated on at most (:func:`_evaluation_customers`)
EVAL_CUSTOMERS = 50_000
#: the models-from-code script MLflow logs and runs (importing it would import mlflow)
MODEL_CODE = Path(__file__).with_name("_model_code.py")


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced: ids, where the bundle is, every logged metric and the stage times."""

    run_id: str
    experiment_id: str
    bundle_dir: Path
    model_uri: str
    metrics: dict[str, float] = field(default_factory=dict)
    registered_name: str | None = None
    registered_version: str | None = None
    as_of: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    scale: dict[str, Any] = field(default_factory=dict)


def train(config: TrainConfig | str | os.PathLike[str] | dict[str, Any], **overrides: Any) -> TrainResult:
    """Run the configured pipeline and log it to MLflow; see the module docstring.

    The parent run logs the config (:meth:`TrainConfig.to_params`), a fingerprint of the events
    before ``as_of`` (``data.*`` params), the ``cxml.as_of`` tag (and the git commit when available) and every metric;
    each configured model gets a nested run. The bundle is written to ``bundle_dir`` (a previous
    cxml bundle there is replaced) and logged under the ``bundle`` artifact path and as the
    pyfunc model ``model``; with ``register`` set, that model is registered under that name with
    alias ``challenger`` (:func:`cxml.tracking.register`).

    A parquet file or directory whose training would not fit ``memory_budget`` is streamed in
    customer hash buckets instead of loaded (docs/training-at-scale.md): churn and CLTV train on a
    customer sample (``scale.sample_fraction`` and ``scale.sample_customers`` params), the BG/NBD
    and Gamma-Gamma parameters they use come from every customer (``btyd.*`` params), and the
    recommender sees every purchase row.

    Parameters
    ----------
    config
        One of: a :class:`TrainConfig` (used as is), a path to a TOML config file, or a dict of
        config sections; the last two are read with :func:`load_config`. Events are loaded from
        ``events_path`` with ``columns`` as :func:`cxml.load_events` keywords; ``as_of`` defaults
        to the day after the last event's day. MLflow uses ``tracking_uri``, else
        ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` in the working directory.
    **overrides
        ``events_path`` or any ``train`` key (``as_of``, ``experiment``, ``run_name``, ``bundle_dir``,
        ``tracking_uri``, ``register``, ``random_state``, ``memory_budget``), replacing the config's value
        (for a :class:`TrainConfig` too, see :func:`~cxml.tracking.apply_overrides`); ``None`` values are ignored.

    Returns
    -------
    TrainResult
        ``run_id`` and ``experiment_id`` of the parent run, ``bundle_dir``, ``model_uri`` of the
        logged pyfunc model, ``metrics`` (named ``recommender.*``, ``churn.*``, ``cltv.*``),
        ``registered_name`` and ``registered_version`` (``None`` without ``register``),
        ``as_of`` (str of the training :class:`pandas.Timestamp`), ``seconds`` per stage (``read``
        in memory or ``read_and_summary`` and ``btyd`` streamed, ``recommender``, ``churn``, ``cltv``,
        and ``logging``: the rest, i.e. the MLflow run, bundle, pyfunc model and report; also
        logged as ``seconds.*`` metrics) and ``scale`` (the ``scale.*`` params of a streamed run;
        empty in memory).

    Raises
    ------
    ConfigError
        When the config (or an override) is invalid (see :func:`load_config` and
        :func:`~cxml.tracking.validate_config`; checked before the events are read), or
        ``recommender.weight`` is not a column of the events (of the canonical ones, when streamed);
        or when a streamed dataset has ``[events.columns]`` or reading options.
    SchemaError
        When the events do not fit the schema, or a recommender is configured and they have no item ids.
    SourceError
        When ``events_path`` does not exist or is not csv/parquet.
    BundleError
        When ``bundle_dir`` exists and is not a valid cxml bundle (it is never replaced).
    """
    import mlflow  # imported here: mlflow takes seconds to import; `cxml --help` should not pay for it

    began = time.perf_counter()
    # the whole config is checked before a byte of data is read or a run is started
    cfg = (apply_overrides(config, **overrides) if isinstance(config, TrainConfig)  # validates it too
           else load_config(config, **overrides))
    _check_bundle_target(cfg.bundle_dir)
    inputs = training_inputs(cfg)
    uri = resolve_tracking_uri(cfg.tracking_uri)
    with (
        tracking_uri_context(uri),
        tempfile.TemporaryDirectory(prefix="cxml-train-") as tmp,
    ):
        mlflow.set_experiment(cfg.experiment)
        with mlflow.start_run(run_name=cfg.run_name) as parent:
            _log_inputs(cfg, inputs)
            models, metrics = _train_models(inputs, Path(tmp))
            mlflow.log_metrics(metrics)
            bundle = save_bundle(
                cfg.bundle_dir, **models, overwrite=cfg.bundle_dir.exists(),
                metadata={"as_of": str(inputs.as_of), "metrics": metrics, "data": inputs.fingerprint,
                          "run_id": parent.info.run_id, "config": cfg.to_params(), **_scale_metadata(inputs)},
            )
            mlflow.log_artifacts(str(bundle), artifact_path="bundle")
            model_info = _log_pyfunc(bundle, inputs.history)
            _log_report(inputs.value_events, bundle, inputs.as_of, Path(tmp))
            version = register(model_info.model_uri, cfg.register, tracking_uri=uri) if cfg.register else None
            # the MLflow run, the bundle, the pyfunc model and the report: what the stages leave
            inputs.seconds["logging"] = time.perf_counter() - began - sum(inputs.seconds.values())
            mlflow.log_metrics({f"seconds.{k}": v for k, v in inputs.seconds.items()})
            return TrainResult(
                run_id=parent.info.run_id, experiment_id=parent.info.experiment_id, bundle_dir=bundle,
                model_uri=model_info.model_uri, metrics=metrics, registered_name=cfg.register,
                registered_version=version, as_of=str(inputs.as_of), seconds=dict(inputs.seconds),
                scale={k: v for k, v in inputs.params.items() if k.startswith("scale.")},
            )


def _log_inputs(cfg: TrainConfig, inputs: TrainInputs) -> None:
    """The run's params (config, data fingerprint, scale and BTYD), dataset input and tags."""
    import mlflow  # imported here: see train()

    mlflow.log_params({k: v for k, v in cfg.to_params().items() if v is not None})
    mlflow.log_params({f"data.{k}": v for k, v in inputs.fingerprint.items()})
    if inputs.params:
        mlflow.log_params(inputs.params)
    log_events_input(inputs.history, source=str(cfg.events_path), name=inputs.input_name)
    mlflow.set_tags({"cxml.as_of": str(inputs.as_of.date()), **_git_tags()})


def _scale_metadata(inputs: TrainInputs) -> dict[str, Any]:
    """Bundle metadata of a streamed run: the ``scale.*`` and ``btyd.*`` params (nothing in memory)."""
    return {"scale": inputs.params} if inputs.params else {}


def _log_report(events: pd.DataFrame, bundle: Path, as_of: pd.Timestamp, tmp: Path) -> None:
    """The shop owner's HTML report of this run, logged as the artifact ``report/report.html``.

    A report that cannot be built (e.g. too little history for one of its sections) does not fail
    the training run: it is left out with a warning that says why.
    """
    import mlflow  # imported here: see train()

    try:
        path = build_report(events, bundle, as_of=as_of, out=tmp / "report.html")
    except CxmlError as exc:
        warnings.warn(f"the HTML report was not logged: {exc}", CxmlWarning, stacklevel=3)
        return
    mlflow.log_artifact(str(path), artifact_path="report")


def _train_models(inputs: TrainInputs, tmp: Path) -> tuple[dict[str, Any], dict[str, float]]:
    """Fit and evaluate every configured model, each in its nested run; returns the models and metrics."""
    import mlflow  # imported here: see train()

    cfg = inputs.cfg
    metrics: dict[str, float] = {}
    models: dict[str, Any] = {}
    if cfg.recommender is not None:
        start = time.perf_counter()
        with mlflow.start_run(run_name="recommender", nested=True):
            models["recommender"], m = _train_recommender(cfg, inputs.rec_events)
            mlflow.log_metrics(m)
            log_model_details(models["recommender"], tmp)
        metrics.update({f"recommender.{k}": v for k, v in m.items()})
        inputs.seconds["recommender"] = time.perf_counter() - start
    for name in ("churn", "cltv"):
        section = getattr(cfg, name)
        if section is None:
            continue
        start = time.perf_counter()
        with mlflow.start_run(run_name=name, nested=True):
            models[name], m, plots = train_value_model(name, section, cfg.random_state, inputs.value_events,
                                                       inputs.as_of, tmp, btyd=inputs.btyd)
            mlflow.log_metrics(m)
            log_model_details(models[name], tmp)
            for path in plots:
                mlflow.log_artifact(str(path), artifact_path="plots")
        metrics.update({f"{name}.{k}": v for k, v in m.items()})
        inputs.seconds[name] = time.perf_counter() - start
    return models, metrics


def _train_recommender(cfg: TrainConfig, history: pd.DataFrame) -> tuple[Any, dict[str, float]]:
    section = cfg.recommender
    assert section is not None
    train_part, test_part = temporal_split(history, test_fraction=0.2)
    test_part, n_test = _evaluation_customers(test_part)
    model = make_recommender(section, cfg.random_state).fit(train_part, weight=section.weight)
    metrics = {k: float(v) for k, v in evaluate(model, train_part, test_part, k=section.k).items()
               if isinstance(v, int | float)}
    baseline = PopularityRecommender().fit(train_part, weight=section.weight)
    metrics.update({f"popularity_{k}": float(v)
                    for k, v in evaluate(baseline, train_part, test_part, k=section.k).items()
                    if isinstance(v, int | float) and k in {"ndcg", "recall", "precision", "map"}})
    metrics["test_customers_total"] = float(n_test)
    final = make_recommender(section, cfg.random_state).fit(history, weight=section.weight)
    return final, metrics


def _evaluation_customers(test_part: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The test rows of at most :data:`EVAL_CUSTOMERS` customers (a fixed hash sample), and how many had rows.

    Ranking metrics are means over customers: on a few hundred thousand of them a 50,000-customer
    sample estimates them to about ±0.002 NDCG while recommending for every one of them took most of
    a 1 M-customer training run (issue 15).
    """
    customers = test_part[Columns.CUSTOMER]
    n_test = int(customers.nunique())
    if n_test <= EVAL_CUSTOMERS:
        return test_part, n_test
    return test_part[in_sample(customers, EVAL_CUSTOMERS / n_test)], n_test


def _log_pyfunc(bundle: Path, history: pd.DataFrame) -> Any:
    """The bundle as the MLflow pyfunc model ``model`` (three of the customers as its input example)."""
    import mlflow  # imported here: see train()

    example = pd.DataFrame({Columns.CUSTOMER: history[Columns.CUSTOMER].drop_duplicates().head(3).tolist()})
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=str(MODEL_CODE),
        artifacts={"bundle": str(bundle)},
        signature=model_signature(),
        input_example=example,
        pip_requirements=model_requirements(),
        code_paths=model_code_paths(),
    )


def _check_bundle_target(path: Path) -> None:
    """Only a previous cxml bundle may be replaced; anything else at that path is the user's."""
    if path.exists():
        try:
            read_metadata(path)
        except BundleError as exc:
            raise BundleError(
                f"bundle_dir {str(path)!r} exists and is not a valid cxml bundle ({exc}); "
                "choose another bundle_dir — cxml will not replace it"
            ) from exc


def _git_tags() -> dict[str, str]:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"mlflow.source.git.commit": out.stdout.strip()} if out.returncode == 0 else {}
