"""The size and shape knobs of the synthetic sample, validated once and resolved to model constants.

Every knob left at ``None`` keeps today's constant, so the default sample (and its random stream)
does not change. :class:`Knobs` holds what the simulation needs; :func:`check_knobs` validates the
public arguments with :mod:`cxml._checks`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from cxml._checks import check_float, check_fraction, check_int
from cxml.data._sample_catalogue import MAX_CATEGORIES, TASTE_CONCENTRATION
from cxml.exceptions import ParameterError
from cxml.schema import parse_as_of

__all__ = ["Knobs", "check_knobs", "check_target", "check_window"]

#: order lines = 1 + Poisson(basket), basket ~ Gamma(shape, scale) per customer, at most 8
BASKET_SHAPE, BASKET_SCALE, MAX_LINES = 2.0, 0.45, 8
#: favourite items per customer and the share of lines that rebuy one ~ Beta(a, b) per customer
N_FAVOURITES, REBUY_A, REBUY_B = 3, 1.2, 4.0
#: share of customers who answer surveys
RESPONDENT_SHARE = 0.2
#: a row target asks for at most this many rows per customer (two years of a very busy customer)
MAX_ROWS_PER_CUSTOMER = 10_000
#: a basket knob allows orders up to this many times the mean basket (today's cap: 8 lines)
MAX_LINES_PER_MEAN = 5.0
#: a basket knob gives each customer this many favourites per line of the mean basket (at least 3)
FAVOURITES_PER_LINE = 2.0


@dataclass(frozen=True)
class Knobs:
    """Resolved knobs; ``None`` means today's constant.

    Attributes
    ----------
    zipf_exponent : float or None
        Item popularity ``rank ** -zipf_exponent`` instead of the log-normal within categories.
    n_categories : int or None
        Latent categories instead of ``min(15, n_items // 5)``.
    basket_size : float or None
        Mean lines per order (before one-line-per-item deduplication).
    repeat_rate : float or None
        Mean share of lines that rebuy one of the customer's favourites.
    rate_scale, engagement_scale : float
        Multipliers of the purchase rates and of the engagement/support rates (calibrated from
        a target row count and purchase share); below 1 the engagement scale also thins the
        survey respondents.
    """

    zipf_exponent: float | None = None
    n_categories: int | None = None
    basket_size: float | None = None
    repeat_rate: float | None = None
    rate_scale: float = 1.0
    engagement_scale: float = 1.0

    def scaled(self, rate_scale: float, engagement_scale: float) -> Knobs:
        """A copy with other rate multipliers."""
        return replace(self, rate_scale=rate_scale, engagement_scale=engagement_scale)

    @property
    def basket_scale(self) -> float:
        """Gamma scale of the per-customer basket mean (extra lines above one)."""
        return BASKET_SCALE if self.basket_size is None else (self.basket_size - 1.0) / BASKET_SHAPE

    @property
    def max_lines(self) -> int:
        if self.basket_size is None:
            return MAX_LINES
        return max(MAX_LINES, math.ceil(MAX_LINES_PER_MEAN * self.basket_size))

    @property
    def n_favourites(self) -> int:
        if self.basket_size is None:
            return N_FAVOURITES
        return max(N_FAVOURITES, math.ceil(FAVOURITES_PER_LINE * self.basket_size))

    @property
    def rebuy_beta(self) -> tuple[float, float]:
        """Beta parameters of the per-customer rebuy share (same concentration as today)."""
        if self.repeat_rate is None:
            return REBUY_A, REBUY_B
        total = REBUY_A + REBUY_B
        return total * self.repeat_rate, total * (1.0 - self.repeat_rate)

    @property
    def respondent_share(self) -> float:
        return RESPONDENT_SHARE * min(1.0, self.engagement_scale)

    def taste_concentration(self, n_categories: int) -> float:
        """Total Dirichlet concentration: today's for up to 15 categories, then per category
        the same, so that a customer with many categories to choose from spreads over more."""
        if self.n_categories is None:
            return TASTE_CONCENTRATION
        return TASTE_CONCENTRATION * max(1.0, n_categories / MAX_CATEGORIES)


def check_knobs(
    n_items: int,
    *,
    zipf_exponent: Any = None,
    n_categories: Any = None,
    basket_size: Any = None,
    repeat_rate: Any = None,
) -> Knobs:
    """Validate the public knobs (``None`` keeps today's behaviour) into :class:`Knobs`.

    Raises
    ------
    ParameterError
        A knob of the wrong type or out of range: ``zipf_exponent`` in ``[0, 5]``,
        ``n_categories`` in ``[1, n_items]``, ``basket_size`` in ``[1, 100]`` lines,
        ``repeat_rate`` in ``[0, 1]``.
    """
    if zipf_exponent is not None:
        zipf_exponent = check_float("zipf_exponent", zipf_exponent, minimum=0.0, maximum=5.0)
    if n_categories is not None:
        n_categories = check_int("n_categories", n_categories, minimum=1, maximum=n_items)
    if basket_size is not None:
        basket_size = check_float("basket_size", basket_size, minimum=1.0, maximum=100.0)
    if repeat_rate is not None:
        repeat_rate = check_fraction("repeat_rate", repeat_rate, closed=True)
    return Knobs(zipf_exponent, n_categories, basket_size, repeat_rate)


def check_target(n_customers: int, n_events: Any, purchase_share: Any) -> tuple[int | None, float | None]:
    """Validate the row target (1 to :data:`MAX_ROWS_PER_CUSTOMER` rows per customer) and the purchase share."""
    if n_events is not None:
        n_events = check_int("n_events", n_events, minimum=1)
        if not n_customers <= n_events <= MAX_ROWS_PER_CUSTOMER * n_customers:
            raise ParameterError(
                f"n_events={n_events} for n_customers={n_customers}; every customer has at least "
                f"one purchase, so expected n_customers <= n_events <= "
                f"{MAX_ROWS_PER_CUSTOMER:,} * n_customers"
            )
    if purchase_share is not None:
        purchase_share = check_float("purchase_share", purchase_share, minimum=0.0, maximum=1.0,
                                     exclusive_minimum=True)
    return n_events, purchase_share


def check_window(start: Any, end: Any) -> tuple[pd.Timestamp, float]:
    """The first day and the number of days of the window ``[start, end]`` (``end`` inclusive)."""
    first, last = parse_as_of(start, "start"), parse_as_of(end, "end")
    if last < first:
        raise ParameterError(f"end={end!r} is before start={start!r}; expected end >= start")
    return first, float((last.normalize() - first.normalize()).days + 1)
