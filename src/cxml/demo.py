"""``make demo``: the main job end to end on the bundled sample (``python -m cxml.demo``).

1. use ``data/sample/events.csv`` (generated first when missing);
2. train recommender, churn and CLTV models with ``data/sample/cxml.toml``, tracked in MLflow
   (``sqlite:///mlflow.db`` in the working directory) and registered as ``cxml-demo@challenger``;
3. batch-score every customer into ``models/demo-scores`` (a parquet dataset);
4. print what a data person looks at first: validation metrics beside the baselines, the riskiest
   customers, CLTV deciles, segments and a few recommendations.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from cxml._uri import resolve_tracking_uri
from cxml.data import load_events
from cxml.data.sample import write_sample
from cxml.exceptions import DataWarning
from cxml.scoring import Scorer
from cxml.tracking import load_config, train

SAMPLE_DIR = Path("data/sample")
CONFIG = SAMPLE_DIR / "cxml.toml"
SCORES = Path("models/demo-scores")
HEADLINE = [
    ("recommender NDCG@10", "recommender.ndcg", "recommender.popularity_ndcg", "popularity"),
    ("churn ROC-AUC", "churn.roc_auc", "churn.bgnbd_neg_expected_purchases.roc_auc", "BG/NBD -E[purchases]"),
    ("churn ROC-AUC", "churn.roc_auc", "churn.recency.roc_auc", "recency rule"),
    ("CLTV Spearman", "cltv.spearman", "cltv.bgnbd_gamma_gamma.spearman", "BG/NBD x Gamma-Gamma"),
    ("CLTV normalized Gini", "cltv.normalized_gini", "cltv.bgnbd_gamma_gamma.normalized_gini", "BG/NBD x Gamma-Gamma"),
]


def main() -> int:
    """Run the demo; returns the exit code."""
    start = time.monotonic()
    if not (SAMPLE_DIR / "events.csv").exists():
        write_sample(SAMPLE_DIR)
    cfg = load_config(CONFIG)
    print(f"== 1/3 training on {cfg.events_path} (as_of {cfg.as_of}) ==", flush=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        result = train(cfg)
    notes = sorted({str(w.message) for w in caught if issubclass(w.category, DataWarning)})
    for note in notes:
        print(f"  note: {note}")
    rows = [(what, result.metrics.get(ours, float("nan")), result.metrics.get(theirs, float("nan")), name)
            for what, ours, theirs, name in HEADLINE]
    table = pd.DataFrame(rows, columns=["metric (time-based validation)", "cxml", "baseline", "baseline model"])
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))

    print(f"\n== 2/3 batch scoring into {SCORES} ==", flush=True)
    events = load_events(cfg.events_path, **cfg.columns, **cfg.read_options)  # type: ignore[arg-type]
    scorer = Scorer.load(result.bundle_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the sample has no events after as_of anyway
        summary = scorer.score(events, as_of=cfg.as_of, out=SCORES, k=5, chunk_size=500, overwrite=True)
    scores = pd.read_parquet(SCORES)
    print(f"{summary['customers']} customers in {summary['chunks']} chunks; "
          f"{summary['cold_start_customers']} got cold-start recommendations")

    print("\n== 3/3 what the scores say ==")
    at_risk = scores[scores["churn_probability"] >= 0.5]
    top = at_risk.sort_values(["expected_value", "churn_probability"], ascending=False).head(10)
    print(f"{len(at_risk)} of {len(scores)} customers are more likely than not to make no purchase in the "
          f"next {pd.Timedelta(cfg.churn.horizon if cfg.churn else '90D').days} days;")
    print("top churn risks by value at stake (most expected 180-day value first; a retention offer pays here):")
    print(top[["customer_id", "churn_probability", "expected_value", "segment"]]
          .to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    deciles = pd.qcut(scores["expected_value"].rank(method="first"), 10, labels=list(range(10, 0, -1)))
    cltv = scores.groupby(deciles, observed=True)["expected_value"].agg(["count", "mean", "sum"]).sort_index()
    cltv.index.name = "CLTV decile (1 = top)"
    print("\nCLTV deciles (expected net spend in the next 180 days):")
    print(cltv.to_string(float_format=lambda v: f"{v:,.1f}"))
    print("\nSegments:")
    print(scores["segment"].value_counts().to_string())
    print("\nExample recommendations:")
    for _, row in scores.head(3).iterrows():
        print(f"  {row['customer_id']}: {', '.join(row['recommended_items'])}")
    print(f"\nMLflow run {result.run_id}; open the UI with:\n"
          f"  .venv/bin/mlflow ui --backend-store-uri {resolve_tracking_uri(cfg.tracking_uri)}")
    print(f"Demo finished in {time.monotonic() - start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
