"""Multi-snapshot training frames and the leakage guard.

Leakage rules, checked by :func:`training_frame` (both raise :class:`cxml.LeakageError`):

1. **Label window not covered.** The label window of cutoff ``c`` is ``[c, c + horizon)``. The
   data covers it when its latest timestamp (any event type) falls on or after the window's
   last calendar day, i.e. ``floor_day(max timestamp) >= floor_day(c + horizon − 1ns)``. Day
   granularity is deliberate: daily data (CDNOW) ends at midnight of its last day, and that day
   counts as observed. Otherwise customers would look churned only because the data ends.
   A caller that knows where observation ends — e.g. a model fitted ``as_of=T`` on the events
   before ``T``, whose last days may simply be quiet — passes ``observed_until=T`` instead, and
   the rule becomes ``c + horizon <= observed_until``.
2. **Features from the future.** Precomputed ``features=`` frames must carry the ``as_of`` that
   :func:`customer_features` records in ``attrs["cxml_as_of"]``; one later than its cutoff (or
   without that record) is refused.

:func:`snapshot_cutoffs` gives cutoffs whose label windows end on or before a given ``as_of``,
which is what a model fitted "as of T" may train on.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxml._docs import fill_doc
from cxml.data import as_events
from cxml.exceptions import DataWarning, InsufficientDataError, LeakageError, ParameterError, SchemaError
from cxml.features._base import FEEDBACK_KINDS, prepare
from cxml.features.core import (
    DEFAULT_WINDOWS,
    features_from_prepared,
    parse_windows,
    types_from_columns,
)
from cxml.features.labels import CHURNED, FUTURE_VALUE, labels_from_prepared
from cxml.schema import Columns, parse_as_of, parse_horizon

__all__ = ["LABEL_COLUMNS", "check_label_coverage", "snapshot_cutoffs", "training_frame"]

#: columns :func:`training_frame` adds after the features
LABEL_COLUMNS = (Columns.CUTOFF, CHURNED, FUTURE_VALUE)


def snapshot_cutoffs(as_of: Any, horizon: Any, n: int = 4, *, step: Any = None) -> list[pd.Timestamp]:
    """``n`` cutoffs, oldest first, whose label windows end on or before ``as_of``.

    The latest is ``as_of − horizon``; each earlier one is ``step`` (default: ``horizon``) before.

    Parameters
    ----------
    as_of
        Date-like end of the observed data (exclusive); the last label window ends here.
    horizon
        Label window length (e.g. ``"90D"``, a Timedelta or a number of days).
    n
        Number of cutoffs (≥ 1).
    step
        Distance between consecutive cutoffs; ``None`` means ``horizon`` (non-overlapping windows).

    Returns
    -------
    list of pandas.Timestamp
        ``n`` cutoffs, oldest first.

    Raises
    ------
    SchemaError
        ``as_of``, ``horizon`` or ``step`` cannot be parsed, or ``n`` is not a positive integer.

    Examples
    --------
    >>> [str(c.date()) for c in snapshot_cutoffs("2011-09-01", "90D", 3)]
    ['2010-12-05', '2011-03-05', '2011-06-03']
    """
    ts = parse_as_of(as_of)
    h = parse_horizon(horizon)
    s = h if step is None else parse_horizon(step, "step")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ParameterError(f"n={n!r} must be a positive number of cutoffs")
    return [ts - h - i * s for i in range(int(n) - 1, -1, -1)]


def check_label_coverage(
    events: pd.DataFrame, cutoffs: Sequence[Any], horizon: Any, *, observed_until: Any = None
) -> None:
    """Raise :class:`cxml.LeakageError` unless the data covers every cutoff's label window.

    See the module docstring for the rule; ``observed_until`` (exclusive) replaces the data's
    last day when given.

    Parameters
    ----------
    events
        Canonical events table; only its ``timestamp`` column is read (the latest event, any type),
        and only when ``observed_until`` is not given.
    cutoffs
        Date-likes; the label window of each is ``[cutoff, cutoff + horizon)``.
    horizon
        Label window length: a duration such as ``"90D"``, a number of days or a ``Timedelta``.
    observed_until
        Date-like end of observation (exclusive), e.g. a model's ``as_of``; every window must end by
        it (``cutoff + horizon <= observed_until``). Default ``None``: the window's last calendar
        day must be on or before the day of the latest event.

    Returns
    -------
    None
        When every window is covered.

    Raises
    ------
    LeakageError
        When a cutoff's label window is not covered; the message names the latest usable cutoff.
    InsufficientDataError
        When ``observed_until`` is not given and ``events`` has no rows.
    SchemaError
        When ``horizon`` is not a positive duration, or a cutoff or ``observed_until`` is not a date.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-01-20"]}))
    >>> check_label_coverage(ev, ["2024-01-01"], "20D")  # the window's last day, 01-20, is observed
    >>> check_label_coverage(ev, ["2024-01-02"], "20D")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cxml.exceptions.LeakageError: cutoff 2024-01-02 ... the events end on 2024-01-20; ...
    >>> check_label_coverage(ev, ["2024-01-02"], "20D", observed_until="2024-01-22")
    """
    h = parse_horizon(horizon)
    if observed_until is not None:
        end = parse_as_of(observed_until, "observed_until")
        for c in (parse_as_of(x, "cutoffs") for x in cutoffs):
            if c + h > end:
                raise LeakageError(
                    f"cutoff {c} with horizon {h} needs labels for [{c}, {c + h}) but observation "
                    f"ends at observed_until={end}; use cutoffs <= {end - h}"
                )
        return
    ts = as_events(events)[Columns.TIMESTAMP]
    if len(ts) == 0:
        raise InsufficientDataError("the events table is empty; labels need observed events")
    last_day = pd.Timestamp(ts.max()).normalize()
    for c in (parse_as_of(x, "cutoffs") for x in cutoffs):
        window_last_day = (c + h - pd.Timedelta(1, "ns")).normalize()
        if last_day < window_last_day:
            latest = last_day + pd.Timedelta(days=1) - h
            raise LeakageError(
                f"cutoff {c} with horizon {h} needs labels for [{c}, {c + h}) but the events end "
                f"on {last_day.date()}; the window is not fully observed. Use cutoffs <= {latest}"
            )


@fill_doc
def training_frame(
    events: pd.DataFrame,
    cutoffs: Sequence[Any],
    horizon: Any,
    *,
    windows: Sequence[Any] = DEFAULT_WINDOWS,
    event_types: Sequence[str] | None = None,
    feedback_types: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    features: Sequence[pd.DataFrame] | None = None,
    observed_until: Any = None,
) -> pd.DataFrame:
    """Features and labels of every customer existing at each cutoff, stacked.

    Parameters
    ----------
    {{events}}
    cutoffs
        Snapshot dates; features use events before each, labels ``[cutoff, cutoff + horizon)``.
    horizon
        Label window length, e.g. ``"90D"``.
    windows, event_types, feedback_types, columns
        As in :func:`customer_features`. Every snapshot gets the same columns: by default the
        engagement types and feedback kinds present before the latest cutoff.
    features
        Optional precomputed feature frames, one per cutoff (from :func:`customer_features`);
        rows are matched to the labelled customers by ``customer_id``.
    observed_until
        Where observation ends (exclusive), e.g. a model's ``as_of``; every label window must end
        by it. Default: the last day with an event (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (repeated across cutoffs), feature columns then ``cutoff``,
        ``churned`` (int8) and ``future_value``; ``attrs["cxml_feature_names"]`` lists the features.

    Raises
    ------
    LeakageError
        A label window is not covered by the data, or a ``features`` frame is later than its cutoff
        (or does not record its ``as_of``).
    InsufficientDataError
        ``events`` is empty (without ``observed_until``), or no customer exists at any cutoff.
    SchemaError
        ``events`` is not a canonical events table; ``cutoffs`` is empty, not a list, holds a
        non-date or repeats a date; ``horizon``, ``windows`` or ``columns`` is invalid, or ``columns``
        comes with ``event_types``/``feedback_types``; ``features`` does not hold one frame per cutoff
        or its frames have different columns.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "b", "a", "b"],
    ...     "timestamp": ["2024-01-01", "2024-01-05", "2024-02-10", "2024-03-30"]}))
    >>> T = training_frame(ev, cutoffs=["2024-02-01", "2024-03-01"], horizon="30D", windows=["30D"])
    >>> T[["cutoff", "churned"]].reset_index().values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['a', Timestamp('2024-02-01 00:00:00'), 0], ['b', Timestamp('2024-02-01 00:00:00'), 1],
     ['a', Timestamp('2024-03-01 00:00:00'), 1], ['b', Timestamp('2024-03-01 00:00:00'), 0]]
    """
    events = as_events(events)
    if isinstance(cutoffs, str) or not isinstance(cutoffs, Sequence) or len(cutoffs) == 0:
        raise ParameterError(f"cutoffs={cutoffs!r} must be a non-empty list of dates")
    cuts = [parse_as_of(c, "cutoffs") for c in cutoffs]
    if len(set(cuts)) != len(cuts):
        raise ParameterError(f"cutoffs={list(cutoffs)!r} repeat a date; expected distinct cutoffs")
    h = parse_horizon(horizon)
    wins = parse_windows(windows)
    check_label_coverage(events, cuts, h, observed_until=observed_until)
    if features is not None:
        _check_features(features, cuts)
    event_types, feedback_types = types_from_columns(columns, event_types, feedback_types, wins)

    p = prepare(events, max(cuts) + h)
    if features is None and event_types is None:
        seen = p.eng[(p.ts < max(cuts).value) & (p.eng >= 0)]
        event_types = [p.eng_names[i] for i in np.unique(seen)]
    if features is None and feedback_types is None:
        present = set(np.unique(p.fb[(p.ts < max(cuts).value) & (p.fb >= 0)]).tolist())
        feedback_types = [k for i, k in enumerate(FEEDBACK_KINDS) if i in present]

    parts = []
    for i, cut in enumerate(cuts):
        labels = labels_from_prepared(p, cut, h)
        if features is None:
            x = features_from_prepared(
                p, cut, wins, event_types=event_types, feedback_types=feedback_types, columns=columns
            )
        else:
            x = _align(features[i], labels.index, cut)
            labels = labels.loc[x.index]
        frame = x.copy()
        frame[Columns.CUTOFF] = cut
        frame[CHURNED] = labels[CHURNED].to_numpy()
        frame[FUTURE_VALUE] = labels[FUTURE_VALUE].to_numpy()
        parts.append(frame)
    if not any(len(x) for x in parts):
        raise InsufficientDataError(
            f"no customer exists (has a purchase before) any of the cutoffs {[str(c) for c in cuts]}"
        )
    out = pd.concat(parts)
    out.index.name = Columns.CUSTOMER
    out.attrs["cxml_feature_names"] = [c for c in out.columns if c not in LABEL_COLUMNS]
    return out


def _check_features(features: Sequence[pd.DataFrame], cuts: Sequence[pd.Timestamp]) -> None:
    if len(features) != len(cuts):
        raise SchemaError(f"features has {len(features)} frames for {len(cuts)} cutoffs; expected one each")
    for x, cut in zip(features, cuts, strict=True):
        stamp = x.attrs.get("cxml_as_of")
        if stamp is None:
            raise LeakageError(
                f"features for cutoff {cut} carry no attrs['cxml_as_of']; cannot prove they use only "
                "events before the cutoff (build them with customer_features)"
            )
        if pd.Timestamp(stamp) > cut:
            raise LeakageError(
                f"features computed as of {stamp} are later than their cutoff {cut}; they would see "
                "the label window"
            )
    first = list(features[0].columns)
    for x in features[1:]:
        if list(x.columns) != first:
            raise SchemaError("features frames have different columns; pass columns= to customer_features")


def _align(x: pd.DataFrame, customers: pd.Index, cut: pd.Timestamp) -> pd.DataFrame:
    """Rows of ``x`` for the labelled customers; customers without features are counted and dropped."""
    missing = ~customers.isin(x.index)
    if missing.any():
        warnings.warn(
            f"{int(missing.sum())} of {len(customers)} customers existing at cutoff {cut} have no row "
            "in the given features; they are left out",
            DataWarning,
            stacklevel=3,
        )
    return x.loc[customers[~missing]]
