"""The raw tables of a training config: reading TOML, known sections and keys, value types, overrides.

Model-specific checks (recommender names, ``params`` against a model's ``__init__``) live in
:func:`cxml.tracking.config.validate_config`.
"""

from __future__ import annotations

import datetime
import os
import tomllib
from pathlib import Path
from typing import Any

from cxml.exceptions import ConfigError

__all__ = ["LOAD_EVENTS_KEYS", "SCHEMA", "check_columns", "check_overrides", "check_tables", "read_tables",
           "typed_train_fields"]

LOAD_EVENTS_KEYS = frozenset(
    {"customer_id", "timestamp", "item_id", "amount", "quantity", "price", "event_type", "value", "order_id"}
)


SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "events": {"path": str, "columns": dict},
    "train": {"as_of": (str, datetime.date), "experiment": str, "run_name": str, "bundle_dir": str,
              "tracking_uri": str, "register": str, "random_state": int, "memory_budget": (str, int)},
    "recommender": {"model": str, "k": int, "weight": str, "params": dict},
    "churn": {"horizon": str, "params": dict},
    "cltv": {"horizon": str, "params": dict},
}


def read_tables(source: Any) -> tuple[dict[str, Any], Path | None]:
    """The raw sections and the directory relative paths start from (``None`` for a dict)."""
    if isinstance(source, dict):
        return source, None
    if not isinstance(source, str | os.PathLike):
        raise ConfigError(f"config must be a TOML path or a dict of sections, got {type(source).__name__}")
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), path.parent
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from exc


def check_columns(columns: dict[str, Any]) -> dict[str, str]:
    for key, val in columns.items():
        if key not in LOAD_EVENTS_KEYS:
            raise ConfigError(f"unknown key 'events.columns.{key}'; expected one of: "
                              f"{', '.join(sorted(LOAD_EVENTS_KEYS))}")
        if not isinstance(val, str):
            raise ConfigError(f"'events.columns.{key}' must be a column name string, got {val!r}")
    return dict(columns)


def typed_train_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``train`` fields as :class:`TrainConfig` stores them: ``as_of`` as ISO text, ``bundle_dir`` as a Path."""
    out = dict(fields)
    if "as_of" in out:
        out["as_of"] = str(out["as_of"])
    if "bundle_dir" in out:
        out["bundle_dir"] = Path(out["bundle_dir"])
    return out


def check_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """The non-``None`` overrides of ``train`` keys, type-checked like the file's values."""
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - set(SCHEMA["train"])
    if unknown:
        raise ConfigError(f"unknown override(s) {sorted(unknown)}; expected some of: {', '.join(SCHEMA['train'])}")
    for key, val in given.items():
        expected = SCHEMA["train"][key]
        if key == "bundle_dir":
            expected = (str, os.PathLike)
        if isinstance(val, bool) or not isinstance(val, expected):
            want = " or ".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
            raise ConfigError(f"override {key}={val!r} must be {want}")
    return given


def check_tables(raw: dict[str, Any]) -> None:
    """Every section and key known, every value of its type.

    ``params``, ``columns`` and the reading options of ``[events]`` are checked later, against the
    model or :func:`cxml.load_events`.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"config must be a table of sections, got {type(raw).__name__}")
    for section, body in raw.items():
        if section not in SCHEMA:
            raise ConfigError(f"unknown section {section!r}; expected one of: {', '.join(SCHEMA)}")
        if not isinstance(body, dict):
            raise ConfigError(f"section {section!r} must be a table, got {body!r}")
        for key, val in body.items():
            expected = SCHEMA[section].get(key)
            if expected is None and section == "events":
                continue  # a reading option of load_events: checked against its signature later
            if expected is None:
                raise ConfigError(f"unknown key '{section}.{key}'; expected one of: "
                                  f"{', '.join(SCHEMA[section])}")
            if isinstance(val, bool) or not isinstance(val, expected):
                want = (expected.__name__ if isinstance(expected, type)
                        else " or ".join(t.__name__ for t in expected))
                raise ConfigError(f"'{section}.{key}' must be {want}, got {val!r}")
