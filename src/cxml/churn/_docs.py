"""Numpydoc fragments shared by the churn-family docstrings, and the decorator that fills them in.

A docstring names a fragment on a line of its own, ``{{frequency}}``, indented like the entry it
stands for; :func:`fill_doc` replaces that line with the fragment, re-indented to match (in the way
LightGBM's scikit-learn module composes its docstrings from shared pieces). The same argument is
then described once, and every method that takes it says the same thing. A fragment that opens a
whole section carries the section's header (``bad_arrays`` is the ``Raises`` section of every
method that scores customer arrays); a method with more to say lists its own entries after it.
"""

from __future__ import annotations

from cxml._docs import COMMON, doc_filler

__all__ = ["FRAGMENTS", "fill_doc"]

_CUSTOMER_ARRAYS = """\
frequency
    Repeat purchase counts x (integers >= 0, as in :func:`~cxml.churn.rfm_summary`).
recency
    Time t_x from the first to the last purchase, in the model's ``time_unit`` (weeks with
    the default ``"W"``).
T
    Time from the first purchase to the end of the observation period (in
    :func:`~cxml.churn.rfm_summary`, the last observed day, see there), in the model's
    ``time_unit`` (weeks with the default ``"W"``); ``recency <= T``."""

_CUSTOMER_PARAMETERS = "Parameters\n----------\n" + _CUSTOMER_ARRAYS

_BAD_ARRAYS = """\
Raises
------
NotFittedError
    When the model has neither been fitted nor given parameters.
ParameterError
    When a value is negative or not finite, ``frequency`` is not an integer, or
    ``recency > T``."""

_BTYD_SETTINGS = """\
penalizer
    L2 penalty on the parameters added to the mean negative log-likelihood, as in lifetimes;
    ``0`` is plain maximum likelihood.
time_unit
    Unit of recency/T and of every time argument (``"W"`` weeks, ``"D"`` days, ``"30D"`` ...).
tol
    Gradient tolerance of the optimiser; the fit counts as converged when the optimiser reports
    success and the largest gradient component of the mean objective is below ``1000 * tol``.
max_iter
    Iteration limit of each L-BFGS-B run.
strict
    Raise :class:`cxml.ConvergenceError` instead of warning when the fit does not converge.
random_state
    Seed (``None`` or an int) of the jittered second start of the optimiser."""

_FIT_OUTCOMES = """\
InsufficientDataError
    When the events or the summary hold too few usable customers for this model.
ConvergenceError
    When the fit does not converge and ``strict=True``."""

_SNAPSHOT_SETTINGS = """\
n_snapshots
    Training snapshots (cutoffs stepping back from ``as_of − horizon``); cutoffs on or before
    the first purchase in the data are skipped with a :class:`cxml.DataWarning`.
snapshot_step
    Distance between cutoffs (default: ``horizon``).
windows
    Look-back windows of the customer features.
lgbm_params
    Overrides of the LightGBM parameters (``learning_rate``, ``num_leaves`` ...). The seed,
    threads and determinism settings always come from ``random_state``/``n_jobs``.
use_bgnbd_features
    Add the point-in-time BG/NBD and Gamma-Gamma features (the hybrid model).
bgnbd_prior
    Start boosting from the BG/NBD forecast (needs ``use_bgnbd_features``).
held_out_fraction
    Share of the latest snapshot's customers held out for early stopping (and calibration).
refit
    Retrain on all snapshots, including the held-out customers, for the early-stopped number
    of rounds.
max_rounds, early_stopping_rounds
    Boosting round limit and patience on the held-out snapshot.
random_state
    LightGBM seed and the held-out split's seed (``None`` draws one at ``fit``); the same int
    gives identical predictions.
n_jobs
    LightGBM threads (a positive int)."""

_EVALUATE_ARGS = """\
Parameters
----------
model
    A fitted model of the family (its ``horizon`` defines the outcome window).
events
    Events covering at least ``as_of + horizon`` (else :class:`cxml.InsufficientDataError`): a
    canonical table, a frame with the canonical column names or a csv/parquet path, normalised once.
as_of
    Evaluation date; the model and the baselines see only events before it.
slices
    Optional fairness breakdown: an events column (each customer gets its most frequent value
    before ``as_of``) or a Series ``customer_id -> label``."""

_EVALUATE_RAISES = """\
Raises
------
NotFittedError
    When ``model`` has no fitted booster.
SchemaError
    When ``events`` does not fit the events schema, ``as_of`` is not a date, the model's
    ``horizon`` is not a duration, or ``slices`` is neither an events column nor a Series.
InsufficientDataError
    When the events do not reach ``as_of + horizon`` (the outcome window is not observed).

Warns
-----
DataWarning
    When the model was fitted as of a date after ``as_of`` (optimistic scores), or a BG/NBD-based
    baseline cannot be fitted (it is then left out)."""

_PREDICT_RAISES = """\
Raises
------
NotFittedError
    When the model is not fitted.
SchemaError
    When ``events`` does not fit the events schema or ``as_of`` is not a date."""

_KNOWN_PARAMS_RAISES = """\
Raises
------
ParameterError
    When a parameter is not a positive finite number."""

_AS_OF = """\
as_of
    Date-like; only events before it are used."""

_SUMMARY_WEIGHTS = """\
weights
    ``None`` (one customer per row), the name of a column of ``summary``, or an array of one
    non-negative finite count per row: each row stands for that many customers."""

_WEIGHTS_ERROR = """\
ParameterError
    ``weights`` is not a column name or an array of non-negative finite counts, one per row."""

_REFERENCE_ATTRIBUTE = """\
reference_ : dict or None
    The population the reasons compare with (the customers of the latest training snapshot:
    percentiles of every feature, the median raw score and prior); ``None`` for a model saved
    before references existed."""

_SAMPLE_EXAMPLE = """\
Examples
--------
>>> import cxml
>>> from cxml.data.sample import generate_sample
>>> ev = cxml.load_events(generate_sample(n_customers=300, n_items=30, random_state=0))"""

#: The fragments by name, as ``{{name}}`` markers in docstrings refer to them.
FRAGMENTS = {
    "customer_arrays": _CUSTOMER_ARRAYS,
    "customer_parameters": _CUSTOMER_PARAMETERS,
    "bad_arrays": _BAD_ARRAYS,
    "btyd_settings": _BTYD_SETTINGS,
    "fit_outcomes": _FIT_OUTCOMES,
    "snapshot_settings": _SNAPSHOT_SETTINGS,
    "evaluate_args": _EVALUATE_ARGS,
    "evaluate_raises": _EVALUATE_RAISES,
    "predict_raises": _PREDICT_RAISES,
    "known_params_raises": _KNOWN_PARAMS_RAISES,
    "as_of": _AS_OF,
    "summary_weights": _SUMMARY_WEIGHTS,
    "weights_error": _WEIGHTS_ERROR,
    "reference_attribute": _REFERENCE_ATTRIBUTE,
    "sample_example": _SAMPLE_EXAMPLE,
}

#: The decorator: the shared :data:`cxml._docs.COMMON` fragments (``events`` ...) and the ones above.
fill_doc = doc_filler({**COMMON, **FRAGMENTS})
