"""What the training run is fitted on: the whole events table in memory, or a streamed dataset.

:func:`training_inputs` chooses (:func:`cxml.tracking._scale.streaming_budget`) and returns
:class:`TrainInputs`, which the MLflow run of :func:`cxml.tracking.train` consumes the same way on
both paths. In memory nothing changed: the events are loaded once and every model sees them all.
Streamed (docs/training-at-scale.md): churn and CLTV see a customer sample, the BG/NBD and
Gamma-Gamma parameters inside them come from every customer's sufficient statistics, the
recommender sees every purchase row.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cxml.data import load_events
from cxml.data.dataset import EventsDataset
from cxml.exceptions import ConfigError, CxmlWarning, SchemaError
from cxml.schema import Columns, events_before, parse_as_of, parse_horizon
from cxml.tracking._btyd import BTYDFit, fit_population, log_params
from cxml.tracking._scale import streaming_budget
from cxml.tracking._signature import frame_sha256
from cxml.tracking._stream import stream_events
from cxml.tracking.config import RecommenderSection, TrainConfig

__all__ = ["TrainInputs", "dataset_fingerprint", "training_inputs"]

#: recommenders a streamed run fits as configured; "auto" (a search over several candidates) becomes ALS
_STREAMED_AUTO = "als"


@dataclass
class TrainInputs:
    """The events each part of a training run sees, and what to log about them."""

    cfg: TrainConfig
    as_of: pd.Timestamp
    value_events: pd.DataFrame  # churn/CLTV fit and evaluation, the report: all events, or the sample
    rec_events: pd.DataFrame  # recommender: the history, or every purchase row with an item
    history: pd.DataFrame  # logged as the run's dataset input: the events before as_of, or the sample's head
    fingerprint: dict[str, Any]
    input_name: str = "events"  # the mlflow dataset input's name
    params: dict[str, Any] = field(default_factory=dict)  # scale.* and btyd.* params of a streamed run
    btyd: dict[pd.Timestamp, BTYDFit] | None = None  # population BTYD parameters per fit cutoff
    seconds: dict[str, float] = field(default_factory=dict)


def dataset_fingerprint(events: pd.DataFrame) -> dict[str, Any]:
    """Row count, customers, date range and a content hash of the canonical columns."""
    cols = [c for c in Columns.EVENTS if c in events.columns]
    return {
        "rows": len(events),
        "customers": int(events[Columns.CUSTOMER].nunique()),
        "first_event": str(events[Columns.TIMESTAMP].min()),
        "last_event": str(events[Columns.TIMESTAMP].max()),
        "sha256": frame_sha256(events[cols]),
    }


def training_inputs(cfg: TrainConfig) -> TrainInputs:
    """Load or stream the events of ``cfg`` (module docstring)."""
    budget = streaming_budget(cfg)
    inputs = _in_memory(cfg) if budget is None else _streamed(cfg, budget)
    _check_events_fit_config(inputs.cfg, inputs.rec_events)
    return inputs


def _in_memory(cfg: TrainConfig) -> TrainInputs:
    start = time.perf_counter()
    events = load_events(cfg.events_path, **cfg.columns, **cfg.read_options)  # type: ignore[arg-type]
    last_day = events[Columns.TIMESTAMP].max().normalize()
    as_of = parse_as_of(cfg.as_of) if cfg.as_of else last_day + pd.Timedelta(days=1)
    history = events_before(events, as_of)
    return TrainInputs(cfg=cfg, as_of=as_of, value_events=events, rec_events=history, history=history,
                       fingerprint=dataset_fingerprint(history), seconds={"read": time.perf_counter() - start})


def _streamed(cfg: TrainConfig, budget: int) -> TrainInputs:
    """The dataset read in customer hash buckets; BG/NBD and Gamma-Gamma fitted on every customer."""
    cfg = _streamed_config(cfg)
    _check_dataset_fits_config(cfg)
    offsets = [parse_horizon(getattr(cfg, name).horizon) for name in ("churn", "cltv") if getattr(cfg, name)]
    streamed = stream_events(cfg, budget, offsets)
    start = time.perf_counter()
    btyd = {cut: fit_population(stats, f"at {cut.date()}") for cut, stats in streamed.statistics.items()}
    params = dict(streamed.params)
    if btyd:
        params.update(log_params(btyd[streamed.as_of], streamed.statistics[streamed.as_of]))
    if cfg.recommender is not None:
        params["scale.recommender"] = cfg.recommender.model
    purchases = streamed.purchases if streamed.purchases is not None else streamed.sample.iloc[:0]
    return TrainInputs(
        cfg=cfg, as_of=streamed.as_of, value_events=streamed.sample, rec_events=purchases,
        # the run's dataset input is the sample LightGBM saw; the data.* params describe every event
        history=events_before(streamed.sample, streamed.as_of), input_name="events_sample",
        fingerprint=streamed.fingerprint, params=params, btyd=btyd,
        seconds={**streamed.seconds, "btyd": time.perf_counter() - start},
    )


def _streamed_config(cfg: TrainConfig) -> TrainConfig:
    """The config a streamed run follows: ``recommender.model = "auto"`` fits ALS (with a warning)."""
    section = cfg.recommender
    if section is None or section.model != "auto":
        return cfg
    warnings.warn(
        f"recommender.model = 'auto' searches several candidates, too slow for a streamed dataset; "
        f"training {_STREAMED_AUTO!r} on every purchase row instead (name a model in [recommender] to choose)",
        CxmlWarning,
        stacklevel=4,
    )
    als = RecommenderSection(model=_STREAMED_AUTO, k=section.k, weight=section.weight)
    return dataclasses.replace(cfg, recommender=als)


def _check_dataset_fits_config(cfg: TrainConfig) -> None:
    """Before a streamed pass: the recommender's columns must be among the canonical ones a dataset streams."""
    section = cfg.recommender
    if section is None:
        return
    if Columns.ITEM not in EventsDataset(cfg.events_path).columns:
        raise SchemaError(f"the [recommender] section needs item ids, but the parquet dataset "
                          f"{str(cfg.events_path)!r} has no column {Columns.ITEM!r}; remove the [recommender] section")
    if section.weight not in ("count", Columns.QUANTITY, Columns.AMOUNT, Columns.VALUE):
        raise ConfigError(f"'recommender.weight' = {section.weight!r}: a streamed dataset is read with its "
                          f"canonical columns only; expected 'count', {Columns.QUANTITY!r}, {Columns.AMOUNT!r} "
                          f"or {Columns.VALUE!r}")


def _check_events_fit_config(cfg: TrainConfig, history: pd.DataFrame) -> None:
    """What the config asks of the events, checked before a run is started (a failure would leave a FAILED run)."""
    section = cfg.recommender
    if section is None:
        return
    if Columns.ITEM not in history.columns or history[Columns.ITEM].isna().all():
        raise SchemaError(f"the [recommender] section needs item ids, but column {Columns.ITEM!r} of the events "
                          f"before as_of is missing or empty; map it with [events.columns] item_id = \"...\" "
                          "or remove the [recommender] section")
    if section.weight != "count" and section.weight not in history.columns:  # "count" needs no column
        raise ConfigError(f"'recommender.weight' = {section.weight!r} is not a column of the events "
                          f"(columns: {', '.join(map(str, history.columns))}); expected 'count' or one of them")
