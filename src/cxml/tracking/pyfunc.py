"""The MLflow ``pyfunc`` face of a cxml bundle, logged as *models from code*.

MLflow never pickles a cxml object: the logged model is the small script ``_model_code.py``
(which calls ``mlflow.models.set_model(CxmlPyfuncModel())``) plus the cxml bundle as an artifact,
loaded with :func:`cxml.bundle.load_bundle` (hash-verified, no pickle) in ``load_context``.

``predict`` input — a DataFrame, either
- a customer list (column ``customer_id``): returns their top-k recommendations, or
- an events table (``customer_id``, ``timestamp`` and any other canonical columns): returns, for
  every customer existing at ``as_of``, churn probability, expected value and recommendations.
Params: ``k`` (default 10) and ``as_of`` (default: the day after the last event given).

Output — always the columns :data:`~cxml.tracking._signature.OUTPUT_COLUMNS` that the logged
signature declares (``customer_id`` str, ``churn_probability`` and ``expected_value`` float,
``recommended_items`` lists of str), nulls where the bundle lacks the model or the input gives no
history, so that ``mlflow.pyfunc.spark_udf`` returns a struct of typed fields.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel  # only the logged model's code (and MLflow) import this module

from cxml._checks import check_int
from cxml.batch import RECOMMENDED
from cxml.data import as_events
from cxml.exceptions import SchemaError
from cxml.schema import Columns, parse_as_of
from cxml.scoring import Scorer
from cxml.tracking._signature import OUTPUT_COLUMNS, model_signature

__all__ = ["CxmlPyfuncModel", "model_signature"]


class CxmlPyfuncModel(PythonModel):
    """Serve a cxml bundle through MLflow (``mlflow models serve``, ``pyfunc.load_model``)."""

    def load_context(self, context: Any) -> None:
        """Load the bundle logged as the ``bundle`` artifact (hash-verified, no pickle).

        Parameters
        ----------
        context
            MLflow's model context; ``context.artifacts["bundle"]`` is the bundle directory.
        """
        self.scorer = Scorer.load(context.artifacts["bundle"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
                ) -> pd.DataFrame:
        """Recommendations for a customer list, or every score for an events table (see the module docstring).

        Parameters
        ----------
        context
            MLflow's model context (unused).
        model_input
            A frame with ``customer_id`` (and, for scoring, ``timestamp`` and other event columns).
        params
            ``k`` (an int >= 1, default 10) and ``as_of`` (default: the day after the last event).

        Returns
        -------
        pandas.DataFrame
            One row per customer, in the columns of the logged output schema (see the module docstring).
        """
        params = params or {}
        k = check_int("k", 10 if params.get("k") is None else params["k"], minimum=1)
        frame = pd.DataFrame(model_input)
        if Columns.TIMESTAMP in frame.columns and frame[Columns.TIMESTAMP].notna().any():
            return _typed(self._score_events(frame, k, params.get("as_of") or None))
        if Columns.CUSTOMER not in frame.columns:
            raise SchemaError(f"column {Columns.CUSTOMER!r} is missing from the model input "
                              f"(columns: {list(frame.columns)}); expected customer ids or an events table")
        customers = frame[Columns.CUSTOMER].astype("str").tolist()
        return _typed(self._recommend(customers, k))

    def _recommend(self, customers: list[str], k: int) -> pd.DataFrame:
        out = pd.DataFrame({Columns.CUSTOMER: customers})
        if self.scorer.bundle.recommender is not None:
            recs = self.scorer.recommend(customers, k=k)
            lists = recs.groupby(Columns.CUSTOMER, sort=False)[Columns.ITEM].agg(list)
            out[RECOMMENDED] = [list(lists.get(c, [])) for c in customers]
        return out

    def _score_events(self, frame: pd.DataFrame, k: int, as_of: Any) -> pd.DataFrame:
        # serving fills absent optional columns with nulls: drop them so they read as absent
        events = as_events(frame.dropna(axis=1, how="all"))
        last_day = events[Columns.TIMESTAMP].max().normalize()
        ts = parse_as_of(as_of) if as_of else last_day + pd.Timedelta(days=1)
        parts = []
        bundle = self.scorer.bundle
        if bundle.churn is not None:
            parts.append(self.scorer.churn_risk(events, as_of=ts).set_index(Columns.CUSTOMER))
        if bundle.cltv is not None:
            parts.append(self.scorer.cltv(events, as_of=ts).set_index(Columns.CUSTOMER))
        if parts:
            table = pd.concat(parts, axis=1).reset_index()
        else:
            table = pd.DataFrame({Columns.CUSTOMER: sorted(events[Columns.CUSTOMER].unique())})
        recs = self._recommend(table[Columns.CUSTOMER].tolist(), k)
        return table.merge(recs, on=Columns.CUSTOMER, how="left") if RECOMMENDED in recs else table


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` in the declared output columns: absent scores are NaN, absent item lists None."""
    customer, churn, value, items = OUTPUT_COLUMNS
    out = pd.DataFrame({customer: table[customer].astype("str").to_numpy(dtype=object)})
    for column in (churn, value):
        out[column] = table[column].to_numpy(dtype=np.float64) if column in table else np.nan
    out[items] = ([None if not isinstance(v, list) else [str(i) for i in v] for v in table[items]]
                  if items in table else [None] * len(out))
    return out
