"""The ``cxml`` command line.

Errors print as one readable line (``--debug`` shows the traceback). Exit codes: 0 success,
1 an error while running (bad data, bad config, missing model ...), 2 bad command-line usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cxml.exceptions import CxmlError

__all__ = ["build_parser", "main"]


def _columns(pairs: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or ():
        canonical, sep, user = pair.partition("=")
        if not sep or not canonical or not user:
            raise CxmlError(f"--column {pair!r} must look like canonical=your_column (e.g. timestamp=date)")
        out[canonical] = user
    return out


def _load(path: str, columns: Sequence[str] | None) -> Any:
    from cxml.data import load_events

    return load_events(path, **_columns(columns))  # type: ignore[arg-type]


def _cmd_describe(args: argparse.Namespace) -> int:
    from cxml.data import describe_events

    print(describe_events(_load(args.events, args.column)).to_string())
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from cxml.data.sample import write_sample

    path = write_sample(Path(args.out), n_customers=args.customers, n_items=args.items,
                        random_state=args.seed)
    print(f"wrote {path}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from cxml.tracking import train
    from cxml.tracking.harness import resolve_tracking_uri

    result = train(args.config, events_path=args.events, as_of=args.as_of, tracking_uri=args.tracking_uri,
                   register=args.register, bundle_dir=args.bundle_dir, experiment=args.experiment)
    print(f"run {result.run_id} (experiment {result.experiment_id}), as_of {result.as_of}")
    for key in sorted(result.metrics):
        print(f"  {key:<40} {result.metrics[key]:.4f}")
    print(f"bundle: {result.bundle_dir}")
    print(f"model:  {result.model_uri}")
    if result.registered_version:
        print(f"registered {result.registered_name} version {result.registered_version} as 'challenger'")
    uri = resolve_tracking_uri(args.tracking_uri)
    print(f"open the MLflow UI with: mlflow ui --backend-store-uri {uri}")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from cxml.scoring import Scorer

    scorer = Scorer.load(args.model, tracking_uri=args.tracking_uri)
    summary = scorer.score(_load(args.events, args.column), as_of=args.as_of, out=args.out, k=args.k,
                           chunk_size=args.chunk_size, overwrite=args.overwrite,
                           progress=not args.quiet)
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    from cxml.tracking.registry import promote

    version, table = promote(args.name, tracking_uri=args.tracking_uri)
    if not table.empty:
        print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"{args.name}: 'champion' now points at version {version}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from cxml.bundle import read_metadata

    meta = read_metadata(args.bundle)
    print(json.dumps(meta, indent=2, sort_keys=True))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from cxml.tracking._models import evaluate_bundle

    metrics = evaluate_bundle(args.model, _load(args.events, args.column), as_of=args.as_of, k=args.k,
                              tracking_uri=args.tracking_uri)
    for key in sorted(metrics):
        print(f"{key:<40} {metrics[key]:.4f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for docs and tests)."""
    parser = argparse.ArgumentParser(prog="cxml", description="cxml: recommendations, churn and CLTV.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    column_help = "map a canonical column to yours, e.g. --column timestamp=date (repeatable)"

    p = sub.add_parser("describe", help="load an events file and print a summary of it")
    p.add_argument("events", help="events csv/parquet")
    p.add_argument("--column", action="append", metavar="CANONICAL=YOURS", help=column_help)
    p.set_defaults(func=_cmd_describe)

    p = sub.add_parser("sample", help="write the synthetic sample events (deterministic)")
    p.add_argument("--out", default="data/sample", help="output directory (default data/sample)")
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--items", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("train", help="train the configured models and log them to MLflow")
    p.add_argument("--config", required=True, help="TOML config (see cxml.tracking.config)")
    p.add_argument("--events", help="override events.path")
    p.add_argument("--as-of", help="override train.as_of (default: the day after the last event)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    p.add_argument("--register", metavar="NAME", help="register the model under NAME with alias 'challenger'")
    p.add_argument("--bundle-dir", help="override train.bundle_dir")
    p.add_argument("--experiment", help="override train.experiment")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("score", help="batch-score customers into a parquet dataset (resumable)")
    p.add_argument("--model", required=True, help="bundle directory or models:/NAME@alias")
    p.add_argument("--events", required=True, help="events csv/parquet")
    p.add_argument("--as-of", required=True, help="score as of this date (events before it are used)")
    p.add_argument("--out", required=True, help="output parquet dataset directory")
    p.add_argument("--k", type=int, default=10, help="recommendations per customer (default 10)")
    p.add_argument("--chunk-size", type=int, default=50_000, help="customers per chunk (default 50000)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing, different output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--tracking-uri", help="MLflow tracking URI for models:/ URIs")
    p.add_argument("--column", action="append", metavar="CANONICAL=YOURS", help=column_help)
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser("evaluate", help="evaluate a bundle's models on what happened after --as-of")
    p.add_argument("--model", required=True, help="bundle directory or models:/NAME@alias")
    p.add_argument("--events", required=True, help="events csv/parquet covering the horizon after --as-of")
    p.add_argument("--as-of", required=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--tracking-uri")
    p.add_argument("--column", action="append", metavar="CANONICAL=YOURS", help=column_help)
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("promote", help="move alias 'champion' to the current 'challenger' (shows metrics)")
    p.add_argument("name", help="registered model name")
    p.add_argument("--tracking-uri")
    p.set_defaults(func=_cmd_promote)

    p = sub.add_parser("info", help="verify a bundle and print its metadata")
    p.add_argument("bundle", help="bundle directory")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("cxml: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one readable line; the traceback only when asked
        if args.debug:
            raise
        kind = type(exc).__name__ if isinstance(exc, CxmlError) else f"unexpected {type(exc).__name__}"
        print(f"cxml: error: {kind}: {exc}".splitlines()[0], file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
