"""Calibrating the purchase and engagement rates to a target number of rows and purchase share.

Rows per customer are not a closed form of the rates (dropout caps the purchases, returns and
survey answers follow the orders), so the calibration measures them by simulating with the real
catalogue and knobs and keeping only the row counts:

- an in-memory sample of up to :data:`PILOT_CUSTOMERS` customers is calibrated on *its own*
  population (a copy of its random stream), so even a few hundred heavy-tailed customers land
  within :data:`TOLERANCE` of the target;
- the dataset writer calibrates on its own first units of customers (all of a dataset of up to
  ~20k customers), see :mod:`cxml.data._scale`;
- bigger in-memory samples use a *pilot* population of up to
  :data:`PILOT_CUSTOMERS` customers (about :data:`PILOT_ROWS` rows) from a fixed seed
  (:data:`PILOT_SEED`), so the calibration depends only on the arguments; the realised total
  then differs from the target by the pilot's and the population's sampling noise, about 1 %
  at 100k customers.

1. Purchase rows per customer ``P(k)`` grow with the purchase-rate multiplier ``k`` (which also
   divides the dropout probabilities, so lifetimes keep their length and ``P`` grows about
   linearly instead of saturating). ``k`` is found by a bracketed secant search in log-log
   space until the counts are within :data:`TOLERANCE` of ``purchase_share * n_events /
   n_customers`` (or, after :data:`MAX_STEPS` simulations, the closest is taken); the purchase
   share defaults to today's mix, measured at ``k = 1``. A changed rate changes how many
   draws follow, so counts move by ~1 % even between nearby multipliers: the tolerance is
   about that noise.
2. The other rows grow linearly with the engagement multiplier ``e`` (views, logins, support) or
   with ``min(1, e)`` (survey respondents) at that ``k``, so ``e`` is solved in closed form
   from the same counts.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from cxml.data._sample_catalogue import Catalogue
from cxml.data._sample_events import simulate
from cxml.data._sample_frame import CSAT, NPS, PURCHASE
from cxml.data._sample_knobs import Knobs
from cxml.exceptions import ParameterError

__all__ = [
    "PILOT_CUSTOMERS",
    "PILOT_SEED",
    "Counter",
    "Counts",
    "calibrate",
    "count_rows",
    "pilot_counter",
    "population_counter",
]

PILOT_CUSTOMERS = 10_000
#: ... but fewer when the target has many rows per customer, to keep a pilot near this many rows
PILOT_ROWS = 500_000
PILOT_SEED = 20_230_101
#: relative distance of the simulated purchase rows from their target that ends the search
TOLERANCE = 0.015
MAX_STEPS = 16
#: the purchase-rate multiplier is searched within these bounds
MIN_RATE_SCALE, MAX_RATE_SCALE = 1e-4, 1e4


class Counts(NamedTuple):
    """Rows per pilot customer: purchase lines and returns, engagement, NPS and CSAT answers."""

    purchase: float
    engagement: float
    nps: float
    csat: float


#: counts rows per customer under given knobs
Counter = Callable[[Knobs], Counts]


def pilot_counter(catalogue: Catalogue, days: float, n_customers: int, n_events: int | None) -> Counter:
    """Counts of a pilot population from :data:`PILOT_SEED`, of about :data:`PILOT_ROWS` rows."""
    n_pilot = PILOT_CUSTOMERS
    if n_events is not None:
        n_pilot = int(np.clip(PILOT_ROWS * n_customers // n_events, 1_000, PILOT_CUSTOMERS))
    return lambda knobs: count_rows(np.random.default_rng(PILOT_SEED), n_pilot, days, catalogue, knobs)


def population_counter(rng: np.random.Generator, n_customers: int, days: float, catalogue: Catalogue) -> Counter:
    """Counts of the very population ``rng`` will simulate next (``rng`` itself is not advanced)."""
    return lambda knobs: count_rows(copy.deepcopy(rng), n_customers, days, catalogue, knobs)


def count_rows(rng: np.random.Generator, n: int, days: float, catalogue: Catalogue, knobs: Knobs) -> Counts:
    """Rows per customer of ``n`` customers simulated from ``rng``."""
    by_kind = np.zeros(6)
    for rows in simulate(rng, n, days, catalogue, knobs).rows:
        by_kind[rows.kind] += rows.customer.size
    by_kind /= n
    other = by_kind.sum() - by_kind[PURCHASE] - by_kind[NPS] - by_kind[CSAT]
    return Counts(float(by_kind[PURCHASE]), float(other), float(by_kind[NPS]), float(by_kind[CSAT]))


def calibrate(
    knobs: Knobs,
    counter: Counter,
    n_customers: int,
    n_events: int | None,
    purchase_share: float | None,
) -> Knobs:
    """``knobs`` with the rate multipliers that hit ``n_events`` rows and ``purchase_share``.

    Returns ``knobs`` unchanged when both are ``None``. Raises :class:`ParameterError` when the
    target needs fewer purchase rows than the first orders alone give, or absurdly many.
    """
    if n_events is None and purchase_share is None:
        return knobs
    base = counter(knobs.scaled(1.0, 1.0))
    if purchase_share is None:
        purchase_share = base.purchase / sum(base)
    if n_events is None:
        rate_scale, at_rate = 1.0, base
        other = base.purchase * (1.0 - purchase_share) / purchase_share
    else:
        per_customer = n_events / n_customers
        rate_scale, at_rate = _solve_rate(knobs, counter, purchase_share * per_customer, base)
        other = per_customer * (1.0 - purchase_share)
    return knobs.scaled(rate_scale, _engagement_scale(other, at_rate))


def _solve_rate(knobs: Knobs, counter: Counter, target: float, base: Counts) -> tuple[float, Counts]:
    """Purchase-rate multiplier whose pilot has ``target`` purchase rows per customer."""
    lo, hi = (0.0, math.inf)
    k, counts, slope = 1.0, base, 1.0
    best = (abs(math.log(base.purchase / target)), k, counts)
    previous: tuple[float, float] | None = None
    for _ in range(MAX_STEPS):
        got = counts.purchase
        best = min(best, (abs(math.log(max(got, 1e-12) / target)), k, counts))
        if abs(got / target - 1.0) <= TOLERANCE:
            return k, counts
        if got < target:
            lo = k
        else:
            hi = k
        if previous is not None and previous[0] != k and previous[1] != got and got > 0:
            slope = float(np.clip(math.log(got / previous[1]) / math.log(k / previous[0]), 0.05, 2.0))
        previous = (k, got)
        # the model is close to linear in k; a step is at most 8x to stay safe from a bad slope
        step = k * float(np.clip((target / max(got, 1e-12)) ** (1.0 / slope), 0.125, 8.0))
        if not lo < step < hi:
            step = math.sqrt(lo * hi) if lo > 0 and math.isfinite(hi) else (k * 4 if got < target else k / 4)
        if step < MIN_RATE_SCALE or step > MAX_RATE_SCALE:
            _unreachable(target, counts.purchase, step > MAX_RATE_SCALE)
        k = step
        counts = counter(knobs.scaled(k, 1.0))
    return best[1], best[2]


def _unreachable(target: float, got: float, too_many: bool) -> None:
    if too_many:
        raise ParameterError(
            f"n_events asks for {target:.1f} purchase rows per customer; the purchase model "
            f"reaches about {got:.1f} at most; expected fewer events per customer or a lower purchase_share"
        )
    raise ParameterError(
        f"n_events asks for {target:.2f} purchase rows per customer, but every customer's first "
        f"order alone gives about {got:.2f}; expected more events per customer, a higher "
        "purchase_share, or a smaller basket_size"
    )


def _engagement_scale(other: float, counts: Counts) -> float:
    """Multiplier ``e`` with ``e * engagement + min(1, e) * nps + e * min(1, e) * csat == other``."""
    full = counts.engagement + counts.nps + counts.csat
    if other <= 0.0 or full <= 0.0:
        return 0.0
    if other >= full:
        # e >= 1: respondents stay at their share, views/logins/support and CSAT grow with e
        if counts.engagement + counts.csat <= 0.0:
            return 1.0
        return (other - counts.nps) / (counts.engagement + counts.csat)
    linear = counts.engagement + counts.nps
    if counts.csat <= 0.0:
        return other / linear
    return (-linear + math.sqrt(linear**2 + 4.0 * counts.csat * other)) / (2.0 * counts.csat)
