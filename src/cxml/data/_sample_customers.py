"""Latent customer behaviour of the synthetic sample: buy-till-you-die purchases and engagement.

Time is in float days since the start of the window ``[0, days)``.

Purchases follow the BG/NBD story (Fader, Hardie & Lee 2005): a customer is acquired
with a first purchase, then buys as a Poisson process with a gamma-distributed rate, and after
each purchase leaves for good with a beta-distributed probability. The *dropout day* is a little
after the last purchase. Engagement (views, logins) fades over the :data:`DECLINE_DAYS` before
the dropout day and dies out after it; support contacts become *more* frequent in that period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Customers",
    "closeness_to_dropout",
    "draw_customers",
    "engagement_level",
    "simulate_orders",
    "support_level",
    "thinned_times",
]

#: purchase rate per day ~ Gamma(shape, scale); shape < 1 makes many near-dormant customers
RATE_SHAPE = 0.5
RATE_SCALE = 0.04
#: dropout probability after each purchase ~ Beta(a, b); mean a / (a + b) ~ 0.24
DROPOUT_A = 0.8
DROPOUT_B = 2.5
#: a churning customer leaves uniformly within this many days after the last purchase
DROPOUT_LAG_DAYS = 30.0
#: engagement starts fading this many days before the dropout day ...
DECLINE_DAYS = 90.0
#: ... down to this fraction of the customer's normal rate ...
ENGAGEMENT_FLOOR = 0.15
#: ... and then dies out with this time constant (days)
AFTER_DROPOUT_DAYS = 45.0
#: support contacts are up to this many times more frequent just before dropout
SUPPORT_BOOST = 4.0
#: engagement (views + logins) per day of a fully engaged customer ~ Gamma(shape, scale)
ENGAGEMENT_SHAPE = 2.0
ENGAGEMENT_SCALE = 0.09
#: support contacts per day ~ Gamma(shape, scale)
SUPPORT_SHAPE = 1.0
SUPPORT_SCALE = 0.004


@dataclass(frozen=True)
class Customers:
    """Latent per-customer parameters (arrays of length ``n_customers``)."""

    acquired: np.ndarray
    rate: np.ndarray
    dropout_p: np.ndarray
    engagement: np.ndarray
    support: np.ndarray

    @property
    def n(self) -> int:
        return int(self.acquired.size)


def draw_customers(
    rng: np.random.Generator,
    n: int,
    days: float,
    *,
    rate_scale: float = 1.0,
    engagement_scale: float = 1.0,
) -> Customers:
    """Acquisition days spread over the window and heterogeneous rates.

    ``rate_scale`` multiplies every purchase rate and divides every dropout probability (at
    most 1), so a customer buys that many times more often over a lifetime of the same expected
    length; ``engagement_scale`` multiplies every engagement and support rate. Both apply after
    the draws (same random stream; ``1.0`` leaves everything unchanged).
    """
    acquired = rng.random(n) * days
    rate = rng.gamma(RATE_SHAPE, RATE_SCALE, n)
    dropout_p = np.clip(rng.beta(DROPOUT_A, DROPOUT_B, n), 1e-6, 1.0)
    # frequent buyers browse more, flighty ones less: engagement carries some signal on its own
    affinity = (rate / (RATE_SHAPE * RATE_SCALE)) ** 0.3 * (1.0 - dropout_p)
    engagement = rng.gamma(ENGAGEMENT_SHAPE, ENGAGEMENT_SCALE, n) * affinity * engagement_scale
    support = rng.gamma(SUPPORT_SHAPE, SUPPORT_SCALE, n) * engagement_scale
    dropout_p = np.minimum(dropout_p / rate_scale, 1.0) if rate_scale != 1.0 else dropout_p
    return Customers(acquired, rate * rate_scale, dropout_p, engagement, support)


def simulate_orders(
    rng: np.random.Generator, cust: Customers, days: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Purchase occasions and dropout days.

    Returns
    -------
    order_customer, order_day : ndarray
        One entry per order, sorted by customer then day; the first order is the acquisition.
    dropout_day : ndarray, shape (n_customers,)
        When the customer left (``inf`` for customers still active at the end of the window).
    """
    n = cust.n
    # repeat purchases until dropout: after each one the customer leaves with probability p
    # (as in BG/NBD, the acquisition purchase itself is not followed by a dropout chance)
    lifetime_repeats = rng.geometric(cust.dropout_p)
    exposure = days - cust.acquired
    # Poisson process: given the count in the window, the arrival days are sorted uniforms,
    # so the first k of them are the repeat purchases made before dropping out
    possible = rng.poisson(cust.rate * exposure)
    repeats = np.minimum(lifetime_repeats, possible)
    owner = np.repeat(np.arange(n), possible)
    day = cust.acquired[owner] + rng.random(owner.size) * exposure[owner]
    order = np.lexsort((day, owner))
    owner, day = owner[order], day[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(possible) - possible, possible)
    keep = rank < repeats[owner]

    order_customer = np.concatenate((np.arange(n), owner[keep]))
    order_day = np.concatenate((cust.acquired, day[keep]))
    order = np.lexsort((order_day, order_customer))
    order_customer, order_day = order_customer[order], order_day[order]

    last = np.full(n, -np.inf)
    np.maximum.at(last, order_customer, order_day)
    churned = lifetime_repeats < possible
    lag = rng.random(n) * DROPOUT_LAG_DAYS
    dropout_day = np.where(churned, last + lag, np.inf)
    return order_customer, order_day, dropout_day


def closeness_to_dropout(day: np.ndarray, dropout_day: np.ndarray) -> np.ndarray:
    """0 while engaged, rising linearly to 1 over :data:`DECLINE_DAYS` up to dropout, 1 after."""
    return 1.0 - np.clip((dropout_day - day) / DECLINE_DAYS, 0.0, 1.0)


def engagement_level(day: np.ndarray, dropout_day: np.ndarray) -> np.ndarray:
    """Multiplier (≤ 1) of the engagement rate: fades before dropout, decays after it."""
    lead = dropout_day - day
    before = 1.0 - (1.0 - ENGAGEMENT_FLOOR) * closeness_to_dropout(day, dropout_day)
    after = ENGAGEMENT_FLOOR * np.exp(np.minimum(lead, 0.0) / AFTER_DROPOUT_DAYS)
    return np.where(lead > 0, before, after)


def support_level(day: np.ndarray, dropout_day: np.ndarray) -> np.ndarray:
    """Multiplier (≤ :data:`SUPPORT_BOOST`) of the support rate: rises before dropout, decays after."""
    lead = dropout_day - day
    before = 1.0 + (SUPPORT_BOOST - 1.0) * closeness_to_dropout(day, dropout_day)
    after = SUPPORT_BOOST * np.exp(np.minimum(lead, 0.0) / AFTER_DROPOUT_DAYS)
    return np.where(lead > 0, before, after)


def thinned_times(
    rng: np.random.Generator,
    rate: np.ndarray,
    start: np.ndarray,
    days: float,
    dropout_day: np.ndarray,
    level: Callable[[np.ndarray, np.ndarray], np.ndarray],
    max_level: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Inhomogeneous Poisson events per customer on ``[start, days)`` by thinning.

    The intensity of customer ``i`` at day ``t`` is ``rate[i] * level(t, dropout_day[i])``
    with ``level ≤ max_level``. Returns (customer index, day), grouped by customer.
    """
    exposure = days - start
    counts = rng.poisson(rate * max_level * exposure)
    owner = np.repeat(np.arange(rate.size), counts)
    day = start[owner] + rng.random(owner.size) * exposure[owner]
    accept = rng.random(owner.size) * max_level < level(day, dropout_day[owner])
    return owner[accept], day[accept]
