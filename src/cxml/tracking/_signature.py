"""What MLflow records with the cxml pyfunc model, apart from the model so the harness need not import it.

- :func:`model_signature`: inputs, params and the *output* schema (typed columns, so that
  ``mlflow.pyfunc.spark_udf(spark, "models:/NAME@alias")`` returns a struct of typed fields
  instead of falling back to ``double``);
- :func:`model_requirements` and :func:`model_code_paths`: cxml's own dependencies, all on PyPI,
  plus the cxml package logged as code, so that ``mlflow models serve`` can build the model's
  environment without an index serving cxml;
- :func:`log_events_input`: the training events as an ``mlflow.data`` dataset input of the run,
  with a schema and digest computed the way a table of millions of rows allows (MLflow's own
  walk every value in Python: two minutes for 5M events).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import re
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import pandas as pd

from cxml.batch import RECOMMENDED
from cxml.schema import Columns

__all__ = ["OUTPUT_COLUMNS", "SCHEMA_ROWS", "frame_sha256", "log_events_input", "model_code_paths",
           "model_requirements", "model_signature"]

#: Non-null values per column that the logged dataset's column types are inferred from.
SCHEMA_ROWS: Final = 1_000

#: Columns of every pyfunc prediction, in order (a model without churn / CLTV / recommender gives nulls).
OUTPUT_COLUMNS: Final = (Columns.CUSTOMER, Columns.CHURN_PROBABILITY, Columns.EXPECTED_VALUE, RECOMMENDED)


def model_signature() -> Any:
    """Input: customer ids (+ optional event columns); params: k, as_of; output: typed score columns.

    Returns
    -------
    mlflow.models.ModelSignature
        The signature logged with the pyfunc model. Outputs: ``customer_id`` (string),
        ``churn_probability`` and ``expected_value`` (double) and ``recommended_items``
        (array of string).
    """
    # imported here: mlflow takes seconds to import; `import cxml.tracking` should not pay for it
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Array, ColSpec, DataType, ParamSchema, ParamSpec, Schema

    inputs = Schema([
        ColSpec("string", Columns.CUSTOMER),
        ColSpec("string", Columns.TIMESTAMP, required=False),
        ColSpec("string", Columns.EVENT_TYPE, required=False),
        ColSpec("string", Columns.ITEM, required=False),
        ColSpec("double", Columns.QUANTITY, required=False),
        ColSpec("double", Columns.AMOUNT, required=False),
        ColSpec("double", Columns.VALUE, required=False),
    ])
    customer, churn, value, items = OUTPUT_COLUMNS
    outputs = Schema([
        ColSpec("string", customer),
        ColSpec("double", churn, required=False),
        ColSpec("double", value, required=False),
        ColSpec(Array(DataType.string), items, required=False),
    ])
    params = ParamSchema([ParamSpec("k", "long", 10), ParamSpec("as_of", "string", "")])
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def model_requirements() -> list[str]:
    """cxml's runtime requirements (as installed), each installable from PyPI; cxml itself is logged as code.

    Returns
    -------
    list of str
        The ``Requires-Dist`` entries of the installed cxml without extras (e.g. ``"numpy<3,>=1.26"``).
    """
    requires = metadata.requires("cxml") or []
    return [re.sub(r"\s+", "", req) for req in requires if "extra" not in req.partition(";")[2]]


def model_code_paths() -> list[str]:
    """The directory of the cxml package, to log with ``code_paths`` (MLflow puts it on ``sys.path``).

    Returns
    -------
    list of str
        One path: the ``cxml`` package directory this process imports.
    """
    return [str(Path(__file__).resolve().parents[1])]


def frame_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 (hex) of a frame's values, row order included, index excluded.

    Parameters
    ----------
    frame
        Any pandas frame.

    Returns
    -------
    str
        64 hex digits; equal frames (same values, column order and row order) give equal digests.
    """
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def _input_schema(events: pd.DataFrame) -> Any:
    """The dataset's :class:`mlflow.types.Schema`, as MLflow would infer it from the whole frame.

    Each column's type comes from its first :data:`SCHEMA_ROWS` non-null values (``Any`` when it
    has none, or when they mix types) and ``required`` from a vectorised null check of the whole
    column; MLflow's own inference visits every value in Python.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature
    from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

    specs: list[ColSpec | TensorSpec] = []
    for name in events.columns:
        column = events[name]
        present = column.notna().to_numpy()
        sample = column[present].head(SCHEMA_ROWS)
        kind: Any = AnyType()
        if len(sample):
            try:
                with warnings.catch_warnings():  # MLflow's hint about integer columns and missing values
                    warnings.simplefilter("ignore")
                    kind = infer_signature(sample.to_frame(str(name))).inputs.inputs[0].type
            except MlflowException:
                pass
        specs.append(ColSpec(kind, str(name), required=bool(present.all())))
    return Schema(specs)


def log_events_input(events: pd.DataFrame, *, source: str | None = None, name: str = "events",
                     context: str = "training") -> Any:
    """Log ``events`` as an ``mlflow.data`` dataset input of the active run.

    The dataset's digest is the first 16 hex digits of a SHA-256 over :func:`frame_sha256` of
    the whole frame, its row count and its column names, and its schema is inferred from a sample
    of each column (see :data:`SCHEMA_ROWS`); MLflow's own digest reads only the first 10,000
    rows, and both it and its schema walk every value in Python.

    Parameters
    ----------
    events
        The (canonical) events the models were trained on.
    source
        Where they came from (a path or URI; recorded as the dataset's source).
    name
        Dataset name shown in the MLflow UI.
    context
        The input's context tag (``"training"``).

    Returns
    -------
    mlflow.data.pandas_dataset.PandasDataset
        The logged dataset (its ``digest`` identifies the data).
    """
    import mlflow  # imported here: see model_signature
    from mlflow.data.pandas_dataset import from_pandas

    digest = hashlib.sha256(f"{frame_sha256(events)} {len(events)} {list(events.columns)}".encode()).hexdigest()
    where = {} if source is None else {"source": source}
    dataset = from_pandas(events, name=name, digest=digest[:16], **where)
    if isinstance(inspect.getattr_static(type(dataset), "schema", None), functools.cached_property):
        dataset.__dict__["schema"] = _input_schema(events)  # seeds the cached property MLflow would compute
    mlflow.log_input(dataset, context=context)
    return dataset
