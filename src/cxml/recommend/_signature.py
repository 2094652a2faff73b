"""The keyword parameters every recommender takes from :class:`~cxml.recommend.BaseRecommender`, and
the signature a subclass ``__init__`` shows when it passes them on through ``**shared``.

A subclass declares only its own parameters and ends its keyword list with
``**shared: Unpack[RepeatParams]`` (so type checkers still know the shared names and types);
:func:`cxml._params.show_passed_on` then gives its ``__init__`` the full keyword-only signature, own parameters
first, so ``inspect.signature``, ``get_params``/``set_params``/``clone``, ``repr`` and ``help()``
see every parameter.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = ["RepeatParams"]


class RepeatParams(TypedDict, total=False):
    """The keywords of ``BaseRecommender.__init__`` (the repeat-purchase blend), for ``**shared``."""

    repeat_weight: float
    repeat_half_life: float | None
