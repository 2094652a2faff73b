"""A synthetic but realistic events table: a small online shop over two years.

:func:`generate_sample` simulates

- **purchases** from a buy-till-you-die process (Fader, Hardie & Lee 2005): customers are
  acquired throughout the window with a first order, then order as a Poisson process with a
  gamma-distributed rate and leave after each order with a beta-distributed probability; orders
  have one to eight lines, items are chosen from a personal Dirichlet taste over latent
  categories with long-tailed popularity inside each, and favourite items are bought again;
- **amounts**: log-normal item prices times small integer quantities; a few percent of lines are
  **returned** later (negative quantity and amount, same item and ``order_id``);
- **engagement** (``view`` with an item, ``login``, ``support``): views and logins fade over the
  90 days before a customer leaves and die out after; support contacts become more frequent;
- **feedback** from a minority of customers: ``nps`` (0-10) after an order, ``csat`` (1-5) after a
  support contact, both lower as a customer gets closer to leaving.

It is deterministic for a seed: every draw comes from one ``np.random.default_rng(random_state)``.
``python -m cxml.data.sample --out data/sample`` writes ``events.csv`` and a ``README.md`` data
card; the repository's ``data/sample`` was made that way.

Examples
--------
>>> from cxml.data.sample import generate_sample
>>> ev = generate_sample(n_customers=50, n_items=40, random_state=1)
>>> sorted(ev["event_type"].unique())
['csat', 'login', 'nps', 'purchase', 'support', 'view']
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxml._checks import check_int
from cxml.data._sample_card import render_card
from cxml.data._sample_catalogue import (
    Catalogue,
    Tastes,
    draw_items,
    draw_popular_items,
    make_catalogue,
    make_tastes,
)
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
from cxml.data._sample_frame import CSAT, LOGIN, NPS, PURCHASE, SUPPORT, VIEW, Rows, assemble, order_numbers
from cxml.exceptions import ParameterError
from cxml.schema import Columns, parse_as_of

__all__ = ["generate_sample", "load_sample", "main", "write_sample"]

SAMPLE_FILE = "events.csv"
CARD_FILE = "README.md"

#: order lines = 1 + Poisson(basket), basket ~ Gamma(shape, scale) per customer, at most 8
BASKET_SHAPE, BASKET_SCALE, MAX_LINES = 2.0, 0.45, 8
#: quantity = 1 + Poisson(q), q ~ Gamma(shape, scale) per customer, at most 12
QUANTITY_SHAPE, QUANTITY_SCALE, MAX_QUANTITY = 1.0, 0.3, 12
#: favourite items per customer and the share of lines that rebuy one ~ Beta(a, b) per customer
N_FAVOURITES, REBUY_A, REBUY_B = 3, 1.2, 4.0
#: share of purchase lines returned, and the mean delay (days) after a minimum of one day
RETURN_RATE, RETURN_DELAY_DAYS = 0.04, 8.0
#: share of engagement events that are item views (the rest are logins), and of views by taste
VIEW_SHARE, VIEW_BY_TASTE = 0.6, 0.8
#: share of customers who answer surveys; a respondent rates some extra orders and support contacts
RESPONDENT_SHARE, NPS_EXTRA_ORDERS, CSAT_AFTER_SUPPORT = 0.2, 0.25, 0.6
#: satisfaction: NPS mean of an engaged customer, its spread across customers, the answer noise
#: and the drop at dropout; the same for CSAT (which follows the customer's NPS satisfaction)
NPS_MEAN, NPS_SPREAD, NPS_NOISE, NPS_DROP = 8.0, 1.2, 1.2, 4.0
CSAT_MEAN, CSAT_NOISE, CSAT_DROP = 4.2, 0.7, 1.8


def generate_sample(
    n_customers: int = 2000,
    n_items: int = 500,
    start: Any = "2023-01-01",
    end: Any = "2024-12-31",
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Simulate a canonical events table of a small online shop (see the module docstring).

    Parameters
    ----------
    n_customers, n_items
        Customers acquired in the window and items in the catalogue (both ≥ 1).
    start, end
        First and last day of the window (date-like, ``end`` inclusive).
    random_state
        Seed (or Generator) of the only random stream used; the same seed gives the same table.

    Returns
    -------
    pandas.DataFrame
        The canonical events of :func:`cxml.load_events` (``customer_id, timestamp, event_type,
        item_id, quantity, amount, value, order_id``), timestamps to the second, amounts in
        cents, sorted by timestamp. Ids look like ``C0042``, ``I017``, ``O00123``.

    Examples
    --------
    >>> ev = generate_sample(n_customers=30, n_items=20, random_state=0)
    >>> ev.equals(generate_sample(n_customers=30, n_items=20, random_state=0))
    True
    >>> bool((ev.loc[ev["event_type"] == "nps", "value"].between(0, 10)).all())
    True
    """
    n_customers = check_int("n_customers", n_customers, minimum=1)
    n_items = check_int("n_items", n_items, minimum=1)
    first, last = parse_as_of(start, "start"), parse_as_of(end, "end")
    if last < first:
        raise ParameterError(f"end={end!r} is before start={start!r}; expected end >= start")
    days = float((last.normalize() - first.normalize()).days + 1)
    rng = np.random.default_rng(random_state)

    catalogue = make_catalogue(rng, n_items)
    cust = draw_customers(rng, n_customers, days)
    tastes = make_tastes(rng, n_customers, catalogue)
    order_cust, order_day, dropout = simulate_orders(rng, cust, days)
    lines = _order_lines(rng, order_cust, order_day, tastes, catalogue)
    rows = [
        lines,
        _returns(rng, lines, catalogue.price, days),
        *_engagement(rng, cust, dropout, days, tastes, catalogue),
    ]
    rows += _feedback(rng, order_cust, order_day, rows[-1], dropout, days)
    order_number = order_numbers(order_cust, order_day)
    return assemble(rows, first, days, n_customers, n_items, order_number, rng)


def _order_lines(
    rng: np.random.Generator,
    order_cust: np.ndarray,
    order_day: np.ndarray,
    tastes: Tastes,
    catalogue: Catalogue,
) -> Rows:
    """Lines of every order: basket size, items (taste or a rebought favourite), quantities."""
    n_customers = tastes.key.size // tastes.n_categories
    basket = rng.gamma(BASKET_SHAPE, BASKET_SCALE, n_customers)
    n_lines = 1 + np.minimum(rng.poisson(basket[order_cust]), MAX_LINES - 1)
    line_order = np.repeat(np.arange(order_cust.size), n_lines)
    line_cust = order_cust[line_order]
    favourites = draw_items(rng, np.repeat(np.arange(n_customers), N_FAVOURITES), tastes, catalogue)
    rebuy_p = rng.beta(REBUY_A, REBUY_B, n_customers)
    item = draw_items(rng, line_cust, tastes, catalogue)
    rebuy = rng.random(item.size) < rebuy_p[line_cust]
    pick = rng.integers(0, N_FAVOURITES, int(rebuy.sum()))
    item[rebuy] = favourites.reshape(n_customers, N_FAVOURITES)[line_cust[rebuy], pick]
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
) -> list[Rows]:
    """NPS after one random order (plus some more) and CSAT after some support contacts, by
    respondents only; both scores fall as the dropout day gets close."""
    n_customers = dropout.size
    respondent = rng.random(n_customers) < RESPONDENT_SHARE
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


def load_sample() -> pd.DataFrame:
    """The repository's sample (``data/sample/events.csv``) as a canonical events table.

    The csv is not shipped inside the package; this regenerates it with
    :func:`generate_sample`'s defaults, which is deterministic and equal to loading the committed
    file with :func:`cxml.load_events` (a test checks both). Takes well under a second.

    Examples
    --------
    >>> ev = load_sample()
    >>> ev["customer_id"].nunique()
    2000
    """
    return generate_sample()


def write_sample(
    out: str | os.PathLike[str],
    *,
    n_customers: int = 2000,
    n_items: int = 500,
    start: Any = "2023-01-01",
    end: Any = "2024-12-31",
    random_state: int = 0,
) -> Path:
    """Generate a sample (arguments of :func:`generate_sample`) and write it to directory ``out``.

    Writes ``events.csv`` (ISO timestamps, amounts with two decimals, whole quantities and
    scores, empty cells for missing values, ``\\n`` line ends: byte-identical for the same
    arguments) and ``README.md``, a data card with the counts. Returns the csv path.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_sample(tmp, n_customers=20, n_items=10)
    ...     print(path.name, path.read_text().splitlines()[0])
    events.csv customer_id,timestamp,event_type,item_id,quantity,amount,value,order_id
    """
    params = {
        "n_customers": n_customers,
        "n_items": n_items,
        "start": start,
        "end": end,
        "random_state": random_state,
    }
    events = generate_sample(**params)
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SAMPLE_FILE
    table = events.assign(
        **{
            Columns.TIMESTAMP: np.datetime_as_string(events[Columns.TIMESTAMP].to_numpy(), unit="s"),
            Columns.QUANTITY: events[Columns.QUANTITY].astype("Int64"),
            Columns.VALUE: events[Columns.VALUE].astype("Int64"),
        }
    )
    table.to_csv(path, index=False, float_format="%.2f", lineterminator="\n")
    constants = {"N_FAVOURITES": N_FAVOURITES, "MAX_LINES": MAX_LINES, "RETURN_RATE": RETURN_RATE,
                 "RESPONDENT_SHARE": RESPONDENT_SHARE}
    card = render_card(events, path.stat().st_size, params, constants)
    (directory / CARD_FILE).write_text(card, encoding="utf-8", newline="\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m cxml.data.sample --out data/sample [--customers N ...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m cxml.data.sample", description="Write the synthetic cxml events sample."
    )
    parser.add_argument("--out", required=True, help="output directory (events.csv, README.md)")
    parser.add_argument("--customers", type=int, default=2000, help="customers (default 2000)")
    parser.add_argument("--items", type=int, default=500, help="items (default 500)")
    parser.add_argument("--start", default="2023-01-01", help="first day (default 2023-01-01)")
    parser.add_argument("--end", default="2024-12-31", help="last day, inclusive (default 2024-12-31)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    write_sample(
        args.out,
        n_customers=args.customers,
        n_items=args.items,
        start=args.start,
        end=args.end,
        random_state=args.seed,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
