"""cxml: recommendations, churn risk and customer lifetime value from events.

>>> import cxml
>>> sorted(cxml.__all__)[:3]
['BundleError', 'Columns', 'ConfigError']
"""

import logging

from cxml.data import IdMap, load_events
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
    SchemaError,
    SourceError,
    UnknownIdError,
)
from cxml.schema import Columns, EventTypes, validate_events
from cxml.scoring import Scorer

__version__ = "0.1.0"

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
    "SchemaError",
    "Scorer",
    "SourceError",
    "UnknownIdError",
    "__version__",
    "load_events",
    "validate_events",
]
