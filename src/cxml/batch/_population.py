"""Population inputs from per-bucket pieces: RFM segments of every customer without all events at once.

RFM quintile scores rank each customer's recency, frequency and monetary value among all customers
(:func:`cxml.segment.rfm_segments`). The three values depend only on the customer's own events, so
a bucket yields them for its customers; the ranks and segment names are then computed once over
the values of every bucket, giving exactly the segments of the in-memory path.
"""

from __future__ import annotations

import pandas as pd

from cxml.batch._chunks import Population
from cxml.segment import SEGMENTS, name_segments, rfm_scores, rfm_segments

__all__ = ["RFM_VALUES", "population_from_values", "rfm_values"]

#: the per-customer values behind the RFM scores (columns of :func:`cxml.segment.rfm_segments`)
RFM_VALUES = ("recency_days", "frequency", "monetary")


def rfm_values(past: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Recency, frequency and monetary value of the customers of ``past`` (one bucket; trusted events).

    Parameters
    ----------
    past
        Canonical events of a group of customers (all of each customer's events before ``as_of``).
    as_of
        Scoring time.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (customers with a purchase before ``as_of``): ``recency_days``,
        ``frequency``, ``monetary`` as :func:`cxml.segment.rfm_segments` computes them.
    """
    return rfm_segments(past, as_of=as_of).loc[:, list(RFM_VALUES)]


def population_from_values(values: pd.DataFrame) -> Population:
    """The :class:`Population` (segments) from the RFM values of every customer (all buckets).

    Scores as :func:`cxml.segment.rfm_segments` gives them: ``1 + floor((rank - 1) * 5 / n)`` with
    the minimum rank of ties, recency ranked reversed.

    Parameters
    ----------
    values
        :func:`rfm_values` of every group of customers, concatenated (each customer once).

    Returns
    -------
    Population
        ``segments``: ``customer_id -> segment name`` (str), equal to :func:`population_inputs`
        on all the events at once.
    """
    r, f, m = rfm_scores(values["recency_days"], values["frequency"], values["monetary"])
    names = pd.Categorical(name_segments(r, f, m), categories=list(SEGMENTS))
    return Population(segments=pd.Series(names, index=values.index).astype("str"))
