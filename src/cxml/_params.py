"""scikit-learn's constructor convention in one call (imports no cxml code).

An estimator's ``__init__`` stores every argument, unchanged and unvalidated, as the attribute of
the same name: ``get_params``, ``set_params`` and ``clone`` read them back by the names in the
signature, and ``fit`` checks them. :func:`keep_init_args` does that for all of them at once, so
that a constructor is its signature (with types and defaults) plus one line. A subclass that
declares only its own keywords and passes the rest on through ``**shared`` shows the full signature
once its base's ``__init_subclass__`` calls :func:`show_passed_on`.

>>> class Model:
...     def __init__(self, *, alpha=1.0, iterations=10):
...         keep_init_args(self, locals())
>>> vars(Model(alpha=0.5))
{'alpha': 0.5, 'iterations': 10}
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

__all__ = ["keep_init_args", "show_passed_on"]


def keep_init_args(obj: object, args: Mapping[str, Any]) -> None:
    """Set ``obj.<name> = args[name]`` for every parameter of ``type(obj).__init__`` found in ``args``.

    Parameters
    ----------
    obj
        The estimator being constructed.
    args
        The ``__init__``'s ``locals()``. Names of the signature that are absent (e.g. the settings a
        subclass passes on to its base's ``__init__`` through ``**kwargs``) are left to that base.
    """
    for name, param in inspect.signature(type(obj).__init__).parameters.items():
        if name != "self" and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD) and name in args:
            setattr(obj, name, args[name])


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
