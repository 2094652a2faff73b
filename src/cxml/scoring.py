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

import numpy as np
import pandas as pd

from cxml._checks import check_bool, check_choice
from cxml._uri import resolve_tracking_uri, tracking_uri_context
from cxml.batch import capped_k, score_events
from cxml.bundle import Bundle, load_bundle
from cxml.exceptions import BundleError, MissingModelError
from cxml.segment import rfm_segments

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
        """Load from a bundle directory or ``models:/NAME@alias`` / ``models:/NAME/version``.

        A registered model is downloaded to a temporary directory that is removed when the
        ``Scorer`` is garbage-collected (batch scoring reads the bundle's manifest again).

        Parameters
        ----------
        source
            A bundle directory written by :func:`cxml.bundle.save_bundle`, or an MLflow model URI
            starting with ``"models:/"`` whose artifacts contain a cxml bundle (a directory with
            ``MANIFEST.sha256``), e.g. the model logged by :func:`cxml.tracking.train`.
        tracking_uri
            MLflow tracking/registry URI used only for ``models:/`` sources; default ``None``
            means ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` in the working directory.

        Returns
        -------
        Scorer
            Serving the verified, loaded bundle.

        Raises
        ------
        BundleError
            When the registered model cannot be downloaded or holds no cxml bundle, or when the
            bundle is missing, fails verification (see :func:`cxml.bundle.load_bundle`) or has a
            newer format than this cxml reads.
        """
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
        """Top-``k`` items per customer: DataFrame[customer_id, item_id, score, rank].

        Customers unknown to the recommender get the popularity ranking.

        Parameters
        ----------
        customers
            External customer ids: a list/tuple, numpy array, pandas Series or Index (duplicates are served
            once, in first-appearance order). Any other value, including a single ``str``, is
            taken as one customer id.
        k
            Items per customer (fewer when fewer candidates remain); an integer >= 1, capped at
            the number of items before anything is allocated.
        exclude_seen
            Leave out items the customer bought in the recommender's training data.
        items
            Restrict candidates to these external item ids (ids the model does not know are
            ignored); default ``None`` means every item.

        Returns
        -------
        pandas.DataFrame
            Columns ``customer_id, item_id`` (str), ``score`` (float64) and ``rank`` (int64,
            1..k per customer); customers in the order given.

        Raises
        ------
        MissingModelError
            When the bundle has no recommender.
        ParameterError
            When ``k`` is not an integer >= 1.
        SchemaError
            When the ids are missing (NaN).
        """
        rec = self._need("recommender")
        return rec.recommend(_id_list(customers), k=capped_k(rec, k), exclude_seen=exclude_seen, items=items)

    def similar_items(self, items: Sequence[Any] | Any, k: int = 10) -> pd.DataFrame:
        """Items most similar to each of ``items``: DataFrame[item_id, similar_item_id, score, rank].

        An item is never its own neighbour; items unknown to the model get the popularity ranking.

        Parameters
        ----------
        items
            External item ids: a list/tuple, numpy array, pandas Series or Index (duplicates are served once).
            Any other value, including a single ``str``, is taken as one item id.
        k
            Similar items per item; an integer >= 1, capped at the number of items.

        Returns
        -------
        pandas.DataFrame
            Like :meth:`recommend` with ``item_id, similar_item_id`` in place of ``customer_id,
            item_id``: ``rank`` 1..k per item, items in the order given.

        Raises
        ------
        MissingModelError, ParameterError, SchemaError
            As for :meth:`recommend`: no recommender, a bad ``k``, or a missing (NaN) id.
        """
        rec = self._need("recommender")
        return rec.similar_items(_id_list(items), k=capped_k(rec, k))

    def churn_risk(self, events: pd.DataFrame, as_of: Any) -> pd.DataFrame:
        """DataFrame[customer_id, churn_probability] for customers existing at ``as_of``.

        Parameters
        ----------
        events, as_of
            Events table (or path) and date-like scoring time, as for
            :meth:`cxml.churn.ChurnModel.predict`: only events before ``as_of`` are used.

        Returns
        -------
        pandas.DataFrame
            One row per customer with a purchase before ``as_of``: ``customer_id`` (str) and
            ``churn_probability`` (calibrated probability of no purchase in ``[as_of, as_of +
            horizon)`` of the churn model).

        Raises
        ------
        MissingModelError
            When the bundle has no churn model.
        """
        return self._need("churn").predict(events, as_of=as_of)

    def cltv(self, events: pd.DataFrame, as_of: Any) -> pd.DataFrame:
        """DataFrame[customer_id, expected_value] for customers existing at ``as_of``.

        Parameters
        ----------
        events, as_of
            As for :meth:`churn_risk`.

        Returns
        -------
        pandas.DataFrame
            ``customer_id`` (str) and ``expected_value`` (float >= 0: predicted net spend in
            ``[as_of, as_of + horizon)`` of the CLTV model) per existing customer.

        Raises
        ------
        MissingModelError
            When the bundle has no CLTV model.
        """
        return self._need("cltv").predict(events, as_of=as_of)

    def explain(
        self, events: pd.DataFrame, as_of: Any, customers: Sequence[Any] | Any = None, *, top_n: int = 10,
        reasons: bool = False, model: str = "churn",
    ) -> pd.DataFrame:
        """The churn (or CLTV) model's top feature contributions per customer, or its reasons in words.

        Same argument order as :meth:`cxml.churn.ChurnModel.explain`, which explains how the
        contributions add up.

        Parameters
        ----------
        events
            Events table (or path); only events before ``as_of`` are used.
        as_of
            Date-like time at which to explain the prediction.
        customers
            External customer ids (a list/tuple, numpy array, Series or Index); any other value,
            including a single ``str``, is one customer id. Each must have a purchase before
            ``as_of``. ``None`` explains every existing customer.
        top_n
            Keep the ``top_n`` feature rows with the largest ``|contribution|`` per customer (a
            positive integer); the ``"__bias__"`` row (and ``"__bgnbd_prior__"`` when the model
            uses that prior) is always added last. With ``reasons=True``: at most ``top_n`` reasons
            per customer.
        reasons
            ``True``: return the model's reasons in plain words instead of the raw contributions
            (:meth:`cxml.churn.ChurnModel.reasons`: ``customer_id, rank, reason, feature, value,
            contribution, reference, direction``; only drivers that push the prediction in its own
            direction, so a customer may have fewer than ``top_n``).
        model
            ``"churn"`` (default) or ``"cltv"``: which model of the bundle to explain.

        Returns
        -------
        pandas.DataFrame
            Columns ``customer_id, feature`` (str), ``value`` (the feature's value) and
            ``contribution`` (log-odds of the uncalibrated booster), sorted by ``|contribution|``.

        Raises
        ------
        MissingModelError
            When the bundle has no churn model.
        UnknownIdError
            When a customer has no purchase before ``as_of``.
        """
        check_choice("model", model, ("churn", "cltv"))
        check_bool("reasons", reasons)
        ids = None if customers is None else _id_list(customers)
        fitted = self._need(model)
        if reasons:
            return fitted.reasons(events, as_of, customers=ids, top=top_n)
        return fitted.explain(events, as_of, customers=ids, top_n=top_n)

    def segments(self, events: pd.DataFrame, as_of: Any) -> pd.DataFrame:
        """RFM scores and named segments (needs no fitted model).

        Parameters
        ----------
        events, as_of
            Events table (or path) and date-like time; segments cover the customers with a
            purchase before ``as_of``.

        Returns
        -------
        pandas.DataFrame
            As :func:`cxml.segment.rfm_segments`: indexed by ``customer_id`` with ``recency_days``,
            ``frequency``, ``monetary``, ``r``, ``f``, ``m`` (1..5), ``rfm`` and ``segment``.
        """
        return rfm_segments(events, as_of=as_of)

    # -- batch ---------------------------------------------------------------------------------
    def score(self, events: pd.DataFrame | str | os.PathLike[str], as_of: Any, out: str | os.PathLike[str], *,
              k: int = 10, chunk_size: int = 50_000, overwrite: bool = False, progress: bool = True,
              memory_budget: int | str | None = None, reasons: int = 0) -> dict[str, Any]:
        """Score every customer existing at ``as_of`` into a parquet dataset at ``out``.

        Per customer: churn_probability, expected_value, segment and the top-``k`` items (list
        column), for whichever models the bundle holds. Chunked (memory bounded by
        ``chunk_size``), each chunk committed atomically and recorded with its sha256 in a
        journal, so re-running the same call after a crash finishes the job without duplicated or
        missing customers. One writer per ``out`` at a time; :func:`cxml.batch.is_complete` tells
        a finished dataset from a partial one. A parquet dataset (a file or a directory of files,
        hive-partitioned or not) larger than memory is streamed in customer hash buckets sized
        from ``memory_budget``, with the same rows and values as the in-memory path.

        Parameters
        ----------
        events, as_of, out, k, chunk_size, overwrite, progress
            As for :func:`cxml.batch.score_events`: the events (frame or path; normalised once),
            the scoring time, the output directory, items per customer, customers per part,
            whether to replace a dataset from other inputs, and whether to show a progress bar.
        memory_budget
            Bytes (int) or text such as ``"2G"``: stream a parquet ``events`` path in buckets that
            fit it (see :func:`cxml.batch.score_events`); ``None`` streams only a dataset that
            would not fit in half the RAM.
        reasons
            ``N > 0`` adds a ``reasons`` column with the churn model's top-``N`` reasons in words
            per customer (a list of sentences); ``0`` (default) adds none.

        Returns
        -------
        dict
            The run summary: ``customers``, ``chunks``, ``models``, ``cold_start_customers``,
            ``ignored_future_events``, ``as_of``, ``k`` and ``out`` (see
            :func:`cxml.batch.score_events`).

        Raises
        ------
        ParameterError, SchemaError, SourceError, OutputExistsError
            See :func:`cxml.batch.score_events`.
        """
        return score_events(self.bundle, events, as_of=as_of, out=out, k=k, chunk_size=chunk_size,
                            overwrite=overwrite, progress=progress, memory_budget=memory_budget,
                            reasons=reasons)


def _id_list(ids: Any) -> Any:
    """``ids`` when it is a collection of ids (list/tuple, numpy array, Series, Index); else ``[ids]``."""
    if isinstance(ids, str) or not isinstance(ids, Sequence | pd.Series | pd.Index | np.ndarray):
        return [ids]
    return ids


def _download_registered_bundle(uri: str, tracking_uri: str | None, dest: Path) -> Path:
    """Download a registered model's artifacts and return the cxml bundle directory inside."""
    import mlflow  # heavy (about a second): imported only for registry URIs

    client_uri = resolve_tracking_uri(tracking_uri)
    try:
        with tracking_uri_context(client_uri):
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dest)))
    except Exception as exc:  # mlflow raises its own exception types for unknown names/aliases
        raise BundleError(f"could not download {uri!r} from {client_uri!r}: {exc}") from exc
    for manifest in sorted(local.rglob("MANIFEST.sha256")):
        return manifest.parent
    raise BundleError(f"registered model {uri!r} holds no cxml bundle (no MANIFEST.sha256 found)")
