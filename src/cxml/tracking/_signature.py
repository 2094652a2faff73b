"""The MLflow signature of the cxml pyfunc model, apart from the model so the harness need not import it."""

from __future__ import annotations

from typing import Any

from cxml.schema import Columns

__all__ = ["model_signature"]


def model_signature() -> Any:
    """Input: customer ids (+ optional event columns); params: k, as_of.

    Returns
    -------
    mlflow.models.ModelSignature
        The signature logged with the pyfunc model.
    """
    # imported here: mlflow takes seconds to import; `import cxml.tracking` should not pay for it
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
