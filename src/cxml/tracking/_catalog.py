"""Which models a config may name, and which hyper-parameters each accepts.

:func:`recommender_classes` is the one place the training harness learns recommender names from;
:func:`check_params` checks a config's ``params`` table against a model's ``__init__`` signature
(names, and types from the annotations or, failing those, from the defaults) so that a typo is a
:class:`~cxml.exceptions.ConfigError` before any data is loaded or any MLflow run is started.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from typing import Any

from cxml.churn import ChurnModel, CLTVModel
from cxml.data import load_events
from cxml.exceptions import ConfigError
from cxml.recommend import RECOMMENDERS, BaseRecommender
from cxml.tracking._tables import LOAD_EVENTS_KEYS

__all__ = [
    "VALUE_MODELS",
    "check_params",
    "check_read_options",
    "nested_recommenders",
    "read_option_names",
    "recommender_classes",
    "recommender_params",
]

#: the churn-family models a config section trains, by section name
VALUE_MODELS: dict[str, type[Any]] = {"churn": ChurnModel, "cltv": CLTVModel}

# the thread-count keyword is being renamed num_threads -> n_jobs in ALS; a config may use either
_ALIASES = {"num_threads": "n_jobs", "n_jobs": "num_threads"}


def recommender_classes() -> dict[str, type[BaseRecommender]]:
    """Config name → recommender class, for every recommender :mod:`cxml.recommend` exports.

    The names are those of :data:`cxml.recommend.RECOMMENDERS`, the one registry; this is the
    single place tracking reads it.

    Returns
    -------
    dict of str to type
        Sorted by name, e.g. ``{"als": ALSRecommender, "auto": AutoRecommender, ...}``.

    Examples
    --------
    >>> sorted(recommender_classes())
    ['als', 'auto', 'blend', 'ease', 'itemknn', 'popularity']
    """
    return dict(sorted(RECOMMENDERS.items()))


def recommender_params(model: str, params: dict[str, Any], section: str = "recommender.params") -> dict[str, Any]:
    """Check the params of recommender ``model``; a parameter that takes a recommender takes its name.

    Parameters
    ----------
    model
        A name from :func:`recommender_classes`.
    params
        Keyword arguments from the config.
    section
        Config table the parameters come from, for the messages.

    Returns
    -------
    dict
        The checked parameters (see :func:`check_params`); a nested recommender stays a name.

    Raises
    ------
    ConfigError
        See :func:`check_params`; also when a nested recommender is missing or not a known name.
    """
    classes = recommender_classes()
    cls = classes[model]
    nested = nested_recommenders(cls)
    out = check_params(cls, {k: v for k, v in params.items() if k not in nested}, section)
    choices = [name for name, c in classes.items() if not nested_recommenders(c)]
    for key, param in nested.items():
        value = params.get(key, param.default)
        if value not in choices:
            raise ConfigError(f"'{section}.{key}' = {value!r}: {model!r} needs the name of the recommender it "
                              f"wraps; expected one of: {', '.join(choices)}")
        out[key] = value
    return out


def nested_recommenders(cls: type[Any]) -> dict[str, inspect.Parameter]:
    """The ``__init__`` parameters of ``cls`` that take a recommender (``BlendRecommender.model``)."""
    hints = _type_hints(cls.__init__)
    return {name: p for name, p in _keyword_parameters(cls.__init__).items()
            if any(isinstance(t, type) and issubclass(t, BaseRecommender) for t in _arms(hints.get(name)))}


def _arms(hint: Any) -> tuple[Any, ...]:
    return typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)


def check_params(cls: type[Any], params: dict[str, Any], section: str,
                 reserved: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check ``params`` (a config's ``[<section>.params]``) against ``cls.__init__``; return them.

    Parameters
    ----------
    cls
        The model class the parameters are for.
    params
        Keyword arguments from the config.
    section
        Config table the parameters come from (``"recommender.params"``), for the messages.
    reserved
        Parameter names set elsewhere in the config (``horizon`` has its own key), refused here.

    Returns
    -------
    dict
        ``params``, with a thread-count keyword renamed to the one ``cls`` accepts
        (``num_threads`` ↔ ``n_jobs``).

    Raises
    ------
    ConfigError
        A name ``cls`` does not accept, or a value of the wrong type; the message names the key,
        the section, the value and the valid names (or the expected type).
    """
    return _check_keywords(cls.__init__, cls.__name__, params, section, reserved)


def read_option_names() -> list[str]:
    """The :func:`cxml.load_events` keywords that say how to read a source (``timestamp_unit``, ``dayfirst``, ...).

    Returns
    -------
    list of str
        Its keyword-only parameters other than the column names and ``keep_columns``, sorted.
    """
    names = set(_keyword_parameters(load_events)) - LOAD_EVENTS_KEYS - {"keep_columns"}
    return sorted(names)


def check_read_options(options: dict[str, Any]) -> dict[str, Any]:
    """Check the reading options of the ``[events]`` table against :func:`cxml.load_events`.

    Parameters
    ----------
    options
        The ``[events]`` keys other than ``path`` and ``columns``.

    Returns
    -------
    dict
        ``options`` unchanged.

    Raises
    ------
    ConfigError
        A key that is not one of :func:`read_option_names`, or a value of the wrong type.
    """
    known = ["path", "columns", *read_option_names()]
    for key, value in options.items():
        if key not in known[2:]:
            raise ConfigError(f"unknown key 'events.{key}' (= {value!r}); expected one of: {', '.join(known)}")
    return _check_keywords(load_events, "load_events", options, "events")


def _check_keywords(func: Any, owner: str, params: dict[str, Any], section: str,
                    reserved: tuple[str, ...] = ()) -> dict[str, Any]:
    signature = _keyword_parameters(func)
    hints = _type_hints(func)
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = key if key in signature or _ALIASES.get(key) not in signature else _ALIASES[key]
        if key in reserved:
            raise ConfigError(f"'{section}.{key}' = {value!r}: set '{key}' in the section itself, not in its params")
        if name not in signature:
            valid = ", ".join(sorted(set(signature) - set(reserved)))
            raise ConfigError(f"unknown key '{section}.{key}' (= {value!r}) for {owner}; expected one of: {valid}")
        expected = hints.get(name, _default_type(signature[name]))
        if not _accepts(value, expected):
            raise ConfigError(f"'{section}.{key}' = {value!r} has the wrong type for {owner}; "
                              f"expected {_describe(expected)}")
        out[name] = value
    return out


def _keyword_parameters(func: Any) -> dict[str, inspect.Parameter]:
    """The parameters of ``func`` that a config can give by name (not ``self``, not ``source``)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = inspect.signature(func).parameters
    return {name: p for name, p in params.items()
            if name != "self" and p.kind in kinds and (func is not load_events or p.kind is p.KEYWORD_ONLY)}


def _type_hints(func: Any) -> dict[str, Any]:
    """The evaluated annotations of ``func``; empty when they cannot be evaluated."""
    try:
        return typing.get_type_hints(func)
    except (NameError, TypeError, AttributeError):  # a name imported only for type checking
        return {}


def _default_type(param: inspect.Parameter) -> Any:
    default = param.default
    if default is inspect.Parameter.empty or default is None:
        return Any
    return type(default)


def _accepts(value: Any, expected: Any) -> bool:
    """Whether a TOML value can stand for a parameter annotated ``expected``."""
    origin = typing.get_origin(expected)
    args = typing.get_args(expected)
    if expected is Any or expected is object:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(value, arm) for arm in args)
    if origin is typing.Literal:
        return value in args
    if expected is type(None):
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    base = origin or expected
    if base in (tuple, list, collections.abc.Sequence):  # a TOML array is a list
        elem = args[0] if args and (base is not tuple or len(args) == 2 and args[1] is Ellipsis) else Any
        return isinstance(value, list | tuple) and all(_accepts(v, elem) for v in value)
    if base in (dict, collections.abc.Mapping):
        return isinstance(value, dict)
    return isinstance(base, type) and isinstance(value, base)


def _describe(expected: Any) -> str:
    if typing.get_origin(expected) in (typing.Union, types.UnionType):
        return " or ".join(_describe(arm) for arm in typing.get_args(expected))
    if expected is type(None):
        return "None"
    return getattr(expected, "__name__", None) or str(expected).replace("typing.", "")
