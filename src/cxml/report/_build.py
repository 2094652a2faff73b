"""``build``: check the arguments once, compute every section, render and write the page."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cxml.bundle import Bundle
from cxml.data import as_events
from cxml.exceptions import InsufficientDataError, OutputExistsError, ParameterError, SchemaError
from cxml.report._context import Context, Section, fmt_int
from cxml.report._history import customers_section, feedback_section, segments_section
from cxml.report._models import EVALUATION_COLUMNS, evaluation_section, recommend_section
from cxml.report._render import render_html, write_atomic
from cxml.report._risk import at_risk_section, churn_section, equity_section
from cxml.schema import Columns, events_before, parse_as_of, purchase_mask
from cxml.scoring import Scorer

__all__ = ["SECTION_TITLES", "build"]

#: how a sentence names each model a section may need
MODEL_NAMES = {"churn": "churn model", "cltv": "CLTV model", "recommender": "recommender"}


@dataclass(frozen=True)
class Part:
    """One section of the page: its anchor, ``<h2>`` title, the bundle models it needs, and the
    function that fills in its takeaway, charts, tables and notes (called only when the bundle
    holds every model in ``needs``)."""

    key: str
    title: str
    fill: Callable[[Context, Section], Section]
    needs: tuple[str, ...] = ()

    def make(self, ctx: Context) -> Section:
        """The filled section, or one sentence saying which model the bundle lacks."""
        section = Section(self.key, self.title, "")
        if all(ctx.has(model) for model in self.needs):
            return self.fill(ctx, section)
        names = " or no ".join(MODEL_NAMES[model] for model in self.needs)
        why = "and this list needs both, so it is" if len(self.needs) > 1 else "so this part of the report is"
        section.takeaway = f"The bundle has no {names}, {why} left out."
        return section


#: every section in page order
SECTIONS = (
    Part("customers", "Customers and revenue over time", customers_section),
    Part("segments", "Customer segments (RFM)", segments_section),
    Part("feedback", "Customer feedback: NPS, CSAT and CES", feedback_section),
    Part("churn", "Churn risk", churn_section, needs=("churn",)),
    Part("equity", "Expected value by segment (customer equity)", equity_section, needs=("cltv",)),
    Part("at-risk", "Customers worth saving", at_risk_section, needs=("churn", "cltv")),
    Part("recommend", "Recommendation examples", recommend_section, needs=("recommender",)),
    Part("evaluation", "Models against their baselines", evaluation_section),
)
#: the ``<h2>`` title of each section, in page order
SECTION_TITLES = tuple(part.title for part in SECTIONS)


def _scorer(bundle_or_scorer: Any) -> Scorer:
    if isinstance(bundle_or_scorer, Scorer):
        return bundle_or_scorer
    if isinstance(bundle_or_scorer, Bundle):
        return Scorer(bundle_or_scorer)
    if isinstance(bundle_or_scorer, str | os.PathLike):
        return Scorer.load(bundle_or_scorer)
    raise ParameterError(
        f"bundle_or_scorer has type {type(bundle_or_scorer).__name__}; expected a cxml.Scorer, a "
        "cxml.bundle.Bundle, a bundle directory or a 'models:/NAME@alias' URI"
    )


def _frame_arg(name: str, value: Any, columns: tuple[str, ...]) -> pd.DataFrame | None:
    if value is None:
        return None
    if not isinstance(value, pd.DataFrame):
        raise ParameterError(f"{name} has type {type(value).__name__}; expected a DataFrame[{', '.join(columns)}]")
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise ParameterError(
            f"{name} lacks the column(s) {missing} (it has {list(value.columns)}); expected {list(columns)}"
        )
    return value


def _evaluation_arg(evaluation: Any) -> Any:
    if evaluation is None:
        return None
    if isinstance(evaluation, pd.DataFrame):
        _frame_arg("evaluation", evaluation, EVALUATION_COLUMNS[:4])
        return evaluation
    if isinstance(evaluation, Mapping):
        results = [evaluation] if "model" in evaluation else list(evaluation.values())
        if results and all(isinstance(r, Mapping) and isinstance(r.get("model"), Mapping) for r in results):
            return evaluation
    raise ParameterError(
        "evaluation is neither a dict from cxml.churn.evaluate_churn / evaluate_cltv (with a 'model' dict), a "
        f"dict of such dicts, nor a DataFrame with columns {list(EVALUATION_COLUMNS)}; got {type(evaluation).__name__}"
    )


def _summary(ctx: Context) -> str:
    history = events_before(ctx.events, ctx.as_of)
    bought = history.loc[purchase_mask(history).to_numpy()]
    first, last = bought[Columns.TIMESTAMP].min(), history[Columns.TIMESTAMP].max()
    models = ", ".join(ctx.scorer.models) or "none"
    return (
        f"As of {ctx.as_of.date()}: {fmt_int(bought[Columns.CUSTOMER].nunique())} customers who bought between "
        f"{first.date()} and {last.date()}. Models in the bundle: {models}."
    )


def build(
    events: Any,
    bundle_or_scorer: Any,
    *,
    as_of: Any,
    out: str | os.PathLike[str] = "report.html",
    catalogue: pd.DataFrame | None = None,
    evaluation: Any = None,
    title: str | None = None,
    reasons: pd.DataFrame | None = None,
    overwrite: bool = False,
) -> Path:
    """Write one self-contained HTML report for the shop owner and return its path.

    The page has a table of contents and eight sections, each with a title and a one-line
    takeaway computed from the data: customers and revenue over time; RFM segments; NPS/CSAT/CES
    trend; churn-risk distribution (with lift and calibration of an out-of-time check at
    ``as_of − horizon`` when the events cover it); expected value by segment; the at-risk
    customers worth saving; recommendation examples; the models against their baselines. A
    section whose model is not in the bundle (or whose data is absent) says so in a sentence.
    Nothing is loaded from the network: CSS is inline, charts are base64 PNG ``data:`` URIs.

    Parameters
    ----------
    events
        Events table or csv/parquet path (normalised once with :func:`cxml.as_events`); only events
        before ``as_of`` are shown, and the outcome window of the out-of-time check ends at ``as_of``.
    bundle_or_scorer
        A :class:`cxml.Scorer`, a loaded :class:`cxml.bundle.Bundle`, or what :meth:`cxml.Scorer.load`
        takes (a bundle directory or ``"models:/NAME@alias"``).
    as_of
        Date-like report date; the models score customers existing at it.
    out
        The HTML file to write (parent directories are created).
    catalogue
        Optional DataFrame[item_id, name]: recommendation examples show item names.
    evaluation
        Optional comparison with baselines: the dict of :func:`cxml.churn.evaluate_churn` or
        :func:`cxml.churn.evaluate_cltv`, a dict of such dicts by name, or a DataFrame of backtest
        rows with columns ``metric, model, baseline, difference`` and optionally ``ci_low, ci_high``
        (any other columns, e.g. ``cutoff``, are shown as labels).
    title
        Page title; default ``"Customer report — <as_of>"``.
    reasons
        Optional DataFrame[customer_id, rank, reason] (e.g. from ``ChurnModel.reasons``): fills a
        "reasons" column in the customers-worth-saving table.
    overwrite
        Replace an existing ``out``; by default an existing file is refused.

    Returns
    -------
    pathlib.Path
        ``out``, written atomically (a temporary file renamed into place).

    Raises
    ------
    ParameterError
        When an argument has the wrong type or lacks columns, or ``as_of`` is not a date.
    OutputExistsError
        When ``out`` exists and ``overwrite`` is false (checked before any work and again at the end).
    InsufficientDataError
        When there is no purchase before ``as_of``.
    SchemaError
        When ``events`` is not a valid events table.
    BundleError
        When ``bundle_or_scorer`` names a bundle that is missing or fails verification.
    """
    try:
        ts = parse_as_of(as_of)
    except SchemaError as exc:
        raise ParameterError(str(exc)) from exc
    if not isinstance(out, str | os.PathLike):
        raise ParameterError(f"out has type {type(out).__name__}; expected a file path such as 'report.html'")
    target = Path(out)
    if target.is_dir():
        raise ParameterError(f"out={str(target)!r} is a directory; expected a file path such as 'report.html'")
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{str(target)!r} already exists; pass overwrite=True to replace it")
    if title is not None and not isinstance(title, str):
        raise ParameterError(f"title has type {type(title).__name__}; expected a str")
    catalogue = _frame_arg("catalogue", catalogue, (Columns.ITEM, "name"))
    reasons = _frame_arg("reasons", reasons, (Columns.CUSTOMER, "rank", "reason"))
    ctx = Context(as_events(events), ts, _scorer(bundle_or_scorer), catalogue, _evaluation_arg(evaluation), reasons)
    if not purchase_mask(events_before(ctx.events, ts)).any():
        raise InsufficientDataError(f"the events hold no purchase before as_of={ts.date()}; nothing to report")
    sections = [part.make(ctx) for part in SECTIONS]
    html = render_html(sections, title=title or f"Customer report — {ts.date()}", summary=_summary(ctx),
                       as_of=str(ts.date()))
    return write_atomic(html, target, overwrite=overwrite)
