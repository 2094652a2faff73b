"""Exceptions and warnings raised by cxml.

Every error subclasses :class:`CxmlError` *and* the builtin a caller would naturally
catch (``SchemaError`` is a ``ValueError``, ``NotFittedError`` an ``AttributeError`` ...),
so ``except ValueError`` keeps working for code that does not know about cxml.

Examples
--------
>>> import cxml
>>> issubclass(cxml.SchemaError, ValueError) and issubclass(cxml.SchemaError, cxml.CxmlError)
True
"""

from __future__ import annotations


class CxmlError(Exception):
    """Base class of every error raised on purpose by cxml."""


class SchemaError(CxmlError, ValueError):
    """An events table (or another input frame) does not follow the expected schema."""


class ParameterError(CxmlError, ValueError):
    """A hyper-parameter or call argument is invalid: wrong type, out of range, or not one of the choices.

    Data problems raise :class:`SchemaError`; this is for what the caller typed (``k=0``,
    ``as_of=20240101``, ``horizon="90"``, ``factors=-1``).
    """


class SourceError(CxmlError, FileNotFoundError):
    """A data source path does not exist or has a format cxml cannot read."""


class NotFittedError(CxmlError, ValueError, AttributeError):
    """A model method that needs a fitted model was called before ``fit``."""


class UnknownIdError(CxmlError, KeyError):
    """Ids were looked up strictly and some are not known."""

    def __str__(self) -> str:  # KeyError quotes its message; a person wants it plain
        return str(self.args[0]) if self.args else ""


class LeakageError(CxmlError, ValueError):
    """A request would let information from after the label window start leak into training."""


class InsufficientDataError(CxmlError, ValueError):
    """The events do not cover what the request needs (e.g. no fully observed label window)."""


class ConvergenceError(CxmlError, RuntimeError):
    """An optimiser did not converge and the caller asked for strict convergence."""


class MemoryBudgetError(CxmlError, MemoryError):
    """A model would need more memory than allowed (e.g. EASE's dense item-item matrix)."""


class BundleError(CxmlError, ValueError):
    """A model bundle is missing, tampered with, of an unknown format, or unsafe to load."""


class OutputExistsError(CxmlError, FileExistsError):
    """An output path already holds something cxml must not replace without being asked."""


class MissingModelError(CxmlError, LookupError):
    """A Scorer was asked for a model that its bundle does not hold."""


class ConfigError(CxmlError, ValueError):
    """A training configuration is invalid (unknown key, wrong type, missing field)."""


class CxmlWarning(UserWarning):
    """Base class of warnings issued by cxml."""


class DataWarning(CxmlWarning):
    """Input rows were handled in a documented way (dropped, converted, ignored) and counted."""


class ConvergenceWarning(CxmlWarning):
    """An optimiser stopped without meeting its convergence criterion."""


#: every error and warning class defined above, so that a new one is exported by being written
__all__ = sorted(
    name
    for name, obj in list(globals().items())
    if isinstance(obj, type) and issubclass(obj, (CxmlError, CxmlWarning))
)
