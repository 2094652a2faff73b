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
from cxml.data._sample_calibrate import PILOT_CUSTOMERS, calibrate, pilot_counter, population_counter
from cxml.data._sample_card import render_card
from cxml.data._sample_catalogue import make_catalogue
from cxml.data._sample_events import RETURN_RATE, simulate
from cxml.data._sample_frame import assemble, order_numbers
from cxml.data._sample_knobs import MAX_LINES, N_FAVOURITES, RESPONDENT_SHARE, check_knobs, check_target, check_window
from cxml.schema import Columns

__all__ = ["generate_sample", "load_sample", "main", "write_sample"]

SAMPLE_FILE = "events.csv"
CARD_FILE = "README.md"

def generate_sample(
    n_customers: int = 2000,
    n_items: int = 500,
    start: Any = "2023-01-01",
    end: Any = "2024-12-31",
    random_state: int | np.random.Generator | None = 0,
    *,
    n_events: int | None = None,
    purchase_share: float | None = None,
    zipf_exponent: float | None = None,
    basket_size: float | None = None,
    repeat_rate: float | None = None,
    n_categories: int | None = None,
) -> pd.DataFrame:
    """Simulate a canonical events table of a small online shop (see the module docstring).

    The keyword-only knobs shape it for benchmarks (e.g. grocery-like: many items, big sparse
    baskets, mostly purchases); each left at ``None`` keeps the default sample's behaviour.

    Parameters
    ----------
    n_customers, n_items
        Customers acquired in the window and items in the catalogue (both ≥ 1).
    start, end
        First and last day of the window (date-like, ``end`` inclusive).
    random_state
        Seed (or Generator) of the only random stream used; the same seed gives the same table.
    n_events
        Target number of rows (≥ ``n_customers``), hit approximately (a few percent at thousands
        of customers) by scaling the purchase and engagement rates, calibrated on a pilot
        simulation (:mod:`cxml.data._sample_calibrate`). ``None``: what the rates give (~33 a customer).
    purchase_share
        Share of rows that are purchase lines and returns, in ``(0, 1]``; the rest are views,
        logins, support contacts and survey answers. ``None``: today's mix (~22 %), or with
        ``n_events`` alone the same mix at the new size. ``1.0`` turns engagement and surveys off.
    zipf_exponent
        Item popularity follows ``rank ** -zipf_exponent`` (``0`` = uniform, ``1`` = classic Zipf,
        larger = more concentrated); ``None``: log-normal popularity within categories.
    basket_size
        Mean lines per order (≥ 1; slightly fewer remain after removing an item drawn twice in
        one order); orders are capped at ``max(8, 5 * basket_size)`` lines and each customer
        gets ``max(3, 2 * basket_size)`` favourites. ``None``: about 1.9 lines, at most 8.
    repeat_rate
        Mean share of order lines that rebuy one of the customer's favourite items, in ``[0, 1]``
        (per customer ~ Beta around it). ``None``: 0.23.
    n_categories
        Latent taste categories (1 to ``n_items``); customers' Dirichlet tastes keep today's
        focus per category. ``None``: ``min(15, n_items // 5)``.

    Returns
    -------
    pandas.DataFrame
        The canonical events of :func:`cxml.load_events` (``customer_id, timestamp, event_type,
        item_id, quantity, amount, value, order_id``), timestamps to the second, amounts in
        cents, sorted by timestamp. Ids look like ``C0042``, ``I017``, ``O00123``.

    Raises
    ------
    ParameterError
        A knob out of range, ``end`` before ``start``, or an ``n_events`` the model cannot reach.

    Examples
    --------
    >>> ev = generate_sample(n_customers=30, n_items=20, random_state=0)
    >>> ev.equals(generate_sample(n_customers=30, n_items=20, random_state=0))
    True
    >>> bool((ev.loc[ev["event_type"] == "nps", "value"].between(0, 10)).all())
    True
    >>> grocery = generate_sample(500, 2000, n_events=20_000, purchase_share=1.0, basket_size=8.0)
    >>> sorted(grocery["event_type"].unique())
    ['purchase']
    """
    n_customers = check_int("n_customers", n_customers, minimum=1)
    n_items = check_int("n_items", n_items, minimum=1)
    first, days = check_window(start, end)
    n_events, purchase_share = check_target(n_customers, n_events, purchase_share)
    knobs = check_knobs(
        n_items,
        zipf_exponent=zipf_exponent,
        n_categories=n_categories,
        basket_size=basket_size,
        repeat_rate=repeat_rate,
    )
    rng = np.random.default_rng(random_state)
    catalogue = make_catalogue(rng, n_items, zipf_exponent=knobs.zipf_exponent, n_categories=knobs.n_categories)
    if n_customers <= PILOT_CUSTOMERS:
        counter = population_counter(rng, n_customers, days, catalogue)
    else:
        counter = pilot_counter(catalogue, days, n_customers, n_events)
    knobs = calibrate(knobs, counter, n_customers, n_events, purchase_share)
    pop = simulate(rng, n_customers, days, catalogue, knobs)
    order_number = order_numbers(pop.order_customer, pop.order_day)
    return assemble(pop.rows, first, days, n_customers, n_items, order_number, rng)


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
