"""``spark-submit`` entry: score events on a cluster with a cxml bundle.

    spark-submit --master yarn "$(python -c 'import cxml.spark.__main__ as m; print(m.__file__)')" \\
        --model /shared/models/latest --events s3a://shop/events/ --as-of 2024-07-01 --out s3a://shop/scores/
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from cxml.spark._job import score_job


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run :func:`cxml.spark._job.score_job`, print its summary.

    Parameters
    ----------
    argv
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success.
    """
    p = argparse.ArgumentParser(prog="cxml.spark", description="score customers on Spark with a cxml bundle")
    p.add_argument("--model", required=True, help="bundle directory (shared storage) or models:/NAME@alias")
    p.add_argument("--events", required=True, help="events parquet (file/directory) or .csv with canonical columns")
    p.add_argument("--as-of", required=True, help="a date: models see the events before it")
    p.add_argument("--out", required=True, help="output parquet directory")
    p.add_argument("--k", type=int, default=10, help="recommendations per customer (default 10)")
    p.add_argument("--buckets", type=int, help="customer buckets (default spark.sql.shuffle.partitions)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI for models:/ URIs")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    args = p.parse_args(argv)
    summary = score_job(args.events, args.model, as_of=args.as_of, out=args.out, k=args.k, buckets=args.buckets,
                        tracking_uri=args.tracking_uri, overwrite=args.overwrite)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
