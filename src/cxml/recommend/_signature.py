"""The keyword parameters every recommender takes from :class:`~cxml.recommend.BaseRecommender`, and
the signature a subclass ``__init__`` shows when it passes them on through ``**shared``.

A subclass declares only its own parameters and ends its keyword list with
``**shared: Unpack[RepeatParams]`` (so type checkers still know the shared names and types);
:func:`show_passed_on` then gives its ``__init__`` the full keyword-only signature, own parameters
first, so ``inspect.signature``, ``get_params``/``set_params``/``clone``, ``repr`` and ``help()``
see every parameter.
"""

from __future__ import annotations

import inspect
from typing import Any, TypedDict

__all__ = ["RepeatParams", "show_passed_on"]


class RepeatParams(TypedDict, total=False):
    """The keywords of ``BaseRecommender.__init__`` (the repeat-purchase blend), for ``**shared``."""

    repeat_weight: float
    repeat_half_life: float | None


def show_passed_on(cls: type[Any]) -> None:
    """Give ``cls.__init__`` its own keywords followed by the parent's ones it passes on via ``**``.

    Nothing changes when ``cls`` defines no ``__init__`` or one without a ``**`` parameter (it then
    lists every parameter itself).

    Parameters
    ----------
    cls
        A class whose ``__init__`` takes keyword-only parameters and may end with ``**shared``.
    """
    init = cls.__dict__.get("__init__")
    if init is None:
        return
    signature = inspect.signature(init)
    *own, last = signature.parameters.values()
    if last.kind != last.VAR_KEYWORD:
        return
    names = {p.name for p in own}
    parent = inspect.signature(super(cls, cls).__init__).parameters.values()
    passed_on = [p for p in parent if p.kind == p.KEYWORD_ONLY and p.name not in names]
    init.__signature__ = signature.replace(parameters=[*own, *passed_on])
