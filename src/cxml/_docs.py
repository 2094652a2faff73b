"""Shared numpydoc fragments and the decorator that fills them in (imports no cxml code).

A docstring names a fragment on a line of its own, ``{{events}}``, indented like the entry it
stands for; the decorator replaces that line with the fragment, re-indented to match (the way
LightGBM's scikit-learn module composes its docstrings from shared pieces). An argument that many
entry points take is then described once, and every one of them says the same thing.

>>> @fill_doc
... def f(events):
...     '''Do it.
...
...     Parameters
...     ----------
...     {{events}}
...     '''
>>> f.__doc__.splitlines()[4].strip()
'events'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

__all__ = ["COMMON", "doc_filler", "fill_doc"]

_F = TypeVar("_F", bound=Callable[..., object])

#: Fragments every layer may use.
COMMON: Mapping[str, str] = {
    "tracking_uri": """\
tracking_uri
    MLflow tracking and registry URI; default ``None`` means ``$MLFLOW_TRACKING_URI``, else
    ``sqlite:///mlflow.db`` in the working directory.""",
    "events": """\
events
    Events: a canonical table (:func:`cxml.load_events`), a frame with the canonical column
    names that lacks optional columns, or a path to a csv/parquet file or a directory of parquet
    files; normalised once with :func:`cxml.as_events`.""",
    "label_window": """\
as_of
    Date-like start of the label window; a customer exists when it has a purchase row before it.
horizon
    Label window length: a duration such as ``"90D"``, a number of days or a ``Timedelta``.
    The data is not checked to cover the window (:func:`cxml.features.training_frame` does).""",
    "label_raises": """\
SchemaError
    When ``events`` is not an events table.
ParameterError
    When ``as_of`` is not a date or ``horizon`` is not a positive duration with a unit.""",
    "name_value": """\
name
    The argument's name, for the message.
value
    What the caller passed.""",
}

_MARKER = re.compile(r"^(?P<indent>[ \t]*)\{\{(?P<name>\w+)\}\}[ \t]*$", flags=re.M)


def doc_filler(fragments: Mapping[str, str]) -> Callable[[_F], _F]:
    """A decorator that replaces ``{{name}}`` marker lines of a docstring by ``fragments[name]``.

    Parameters
    ----------
    fragments
        Fragment texts by name (unindented numpydoc entries).

    Returns
    -------
    callable
        The decorator; it returns the object it decorates, with its ``__doc__`` filled in. An
        unknown marker raises ``KeyError`` at import time (a bug in cxml's own docstrings).
    """

    def indent(match: re.Match[str]) -> str:
        pad = match["indent"]
        return "\n".join(pad + line if line else line for line in fragments[match["name"]].splitlines())

    def fill(obj: _F) -> _F:
        if obj.__doc__:
            obj.__doc__ = _MARKER.sub(indent, obj.__doc__)
        return obj

    return fill


#: :func:`doc_filler` over :data:`COMMON`.
fill_doc = doc_filler(COMMON)
