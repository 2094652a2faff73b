"""Small argument checks shared by every estimator and entry point.

Each raises :class:`~cxml.ParameterError` naming the argument, the value it got and what was
expected, so that a hyper-parameter check is one line instead of a hand-written ``if``/``raise``.

Examples
--------
>>> check_int("k", 10, minimum=1)
10
>>> check_int("k", 0, minimum=1)
Traceback (most recent call last):
...
cxml.exceptions.ParameterError: k=0 must be an integer >= 1
>>> check_fraction("test_fraction", 0.2)
0.2
>>> check_choice("weight", "count", ("count", "quantity"))
'count'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Any, TypeVar

from cxml._docs import fill_doc
from cxml.exceptions import ParameterError

__all__ = [
    "check_bool",
    "check_choice",
    "check_float",
    "check_fraction",
    "check_int",
    "check_random_state",
]

_T = TypeVar("_T")


def _range_text(minimum: float | None, maximum: float | None, kind: str) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} in [{minimum:g}, {maximum:g}]"
    if minimum is not None:
        return f"{kind} >= {minimum:g}"
    if maximum is not None:
        return f"{kind} <= {maximum:g}"
    return kind


def _is_finite_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


@fill_doc
def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as a Python int (bool refused; numpy ints accepted) within ``[minimum, maximum]``.

    Parameters
    ----------
    {{name_value}}
    minimum, maximum
        Inclusive bounds; ``None`` means unbounded.

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        When ``value`` is not an integer or lies outside the bounds.
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
        return int(value)
    raise ParameterError(f"{name}={value!r} must be {_range_text(minimum, maximum, 'an integer')}")


@fill_doc
def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> float:
    """``value`` as a finite float (bool refused) within ``[minimum, maximum]``.

    Parameters
    ----------
    name
        The argument's name, for the message.
    value
        What the caller passed (int, float, numpy number).
    minimum, maximum
        Bounds; ``None`` means unbounded. ``maximum`` is inclusive.
    exclusive_minimum
        ``True``: ``value`` must be strictly greater than ``minimum``.

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        When ``value`` is not a finite real number or lies outside the bounds.
    """
    if _is_finite_real(value):
        v = float(value)
        low_ok = minimum is None or (v > minimum if exclusive_minimum else v >= minimum)
        if low_ok and (maximum is None or v <= maximum):
            return v
    kind = "a finite number"
    if exclusive_minimum and minimum is not None:
        bound = f"{kind} > {minimum:g}" + (f" and <= {maximum:g}" if maximum is not None else "")
    else:
        bound = _range_text(minimum, maximum, kind)
    raise ParameterError(f"{name}={value!r} must be {bound}")


@fill_doc
def check_fraction(name: str, value: Any, *, closed: bool = False) -> float:
    """``value`` as a float strictly between 0 and 1 (``closed=True``: 0 and 1 allowed).

    Parameters
    ----------
    {{name_value}}
    closed
        Whether the end points 0 and 1 are allowed.

    Returns
    -------
    float
        ``value`` as a Python float, in ``(0, 1)`` or, when ``closed``, in ``[0, 1]``.

    Raises
    ------
    ParameterError
        When ``value`` is not a number in the interval.
    """
    if _is_finite_real(value) and (0.0 <= float(value) <= 1.0 if closed else 0.0 < float(value) < 1.0):
        return float(value)
    interval = "[0, 1]" if closed else "(0, 1)"
    raise ParameterError(f"{name}={value!r} must be a fraction in {interval}")


@fill_doc
def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is a bool (numpy bools accepted); anything else is refused.

    Parameters
    ----------
    {{name_value}}

    Returns
    -------
    bool

    Raises
    ------
    ParameterError
        When ``value`` is not ``True`` or ``False``.
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise ParameterError(f"{name}={value!r} must be True or False")


@fill_doc
def check_choice(name: str, value: _T, choices: Collection[_T]) -> _T:
    """``value`` if it is one of ``choices``.

    Parameters
    ----------
    {{name_value}}
    choices
        The allowed values.

    Returns
    -------
    The value unchanged.

    Raises
    ------
    ParameterError
        Listing the choices.
    """
    try:
        if value in choices:
            return value
    except TypeError:  # unhashable value against a set
        pass
    listed = ", ".join(repr(c) for c in choices)
    raise ParameterError(f"{name}={value!r} is not one of {listed}")


def check_random_state(value: Any, name: str = "random_state") -> int | None:
    """A seed: ``None`` (fresh entropy) or a non-negative int below 2**32.

    Parameters
    ----------
    value
        What the caller passed.
    name
        The argument's name, for the message (default ``"random_state"``).

    Returns
    -------
    int or None

    Raises
    ------
    ParameterError
        For anything else (a float, a negative int, a ``numpy.random.Generator`` ...).
    """
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= int(value) < 2**32:
        return int(value)
    raise ParameterError(f"{name}={value!r} must be None or an integer in [0, 2**32)")
