"""``Scorer``: one object that serves every model of a bundle.

Examples
--------
>>> from cxml import Scorer  # doctest: +SKIP
>>> scorer = Scorer.load("models/latest")  # doctest: +SKIP
>>> scorer.recommend(["c1"], k=5)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cxml.bundle import Bundle, load_bundle
from cxml.exceptions import BundleError, MissingModelError

__all__ = ["Scorer"]

MODELS_URI_PREFIX = "models:/"


class Scorer:
    """Serve the models of one bundle: recommendations, churn risk, CLTV, explanations, segments.

    Build it with :meth:`Scorer.load` from a bundle directory or an MLflow registered model URI
    (``"models:/NAME@alias"``). Each method works when the bundle holds the model it needs and
    raises :class:`cxml.MissingModelError` naming what the bundle does hold otherwise.
    """

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle

    @classmethod
    def load(cls, source: str | os.PathLike[str], *, tracking_uri: str | None = None) -> Scorer:
        """Load from a bundle directory or ``models:/NAME@alias`` / ``models:/NAME/version``."""
        text = os.fspath(source)
        if text.startswith(MODELS_URI_PREFIX):
            download = Path(tempfile.mkdtemp(prefix="cxml-registered-"))
            try:
                scorer = cls(load_bundle(_download_registered_bundle(text, tracking_uri, download)))
            except BaseException:
                shutil.rmtree(download, ignore_errors=True)
                raise
            # the bundle directory is read again by batch scoring (its manifest); it goes with the Scorer
            weakref.finalize(scorer, shutil.rmtree, download, True)
            return scorer
        return cls(load_bundle(Path(text)))

    # -- introspection -------------------------------------------------------------------------
    @property
    def metadata(self) -> dict[str, Any]:
        """``bundle.json`` contents (format and cxml version, training as_of, metrics, ...)."""
        return self.bundle.metadata

    @property
    def models(self) -> tuple[str, ...]:
        """Names of the models this bundle holds (``recommender``, ``churn``, ``cltv``)."""
        return self.bundle.components

    def _need(self, name: str) -> Any:
        model = getattr(self.bundle, name)
        if model is None:
            held = ", ".join(self.models) or "nothing"
            raise MissingModelError(
                f"this bundle ({self.bundle.path}) has no {name} model; it holds: {held}"
            )
        return model

    # -- single calls --------------------------------------------------------------------------
    def recommend(
        self,
        customers: Sequence[Any] | Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: Sequence[Any] | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` items per customer: DataFrame[customer_id, item_id, score, rank]."""
        if isinstance(customers, str) or not isinstance(customers, Sequence | pd.Series | pd.Index):
            customers = [customers]
        return self._need("recommender").recommend(customers, k=k, exclude_seen=exclude_seen, items=items)

    def similar_items(self, items: Sequence[Any] | Any, k: int = 10) -> pd.DataFrame:
        """Items most similar to each of ``items``: DataFrame[item_id, similar_item_id, score, rank]."""
        if isinstance(items, str) or not isinstance(items, Sequence | pd.Series | pd.Index):
            items = [items]
        return self._need("recommender").similar_items(items, k=k)

    def churn_risk(self, events: pd.DataFrame, as_of: Any) -> pd.DataFrame:
        """DataFrame[customer_id, churn_probability] for customers existing at ``as_of``."""
        return self._need("churn").predict(events, as_of=as_of)

    def cltv(self, events: pd.DataFrame, as_of: Any) -> pd.DataFrame:
        """DataFrame[customer_id, expected_value] for customers existing at ``as_of``."""
        return self._need("cltv").predict(events, as_of=as_of)

    def explain(self, customer: Any, events: pd.DataFrame, as_of: Any, *, top_n: int = 10) -> pd.DataFrame:
        """The churn model's top feature contributions (log-odds) for one customer."""
        return self._need("churn").explain(events, as_of=as_of, customers=[customer], top_n=top_n)

    def segments(self, events: pd.DataFrame, as_of: Any) -> pd.DataFrame:
        """RFM scores and named segments (needs no fitted model)."""
        from cxml.segment import rfm_segments

        return rfm_segments(events, as_of=as_of)

    # -- batch ---------------------------------------------------------------------------------
    def score(
        self,
        events: pd.DataFrame | str | os.PathLike[str],
        as_of: Any,
        out: str | os.PathLike[str],
        *,
        k: int = 10,
        chunk_size: int = 50_000,
        overwrite: bool = False,
        progress: bool = True,
    ) -> dict[str, Any]:
        """Score every customer existing at ``as_of`` into a parquet dataset at ``out``.

        Per customer: churn_probability, expected_value, segment and the top-``k`` items (list
        column), for whichever models the bundle holds. Chunked (memory bounded by
        ``chunk_size``), each chunk committed atomically with a journal, so re-running the same
        call after a crash finishes the job without duplicated or missing customers. Returns the
        run summary (customers, chunks, cold-start count, ignored future events).
        See :func:`cxml.batch.score_events`.
        """
        from cxml.batch import score_events

        return score_events(self, events, as_of=as_of, out=out, k=k, chunk_size=chunk_size,
                            overwrite=overwrite, progress=progress)


def _download_registered_bundle(uri: str, tracking_uri: str | None, dest: Path) -> Path:
    """Download a registered model's artifacts and return the cxml bundle directory inside."""
    import mlflow

    from cxml.tracking.harness import resolve_tracking_uri, tracking_uri_context

    client_uri = resolve_tracking_uri(tracking_uri)
    try:
        with tracking_uri_context(client_uri):
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dest)))
    except Exception as exc:  # mlflow raises its own exception types for unknown names/aliases
        raise BundleError(f"could not download {uri!r} from {client_uri!r}: {exc}") from exc
    for manifest in sorted(local.rglob("MANIFEST.sha256")):
        return manifest.parent
    raise BundleError(f"registered model {uri!r} holds no cxml bundle (no MANIFEST.sha256 found)")
