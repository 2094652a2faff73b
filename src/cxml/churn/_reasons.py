"""From per-customer contributions to ranked reasons in plain words.

The **direction rule**: each customer is explained in one direction. With ``direction="auto"``
a customer whose raw score (log-odds of churn, or log of the expected value) is at or above the
population median — the customers of the latest training snapshot, stored with the model — is
explained by the drivers that push the prediction **up** (churn: towards churning; CLTV: towards
a higher value), a customer below it by the drivers that push it **down** (towards staying, or a
lower value). ``"up"``/``"down"`` force one direction for everybody. A model saved before
population references existed has no median and explains everybody ``"up"``.

Drivers are the features' contributions and the BG/NBD prior's effect: the prior (the raw score
boosting starts from) minus its population median, so that a customer with an ordinary prior does
not get it as a reason. Within the direction the drivers are ranked by size; a driver pushing the
other way is never shown, so a customer may get fewer than ``top`` reasons (none when nothing
pushes their way). Two drivers that read the same are shown once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from cxml.churn._reference import Reference, median
from cxml.churn._templates import PRIOR, Context, describe
from cxml.schema import Columns

__all__ = ["DIRECTIONS", "PRIOR_FEATURE", "REASON_COLUMNS", "prior_effect", "rank_reasons", "reason_lists", "signs"]

#: Accepted values of ``direction``.
DIRECTIONS: Final = ("auto", "up", "down")
#: Name of the BG/NBD prior in the ``feature`` column of a reasons frame.
PRIOR_FEATURE: Final = "bgnbd_prior"
#: Columns of a reasons frame, in order.
REASON_COLUMNS: Final = (Columns.CUSTOMER, "rank", "reason", "feature", "value", "contribution", "reference",
                         "direction")


def signs(raw: np.ndarray, reference: Reference | None, direction: str) -> np.ndarray:
    """+1 (explain why the prediction is high) or -1 (why it is low) per customer."""
    if direction == "up" or (direction == "auto" and reference is None):
        return np.ones(len(raw))
    if direction == "down":
        return -np.ones(len(raw))
    return np.where(raw >= float(reference["raw_median"]), 1.0, -1.0)  # type: ignore[index]


def prior_effect(prior: np.ndarray, reference: Reference | None) -> np.ndarray:
    """The prior's push away from the population's median prior (raw scale)."""
    centre = None if reference is None else reference.get("prior_median")
    return prior - (0.0 if centre is None else float(centre))


def rank_reasons(
    X: pd.DataFrame,
    effects: np.ndarray,
    names: Sequence[str],
    sign: np.ndarray,
    context: Callable[[dict[str, float]], Context],
    top: int,
) -> pd.DataFrame:
    """The reasons frame (:data:`REASON_COLUMNS`) of the customers in ``X``.

    ``effects`` has one column per name in ``names`` (the model's features, then possibly
    :data:`~cxml.churn._templates.PRIOR`); ``context`` makes the sentence context of one row.
    """
    signed = effects * sign[:, None]
    order = np.argsort(-signed, axis=1, kind="stable")
    values = X.to_numpy(dtype=np.float64)
    columns = [str(c) for c in X.columns]
    prior_value = None
    rows: list[tuple[Any, ...]] = []
    for i, cid in enumerate(X.index):
        row = dict(zip(columns, values[i].tolist(), strict=True))
        ctx = context(row)
        if PRIOR in names:
            prior_value = row.get(ctx.prior_column, np.nan)
        seen: set[str] = set()
        for j in order[i]:
            if signed[i, j] <= 0 or len(seen) == top:
                break
            name = names[j]
            value = prior_value if name == PRIOR else row[name]
            text = describe(name, float(value), ctx)  # type: ignore[arg-type]
            if text in seen:
                continue
            seen.add(text)
            ref = median(ctx.reference, ctx.prior_column if name == PRIOR else name)
            rows.append((cid, len(seen), text, PRIOR_FEATURE if name == PRIOR else name, value,
                         float(effects[i, j]), np.nan if ref is None else ref, "up" if sign[i] > 0 else "down"))
    out = pd.DataFrame(rows, columns=list(REASON_COLUMNS))
    return out.astype({Columns.CUSTOMER: "str", "rank": "int64", "reason": "str", "feature": "str",
                       "value": "float64", "contribution": "float64", "reference": "float64", "direction": "str"})


def reason_lists(reasons: pd.DataFrame, customers: Sequence[Any] | np.ndarray) -> list[list[str]]:
    """Each customer's reasons, best first, as a list of sentences (``[]`` for a customer without any).

    Parameters
    ----------
    reasons
        A frame returned by ``ChurnModel.reasons`` or ``CLTVModel.reasons``.
    customers
        The customer ids wanted, in output order (compared as strings).

    Returns
    -------
    list of list of str
        One list per customer in ``customers``: its ``reason`` texts in ``rank`` order.

    Examples
    --------
    >>> frame = pd.DataFrame({"customer_id": ["a", "a"], "rank": [2, 1], "reason": ["second", "first"]})
    >>> reason_lists(frame, ["a", "b"])
    [['first', 'second'], []]
    """
    ordered = reasons.sort_values([Columns.CUSTOMER, "rank"], kind="stable")
    lists = ordered.groupby(Columns.CUSTOMER, sort=False)["reason"].agg(list).to_dict()
    return [list(lists.get(str(c), [])) for c in customers]
