"""The data card (``README.md``) written next to the synthetic sample: process, columns, counts.

Every number in the card is computed from the generated table, so the card cannot drift from
the data it describes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cxml.data import _sample_customers as c
from cxml.schema import Columns, EventTypes, purchase_mask

__all__ = ["render_card", "summarize"]


def summarize(events: pd.DataFrame) -> dict[str, Any]:
    """Counts and shapes of a sample events table (used by the card and handy in tests)."""
    et = events[Columns.EVENT_TYPE]
    buy = purchase_mask(events).to_numpy()
    is_purchase_type = et.eq(EventTypes.PURCHASE).to_numpy()
    returns = is_purchase_type & ~buy
    purchases = events.loc[buy]
    days_per_customer = (
        purchases[Columns.TIMESTAMP].dt.normalize().groupby(purchases[Columns.CUSTOMER]).nunique()
    )
    orders_per_customer = purchases.groupby(Columns.CUSTOMER)[Columns.ORDER].nunique()
    feedback = events.loc[et.isin([EventTypes.NPS, EventTypes.CSAT]).to_numpy()]
    nps = events.loc[et.eq(EventTypes.NPS).to_numpy(), Columns.VALUE]
    csat = events.loc[et.eq(EventTypes.CSAT).to_numpy(), Columns.VALUE]
    n_customers = int(events[Columns.CUSTOMER].nunique())
    return {
        "rows": len(events),
        "customers": n_customers,
        "items": int(events[Columns.ITEM].nunique()),
        "items_purchased": int(purchases[Columns.ITEM].nunique()),
        "first": events[Columns.TIMESTAMP].min(),
        "last": events[Columns.TIMESTAMP].max(),
        "by_type": et.value_counts().to_dict(),
        "purchase_lines": int(buy.sum()),
        "orders": int(purchases[Columns.ORDER].nunique()),
        "return_rows": int(returns.sum()),
        "return_share": float(returns.sum() / max(int(buy.sum()), 1)),
        "gross_sales": float(purchases[Columns.AMOUNT].sum()),
        "refunds": float(-events.loc[returns, Columns.AMOUNT].sum()),
        "line_amount_median": float(purchases[Columns.AMOUNT].median()),
        "line_amount_mean": float(purchases[Columns.AMOUNT].mean()),
        "line_amount_p99": float(purchases[Columns.AMOUNT].quantile(0.99)),
        "one_time_share": float((days_per_customer == 1).mean()),
        "orders_mean": float(orders_per_customer.mean()),
        "orders_median": float(orders_per_customer.median()),
        "orders_max": int(orders_per_customer.max()),
        "respondent_share": float(feedback[Columns.CUSTOMER].nunique() / max(n_customers, 1)),
        "nps_mean": float(nps.mean()) if len(nps) else float("nan"),
        "nps_score": float(100 * ((nps >= 9).mean() - (nps <= 6).mean())) if len(nps) else float("nan"),
        "csat_mean": float(csat.mean()) if len(csat) else float("nan"),
    }


def render_card(events: pd.DataFrame, csv_bytes: int, params: dict[str, Any], constants: dict[str, float]) -> str:
    """Markdown data card for ``events`` generated with ``params`` (arguments of generate_sample).

    ``constants`` are the generator's own constants the card documents (``N_FAVOURITES``,
    ``MAX_LINES``, ``RETURN_RATE``, ``RESPONDENT_SHARE`` of :mod:`cxml.data.sample`), passed in so
    that this module does not import the generator that imports it.
    """
    s = summarize(events)
    args = ", ".join(f"{k}={v!r}" for k, v in params.items())
    by_type = "\n".join(
        f"| {name} | {s['by_type'].get(name, 0):,} |"
        for name in ("purchase", "view", "login", "support", "nps", "csat")
    )
    return f"""# Synthetic sample: a small online shop

`events.csv` is written by

```bash
python -m cxml.data.sample --out data/sample
```

i.e. `cxml.data.sample.generate_sample({args})`.

It is deterministic: a test regenerates it and compares the bytes.
`cxml.data.sample.load_sample()` returns the same table without reading the file.
This card is written by the same command; every number below is computed from the data.

{_process_section(constants)}
## Columns

| column | meaning |
|---|---|
| customer_id | `C0000`... |
| timestamp | ISO 8601, to the second, naive UTC |
| event_type | purchase, view, login, support, nps, csat |
| item_id | `I000`... for purchases, returns and views; empty otherwise |
| quantity | units (negative = return); purchases only |
| amount | line value, two decimals (negative = refund); purchases only |
| value | the score of nps / csat events |
| order_id | `O00000`... for purchases and returns |

## Counts

| | |
|---|---|
{_counts_rows(s, csv_bytes)}

| event_type | rows |
|---|---|
{by_type}
"""


def _counts_rows(s: dict[str, Any], csv_bytes: int) -> str:
    rows = (
        ("rows", f"{s['rows']:,} ({csv_bytes / 1e6:.2f} MB)"),
        ("customers", f"{s['customers']:,}"),
        ("items (seen / purchased)", f"{s['items']:,} / {s['items_purchased']:,}"),
        ("date range", f"{s['first']:%Y-%m-%d %H:%M:%S} to {s['last']:%Y-%m-%d %H:%M:%S}"),
        ("orders", f"{s['orders']:,}"),
        ("purchase lines", f"{s['purchase_lines']:,}"),
        ("return rows", f"{s['return_rows']:,} ({100 * s['return_share']:.1f}% of purchase lines)"),
        ("gross sales / refunds", f"{s['gross_sales']:,.2f} / {s['refunds']:,.2f}"),
        (
            "line amount median / mean / p99",
            f"{s['line_amount_median']:.2f} / {s['line_amount_mean']:.2f} / {s['line_amount_p99']:.2f}",
        ),
        ("one-time buyers (one purchase day)", f"{100 * s['one_time_share']:.1f}%"),
        (
            "orders per customer mean / median / max",
            f"{s['orders_mean']:.2f} / {s['orders_median']:.0f} / {s['orders_max']}",
        ),
        ("customers with feedback", f"{100 * s['respondent_share']:.1f}%"),
        (
            "mean NPS answer / NPS score / mean CSAT",
            f"{s['nps_mean']:.2f} / {s['nps_score']:.1f} / {s['csat_mean']:.2f}",
        ),
    )
    return "\n".join(f"| {name} | {value} |" for name, value in rows)


def _process_section(m: dict[str, float]) -> str:
    floor = f"{100 * c.ENGAGEMENT_FLOOR:g}%"
    return f"""## How it is generated

- **Customers** are acquired uniformly over the window with a first order, then order as a
  Poisson process with rate λ ~ Gamma(shape {c.RATE_SHAPE}, scale {c.RATE_SCALE}/day), and after
  each repeat order leave for good with probability p ~ Beta({c.DROPOUT_A}, {c.DROPOUT_B}):
  the BG/NBD process of Fader, Hardie & Lee (2005) with, in weeks, r = {c.RATE_SHAPE},
  alpha = {1 / (7 * c.RATE_SCALE):.3f}, a = {c.DROPOUT_A}, b = {c.DROPOUT_B}.
  A leaving customer's *dropout day* falls within {c.DROPOUT_LAG_DAYS:g} days after the last order.
- **Items** belong to latent categories with long-tailed (log-normal) popularity inside each.
  Every customer has a Dirichlet taste over the categories; order lines pick a category from the
  taste, then an item by popularity, or rebuy one of {m["N_FAVOURITES"]} favourite items. A factor model
  can learn the taste, a popularity ranking cannot. Item ids are shuffled (they do not reveal
  categories).
- **Orders** have 1-{m["MAX_LINES"]} lines (`order_id`, numbered in time order); quantities are small integers;
  item prices are log-normal; `amount = price * quantity`.
- **Returns**: {100 * m["RETURN_RATE"]:g}% of lines come back a day or more later as a row with negative
  quantity and amount, the same item and the same `order_id` (unless that falls after the window).
- **Engagement**: `view` (with an item, mostly from the customer's taste) and `login` events at a
  per-customer rate that fades over the {c.DECLINE_DAYS:g} days before the dropout day (to {floor}) and
  dies out after it; `support` contacts become up to {c.SUPPORT_BOOST:g} times more frequent in those days.
- **Feedback** from the {100 * m["RESPONDENT_SHARE"]:g}% of customers who answer surveys: `nps` (0-10) after an
  order and `csat` (1-5) after a support contact; scores drop as the dropout day gets close.
"""
