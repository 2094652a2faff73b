"""cxml: recommendations, churn risk and customer lifetime value from events.

>>> import cxml
>>> sorted(cxml.__all__)[:3]
['BundleError', 'Columns', 'ConfigError']
"""

import logging

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
from cxml.scoring import Scorer

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
