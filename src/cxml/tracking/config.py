"""Training configuration: a TOML file (or dict) validated into :class:`TrainConfig`.

Example ``cxml.toml``::

    [events]
    path = "data/sample/events.csv"        # relative paths are relative to the config file
    [events.columns]                        # optional: your column names (load_events keywords)
    timestamp = "invoice_date"

    [train]
    as_of = "2024-10-01"                    # default: the day after the last event
    experiment = "cxml"
    bundle_dir = "models/latest"

    [recommender]                           # a section per model; omit it to skip that model
    model = "auto"                          # auto | als | ease | itemknn | popularity
    k = 10
    [recommender.params]
    factors = 64

    [churn]
    horizon = "90D"
    [cltv]
    horizon = "180D"

Errors name the key, the bad value and what was expected (:class:`cxml.ConfigError`).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxml.exceptions import ConfigError

__all__ = ["ChurnSection", "RecommenderSection", "TrainConfig", "apply_overrides", "load_config"]

LOAD_EVENTS_KEYS = frozenset(
    {"customer_id", "timestamp", "item_id", "amount", "quantity", "price", "event_type", "value", "order_id"}
)
RECOMMENDERS = ("auto", "als", "ease", "itemknn", "popularity")


@dataclass(frozen=True)
class RecommenderSection:
    model: str = "auto"
    k: int = 10
    weight: str = "count"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChurnSection:
    horizon: str = "90D"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``cxml train`` needs. Build with :func:`load_config`."""

    events_path: Path
    columns: dict[str, str] = field(default_factory=dict)
    as_of: str | None = None
    experiment: str = "cxml"
    run_name: str | None = None
    bundle_dir: Path = Path("models/latest")
    tracking_uri: str | None = None
    register: str | None = None
    random_state: int = 0
    recommender: RecommenderSection | None = None
    churn: ChurnSection | None = None
    cltv: ChurnSection | None = None

    def to_params(self) -> dict[str, Any]:
        """Flat ``section.key -> value`` view for ``mlflow.log_params``."""
        flat: dict[str, Any] = {"events.path": str(self.events_path), "train.as_of": self.as_of,
                                "train.random_state": self.random_state}
        flat.update({f"events.columns.{k}": v for k, v in self.columns.items()})
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


_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "events": {"path": str, "columns": dict},
    "train": {"as_of": (str, datetime.date), "experiment": str, "run_name": str, "bundle_dir": str,
              "tracking_uri": str, "register": str, "random_state": int},
    "recommender": {"model": str, "k": int, "weight": str, "params": dict},
    "churn": {"horizon": str, "params": dict},
    "cltv": {"horizon": str, "params": dict},
}


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
        ``tracking_uri``, ``register``, ``random_state``. ``None`` values are ignored. Overrides
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
        not a string; an override is unknown; or ``recommender.model`` is not one of
        ``auto, als, ease, itemknn, popularity``.

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
    base = Path(".")
    if isinstance(source, dict):
        raw = source
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from exc
        base = path.parent
    _check(raw)
    events = raw.get("events", {})
    train = raw.get("train", {})
    events_override = overrides.pop("events_path", None)
    events_path = events_override or events.get("path")
    if not events_path:
        raise ConfigError("missing key 'events.path': the events csv/parquet to train on")
    columns = dict(events.get("columns", {}))
    for key, val in columns.items():
        if key not in LOAD_EVENTS_KEYS:
            raise ConfigError(f"unknown key 'events.columns.{key}'; expected one of: "
                              f"{', '.join(sorted(LOAD_EVENTS_KEYS))}")
        if not isinstance(val, str):
            raise ConfigError(f"'events.columns.{key}' must be a column name string, got {val!r}")
    resolved = Path(events_path)
    # a path in the file is relative to the file; an override (a CLI flag) to the working directory
    if not resolved.is_absolute() and not isinstance(source, dict) and not events_override:
        resolved = base / resolved
    fields: dict[str, Any] = {k: v for k, v in train.items()}
    fields.update(_checked_overrides(overrides))
    fields = _typed_train_fields(fields)
    rec = raw.get("recommender")
    if rec is not None and rec.get("model", "auto") not in RECOMMENDERS:
        raise ConfigError(f"'recommender.model' = {rec.get('model')!r}; expected one of {RECOMMENDERS}")
    return TrainConfig(
        events_path=resolved,
        columns=columns,
        recommender=RecommenderSection(**rec) if rec is not None else None,
        churn=ChurnSection(**raw["churn"]) if "churn" in raw else None,
        cltv=ChurnSection(**{"horizon": "180D", **raw["cltv"]}) if "cltv" in raw else None,
        **fields,
    )


def apply_overrides(cfg: TrainConfig, **overrides: Any) -> TrainConfig:
    """A copy of ``cfg`` with ``train`` fields and/or ``events_path`` replaced (``None`` values are ignored).

    Parameters
    ----------
    cfg
        The configuration to start from (not modified).
    **overrides
        ``events_path`` or any ``train`` key (``as_of``, ``experiment``, ``run_name``, ``bundle_dir``,
        ``tracking_uri``, ``register``, ``random_state``), type-checked like the file's values.

    Returns
    -------
    TrainConfig
        The new configuration.

    Raises
    ------
    ConfigError
        An override is unknown or has the wrong type.
    """
    events_path = overrides.pop("events_path", None)
    fields = _typed_train_fields(_checked_overrides(overrides))
    if events_path is not None:
        fields["events_path"] = Path(events_path)
    return dataclasses.replace(cfg, **fields)


def _typed_train_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``train`` fields as :class:`TrainConfig` stores them: ``as_of`` as ISO text, ``bundle_dir`` as a Path."""
    out = dict(fields)
    if "as_of" in out:
        out["as_of"] = str(out["as_of"])
    if "bundle_dir" in out:
        out["bundle_dir"] = Path(out["bundle_dir"])
    return out


def _checked_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """The non-``None`` overrides of ``train`` keys, type-checked like the file's values."""
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - set(_SCHEMA["train"])
    if unknown:
        raise ConfigError(f"unknown override(s) {sorted(unknown)}; expected some of: {', '.join(_SCHEMA['train'])}")
    for key, val in given.items():
        expected = _SCHEMA["train"][key]
        if key == "bundle_dir":
            expected = (str, os.PathLike)
        if isinstance(val, bool) or not isinstance(val, expected):
            want = " or ".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
            raise ConfigError(f"override {key}={val!r} must be {want}")
    return given


def _check(raw: dict[str, Any]) -> None:
    if not isinstance(raw, dict):
        raise ConfigError(f"config must be a table of sections, got {type(raw).__name__}")
    for section, body in raw.items():
        if section not in _SCHEMA:
            raise ConfigError(f"unknown section {section!r}; expected one of: {', '.join(_SCHEMA)}")
        if not isinstance(body, dict):
            raise ConfigError(f"section {section!r} must be a table, got {body!r}")
        for key, val in body.items():
            expected = _SCHEMA[section].get(key)
            if expected is None:
                raise ConfigError(f"unknown key '{section}.{key}'; expected one of: "
                                  f"{', '.join(_SCHEMA[section])}")
            if isinstance(val, bool) or not isinstance(val, expected):
                want = (expected.__name__ if isinstance(expected, type)
                        else " or ".join(t.__name__ for t in expected))
                raise ConfigError(f"'{section}.{key}' must be {want}, got {val!r}")
