"""cxml: recommendations, churn risk and customer lifetime value from events.

>>> import cxml
>>> sorted(cxml.__all__)[:3]
['BundleError', 'Columns', 'ConfigError']
"""

import logging
from typing import TYPE_CHECKING, Any

from cxml._version import __version__
from cxml.data import IdMap, as_events, load_events
from cxml.exceptions import (
    BundleError,
    ConfigError,
    ConvergenceError,
    ConvergenceWarning,
    CxmlError,
    CxmlWarning,
    DataWarning,
    InsufficientDataError,
    LeakageError,
    MemoryBudgetError,
    MissingModelError,
    NotFittedError,
    OutputExistsError,
    ParameterError,
    SchemaError,
    SourceError,
    UnknownIdError,
)
from cxml.schema import Columns, EventTypes, validate_events

if TYPE_CHECKING:
    from cxml.scoring import Scorer


def __getattr__(name: str) -> Any:
    # ``cxml.Scorer`` is resolved on first use so that ``import cxml.recommend`` (or ``cxml.churn``)
    # loads only what it needs, not the bundle/scoring layers above it and their dependencies
    if name == "Scorer":
        from cxml.scoring import Scorer

        return Scorer
    raise AttributeError(f"module 'cxml' has no attribute {name!r}")


# a library adds only a NullHandler: where records go is the application's choice
logging.getLogger("cxml").addHandler(logging.NullHandler())

__all__ = [
    "BundleError",
    "Columns",
    "ConfigError",
    "ConvergenceError",
    "ConvergenceWarning",
    "CxmlError",
    "CxmlWarning",
    "DataWarning",
    "EventTypes",
    "IdMap",
    "InsufficientDataError",
    "LeakageError",
    "MemoryBudgetError",
    "MissingModelError",
    "NotFittedError",
    "OutputExistsError",
    "ParameterError",
    "SchemaError",
    "Scorer",
    "SourceError",
    "UnknownIdError",
    "__version__",
    "as_events",
    "load_events",
    "validate_events",
]
