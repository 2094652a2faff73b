"""RFM scores and named segments; customer-experience scores (NPS, CSAT, CES).

RFM (:func:`rfm_segments`), per customer existing at ``as_of`` (events before ``as_of`` only):

- ``recency_days`` = days since the last purchase row, ``frequency`` = distinct orders
  (``order_id``, else customer-days), ``monetary`` = net spend (refunds included);
- quintile scores 1..5 from ranks: ``score = 1 + floor((rank − 1) · 5 / n)`` where ``rank`` is
  the *minimum* rank of ties, so equal values always get the same score (the lowest of their
  group) and many one-time buyers all get ``f = 1``. Recency is ranked reversed (recent = 5).
- segment: the first matching rule, with ``fm = (f + m) / 2``:

  ===============  ===========================  =========================================
  segment          rule                         reading
  ===============  ===========================  =========================================
  champions        r ≥ 4 and fm ≥ 4             bought recently, often, for a lot
  loyal            r ≥ 3 and fm ≥ 3             regular, valuable, still active
  new              r ≥ 4 and f = 1              recent but (so far) rare buyers
  potential        r ≥ 3                        recent, middling frequency / value
  at risk          r ≤ 2 and fm ≥ 3             were valuable, have gone quiet
  lost             r = 1                        long gone, low value
  hibernating      otherwise (r = 2, fm < 3)    quiet, low value
  ===============  ===========================  =========================================

CX (:func:`cx_summary`): from feedback events with a ``value``: NPS = % promoters (9–10) −
% detractors (0–6) of ``nps`` answers; CSAT = % of ``csat`` answers that are 4 or 5; CES = mean
``ces`` answer; each with the number of answers behind it (NaN when there are none).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from cxml._docs import fill_doc
from cxml.data import as_events
from cxml.exceptions import DataWarning, ParameterError, SchemaError
from cxml.features.core import features_of_trusted
from cxml.schema import Columns, EventTypes, parse_as_of

__all__ = ["CX_COLUMNS", "SEGMENTS", "cx_summary", "name_segments", "rfm_scores", "rfm_segments", "segment_summary"]

#: segment names in rule order (also the category order of the ``segment`` column)
SEGMENTS = ("champions", "loyal", "new", "potential", "at risk", "lost", "hibernating")
CX_COLUMNS = (
    "nps",
    "nps_n",
    "nps_promoters",
    "nps_detractors",
    "csat",
    "csat_n",
    "ces",
    "ces_n",
)


@fill_doc
def rfm_segments(events: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """RFM values, quintile scores and segment of every customer existing at ``as_of``.

    Parameters
    ----------
    {{events}}
    as_of
        Date-like; only events before it are used, and a customer exists when it has a purchase
        row before it.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id``: ``recency_days``, ``frequency``, ``monetary``, ``r``, ``f``,
        ``m`` (int8, 1..5), ``rfm`` (e.g. ``"545"``) and ``segment`` (categorical, :data:`SEGMENTS`).
        Empty when no customer exists. ``attrs["cxml_as_of"]`` records ``as_of`` (ISO string).

    Raises
    ------
    SchemaError
        When ``events`` is not a canonical events table or ``as_of`` is not a date.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "timestamp": ["2024-01-01", "2024-03-01", "2024-01-02"], "amount": [50.0, 50.0, 5.0]}))
    >>> rfm_segments(ev, as_of="2024-04-01")[["r", "f", "m", "segment"]].to_dict("index")
    {'a': {'r': 3, 'f': 3, 'm': 3, 'segment': 'loyal'}, 'b': {'r': 1, 'f': 1, 'm': 1, 'segment': 'lost'}}
    """
    x = features_of_trusted(as_events(events), as_of, windows=(), event_types=[], feedback_types=[])
    out = pd.DataFrame(
        {
            "recency_days": x["recency_days"],
            "frequency": x["n_orders"],
            "monetary": x["spend_total"],
        }
    )
    r, f, m = rfm_scores(x["recency_days"], x["n_orders"], x["spend_total"])
    out["r"], out["f"], out["m"] = r, f, m
    out["rfm"] = pd.Series(r.astype(str), index=out.index).str.cat(
        [pd.Series(f.astype(str), index=out.index), pd.Series(m.astype(str), index=out.index)]
    )
    out["segment"] = pd.Categorical(name_segments(r, f, m), categories=list(SEGMENTS))
    out.attrs["cxml_as_of"] = parse_as_of(as_of).isoformat()
    return out


def name_segments(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Segment name of each (r, f, m) score triple by the rules in the module docstring.

    Parameters
    ----------
    r, f, m
        Recency, frequency and monetary scores (1..5, e.g. the ``r``, ``f``, ``m`` columns of
        :func:`rfm_segments`); array-likes of the same (or broadcastable) shape.

    Returns
    -------
    numpy.ndarray
        Unicode strings from :data:`SEGMENTS`, in the broadcast shape of the inputs.

    Examples
    --------
    >>> name_segments(np.array([5, 2]), np.array([5, 1]), np.array([4, 1])).tolist()
    ['champions', 'hibernating']
    """
    r, f, m = (np.asarray(a) for a in (r, f, m))
    fm = (f + m) / 2.0
    rules = [
        (r >= 4) & (fm >= 4),
        (r >= 3) & (fm >= 3),
        (r >= 4) & (f == 1),
        r >= 3,
        fm >= 3,
        r == 1,
    ]
    return np.select(rules, list(SEGMENTS[:-1]), default=SEGMENTS[-1])


def rfm_scores(recency_days: Any, frequency: Any, monetary: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The r, f, m quintile scores (1..5, int8) of a whole population, by rank.

    Each score is ``1 + floor((rank - 1) * 5 / n)`` with ties sharing their lowest rank; recency
    is scored reversed (fewer days since the last purchase scores higher). This is the one rule
    :func:`rfm_segments` and batch scoring (which computes it over every customer before scoring
    bucket by bucket) apply.

    Parameters
    ----------
    recency_days, frequency, monetary
        One value per customer (array-likes of the same length).

    Returns
    -------
    tuple of numpy.ndarray
        ``(r, f, m)``.

    Examples
    --------
    >>> [s.tolist() for s in rfm_scores([10, 200], [5, 1], [80.0, 5.0])]
    [[3, 1], [3, 1], [3, 1]]
    """
    as_float = [np.asarray(v, dtype=np.float64) for v in (recency_days, frequency, monetary)]
    return _quintile(-as_float[0]), _quintile(as_float[1]), _quintile(as_float[2])


def _quintile(values: np.ndarray) -> np.ndarray:
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    rank = pd.Series(values).rank(method="min").to_numpy()
    return (1 + np.floor((rank - 1) * 5 / n)).astype(np.int8)


def segment_summary(seg: pd.DataFrame) -> pd.DataFrame:
    """Size and revenue share of each segment of :func:`rfm_segments` (every segment listed).

    Revenue is the segment's summed ``monetary`` (net spend); shares are fractions of the total.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "timestamp": ["2024-01-01", "2024-03-01", "2024-01-02"], "amount": [50.0, 50.0, 5.0]}))
    >>> s = segment_summary(rfm_segments(ev, as_of="2024-04-01"))
    >>> s.loc[["loyal", "lost"], ["n_customers", "revenue", "revenue_share"]].round(3).values.tolist()
    [[1.0, 100.0, 0.952], [1.0, 5.0, 0.048]]
    """
    for col in ("segment", "monetary", "recency_days", "frequency"):
        if col not in seg.columns:
            raise SchemaError(f"column {col!r} is missing from seg; expected the output of rfm_segments")
    g = seg.groupby(seg["segment"].astype(str))
    out = pd.DataFrame(
        {
            "n_customers": g.size(),
            "revenue": g["monetary"].sum(),
            "recency_days_mean": g["recency_days"].mean(),
            "frequency_mean": g["frequency"].mean(),
            "monetary_mean": g["monetary"].mean(),
        }
    ).reindex(list(SEGMENTS))
    out["n_customers"] = out["n_customers"].fillna(0).astype(np.int64)
    out["revenue"] = out["revenue"].fillna(0.0)
    total_n, total_rev = out["n_customers"].sum(), out["revenue"].sum()
    out.insert(1, "customer_share", out["n_customers"] / total_n if total_n else np.nan)
    out.insert(3, "revenue_share", out["revenue"] / total_rev if total_rev else np.nan)
    out.index.name = "segment"
    return out


def cx_summary(
    events: pd.DataFrame,
    as_of: Any = None,
    by: str | pd.Series | None = None,
    freq: str | None = None,
) -> pd.DataFrame:
    """NPS, CSAT and CES with their answer counts, overall, per ``by`` group and/or per period.

    Parameters
    ----------
    events
        Canonical events; ``nps``/``csat``/``ces`` events with a ``value`` are the answers.
    as_of
        Only answers before it (default: all).
    by
        A column of ``events`` (e.g. ``"country"``) or a Series ``customer_id -> group`` (e.g. the
        ``segment`` column of :func:`rfm_segments`). Answers without a group (missing value,
        customer not in the Series) are left out, counted in a :class:`cxml.DataWarning`.
    freq
        A pandas period frequency (``"M"``, ``"Q"``, ``"W"``) for one row per period.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CX_COLUMNS`; indexed by the group and/or period (a single ``"all"`` row when
        neither is given). NPS and CSAT are percentages.

    Raises
    ------
    SchemaError
        When ``events`` is not a canonical events table, ``as_of`` is not a date, ``by`` is neither
        a column of ``events`` nor a Series, or ``freq`` is not a period frequency.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "b", "c", "a"],
    ...     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
    ...     "event_type": ["nps", "nps", "nps", "csat"], "value": [10, 8, 3, 4]}))
    >>> cx_summary(ev)[["nps", "nps_n", "csat", "csat_n", "ces_n"]].to_dict("index")
    {'all': {'nps': 0.0, 'nps_n': 3, 'csat': 100.0, 'csat_n': 1, 'ces_n': 0}}
    """
    events = as_events(events)
    et = events[Columns.EVENT_TYPE]
    value = events[Columns.VALUE]
    rows = (
        et.isin([EventTypes.NPS, EventTypes.CSAT, EventTypes.CES]).to_numpy(dtype=bool, na_value=False)
        & value.notna().to_numpy()
    )
    if as_of is not None:
        rows &= events[Columns.TIMESTAMP].to_numpy() < parse_as_of(as_of).to_datetime64()
    ans = events.loc[rows]
    kind = ans[Columns.EVENT_TYPE].to_numpy(dtype=object)
    v = ans[Columns.VALUE].to_numpy(dtype=np.float64)
    is_nps, is_csat, is_ces = kind == EventTypes.NPS, kind == EventTypes.CSAT, kind == EventTypes.CES
    parts = pd.DataFrame(
        {
            "nps_n": is_nps.astype(np.int64),
            "nps_promoters": (is_nps & (v >= 9)).astype(np.int64),
            "nps_detractors": (is_nps & (v <= 6)).astype(np.int64),
            "csat_n": is_csat.astype(np.int64),
            "csat_ok": (is_csat & (v >= 4)).astype(np.int64),
            "ces_n": is_ces.astype(np.int64),
            "ces_sum": np.where(is_ces, v, 0.0),
        },
        index=ans.index,
    )
    keys = _group_keys(ans, by, freq)
    if keys:
        sums = parts.groupby(keys, observed=True, sort=True).sum()
    else:
        sums = pd.DataFrame({c: [parts[c].sum()] for c in parts.columns}, index=["all"])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "nps": 100.0 * (sums["nps_promoters"] - sums["nps_detractors"]) / sums["nps_n"],
                "nps_n": sums["nps_n"],
                "nps_promoters": sums["nps_promoters"],
                "nps_detractors": sums["nps_detractors"],
                "csat": 100.0 * sums["csat_ok"] / sums["csat_n"],
                "csat_n": sums["csat_n"],
                "ces": sums["ces_sum"] / sums["ces_n"],
                "ces_n": sums["ces_n"],
            },
            index=sums.index,
        )
    for col in ("nps", "csat", "ces"):
        out[col] = out[col].where(out[f"{col}_n"] > 0)
    return out


def _group_keys(ans: pd.DataFrame, by: str | pd.Series | None, freq: str | None) -> list[pd.Series]:
    keys: list[pd.Series] = []
    if isinstance(by, str):
        if by not in ans.columns:
            raise ParameterError(f"by={by!r} is not a column of events; expected a column such as 'country'")
        keys.append(ans[by])
    elif isinstance(by, pd.Series):
        group = ans[Columns.CUSTOMER].map(by)
        name = by.name if by.name is not None else "group"
        keys.append(group.rename(name))
    elif by is not None:
        raise ParameterError(f"by={by!r} must be a column name or a Series customer_id -> group")
    if freq is not None:
        try:
            period = ans[Columns.TIMESTAMP].dt.to_period(freq)
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"freq={freq!r} is not a period frequency; expected e.g. 'M'") from exc
        keys.append(period.rename("period"))
    if keys:
        missing = np.zeros(len(ans), dtype=bool)
        for k in keys:
            missing |= k.isna().to_numpy()
        if missing.any():
            warnings.warn(
                f"{int(missing.sum())} of {len(ans)} answers have no group in `by` (missing value or "
                "customer not mapped); they are left out of the grouped scores",
                DataWarning,
                stacklevel=3,
            )
    return keys
