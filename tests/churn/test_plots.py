"""cxml.churn.plots: render with the Agg backend to PNG and check the data on the axes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxml.churn import metrics, plots

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def _axes():  # type: ignore[no-untyped-def]
    fig = Figure()
    FigureCanvasAgg(fig)
    return fig.subplots()


def _save(ax, path: Path) -> None:  # type: ignore[no-untyped-def]
    ax.figure.savefig(path)
    assert path.exists() and path.stat().st_size > 0


Y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
P = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])


def test_lift_curve(tmp_path: Path) -> None:
    ax = plots.lift_curve(Y, P, ax=_axes())
    share, lift = ax.lines[0].get_data()
    np.testing.assert_allclose(share, np.arange(1, 11) / 10)
    # top 1: a churner, lift 1 / 0.3; everyone: lift 1
    assert lift[0] == pytest.approx(1 / 0.3)
    assert lift[-1] == pytest.approx(1.0)
    assert lift[1] == pytest.approx(metrics.lift_at(Y, P, k=0.2))
    _save(ax, tmp_path / "lift.png")


def test_calibration_curve(tmp_path: Path) -> None:
    ax = plots.calibration_curve(Y, P, ax=_axes(), n_bins=5)
    table = metrics.calibration_table(Y, P, n_bins=5)
    x, y = ax.lines[1].get_data()
    np.testing.assert_allclose(x, table["mean_predicted"])
    np.testing.assert_allclose(y, table["observed_rate"])
    _save(ax, tmp_path / "calibration.png")


def test_feature_importance_keeps_the_top_features(tmp_path: Path) -> None:
    names = ["recency", "frequency", "monetary", "tenure"]
    ax = plots.feature_importance(names, [0.5, -3.0, 2.0, 0.1], ax=_axes(), top=3)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["recency", "monetary", "frequency"]  # largest |importance| drawn at the top
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == [0.5, 2.0, -3.0]
    _save(ax, tmp_path / "importance.png")
    with pytest.raises(ValueError, match="names has 2 entries"):
        plots.feature_importance(["a", "b"], [1.0])


def test_new_figure_when_no_axes_given(tmp_path: Path) -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plots.lift_curve(Y, P)
    try:
        _save(ax, tmp_path / "own.png")
    finally:
        plt.close(ax.figure)
