"""Training configuration: a TOML file (or dict) validated into :class:`TrainConfig`.

Example ``cxml.toml``::

    [events]
    path = "data/sample/events.csv"        # relative paths are relative to the config file
    dayfirst = true                         # optional: how to read it (load_events keywords)
    [events.columns]                        # optional: your column names (load_events keywords)
    timestamp = "invoice_date"

    [train]
    as_of = "2024-10-01"                    # default: the day after the last event
    experiment = "cxml"
    bundle_dir = "models/latest"
    memory_budget = "6G"                    # optional: a parquet dataset bigger than this is streamed
                                            # (docs/training-at-scale.md); default: only one that would
                                            # not fit in half the RAM

    [recommender]                           # a section per model; omit it to skip that model
    model = "auto"                          # auto | als | blend | ease | itemknn | popularity
    k = 10
    [recommender.params]                    # keyword arguments of the chosen recommender
    factors = 64

    [churn]                                 # ChurnModel
    horizon = "90D"
    [churn.params]                          # keyword arguments of ChurnModel
    n_snapshots = 4

    [cltv]                                  # CLTVModel, with its own [cltv.params]
    horizon = "180D"

The whole file is checked before any data is read: unknown sections and keys, wrong types,
unknown recommender names, ``params`` that the chosen model's ``__init__`` does not take (or of
the wrong type), and unparseable ``as_of``/``horizon`` values each raise :class:`cxml.ConfigError`
naming the key, the bad value and what was expected.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxml._checks import check_int, check_random_state
from cxml.batch import parse_memory_budget
from cxml.exceptions import ConfigError, CxmlError
from cxml.schema import parse_as_of, parse_horizon
from cxml.tracking._catalog import (
    VALUE_MODELS,
    check_params,
    check_read_options,
    recommender_classes,
    recommender_params,
)
from cxml.tracking._tables import check_columns, check_overrides, check_tables, read_tables, typed_train_fields

__all__ = [
    "CLTVSection",
    "ChurnSection",
    "HorizonSection",
    "RecommenderSection",
    "TrainConfig",
    "apply_overrides",
    "load_config",
    "validate_config",
]

@dataclass(frozen=True)
class RecommenderSection:
    """``[recommender]``: the model's name (see ``recommender_classes``), ``k``, the weight and its params."""

    model: str = "auto"
    k: int = 10
    weight: str = "count"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HorizonSection:
    """A model configured by a horizon and the model's keyword arguments (``[churn]``, ``[cltv]``)."""

    horizon: str = "90D"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChurnSection(HorizonSection):
    """``[churn]``: :class:`~cxml.churn.ChurnModel`'s horizon (default ``"90D"``) and params."""

    horizon: str = "90D"


@dataclass(frozen=True)
class CLTVSection(HorizonSection):
    """``[cltv]``: :class:`~cxml.churn.CLTVModel`'s horizon (default ``"180D"``) and params."""

    horizon: str = "180D"


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``cxml train`` needs. Build with :func:`load_config`."""

    events_path: Path
    columns: dict[str, str] = field(default_factory=dict)
    read_options: dict[str, Any] = field(default_factory=dict)
    as_of: str | None = None
    experiment: str = "cxml"
    run_name: str | None = None
    bundle_dir: Path = Path("models/latest")
    tracking_uri: str | None = None
    register: str | None = None
    random_state: int = 0
    memory_budget: str | int | None = None
    recommender: RecommenderSection | None = None
    churn: ChurnSection | None = None
    cltv: CLTVSection | None = None

    def to_params(self) -> dict[str, Any]:
        """Flat ``section.key -> value`` view for ``mlflow.log_params``."""
        flat: dict[str, Any] = {"events.path": str(self.events_path), "train.as_of": self.as_of,
                                "train.random_state": self.random_state}
        if self.memory_budget is not None:
            flat["train.memory_budget"] = self.memory_budget
        flat.update({f"events.columns.{k}": v for k, v in self.columns.items()})
        flat.update({f"events.{k}": v for k, v in self.read_options.items()})
        for name in ("recommender", "churn", "cltv"):
            section = getattr(self, name)
            if section is None:
                continue
            for key, val in vars(section).items():
                if key == "params":
                    flat.update({f"{name}.params.{k}": v for k, v in val.items()})
                else:
                    flat[f"{name}.{key}"] = val
        return flat


def load_config(source: str | os.PathLike[str] | dict[str, Any], **overrides: Any) -> TrainConfig:
    """Read and validate a training config from a TOML path or a dict.

    ``overrides`` replace ``train``/``events`` fields after reading (the CLI flags), e.g.
    ``as_of="2024-10-01"`` or ``events_path="other.csv"``; ``None`` values are ignored.

    Parameters
    ----------
    source
        Path of a TOML file (see the module docstring), or a dict of the same sections
        (``events``, ``train``, ``recommender``, ``churn``, ``cltv``). A relative ``events.path``
        is relative to the config file's directory; from a dict it is kept as given.
    **overrides
        ``events_path`` (replaces ``events.path``; a relative one is relative to the working
        directory) or any ``train`` key: ``as_of``, ``experiment``, ``run_name``, ``bundle_dir``,
        ``tracking_uri``, ``register``, ``random_state``, ``memory_budget``. ``None`` values are ignored. Overrides
        are type-checked like the file's values; ``as_of`` is converted to ``str`` and
        ``bundle_dir`` to a ``Path``.

    Returns
    -------
    TrainConfig
        The validated config. A model section absent from the source is ``None`` (that model is
        not trained); ``churn.horizon`` defaults to ``"90D"`` and ``cltv.horizon`` to ``"180D"``.

    Raises
    ------
    ConfigError
        When the file does not exist or is not valid TOML; a section or key is unknown or a value
        has the wrong type; ``events.path`` is missing (and no ``events_path`` override);
        an ``events.columns`` key is not a :func:`cxml.load_events` column keyword or its value is
        not a string; an override is unknown; or a check of :func:`validate_config` fails
        (recommender name, ``params`` against the model's ``__init__``, ``as_of``, ``horizon``).

    Examples
    --------
    >>> cfg = load_config({"events": {"path": "e.csv"}, "churn": {"horizon": "60D"}})
    >>> cfg.churn.horizon, cfg.recommender is None
    ('60D', True)
    >>> load_config({"events": {"path": "e.csv"}, "churn": {"horizn": "60D"}})
    Traceback (most recent call last):
    ...
    cxml.exceptions.ConfigError: unknown key 'churn.horizn'; expected one of: horizon, params
    """
    raw, base = read_tables(source)
    check_tables(raw)
    events = raw.get("events", {})
    events_override = overrides.pop("events_path", None)
    events_path = events_override or events.get("path")
    if not events_path:
        raise ConfigError("missing key 'events.path': the events csv/parquet to train on")
    resolved = Path(events_path)
    # a path in the file is relative to the file; an override (a CLI flag) to the working directory
    if not resolved.is_absolute() and base is not None and not events_override:
        resolved = base / resolved
    fields: dict[str, Any] = dict(raw.get("train", {}))
    fields.update(check_overrides(overrides))
    rec = raw.get("recommender")
    cfg = TrainConfig(
        events_path=resolved,
        columns=check_columns(events.get("columns", {})),
        read_options={k: v for k, v in events.items() if k not in ("path", "columns")},
        recommender=RecommenderSection(**rec) if rec is not None else None,
        churn=ChurnSection(**raw["churn"]) if "churn" in raw else None,
        cltv=CLTVSection(**raw["cltv"]) if "cltv" in raw else None,
        **typed_train_fields(fields),
    )
    return validate_config(cfg)


def validate_config(cfg: TrainConfig) -> TrainConfig:
    """Check what only the models know: names, ``params`` against their ``__init__``, dates and horizons.

    :func:`load_config` and :func:`cxml.tracking.train` call it, so a config built by hand is
    checked as thoroughly as one read from a file, before any data is read.

    Parameters
    ----------
    cfg
        The configuration to check.

    Returns
    -------
    TrainConfig
        ``cfg`` with each ``params`` table as the model takes it (a thread-count keyword renamed
        between ``num_threads`` and ``n_jobs`` to the one the model accepts).

    Raises
    ------
    ConfigError
        ``train.as_of`` is not a date, ``train.random_state`` not a seed or ``train.memory_budget`` not a memory
        size of at least 16 MiB (an int of bytes or text such as ``"6G"``); ``recommender.model`` is not a known name or
        ``recommender.k`` is below 1; a model's ``horizon`` is not a positive duration with a unit;
        a ``params`` key is not a parameter of the model or its value has the wrong type.
    """
    if cfg.as_of is not None:
        _as_config_error("train.as_of", cfg.as_of, parse_as_of)
    _as_config_error("train.random_state", cfg.random_state, check_random_state)
    _as_config_error("train.memory_budget", cfg.memory_budget, parse_memory_budget)
    changes: dict[str, Any] = {"read_options": check_read_options(cfg.read_options)}
    if cfg.recommender is not None:
        changes["recommender"] = _checked_recommender(cfg.recommender)
    for name, cls in VALUE_MODELS.items():
        section = getattr(cfg, name)
        if section is not None:
            _as_config_error(f"{name}.horizon", section.horizon, parse_horizon)
            params = check_params(cls, section.params, f"{name}.params", reserved=("horizon",))
            changes[name] = dataclasses.replace(section, params=params)
    return dataclasses.replace(cfg, **changes)


def _checked_recommender(section: RecommenderSection) -> RecommenderSection:
    names = list(recommender_classes())
    if section.model not in names:
        raise ConfigError(f"'recommender.model' = {section.model!r}; expected one of: {', '.join(names)}")
    _as_config_error("recommender.k", section.k, lambda k: check_int("k", k, minimum=1))
    return dataclasses.replace(section, params=recommender_params(section.model, section.params))


def _as_config_error(key: str, value: Any, parse: Any) -> None:
    """Run ``parse(value)``; a cxml error becomes a ConfigError that names the config key."""
    try:
        parse(value)
    except CxmlError as exc:
        raise ConfigError(f"'{key}' = {value!r} is not valid: {exc}") from exc


def apply_overrides(cfg: TrainConfig, **overrides: Any) -> TrainConfig:
    """A copy of ``cfg`` with ``train`` fields and/or ``events_path`` replaced (``None`` values are ignored).

    Parameters
    ----------
    cfg
        The configuration to start from (not modified).
    **overrides
        ``events_path`` or any ``train`` key (``as_of``, ``experiment``, ``run_name``, ``bundle_dir``,
        ``tracking_uri``, ``register``, ``random_state``, ``memory_budget``), type-checked like the file's values.

    Returns
    -------
    TrainConfig
        The new configuration.

    Raises
    ------
    ConfigError
        An override is unknown or has the wrong type, or the result fails :func:`validate_config`.
    """
    events_path = overrides.pop("events_path", None)
    fields = typed_train_fields(check_overrides(overrides))
    if events_path is not None:
        fields["events_path"] = Path(events_path)
    return validate_config(dataclasses.replace(cfg, **fields))
