"""``customer_features``: the point-in-time feature table, and its column contract.

Column sets: purchase columns depend only on ``windows``. Engagement and feedback columns
depend on the event types, which by default are *the ones found before as_of* — so a frame
built on other data can have other columns. A model that must see the same columns at fit and
predict time passes the fitted column list back::

    X_fit = customer_features(train_events, as_of=t0)
    cols = list(X_fit.columns)
    X_new = customer_features(new_events, as_of=t1, columns=cols)   # exactly `cols`, same order

``columns=`` infers the engagement types and feedback kinds from the names, computes them
(a type absent from the new data gives 0 counts and NaN days) and returns exactly those columns.
``event_types=`` / ``feedback_types=`` fix the type lists explicitly instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from cxml._docs import fill_doc
from cxml.data import as_events
from cxml.exceptions import ParameterError
from cxml.features._base import FEEDBACK_KINDS, Prepared, prepare, window_label
from cxml.features.customer import purchase_columns, purchase_features
from cxml.features.engagement import (
    engagement_columns,
    engagement_features,
    feedback_columns,
    feedback_features,
)
from cxml.schema import Columns, parse_as_of, parse_horizon

__all__ = ["DEFAULT_WINDOWS", "customer_features", "features_from_prepared", "features_of_trusted", "parse_windows",
           "types_from_columns"]

DEFAULT_WINDOWS = ("30D", "90D", "365D")


@fill_doc
def customer_features(
    events: pd.DataFrame,
    as_of: Any,
    *,
    windows: Sequence[Any] = DEFAULT_WINDOWS,
    event_types: Sequence[str] | None = None,
    feedback_types: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Point-in-time features of every customer that exists at ``as_of``.

    Only events with ``timestamp < as_of`` are used. A customer exists when it has at least one
    purchase row (:func:`cxml.schema.purchase_mask`) before ``as_of``. Column definitions are in
    :mod:`cxml.features.customer` (purchases) and :mod:`cxml.features.engagement`.

    Parameters
    ----------
    {{events}}
    as_of
        Date-like; features describe the history strictly before it.
    windows
        Look-back windows for the per-window counts, spend and trends.
    event_types
        Engagement types to build columns for; default: those present before ``as_of``.
    feedback_types
        Feedback kinds (subset of ``nps, csat, ces, rating``); default: those present.
    columns
        Return exactly these columns in this order (e.g. the columns a model was fitted on);
        the types and kinds are inferred from the names. Excludes the two arguments above.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted), one row per existing customer. Days are float32,
        counts int32, money float64. ``attrs`` records ``cxml_as_of``, ``cxml_windows``,
        ``cxml_event_types`` and ``cxml_feedback_types``.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "timestamp": ["2024-01-01", "2024-01-11", "2024-02-01"], "amount": [10.0, 30.0, 5.0]}))
    >>> X = customer_features(ev, as_of="2024-01-21", windows=["30D"])
    >>> X.loc["a", ["recency_days", "n_orders", "spend_total", "ipt_mean_days"]].to_dict()
    {'recency_days': 10.0, 'n_orders': 2.0, 'spend_total': 40.0, 'ipt_mean_days': 10.0}
    """
    return features_of_trusted(
        as_events(events), as_of, windows=windows, event_types=event_types, feedback_types=feedback_types,
        columns=columns,
    )


def features_of_trusted(
    events: pd.DataFrame,
    as_of: Any,
    *,
    windows: Sequence[Any],
    event_types: Sequence[str] | None,
    feedback_types: Sequence[str] | None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`customer_features` of an events table that is already canonical (not normalised again).

    For cxml's own callers that received their events through :func:`cxml.data.as_events`; the
    arguments and the result are those of :func:`customer_features`, whose defaults are the only
    ones: an internal caller names the windows and types it wants.
    """
    ts = parse_as_of(as_of)
    wins = parse_windows(windows)
    event_types, feedback_types = types_from_columns(columns, event_types, feedback_types, wins)
    p = prepare(events, ts)
    return features_from_prepared(
        p, ts, wins, event_types=event_types, feedback_types=feedback_types, columns=columns
    )


def parse_windows(windows: Sequence[Any]) -> list[pd.Timedelta]:
    """Parse and check the look-back windows (distinct positive durations)."""
    if isinstance(windows, str) or not isinstance(windows, Sequence):
        raise ParameterError(f"windows={windows!r} must be a sequence of durations such as ('30D', '90D')")
    wins = [parse_horizon(w, "windows") for w in windows]
    labels = [window_label(w) for w in wins]
    if len(set(labels)) != len(labels):
        raise ParameterError(f"windows={list(windows)!r} repeat a duration; expected distinct windows")
    return wins


def features_from_prepared(
    p: Prepared,
    as_of: pd.Timestamp,
    windows: Sequence[pd.Timedelta],
    *,
    event_types: Sequence[str] | None = None,
    feedback_types: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Features at ``as_of`` from prepared arrays (rows at or after ``as_of`` are ignored)."""
    as_of_ns = as_of.value
    before = p.ts < as_of_ns
    if not before.all():
        p = _subset(p, before)
    if event_types is None:
        event_types = [p.eng_names[i] for i in np.unique(p.eng[p.eng >= 0])]
    if feedback_types is None:
        present = set(np.unique(p.fb[p.fb >= 0]).tolist())
        feedback_types = [k for i, k in enumerate(FEEDBACK_KINDS) if i in present]
    else:
        _check_kinds(feedback_types)

    exists = np.bincount(p.cust[p.is_purchase], minlength=p.n_customers) > 0
    data = purchase_features(p, as_of_ns, windows)
    data.update(engagement_features(p, as_of_ns, windows, event_types))
    data.update(feedback_features(p, as_of_ns, feedback_types))
    names = (
        purchase_columns(windows)
        + engagement_columns(event_types, windows)
        + feedback_columns(feedback_types)
    )
    frame = pd.DataFrame({name: data[name][exists] for name in names}, index=p.ids[exists])
    frame.index.name = Columns.CUSTOMER
    if columns is not None:
        frame = frame[list(columns)]
    frame.attrs.update(
        cxml_as_of=as_of.isoformat(),
        cxml_windows=[window_label(w) for w in windows],
        cxml_event_types=list(event_types),
        cxml_feedback_types=list(feedback_types),
    )
    return frame


def _subset(p: Prepared, mask: np.ndarray) -> Prepared:
    return replace(
        p,
        cust=p.cust[mask],
        ts=p.ts[mask],
        day=p.day[mask],
        is_purchase=p.is_purchase[mask],
        is_ptype=p.is_ptype[mask],
        is_return=p.is_return[mask],
        amount=p.amount[mask],
        item=p.item[mask],
        order=None if p.order is None else p.order[mask],
        eng=p.eng[mask],
        fb=p.fb[mask],
        value=p.value[mask],
    )


def _check_kinds(kinds: Sequence[str]) -> None:
    bad = [k for k in kinds if k not in FEEDBACK_KINDS]
    if bad:
        raise ParameterError(
            f"feedback_types has unknown kinds {bad!r}; expected some of {list(FEEDBACK_KINDS)}"
        )


def types_from_columns(
    columns: Sequence[str] | None,
    event_types: Sequence[str] | None,
    feedback_types: Sequence[str] | None,
    windows: Sequence[pd.Timedelta],
) -> tuple[Sequence[str] | None, Sequence[str] | None]:
    """Engagement types and feedback kinds named by ``columns`` (or the explicit lists).

    The column contract of :func:`customer_features`: a model that stores its fitted columns gets
    back the types and kinds that rebuild exactly those columns.

    Parameters
    ----------
    columns
        Feature column names made by :func:`customer_features`, or ``None``.
    event_types, feedback_types
        Explicit lists (only when ``columns`` is ``None``).
    windows
        The look-back windows the columns were made with.

    Returns
    -------
    tuple
        ``(event_types, feedback_types)``; both as given when ``columns`` is ``None``.

    Raises
    ------
    ParameterError
        ``columns`` together with explicit lists, a str, or names that are not customer features.
    """
    if columns is None:
        return event_types, feedback_types
    if event_types is not None or feedback_types is not None:
        raise ParameterError("pass either columns= or event_types=/feedback_types=, not both")
    if isinstance(columns, str):
        raise ParameterError(f"columns={columns!r} must be a list of column names")
    fixed = set(purchase_columns(windows)) | {"days_since_engagement", "days_since_feedback"}
    fixed |= {"nps_promoter", "nps_detractor"}
    labels = "|".join(re.escape(window_label(w)) for w in windows)
    eng_re = re.compile(rf"^eng_(?P<t>.+?)_(?:n_(?:{labels})|days_since)$")
    kinds = "|".join(FEEDBACK_KINDS)
    fb_re = re.compile(rf"^fb_(?P<k>{kinds})_(?:last|mean|n|days_since)$")
    types: list[str] = []
    found: set[str] = set()
    unknown = []
    for col in columns:
        if col in fixed:
            if col.startswith("nps_"):
                found.add("nps")
            continue
        if m := eng_re.match(col):
            if m["t"] not in types:
                types.append(m["t"])
        elif m := fb_re.match(col):
            found.add(m["k"])
        else:
            unknown.append(col)
    if unknown:
        raise ParameterError(
            f"columns has {len(unknown)} names that are not customer features for windows "
            f"{[window_label(w) for w in windows]} (first: {unknown[0]!r}); expected names made by "
            "customer_features"
        )
    return types, [k for k in FEEDBACK_KINDS if k in found]
