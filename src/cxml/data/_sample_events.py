"""The synthetic sample's events of one customer population, before they become a frame.

:func:`simulate` draws customers, tastes, orders, order lines, returns, engagement and feedback
from one random stream, in a fixed order, and returns them as :class:`Rows` (customer indices
``0..n-1``, float days). :func:`cxml.data.sample.generate_sample` assembles one such population;
the dataset writer assembles many, each from its own stream.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cxml.data._sample_catalogue import Catalogue, Tastes, draw_items, draw_popular_items, make_tastes
from cxml.data._sample_customers import (
    SUPPORT_BOOST,
    Customers,
    closeness_to_dropout,
    draw_customers,
    engagement_level,
    simulate_orders,
    support_level,
    thinned_times,
)
from cxml.data._sample_frame import CSAT, LOGIN, NPS, PURCHASE, SUPPORT, VIEW, Rows
from cxml.data._sample_knobs import Knobs

__all__ = ["Population", "simulate"]

#: quantity = 1 + Poisson(q), q ~ Gamma(shape, scale) per customer, at most 12
QUANTITY_SHAPE, QUANTITY_SCALE, MAX_QUANTITY = 1.0, 0.3, 12
#: share of purchase lines returned, and the mean delay (days) after a minimum of one day
RETURN_RATE, RETURN_DELAY_DAYS = 0.04, 8.0
#: share of engagement events that are item views (the rest are logins), and of views by taste
VIEW_SHARE, VIEW_BY_TASTE = 0.6, 0.8
#: a respondent rates some extra orders and support contacts
NPS_EXTRA_ORDERS, CSAT_AFTER_SUPPORT = 0.25, 0.6
#: satisfaction: NPS mean of an engaged customer, its spread across customers, the answer noise
#: and the drop at dropout; the same for CSAT (which follows the customer's NPS satisfaction)
NPS_MEAN, NPS_SPREAD, NPS_NOISE, NPS_DROP = 8.0, 1.2, 1.2, 4.0
CSAT_MEAN, CSAT_NOISE, CSAT_DROP = 4.2, 0.7, 1.8


class Population(NamedTuple):
    """Simulated events of ``n`` customers: rows by kind, and the orders they reference."""

    rows: list[Rows]
    order_customer: np.ndarray
    order_day: np.ndarray


def simulate(
    rng: np.random.Generator, n_customers: int, days: float, catalogue: Catalogue, knobs: Knobs
) -> Population:
    """Every event of ``n_customers`` new customers over ``[0, days)`` (see the module docstring)."""
    cust = draw_customers(
        rng, n_customers, days, rate_scale=knobs.rate_scale, engagement_scale=knobs.engagement_scale
    )
    tastes = make_tastes(rng, n_customers, catalogue, knobs.taste_concentration(catalogue.n_categories))
    order_cust, order_day, dropout = simulate_orders(rng, cust, days)
    lines = _order_lines(rng, order_cust, order_day, tastes, catalogue, knobs)
    rows = [
        lines,
        _returns(rng, lines, catalogue.price, days),
        *_engagement(rng, cust, dropout, days, tastes, catalogue),
    ]
    rows += _feedback(rng, order_cust, order_day, rows[-1], dropout, days, knobs.respondent_share)
    return Population(rows, order_cust, order_day)


def _rebuy_share(rng: np.random.Generator, knobs: Knobs, n_customers: int) -> np.ndarray:
    a, b = knobs.rebuy_beta
    if a <= 0.0 or b <= 0.0:  # repeat_rate 0 or 1: no spread around it
        return np.full(n_customers, 1.0 if b <= 0.0 else 0.0)
    return rng.beta(a, b, n_customers)


def _order_lines(
    rng: np.random.Generator,
    order_cust: np.ndarray,
    order_day: np.ndarray,
    tastes: Tastes,
    catalogue: Catalogue,
    knobs: Knobs,
) -> Rows:
    """Lines of every order: basket size, items (taste or a rebought favourite), quantities."""
    n_customers = tastes.key.size // tastes.n_categories
    n_fav = knobs.n_favourites
    basket = rng.gamma(2.0, knobs.basket_scale, n_customers)
    n_lines = 1 + np.minimum(rng.poisson(basket[order_cust]), knobs.max_lines - 1)
    line_order = np.repeat(np.arange(order_cust.size), n_lines)
    line_cust = order_cust[line_order]
    favourites = draw_items(rng, np.repeat(np.arange(n_customers), n_fav), tastes, catalogue)
    rebuy_p = _rebuy_share(rng, knobs, n_customers)
    item = draw_items(rng, line_cust, tastes, catalogue)
    rebuy = rng.random(item.size) < rebuy_p[line_cust]
    pick = rng.integers(0, n_fav, int(rebuy.sum()))
    item[rebuy] = favourites.reshape(n_customers, n_fav)[line_cust[rebuy], pick]
    # one line per item and order (the first draw wins)
    _, first_line = np.unique(line_order * catalogue.n_items + item, return_index=True)
    first_line.sort()
    line_order, line_cust, item = line_order[first_line], line_cust[first_line], item[first_line]
    q_mean = rng.gamma(QUANTITY_SHAPE, QUANTITY_SCALE, n_customers)
    qty = 1 + np.minimum(rng.poisson(q_mean[line_cust]), MAX_QUANTITY - 1)
    amount = np.round(catalogue.price[item] * qty, 2)
    return Rows(line_cust, order_day[line_order], PURCHASE, item, qty, amount, order=line_order)


def _returns(rng: np.random.Generator, lines: Rows, price: np.ndarray, days: float) -> Rows:
    """A later, negative line of the same item and order; those after the window are not seen."""
    ret = np.flatnonzero(rng.random(lines.customer.size) < RETURN_RATE)
    day = lines.day[ret] + 1.0 + rng.exponential(RETURN_DELAY_DAYS, ret.size)
    qty = -rng.integers(1, np.asarray(lines.quantity)[ret] + 1)
    seen = day < days
    ret, day, qty = ret[seen], day[seen], qty[seen]
    item = np.asarray(lines.item)[ret]
    order = np.asarray(lines.order)[ret]
    return Rows(lines.customer[ret], day, PURCHASE, item, qty, np.round(price[item] * qty, 2), order=order)


def _engagement(
    rng: np.random.Generator,
    cust: Customers,
    dropout: np.ndarray,
    days: float,
    tastes: Tastes,
    catalogue: Catalogue,
) -> list[Rows]:
    """Views and logins that fade before dropout, and support contacts that rise (last)."""
    owner, day = thinned_times(rng, cust.engagement, cust.acquired, days, dropout, engagement_level, 1.0)
    is_view = rng.random(owner.size) < VIEW_SHARE
    view_cust = owner[is_view]
    by_taste = rng.random(view_cust.size) < VIEW_BY_TASTE
    view_item = draw_popular_items(rng, view_cust.size, catalogue)
    view_item[by_taste] = draw_items(rng, view_cust[by_taste], tastes, catalogue)
    sup_cust, sup_day = thinned_times(
        rng, cust.support, cust.acquired, days, dropout, support_level, SUPPORT_BOOST
    )
    return [
        Rows(view_cust, day[is_view], VIEW, view_item),
        Rows(owner[~is_view], day[~is_view], LOGIN),
        Rows(sup_cust, sup_day, SUPPORT),
    ]


def _feedback(
    rng: np.random.Generator,
    order_cust: np.ndarray,
    order_day: np.ndarray,
    support: Rows,
    dropout: np.ndarray,
    days: float,
    respondent_share: float,
) -> list[Rows]:
    """NPS after one random order (plus some more) and CSAT after some support contacts, by
    respondents only; both scores fall as the dropout day gets close."""
    n_customers = dropout.size
    respondent = rng.random(n_customers) < respondent_share
    satisfaction = rng.normal(NPS_MEAN, NPS_SPREAD, n_customers)
    per_cust = np.bincount(order_cust, minlength=n_customers)
    chosen = np.cumsum(per_cust) - per_cust + np.floor(rng.random(n_customers) * per_cust).astype(np.int64)
    extra = rng.random(order_cust.size) < NPS_EXTRA_ORDERS
    answered = respondent[order_cust] & ((np.arange(order_cust.size) == chosen[order_cust]) | extra)
    nps_cust = order_cust[answered]
    nps_day = order_day[answered] + 0.5 + rng.exponential(2.0, nps_cust.size)
    nps_mu = satisfaction[nps_cust] - NPS_DROP * closeness_to_dropout(nps_day, dropout[nps_cust])
    nps = np.clip(np.rint(nps_mu + rng.normal(0.0, NPS_NOISE, nps_cust.size)), 0, 10)

    rated = respondent[support.customer] & (rng.random(support.customer.size) < CSAT_AFTER_SUPPORT)
    csat_cust = support.customer[rated]
    csat_day = support.day[rated] + rng.random(csat_cust.size) * 2.0
    csat_mu = (
        CSAT_MEAN
        + (satisfaction[csat_cust] - NPS_MEAN) / 2.5
        - CSAT_DROP * closeness_to_dropout(csat_day, dropout[csat_cust])
    )
    csat = np.clip(np.rint(csat_mu + rng.normal(0.0, CSAT_NOISE, csat_cust.size)), 1, 5)
    # answers given after the window are not seen
    n_in, c_in = nps_day < days, csat_day < days
    return [
        Rows(nps_cust[n_in], nps_day[n_in], NPS, value=nps[n_in]),
        Rows(csat_cust[c_in], csat_day[c_in], CSAT, value=csat[c_in]),
    ]
