"""The MLflow ``pyfunc`` face of a cxml bundle, logged as *models from code*.

MLflow never pickles a cxml object: the logged model is the small script ``_model_code.py``
(which calls ``mlflow.models.set_model(CxmlPyfuncModel())``) plus the cxml bundle as an artifact,
loaded with :func:`cxml.bundle.load_bundle` (hash-verified, no pickle) in ``load_context``.

``predict`` input — a DataFrame, either
- a customer list (column ``customer_id``): returns their top-k recommendations, or
- an events table (``customer_id``, ``timestamp`` and any other canonical columns): returns, for
  every customer existing at ``as_of``, churn probability, expected value and recommendations.
Params: ``k`` (default 10) and ``as_of`` (default: the day after the last event given).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from cxml.schema import Columns

__all__ = ["CxmlPyfuncModel", "model_signature"]

RECOMMENDED = "recommended_items"


class CxmlPyfuncModel(PythonModel):
    """Serve a cxml bundle through MLflow (``mlflow models serve``, ``pyfunc.load_model``)."""

    def load_context(self, context: Any) -> None:
        from cxml.scoring import Scorer

        self.scorer = Scorer.load(context.artifacts["bundle"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
                ) -> pd.DataFrame:
        params = params or {}
        k = int(params.get("k") or 10)
        frame = pd.DataFrame(model_input)
        if Columns.TIMESTAMP in frame.columns:
            return self._score_events(frame, k, params.get("as_of") or None)
        customers = frame[Columns.CUSTOMER].astype("str").tolist()
        return self._recommend(customers, k)

    def _recommend(self, customers: list[str], k: int) -> pd.DataFrame:
        out = pd.DataFrame({Columns.CUSTOMER: customers})
        if self.scorer.bundle.recommender is not None:
            recs = self.scorer.recommend(customers, k=k)
            lists = recs.groupby(Columns.CUSTOMER, sort=False)[Columns.ITEM].agg(list)
            out[RECOMMENDED] = [list(lists.get(c, [])) for c in customers]
        return out

    def _score_events(self, frame: pd.DataFrame, k: int, as_of: Any) -> pd.DataFrame:
        from cxml.data import load_events

        events = load_events(frame.dropna(axis=1, how="all"))
        last_day = events[Columns.TIMESTAMP].max().normalize()
        ts = pd.Timestamp(as_of) if as_of else last_day + pd.Timedelta(days=1)
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


def model_signature() -> Any:
    """Input: customer ids (+ optional event columns); params: k, as_of."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    inputs = Schema([
        ColSpec("string", Columns.CUSTOMER),
        ColSpec("string", Columns.TIMESTAMP, required=False),
        ColSpec("string", Columns.EVENT_TYPE, required=False),
        ColSpec("string", Columns.ITEM, required=False),
        ColSpec("double", Columns.QUANTITY, required=False),
        ColSpec("double", Columns.AMOUNT, required=False),
        ColSpec("double", Columns.VALUE, required=False),
    ])
    params = ParamSchema([ParamSpec("k", "long", 10), ParamSpec("as_of", "string", "")])
    return ModelSignature(inputs=inputs, params=params)
