"""The plots a training run logs for churn and CLTV (lift, calibration, feature importance)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from cxml.churn import plots
from cxml.features import churn_labels

__all__ = ["model_plots"]


def model_plots(name: str, model: Any, events: pd.DataFrame, as_of: pd.Timestamp, out: Path) -> list[Path]:
    """Write ``name``'s plots for ``model`` evaluated at ``as_of`` into ``out``; return their paths."""
    # imported here: matplotlib is slow to import and only training runs draw
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    paths: list[Path] = []
    imp = model.feature_importance()
    fig, ax = plt.subplots(figsize=(7, 6))
    plots.feature_importance(imp.iloc[:, 0].astype(str).tolist(), imp.iloc[:, 1].to_numpy(), ax=ax)
    paths.append(_save(plt, fig, out / f"{name}_feature_importance.png"))
    if name == "churn":
        risk = model.predict(events, as_of=as_of).set_index("customer_id")["churn_probability"]
        y = churn_labels(events, as_of, model.horizon).reindex(risk.index).to_numpy()
        for kind, fn in (("lift", plots.lift_curve), ("calibration", plots.calibration_curve)):
            fig, ax = plt.subplots(figsize=(6, 5))
            fn(y, risk.to_numpy(), ax=ax)
            paths.append(_save(plt, fig, out / f"churn_{kind}.png"))
    return paths


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
