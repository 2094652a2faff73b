"""``ExplainedModel``: per-customer contributions (``explain``) and reasons in words (``reasons``).

The base of :class:`~cxml.churn.ChurnModel` and :class:`~cxml.churn.CLTVModel` above
:class:`~cxml.churn._snapshot.SnapshotModel`: both boosters explain their raw score with LightGBM's
``pred_contrib`` (TreeSHAP) — log-odds of the uncalibrated churn booster, log of the CLTV Tweedie
model's expected value — and both turn the largest drivers into sentences
(:mod:`cxml.churn._templates`, ranked by the rule of :mod:`cxml.churn._reasons`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxml._checks import check_choice, check_int
from cxml.churn._docs import fill_doc
from cxml.churn._lgbm import customer_index
from cxml.churn._reasons import DIRECTIONS, prior_effect, rank_reasons, signs
from cxml.churn._snapshot import SnapshotModel
from cxml.churn._templates import PRIOR, Context
from cxml.data import as_events
from cxml.exceptions import UnknownIdError
from cxml.schema import Columns, parse_as_of, parse_horizon

__all__ = ["BIAS", "ExplainedModel"]

#: Name of the booster's expected raw score in ``explain``.
BIAS = "__bias__"


class ExplainedModel(SnapshotModel):
    """``explain`` and ``reasons`` shared by the churn and CLTV models."""

    @fill_doc
    def explain(
        self,
        events: Any,
        as_of: Any,
        customers: Any = None,
        top_n: int | None = None,
    ) -> pd.DataFrame:
        """Per-customer feature contributions (LightGBM ``pred_contrib``, TreeSHAP).

        Contributions are on the booster's **raw scale**, not in probability or money: log-odds of
        the uncalibrated booster for ``ChurnModel``, the log of the expected value for
        ``CLTVModel``. Per customer, the feature contributions plus the ``"__bias__"`` row (the
        booster's expected raw score; its ``value`` is NaN) and, with ``bgnbd_prior=True``, the
        ``"__bgnbd_prior__"`` row (the raw-scale BG/NBD forecast that boosting started from —
        logit of P(no purchase) for churn — refined by the linear prior with
        ``linear_prior=True`` — and for CLTV the log of the BG/NBD × Gamma-Gamma value plus its
        held-out level shift, or, when ``CLTVModel`` chose its linear prior (``linear_prior_`` not
        ``None``), that value refined by :mod:`cxml.churn._cltv_prior`; ``value``
        is the BG/NBD forecast) sum to the raw score (which the churn calibrator turns into
        ``churn_probability``, before an optional blend with BG/NBD; ``exp`` of it is
        ``expected_value``). Rows are sorted by
        ``|contribution|`` within each customer, those two rows last; ``top_n`` keeps the largest
        ``top_n`` feature rows per customer (plus those two rows).

        Returns ``DataFrame[customer_id, feature, value, contribution]``; customers in the order
        given (default: all existing customers, sorted). Unknown or non-existing customers raise
        :class:`cxml.UnknownIdError`.

        Parameters
        ----------
        {{events}}
        as_of
            Date-like prediction date; as in :meth:`predict`, only events before it are used.
        customers
            Customer ids to explain (compared as strings), in the order wanted; a single id (a
            ``str`` such as ``"C0001"``) is one customer. ``None`` (default) explains every
            customer with a purchase before ``as_of``.
        top_n
            Keep only the ``top_n`` largest feature rows by ``|contribution|`` per customer (a
            positive integer); ``None`` (default) keeps every feature.

        Returns
        -------
        pandas.DataFrame
            Long format, one row per (customer, feature): ``customer_id`` (str), ``feature`` (str,
            including ``"__bias__"`` and, with the prior, ``"__bgnbd_prior__"``), ``value`` (the
            feature's value, float) and ``contribution`` (float, raw scale).

        {{predict_raises}}
        ParameterError
            When ``top_n`` is not a positive integer or None, or ``customers`` is not an id or ids.
        UnknownIdError
            When a customer in ``customers`` has no purchase before ``as_of``.
        """
        self._check_fitted()
        if top_n is not None:
            check_int("top_n", top_n, minimum=1)
        return self._contributions(self._rows(events, as_of, customers), top_n)

    @fill_doc
    def reasons(
        self, events: Any, as_of: Any, customers: Any = None, top: int = 3, *, direction: str = "auto"
    ) -> pd.DataFrame:
        """The ``top`` drivers of each customer's prediction as short sentences.

        Drivers are the :meth:`explain` contributions and the BG/NBD prior's effect, translated
        into plain words with the customer's value and, for a model fitted with this version, a
        population reference (the customers of the latest training snapshot). Each customer is
        explained in one direction (see ``direction``); drivers that push the other way are left
        out, so a customer can have fewer than ``top`` reasons, or none.

        Parameters
        ----------
        {{events}}
        as_of
            Date-like prediction date; only events before it are used.
        customers
            Customer ids (compared as strings), in the order wanted; a single ``str`` is one
            customer. ``None`` (default) explains every customer with a purchase before ``as_of``.
        top
            Most reasons per customer (a positive integer).
        direction
            ``"auto"`` (default): a customer whose raw score is at or above the population median
            gets the drivers that push the prediction up (churn: towards churning; CLTV: towards
            a higher value), one below it those that push it down; a model saved without a
            population reference explains everybody ``"up"``. ``"up"`` or ``"down"`` force one
            direction.

        Returns
        -------
        pandas.DataFrame
            ``customer_id`` (str), ``rank`` (1 = strongest), ``reason`` (the sentence),
            ``feature`` (the model input, ``"bgnbd_prior"`` for the prior), ``value`` (the
            customer's value), ``contribution`` (raw scale, as in :meth:`explain`; for the prior,
            its distance from the population's median prior), ``reference`` (the population
            median of the feature, NaN when unknown) and ``direction`` (``"up"``/``"down"``).
            Customers in the order given, reasons by rank.

        {{predict_raises}}
        ParameterError
            When ``top`` is not a positive integer, ``direction`` is unknown or ``customers`` is
            not an id or ids.
        UnknownIdError
            When a customer in ``customers`` has no purchase before ``as_of``.

        Examples
        --------
        >>> import warnings, cxml
        >>> from cxml.churn import ChurnModel
        >>> from cxml.data.sample import generate_sample
        >>> ev = cxml.load_events(generate_sample(n_customers=300, n_items=30, random_state=0))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", cxml.DataWarning)
        ...     model = ChurnModel(horizon="90D", n_snapshots=2, max_rounds=60).fit(ev, as_of="2024-09-01")
        >>> one = model.predict(ev, as_of="2024-09-01")["customer_id"].iloc[0]
        >>> why = model.reasons(ev, as_of="2024-09-01", customers=one, top=2)
        >>> why.columns.tolist()[:3], len(why) <= 2
        (['customer_id', 'rank', 'reason'], True)
        >>> print(why["reason"].iloc[0])  # doctest: +SKIP
        no purchase for 124 days — 3.0× their usual gap of 41 days
        """
        self._check_fitted()
        check_int("top", top, minimum=1)
        check_choice("direction", direction, DIRECTIONS)
        ts = parse_as_of(as_of)
        X = self._rows(events, ts, customers)
        contrib = self._contrib_matrix(X)
        names = list(self.feature_names_)
        effects = contrib[:, :-1]
        prior = self._prior(X)
        raw = contrib.sum(axis=1) if prior is None else contrib.sum(axis=1) + prior
        reference = getattr(self, "reference_", None)
        if prior is not None:
            effects = np.column_stack([effects, prior_effect(prior, reference)])
            names.append(PRIOR)
        days = int(round(parse_horizon(self.horizon) / pd.Timedelta(days=1)))

        def context(row: dict[str, float]) -> Context:
            return Context(row=row, as_of=ts, horizon_days=days, reference=reference,
                           prior_column=self._prior_column)

        return rank_reasons(X, effects, names, signs(raw, reference, direction), context, int(top))

    def _rows(self, events: Any, as_of: Any, customers: Any) -> pd.DataFrame:
        """The aligned feature rows of ``customers`` (all existing ones for ``None``) at ``as_of``."""
        wanted = None if customers is None else customer_index(customers)
        X = self._features(as_events(events), parse_as_of(as_of))
        if wanted is None:
            return X
        missing = wanted[~wanted.isin(X.index)]
        if len(missing):
            raise UnknownIdError(
                f"{len(missing)} customers have no purchase before as_of={as_of} "
                f"(first: {missing[0]!r}); expected customers that exist at as_of"
            )
        return X.loc[wanted]

    def _contrib_matrix(self, X: pd.DataFrame) -> np.ndarray:
        """``pred_contrib`` of the final booster: one column per feature, then the bias."""
        if not len(X):
            return np.zeros((0, X.shape[1] + 1))
        return np.asarray(self.booster_.predict(X, pred_contrib=True), dtype=np.float64)

    def _contributions(self, X: pd.DataFrame, top_n: int | None) -> pd.DataFrame:
        """The long contribution frame of :meth:`explain` for the feature rows ``X``."""
        n, k = X.shape
        contrib = self._contrib_matrix(X)
        pos = np.repeat(np.arange(n), k)
        c = contrib[:, :k].ravel()
        order = np.lexsort((-np.abs(c), pos))
        feats = pd.DataFrame(
            {
                Columns.CUSTOMER: np.repeat(X.index.to_numpy(), k)[order],
                "feature": np.tile(np.asarray(self.feature_names_, dtype=object), n)[order],
                "value": X.to_numpy().ravel()[order],
                "contribution": c[order],
                "_pos": pos[order],
            }
        )
        if top_n is not None:
            feats = feats.loc[feats.groupby("_pos").cumcount().to_numpy() < top_n]
        extra = [_per_customer(X.index, BIAS, np.full(n, np.nan), contrib[:, k])]
        prior = self._prior(X)
        if prior is not None:
            extra.append(_per_customer(X.index, PRIOR, X[self._prior_column].to_numpy(), prior))
        out = pd.concat([feats, *extra], ignore_index=True).sort_values("_pos", kind="stable")
        return out.drop(columns="_pos").reset_index(drop=True).astype(
            {Columns.CUSTOMER: "str", "feature": "str"}
        )


def _per_customer(index: pd.Index, feature: str, value: np.ndarray, contribution: np.ndarray) -> pd.DataFrame:
    """One extra explain row per customer (the bias or the prior)."""
    n = len(index)
    return pd.DataFrame(
        {Columns.CUSTOMER: index.to_numpy(), "feature": feature, "value": value,
         "contribution": contribution, "_pos": np.arange(n)}
    )
