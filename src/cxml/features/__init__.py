"""Point-in-time customer features, outcome labels and multi-snapshot training frames.

Only events with ``timestamp < as_of`` feed features; labels look at ``[as_of, as_of + horizon)``.
A customer exists at ``as_of`` when it has a purchase row before it; every function returns one
row per existing customer, indexed by ``customer_id`` in sorted order.

Stable columns between fit and predict: pass the fitted column list back,
``customer_features(events, as_of, columns=list(X_fit.columns))`` (see :mod:`cxml.features.core`).
Training on several snapshots whose label windows end by ``as_of``::

    cuts = snapshot_cutoffs(as_of, "90D", n=4)
    T = training_frame(events, cuts, "90D")          # raises LeakageError on uncovered windows
    X, y = T[T.attrs["cxml_feature_names"]], T["churned"]

>>> from cxml.features import customer_features, churn_labels, future_value, training_frame
"""

from cxml.features.core import DEFAULT_WINDOWS, customer_features
from cxml.features.labels import CHURNED, FUTURE_VALUE, churn_labels, future_value
from cxml.features.training import (
    LABEL_COLUMNS,
    check_label_coverage,
    snapshot_cutoffs,
    training_frame,
)

__all__ = [
    "CHURNED",
    "DEFAULT_WINDOWS",
    "FUTURE_VALUE",
    "LABEL_COLUMNS",
    "check_label_coverage",
    "churn_labels",
    "customer_features",
    "future_value",
    "snapshot_cutoffs",
    "training_frame",
]
