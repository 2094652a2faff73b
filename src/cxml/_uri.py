"""MLflow tracking-URI helpers, in a leaf module that imports no cxml code.

Both the Scorer (loading ``models:/`` URIs) and the training harness need them; keeping them here
lets neither reach into the other's layer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["DEFAULT_TRACKING_URI", "resolve_tracking_uri", "tracking_uri_context"]

#: where runs go when neither the caller nor ``$MLFLOW_TRACKING_URI`` says
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def resolve_tracking_uri(uri: str | None = None) -> str:
    """``uri``, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` in the working directory."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


@contextmanager
def tracking_uri_context(uri: str) -> Iterator[None]:
    """Point MLflow's tracking *and* registry URIs at ``uri`` for the block, then restore both exactly.

    MLflow resolves ``models:/`` URIs through the process-global registry URI even when a call
    takes a ``tracking_uri`` argument, so both must be set. On exit the previous state comes back
    as it was -- including "not set" (``mlflow.get_*_uri()`` would return resolved defaults, and
    setting those would pin the registry of every later client to this block's store).
    """
    import mlflow  # imported here: mlflow takes seconds to import and only this helper needs it
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = {key: os.environ.get(key) for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    saved_tracking = getattr(tracking_utils, "_tracking_uri", None)
    saved_registry = getattr(registry_utils, "_registry_uri", None)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved_tracking)  # type: ignore[arg-type]  # None means "not set"
        registry_utils._registry_uri = saved_registry
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
