"""Charts of the report: matplotlib figures rendered off-screen (Agg) to inline base64 PNG ``data:`` URIs.

Every chart is ~900 px wide at 100 dpi with fonts of 11-13 pt, so it reads on a laptop screen
without zooming. Figures are built from :class:`matplotlib.figure.Figure` directly (no pyplot):
no global figure registry, no GUI backend, nothing left open after the call.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cxml._docs import doc_filler

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "bar_chart",
    "forest_chart",
    "histogram_chart",
    "lift_calibration_chart",
    "monthly_chart",
    "trend_chart",
]

WIDTH_IN = 9.0
DPI = 100
_STYLE: dict[str, Any] = {
    "font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "legend.fontsize": 11,
    "xtick.labelsize": 11, "ytick.labelsize": 11, "axes.spines.top": False, "axes.spines.right": False,
}
BLUE, ORANGE, GREY, GREEN, RED = "#2f6ea8", "#e07b39", "#8c8c8c", "#3a8f5c", "#b9403a"

#: what every chart function returns, described once
_fill_doc = doc_filler({"png_uri": "Returns\n-------\nstr\n    A ``data:image/png;base64,...`` URI."})


@contextmanager
def _figure(height_in: float, ncols: int = 1) -> Iterator[tuple[Figure, list[Axes]]]:
    # matplotlib is heavy and only the report draws: imported when a chart is made
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]  # keys are valid rcParams
        fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, ncols, squeeze=False)[0]
        yield fig, list(axes)


def _png_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _thousands(axis: Any) -> None:
    """Tick labels such as ``600,000`` instead of ``6e5`` offsets."""
    from matplotlib.ticker import StrMethodFormatter

    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _draw(height_in: float, draw: Callable[[list[Axes]], None], ncols: int = 1) -> str:
    with _figure(height_in, ncols) as (fig, axes):
        draw(axes)
        return _png_uri(fig)


def _period_axes(axes: list[Axes], labels: list[str]) -> None:
    """Label the x axis of per-period charts with at most about eight period names; a light y grid."""
    x = np.arange(len(labels))
    step = max(1, len(labels) // 8)
    for ax in axes:
        ax.set_xticks(x[::step], labels[::step], rotation=45, ha="right")
        ax.grid(axis="y", alpha=0.3)


@_fill_doc
def monthly_chart(monthly: pd.DataFrame) -> str:
    """Customers who bought (active and new) and net revenue per month, side by side.

    Parameters
    ----------
    monthly
        Indexed by month label (str) with columns ``active``, ``new`` and ``revenue``.

    {{png_uri}}
    """
    x = np.arange(len(monthly))

    def draw(axes: list[Axes]) -> None:
        left, right = axes
        left.plot(x, monthly["active"], color=BLUE, marker="o", markersize=3, label="customers who bought")
        left.bar(x, monthly["new"], color=ORANGE, alpha=0.7, label="new customers")
        left.set_title("Customers per month")
        left.set_ylim(0, 1.35 * max(float(monthly["active"].max()), 1.0))
        left.legend(loc="upper left", ncols=2)
        right.bar(x, monthly["revenue"], color=GREEN)
        right.set_title("Net revenue per month")
        _thousands(right.yaxis)
        _period_axes(axes, list(monthly.index))

    return _draw(3.8, draw, ncols=2)


@_fill_doc
def bar_chart(labels: Sequence[str], series: dict[str, Sequence[float]], title: str, xlabel: str) -> str:
    """Horizontal grouped bars: one group per label, one bar per series (first series on top).

    Parameters
    ----------
    labels
        Group names, drawn top to bottom.
    series
        Legend name -> one value per label (at most four series).
    title, xlabel
        Chart title and value-axis label.

    {{png_uri}}
    """
    y = np.arange(len(labels))
    k = max(len(series), 1)
    height = 0.8 / k
    colours = [BLUE, ORANGE, GREEN, GREY]

    def draw(axes: list[Axes]) -> None:
        ax = axes[0]
        for i, (name, values) in enumerate(series.items()):
            ax.barh(y + (i - (k - 1) / 2) * height, values, height=height, color=colours[i % 4], label=name)
        ax.set_yticks(y, list(labels))
        ax.invert_yaxis()
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", alpha=0.3)
        _thousands(ax.xaxis)
        if len(series) > 1:
            ax.legend(loc="lower right")

    return _draw(max(2.4, 0.28 * len(labels) * k + 1.3), draw)


@_fill_doc
def trend_chart(cx: pd.DataFrame) -> str:
    """NPS and CSAT (percent, left) and, when answered, CES (mean answer, right) per period.

    Parameters
    ----------
    cx
        Indexed by period label (str) with columns ``nps``, ``csat`` and ``ces`` (NaN = no answers).

    {{png_uri}}
    """
    x = np.arange(len(cx))
    has_ces = bool(cx["ces"].notna().any())

    def draw(axes: list[Axes]) -> None:
        left = axes[0]
        for col, colour, name in (("nps", BLUE, "NPS"), ("csat", ORANGE, "CSAT (% satisfied)")):
            if cx[col].notna().any():
                left.plot(x, cx[col], color=colour, marker="o", markersize=4, label=name)
        left.axhline(0, color=GREY, linewidth=0.8)
        left.set_title("NPS and CSAT")
        left.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        if has_ces:
            right = axes[1]
            right.plot(x, cx["ces"], color=GREEN, marker="o", markersize=4)
            right.set_title("CES (mean effort, 1-7: lower is easier)")
        _period_axes(axes, list(cx.index))

    return _draw(3.6, draw, ncols=2 if has_ces else 1)


@_fill_doc
def histogram_chart(p: np.ndarray, title: str, xlabel: str) -> str:
    """Histogram of probabilities in 20 bins over [0, 1].

    Parameters
    ----------
    p
        Probabilities.
    title, xlabel
        Chart title and x-axis label.

    {{png_uri}}
    """

    def draw(axes: list[Axes]) -> None:
        ax = axes[0]
        ax.hist(p, bins=np.linspace(0.0, 1.0, 21).tolist(), color=BLUE, edgecolor="white")
        ax.set_xlim(0, 1)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("customers")
        ax.grid(axis="y", alpha=0.3)

    return _draw(3.2, draw)


@_fill_doc
def lift_calibration_chart(share: np.ndarray, lift: np.ndarray, table: pd.DataFrame, title: str) -> str:
    """Two panels: cumulative lift against the share contacted, and observed against predicted churn.

    Parameters
    ----------
    share, lift
        Share of customers targeted (0, 1], highest risk first, and the churn rate among them over the
        overall churn rate.
    table
        Calibration bins: columns ``mean_predicted`` and ``observed_rate``.
    title
        Title above both panels (e.g. the check's date).

    {{png_uri}}
    """

    def draw(axes: list[Axes]) -> None:
        ax, cal = axes
        shown = share >= 0.01  # the first few customers alone make a noisy spike
        ax.plot(100 * share[shown], lift[shown], color=BLUE, label="model")
        ax.axhline(1.0, linestyle="--", color=GREY, label="random choice")
        ax.set_xlim(0, 100)
        ax.figure.suptitle(title)
        ax.set_title("Lift")
        ax.set_xlabel("% contacted, highest risk first")
        ax.set_ylabel("x the average churn rate")
        ax.legend(loc="lower left")
        cal.plot([0, 100], [0, 100], linestyle="--", color=GREY, label="perfect")
        cal.plot(100 * table["mean_predicted"], 100 * table["observed_rate"], color=BLUE, marker="o", label="model")
        cal.set_xlim(0, 100)
        cal.set_ylim(0, 100)
        cal.set_title("Calibration")
        cal.set_xlabel("predicted churn risk (%)")
        cal.set_ylabel("really left (%)")
        cal.legend(loc="upper left")
        for a in axes:
            a.grid(alpha=0.3)

    return _draw(4.0, draw, ncols=2)


@_fill_doc
def forest_chart(labels: Sequence[str], diff: np.ndarray, low: np.ndarray, high: np.ndarray, unit: str) -> str:
    """Improvements of the model over its baseline as points with their interval as a bar, zero dashed.

    Parameters
    ----------
    labels
        One label per row, drawn top to bottom.
    diff, low, high
        The improvement (positive = model better) and its interval bounds per row (NaN bounds draw
        the point only).
    unit
        What the differences are measured in, for the axis label.

    {{png_uri}}
    """
    y = np.arange(len(labels))

    def draw(axes: list[Axes]) -> None:
        ax = axes[0]
        ok = ~(np.isnan(low) | np.isnan(high))
        crosses = ok & (low <= 0) & (high >= 0)
        colour = np.where(crosses, GREY, BLUE)
        ax.hlines(y[ok], low[ok], high[ok], colors=colour[ok], linewidth=3)
        ax.scatter(diff, y, color=colour, zorder=3)
        ax.axvline(0, linestyle="--", color=GREY)
        ax.set_yticks(y, list(labels))
        ax.invert_yaxis()
        ax.set_title("Model against baseline, with 95 % intervals (grey: the interval crosses zero)")
        ax.set_xlabel(f"← baseline better | model better →  ({unit})")
        ax.grid(axis="x", alpha=0.3)

    return _draw(max(2.4, 0.4 * len(labels) + 1.2), draw)
