"""MLflow-tracked training harness, model registry helpers and the MLflow pyfunc wrapper.

``mlflow`` is imported only inside the functions that need it, so ``import cxml.tracking`` is cheap
(the pyfunc model, :mod:`cxml.tracking.pyfunc`, is imported only by MLflow when it loads a model).
"""

from cxml.tracking._models import evaluate_bundle
from cxml.tracking.config import TrainConfig, apply_overrides, load_config, validate_config
from cxml.tracking.harness import TrainResult, train
from cxml.tracking.registry import compare_aliases, promote, register

__all__ = [
    "TrainConfig",
    "TrainResult",
    "apply_overrides",
    "compare_aliases",
    "evaluate_bundle",
    "load_config",
    "promote",
    "register",
    "train",
    "validate_config",
]
