"""Model registry helpers: register a logged model as ``challenger``; promote it to ``champion``."""

from __future__ import annotations

from typing import Any

import pandas as pd

from cxml._docs import fill_doc
from cxml._uri import resolve_tracking_uri, tracking_uri_context
from cxml.exceptions import ConfigError, ParameterError

__all__ = ["compare_aliases", "promote", "register"]

CHALLENGER = "challenger"
CHAMPION = "champion"


def _client(tracking_uri: str | None) -> Any:
    from mlflow import MlflowClient  # imported here: mlflow takes seconds to import

    uri = resolve_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@fill_doc
def register(model_uri: str, name: str, *, alias: str = CHALLENGER, tracking_uri: str | None = None) -> str:
    """Register ``model_uri`` under ``name``, point ``alias`` at the new version; returns the version.

    Parameters
    ----------
    model_uri
        MLflow URI of a logged model, e.g. ``TrainResult.model_uri`` of :func:`cxml.tracking.train`.
    name
        Registered model name; created on first use, otherwise a new version is added.
    alias
        Alias set on the new version (moved from any version that held it); default
        ``"challenger"``.
    {{tracking_uri}}

    Returns
    -------
    str
        The new version number, e.g. ``"3"``.

    Raises
    ------
    ParameterError
        MLflow refuses the registration (no model at ``model_uri``, an invalid ``name``).
    """
    import mlflow  # imported here: mlflow takes seconds to import
    from mlflow.exceptions import MlflowException

    with tracking_uri_context(resolve_tracking_uri(tracking_uri)):
        try:
            version = mlflow.register_model(model_uri, name)
        except MlflowException as exc:
            raise ParameterError(f"cannot register model_uri={model_uri!r} as name={name!r}: "
                                 f"{str(exc).splitlines()[0]}") from exc
    _client(tracking_uri).set_registered_model_alias(name, alias, version.version)
    return str(version.version)


@fill_doc
def compare_aliases(name: str, *, tracking_uri: str | None = None,
                    aliases: tuple[str, ...] = (CHAMPION, CHALLENGER)) -> pd.DataFrame:
    """Metrics of the runs behind each alias, side by side (metric × alias); absent aliases are skipped.

    Parameters
    ----------
    name
        Registered model name.
    {{tracking_uri}}
    aliases
        Aliases to compare, in column order; default ``("champion", "challenger")``.

    Returns
    -------
    pandas.DataFrame
        Indexed by metric name (sorted), one float64 column per alias found, named
        ``"<alias> (v<version>)"``; NaN where a run lacks a metric. Empty when no alias exists.
    """
    from mlflow.exceptions import MlflowException  # imported here: mlflow takes seconds to import

    client = _client(tracking_uri)
    columns: dict[str, pd.Series] = {}
    for alias in aliases:
        try:
            mv = client.get_model_version_by_alias(name, alias)
        except MlflowException:  # an unknown alias or model
            continue
        run = client.get_run(mv.run_id) if mv.run_id else None
        metrics = run.data.metrics if run is not None else {}
        columns[f"{alias} (v{mv.version})"] = pd.Series(metrics, dtype="float64")
    return pd.DataFrame(columns).sort_index()


@fill_doc
def promote(name: str, *, tracking_uri: str | None = None) -> tuple[str, pd.DataFrame]:
    """Move ``champion`` to the current ``challenger`` version; returns (version, comparison table).

    The comparison is computed before the move, so it shows the old champion beside the challenger.

    Parameters
    ----------
    name
        Registered model name.
    {{tracking_uri}}

    Returns
    -------
    tuple of (str, pandas.DataFrame)
        The promoted version number and :func:`compare_aliases` of ``champion`` and ``challenger``
        taken before the move.

    Raises
    ------
    ConfigError
        When ``name`` has no ``challenger`` alias (or the registered model does not exist).
    """
    from mlflow.exceptions import MlflowException  # imported here: mlflow takes seconds to import

    client = _client(tracking_uri)
    try:
        challenger = client.get_model_version_by_alias(name, CHALLENGER)
    except MlflowException as exc:
        raise ConfigError(f"registered model {name!r} has no {CHALLENGER!r} alias to promote") from exc
    table = compare_aliases(name, tracking_uri=tracking_uri)
    client.set_registered_model_alias(name, CHAMPION, challenger.version)
    return str(challenger.version), table
