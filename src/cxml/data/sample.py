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

Knobs shape it for benchmarks (rows, items, Zipf popularity, basket size, repeat rate, purchase
share; see :func:`generate_sample`), and :func:`write_dataset` writes the same model at any size
as a partitioned parquet dataset, block by block in bounded memory
(``python -m cxml.data.sample --format parquet-dataset --customers 100000 --events 5000000 --out DIR``).

Examples
--------
>>> from cxml.data.sample import generate_sample
>>> ev = generate_sample(n_customers=50, n_items=40, random_state=1)
>>> sorted(ev["event_type"].unique())
['csat', 'login', 'nps', 'purchase', 'support', 'view']
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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
from cxml.data._scale import MANIFEST, write_dataset
from cxml.exceptions import CxmlError
from cxml.schema import Columns

__all__ = [
    "add_sample_arguments",
    "generate_sample",
    "load_sample",
    "main",
    "run_sample",
    "write_dataset",
    "write_sample",
]

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
    **knobs: Any,
) -> Path:
    """Generate a sample (arguments of :func:`generate_sample`) and write it to directory ``out``.

    Writes ``events.csv`` (ISO timestamps, amounts with two decimals, whole quantities and
    scores, empty cells for missing values, ``\\n`` line ends: byte-identical for the same
    arguments) and ``README.md``, a data card with the counts. Returns the csv path.

    Parameters
    ----------
    out
        Output directory (created if needed).
    n_customers, n_items, start, end, random_state
        As in :func:`generate_sample`.
    **knobs
        The keyword-only knobs of :func:`generate_sample` (``n_events``, ``purchase_share``,
        ``zipf_exponent``, ``basket_size``, ``repeat_rate``, ``n_categories``); those given
        (not ``None``) are listed on the data card.

    Returns
    -------
    pathlib.Path
        The csv file.

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
        **{k: v for k, v in knobs.items() if v is not None},
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
    """Command line: ``python -m cxml.data.sample --out DIR [--format parquet-dataset] [--customers N ...]``.

    ``--format csv`` writes ``events.csv`` and its data card with :func:`write_sample` (the
    default without ``--events``: ``--out data/sample`` rewrites the repository's sample);
    ``--format parquet-dataset`` writes a partitioned parquet dataset with :func:`write_dataset`
    (the default with ``--events``, e.g. ``--customers 100000 --events 5000000``). ``--help``
    lists the flags.

    Parameters
    ----------
    argv
        Arguments without the program name (``None``: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0, or 2 after printing a :class:`cxml.CxmlError` (a bad knob, an existing
        output) to stderr.
    """
    parser = argparse.ArgumentParser(
        prog="python -m cxml.data.sample", description="Write the synthetic cxml events sample or dataset."
    )
    add_sample_arguments(parser)
    try:
        run_sample(parser.parse_args(argv))
    except CxmlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _byte_size(text: str) -> int:
    """``"512M"`` / ``"2G"`` / ``"1048576"`` as bytes (for ``--memory-budget``)."""
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    try:
        if text[-1:] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; expected bytes like 512M or 2G") from None


def add_sample_arguments(parser: argparse.ArgumentParser, *, default_out: str | None = None) -> None:
    """Add the flags of ``python -m cxml.data.sample`` to ``parser`` (for ``cxml sample``).

    Parameters
    ----------
    parser
        The parser (or sub-command parser) to extend; :func:`run_sample` reads what it parses.
    default_out
        Default of ``--out``; ``None`` (default) makes ``--out`` required.
    """
    add = parser.add_argument
    if default_out is None:
        add("--out", required=True, help="output directory")
    else:
        add("--out", default=default_out, help=f"output directory (default {default_out})")
    add("--format", choices=("csv", "parquet-dataset"), default=None,
        help="csv: events.csv + README.md card; parquet-dataset: part-*.parquet + _cxml_dataset.json "
        "(default: parquet-dataset when --events is given, else csv)")
    add("--customers", type=int, default=2000, help="customers (default 2000)")
    add("--items", type=int, default=None, help="items (default 500 for csv, 10000 for parquet-dataset)")
    add("--events", type=int, default=None, help="target number of rows, hit approximately (default: natural)")
    add("--start", default="2023-01-01", help="first day (default 2023-01-01)")
    add("--end", default="2024-12-31", help="last day, inclusive (default 2024-12-31)")
    add("--seed", type=int, default=0, help="random seed (default 0)")
    add("--purchase-share", type=float, default=None, help="share of rows that are purchases (default ~0.22)")
    add("--zipf", type=float, default=None, help="Zipf exponent of item popularity (default: log-normal)")
    add("--basket-size", type=float, default=None, help="mean lines per order (default ~1.9)")
    add("--repeat-rate", type=float, default=None, help="share of lines rebuying a favourite (default ~0.23)")
    add("--categories", type=int, default=None, help="latent taste categories (default min(15, items/5))")
    add("--memory-budget", type=_byte_size, default=None, help="parquet-dataset: bytes at once, e.g. 512M")
    add("--block-customers", type=int, default=None, help="parquet-dataset: customers per part file")
    add("--overwrite", action="store_true", help="parquet-dataset: replace a non-empty --out")
    add("--progress", action="store_true", help="parquet-dataset: progress bar over the blocks")


def run_sample(args: argparse.Namespace) -> Path:
    """Write what the flags of :func:`add_sample_arguments` ask for.

    Parameters
    ----------
    args
        The parsed flags.

    Returns
    -------
    pathlib.Path
        The csv file, or the dataset directory.
    """
    knobs = {
        "n_events": args.events,
        "purchase_share": args.purchase_share,
        "zipf_exponent": args.zipf,
        "basket_size": args.basket_size,
        "repeat_rate": args.repeat_rate,
        "n_categories": args.categories,
    }
    common = {"n_customers": args.customers, "start": args.start, "end": args.end, "random_state": args.seed}
    if args.format == "csv" or (args.format is None and args.events is None):
        return write_sample(args.out, n_items=500 if args.items is None else args.items, **common, **knobs)
    budget = {} if args.memory_budget is None else {"memory_budget": args.memory_budget}
    out = write_dataset(
        args.out,
        n_items=10_000 if args.items is None else args.items,
        block_customers=args.block_customers,
        overwrite=args.overwrite,
        progress=args.progress,
        **budget,
        **common,
        **knobs,
    )
    counts = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["counts"]
    print(f"wrote {counts['rows']:,} rows of {counts['customers']:,} customers in {counts['parts']} parts to {out}")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
