"""Benchmark: ``cxml.spark.score`` on ``local[2]`` against the single-machine ``Scorer.score`` at the same size.

Issue 16: the same rows from Spark as from one machine, and what Spark costs on two cores. Events
from :func:`cxml.data.sample.generate_sample` (``--customers``, about 33 events each); ALS (32
factors), ``ChurnModel`` and ``CLTVModel`` (``n_snapshots=2``) fitted once and saved as one bundle.
Then, timed separately, each writing a parquet dataset of the scores:

- **single machine**: ``Scorer.score(events, as_of, out)`` (the in-memory batch path, chunks of
  50,000 customers);
- **spark local[2]**: ``cxml.spark.score(sdf, bundle, as_of)`` written with ``.write.parquet``, the
  events already in Spark (cached; their conversion from pandas is reported apart), the session
  and its Python workers warm from a first run that is not timed.

Both outputs are read back and compared (same customers, values and item lists). On two shared
cores Spark is slower: it runs the RFM pass and the scoring pass as two Spark jobs, ships every
event through Arrow twice and pays task scheduling; the point is that the same code scales out on a
cluster, not that it is faster here.

Usage::

    nice -n 10 python benchmarks/spark.py              # full run, writes results/spark.json
    python benchmarks/spark.py --quick                 # smoke run, writes nothing
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import cxml
from cxml import Scorer
from cxml.bundle import save_bundle
from cxml.churn import ChurnModel, CLTVModel
from cxml.data.sample import generate_sample
from cxml.recommend import ALSRecommender
from cxml.schema import events_before

RESULTS = Path(__file__).resolve().parent / "results" / "spark.json"
AS_OF = pd.Timestamp("2024-10-01")


def _fit_bundle(events: pd.DataFrame, path: Path) -> tuple[Path, dict[str, float]]:
    seconds = {}
    t = time.perf_counter()
    rec = ALSRecommender(factors=32, iterations=10, random_state=0).fit(events_before(events, AS_OF))
    seconds["als"] = time.perf_counter() - t
    t = time.perf_counter()
    churn = ChurnModel(horizon="90D", n_snapshots=2, random_state=0).fit(events, as_of=AS_OF)
    seconds["churn"] = time.perf_counter() - t
    t = time.perf_counter()
    cltv = CLTVModel(horizon="90D", n_snapshots=2, random_state=0).fit(events, as_of=AS_OF)
    seconds["cltv"] = time.perf_counter() - t
    return save_bundle(path, recommender=rec, churn=churn, cltv=cltv), seconds


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    a = a.sort_values("customer_id", ignore_index=True)
    b = b.sort_values("customer_id", ignore_index=True)
    return bool(
        a["customer_id"].tolist() == b["customer_id"].tolist()
        and all(np.array_equal(a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float), equal_nan=True)
                for c in ("churn_probability", "expected_value"))
        and a["segment"].astype(str).tolist() == b["segment"].astype(str).tolist()
        and [list(x) for x in a["recommended_items"]] == [list(x) for x in b["recommended_items"]]
    )


def run(n_customers: int, repeats: int, tmp: Path) -> dict[str, Any]:
    from cxml.spark import events_to_spark, local_session, score  # optional extra: only this benchmark needs it

    events = generate_sample(n_customers=n_customers, n_items=2000, random_state=0)
    bundle, fit_seconds = _fit_bundle(events, tmp / "bundle")
    n_past = int((events["timestamp"] < AS_OF).sum())
    single = []
    for i in range(repeats):
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cxml.DataWarning)
            summary = Scorer.load(bundle).score(events, as_of=AS_OF, out=tmp / f"single-{i}", progress=False)
        single.append(time.perf_counter() - t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        spark = local_session("local[2]", shuffle_partitions=4)
    spark.sparkContext.setLogLevel("ERROR")
    t = time.perf_counter()
    sdf = events_to_spark(spark, events).cache()
    sdf.count()
    convert_seconds = time.perf_counter() - t
    score(sdf, bundle, as_of=AS_OF).write.parquet(str(tmp / "spark-warmup"))  # workers start, bundle loads
    distributed = []
    for i in range(repeats):
        t = time.perf_counter()
        score(sdf, bundle, as_of=AS_OF).write.parquet(str(tmp / f"spark-{i}"))
        distributed.append(time.perf_counter() - t)
    same = _same_rows(pd.read_parquet(tmp / "single-0"), pd.read_parquet(tmp / "spark-0"))
    spark.stop()
    customers = int(summary["customers"])
    best_single, best_spark = min(single), min(distributed)
    return {
        "customers": customers, "events": len(events), "events_before_as_of": n_past, "as_of": str(AS_OF.date()),
        "fit_seconds": fit_seconds, "pandas_to_spark_seconds": convert_seconds,
        "single_machine_seconds": single, "spark_local2_seconds": distributed,
        "single_machine_customers_per_second": customers / best_single,
        "spark_local2_customers_per_second": customers / best_spark,
        "spark_over_single_time_ratio": best_spark / best_single,
        "identical_rows": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="2,000 customers, one repeat, no JSON")
    args = parser.parse_args()
    n, repeats = (2_000, 1) if args.quick else (args.customers, args.repeats)
    with tempfile.TemporaryDirectory(prefix="cxml-bench-spark-") as tmp:
        result = run(n, repeats, Path(tmp))
    print(f"{'path':<22}{'seconds':>10}{'customers/s':>14}")
    print(f"{'single machine':<22}{min(result['single_machine_seconds']):>10.1f}"
          f"{result['single_machine_customers_per_second']:>14.0f}")
    print(f"{'spark local[2]':<22}{min(result['spark_local2_seconds']):>10.1f}"
          f"{result['spark_local2_customers_per_second']:>14.0f}")
    print(f"spark / single time ratio: {result['spark_over_single_time_ratio']:.1f}x; "
          f"identical rows: {result['identical_rows']}; {result['customers']} customers, {result['events']} events")
    if not args.quick:
        payload = {"benchmark": "spark", "quick": False, "python": sys.version.split()[0],
                   "platform": platform.platform(), "cpus": os.cpu_count(),
                   "loadavg_1min": os.getloadavg()[0], "batch": result}
        RESULTS.write_text(json.dumps(payload, indent=1) + "\n")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
