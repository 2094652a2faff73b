"""The ``cxml`` command line.

Errors print as one readable line on stderr (``--debug`` shows the traceback). Exit codes: 0 success;
2 bad input — a bad flag (argparse's usage error) or any :class:`cxml.CxmlError` (bad config, data,
argument value, missing model ...); 1 an unexpected error (a bug: please report it); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cxml._checks import check_int
from cxml._uri import resolve_tracking_uri
from cxml._version import __version__
from cxml.bundle import read_metadata
from cxml.data import describe_events, load_events
from cxml.data.sample import add_sample_arguments, run_sample
from cxml.evaluate import backtest
from cxml.exceptions import CxmlError, ParameterError, SchemaError, SourceError
from cxml.report import build as build_report
from cxml.schema import parse_as_of
from cxml.scoring import Scorer
from cxml.tracking import evaluate_bundle, promote, train
from cxml.tracking._backtest import log_backtest, models_for_tasks
from cxml.tracking._tables import LOAD_EVENTS_KEYS

__all__ = ["EXIT_ERROR", "EXIT_UNEXPECTED", "build_parser", "load_catalogue", "main"]

#: exit code of a usage error or a :class:`cxml.CxmlError` (bad input of any kind)
EXIT_ERROR = 2
#: exit code of an error cxml did not foresee
EXIT_UNEXPECTED = 1


def _columns(pairs: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or ():
        canonical, sep, user = pair.partition("=")
        if not sep or not canonical or not user:
            raise ParameterError(f"--column {pair!r} must look like canonical=your_column (e.g. timestamp=date)")
        if canonical not in LOAD_EVENTS_KEYS:
            raise ParameterError(f"--column {pair!r}: {canonical!r} is not a canonical column; expected one of: "
                                 f"{', '.join(sorted(LOAD_EVENTS_KEYS))}")
        out[canonical] = user
    return out


def _load(path: str, args: argparse.Namespace) -> pd.DataFrame:
    """Events from a csv/parquet file or a directory of parquet files, with ``--column`` and reading options."""
    options = {k: v for k, v in (("dayfirst", args.dayfirst), ("timestamp_format", args.timestamp_format))
               if v is not None}
    return load_events(path, **_columns(args.column), **options)  # type: ignore[arg-type]


def _cmd_describe(args: argparse.Namespace) -> int:
    print(describe_events(_load(args.events, args)).to_string())
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {args.out!r} is a file; expected a directory (it is created when missing)")
    path = run_sample(args)
    print(f"wrote {path}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    result = train(args.config, events_path=args.events, as_of=args.as_of, tracking_uri=args.tracking_uri,
                   register=args.register, bundle_dir=args.bundle_dir, experiment=args.experiment,
                   memory_budget=args.memory_budget)
    print(f"run {result.run_id} (experiment {result.experiment_id}), as_of {result.as_of}")
    if result.scale:
        print(f"streamed in {result.scale['scale.buckets']} buckets: churn/CLTV on a sample of "
              f"{result.scale['scale.sample_customers']} of {result.scale['scale.customers']} customers "
              f"(fraction {result.scale['scale.sample_fraction']:.4g}); BG/NBD, Gamma-Gamma and the recommender "
              "on all of them")
    for key in sorted(result.metrics):
        print(f"  {key:<40} {result.metrics[key]:.4f}")
    print(f"bundle: {result.bundle_dir}")
    print(f"model:  {result.model_uri}")
    if result.registered_version:
        print(f"registered {result.registered_name} version {result.registered_version} as 'challenger'")
    print(f"open the MLflow UI with: mlflow ui --backend-store-uri {resolve_tracking_uri(args.tracking_uri)}")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    as_of = parse_as_of(args.as_of)  # a bad date fails before the model and the events are read
    if args.engine == "spark":
        return _score_on_spark(args, as_of)
    scorer = Scorer.load(args.model, tracking_uri=args.tracking_uri)
    # a plain path goes to the Scorer as is, so that a parquet dataset bigger than memory is streamed
    plain = not (args.column or args.dayfirst is not None or args.timestamp_format)
    events = args.events if plain else _load(args.events, args)
    summary = scorer.score(events, as_of=as_of, out=args.out, k=args.k, chunk_size=args.chunk_size,
                           overwrite=args.overwrite, progress=not args.quiet, memory_budget=args.memory_budget,
                           reasons=args.reasons)
    print(json.dumps(summary, indent=2))
    return 0


def _score_on_spark(args: argparse.Namespace, as_of: Any) -> int:
    """``cxml score --engine spark``: cxml.spark.score_job on the active or a local Spark session."""
    if args.column or args.dayfirst is not None or args.timestamp_format:
        raise ParameterError("--engine spark reads events with canonical column names; --column, --dayfirst, "
                             "--monthfirst and --timestamp-format apply to --engine local only")
    try:
        # the optional extra cxml[spark]: pyspark is imported only when the Spark engine is asked for
        from cxml.spark import score_job
    except ImportError as exc:
        raise ParameterError(f"--engine spark needs the optional extra: pip install 'cxml[spark]' ({exc})") from exc
    summary = score_job(args.events, args.model, as_of=as_of, out=args.out, k=args.k, master=args.spark_master,
                        tracking_uri=args.tracking_uri, overwrite=args.overwrite)
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    version, table = promote(args.name, tracking_uri=args.tracking_uri)
    if not table.empty:
        print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"{args.name}: 'champion' now points at version {version}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    print(json.dumps(read_metadata(args.bundle), indent=2, sort_keys=True))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    if args.backtest:
        return _cmd_backtest(args)
    if not args.model or not args.as_of:
        raise ParameterError("cxml evaluate needs --model and --as-of (or --backtest with --cutoffs)")
    as_of = parse_as_of(args.as_of)
    metrics = evaluate_bundle(args.model, _load(args.events, args), as_of=as_of, k=args.k,
                              tracking_uri=args.tracking_uri)
    for key in sorted(metrics):
        print(f"{key:<40} {metrics[key]:.4f}")
    return 0


def _cmd_backtest(args: argparse.Namespace) -> int:
    cutoffs = [c.strip() for c in (args.cutoffs or "").split(",") if c.strip()]
    if not cutoffs:
        raise ParameterError("--backtest needs --cutoffs, e.g. --cutoffs 2010-06-01,2010-09-01")
    result = backtest(_load(args.events, args), cutoffs, horizon=args.horizon, models=models_for_tasks(args.tasks),
                      n_boot=args.n_boot, k=args.k, random_state=args.seed)
    run_id = log_backtest(result, tracking_uri=args.tracking_uri, experiment=args.experiment)
    if args.out:
        result.to_csv(args.out, index=False)
    print(result.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    unclear = result.loc[result["crosses_zero"]]
    print(f"{len(unclear)} of {len(result)} intervals cross zero (no clear difference from the strongest baseline)")
    print(f"logged run {run_id} to {resolve_tracking_uri(args.tracking_uri)} (experiment {args.experiment})")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    as_of = parse_as_of(args.as_of)
    scorer = Scorer.load(args.model, tracking_uri=args.tracking_uri)
    catalogue = load_catalogue(args.catalogue) if args.catalogue else None
    evaluation = _load_backtest(args.backtest) if args.backtest else None
    path = build_report(_load(args.events, args), scorer, as_of=as_of, out=args.out, catalogue=catalogue,
                        evaluation=evaluation, title=args.title, overwrite=args.overwrite)
    print(f"wrote {path}")
    return 0


def _load_backtest(path: str) -> pd.DataFrame:
    """The table ``cxml evaluate --backtest --out FILE`` wrote, for the report's models section."""
    try:
        frame = pd.read_csv(path, dtype={"cutoff": str})
    except (OSError, ValueError) as exc:
        raise SourceError(f"could not read the backtest table {path!r}: {exc}") from exc
    missing = [c for c in ("metric", "model", "baseline", "difference", "ci_low", "ci_high") if c not in frame.columns]
    if missing:
        raise SchemaError(f"backtest table {path!r} lacks column(s) {missing} ({len(frame)} rows); expected the csv "
                          "of cxml evaluate --backtest --out")
    return frame


def load_catalogue(path: str) -> pd.DataFrame:
    """``item_id, name`` from a csv file (ids read as text, like event ids).

    Parameters
    ----------
    path
        A csv file with at least the columns ``item_id`` and ``name``.

    Returns
    -------
    pandas.DataFrame
        ``item_id`` and ``name`` as strings.

    Raises
    ------
    SourceError
        The file cannot be read.
    SchemaError
        A column is missing.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise SourceError(f"could not read the catalogue {path!r}: {exc}") from exc
    missing = [c for c in ("item_id", "name") if c not in frame.columns]
    if missing:
        raise SchemaError(f"catalogue {path!r} lacks column(s) {missing} ({len(frame)} rows); "
                          f"expected item_id and name, found {list(frame.columns)}")
    return frame[["item_id", "name"]]


def _int_at_least(minimum: int) -> Any:
    """An argparse ``type`` that takes an integer >= ``minimum`` (a usage error otherwise)."""
    def parse(text: str) -> int:
        try:
            return check_int("value", int(text), minimum=minimum)
        except (ValueError, ParameterError):
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= {minimum}") from None
    parse.__name__ = f"integer >= {minimum}"
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for docs and tests).

    Returns
    -------
    argparse.ArgumentParser
        ``cxml`` with its sub-commands; each parsed namespace carries its handler as ``func``.
    """
    parser = argparse.ArgumentParser(prog="cxml", description="cxml: recommendations, churn and CLTV.")
    parser.add_argument("--version", action="version", version=f"cxml {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    positive = _int_at_least(1)

    p = sub.add_parser("describe", help="load an events file and print a summary of it")
    p.add_argument("events", help="events csv/parquet file, or a directory of parquet files")
    _add_reading(p)
    p.set_defaults(func=_cmd_describe)

    p = sub.add_parser("sample", help="write synthetic events: the bundled sample (csv) or a parquet dataset at "
                                      "scale (--events; deterministic for a --seed)")
    add_sample_arguments(p, default_out="data/sample")
    p.set_defaults(func=_cmd_sample)

    _add_train(sub)

    p = sub.add_parser("score", help="batch-score customers into a parquet dataset (resumable)")
    _add_model_events_as_of(p, "events csv/parquet file, or a directory of parquet files")
    p.add_argument("--out", required=True, help="output parquet dataset directory")
    p.add_argument("--chunk-size", type=positive, default=50_000, help="customers per chunk (default 50000)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing, different output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--reasons", type=_int_at_least(0), default=0, metavar="N",
                   help="add a reasons column: each customer's top-N churn reasons in words (default 0: none)")
    p.add_argument("--memory-budget", metavar="SIZE",
                   help="stream a parquet dataset in customer hash buckets that fit this much memory, e.g. 2G "
                        "(default: only a dataset that would not fit in half the RAM is streamed)")
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: stream on this machine (default); spark: cxml.spark on the active or a local "
                        "Spark session (needs cxml[spark]; see docs/spark.md)")
    p.add_argument("--spark-master", help="master of the local Spark session for --engine spark (default local[*])")
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser("evaluate", help="evaluate a bundle's models on what happened after --as-of, or backtest "
                                        "refitted models over several cutoffs (--backtest)")
    _add_model_events_as_of(p, "events covering the horizon after --as-of (csv/parquet file or parquet directory)",
                            required=False)
    p.add_argument("--backtest", action="store_true",
                   help="refit the models at each of --cutoffs and compare them with their strongest baseline, "
                        "with 95 %% bootstrap intervals; logged to MLflow")
    p.add_argument("--cutoffs", help="with --backtest: comma-separated dates, e.g. 2010-06-01,2010-09-01")
    p.add_argument("--horizon", default="90D", help="with --backtest: the window after each cutoff (default 90D)")
    p.add_argument("--tasks", help="with --backtest: some of churn,cltv,recommend (default: all that the data allow)")
    p.add_argument("--n-boot", type=positive, default=1000, help="with --backtest: bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="with --backtest: random seed (default 0)")
    p.add_argument("--experiment", default="cxml-backtest", help="with --backtest: MLflow experiment")
    p.add_argument("--out", help="with --backtest: also write the table to this csv file")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("report", help="write a one-file HTML report for the shop owner")
    _add_model_events_as_of(p, "events csv/parquet file, or a directory of parquet files", k=False)
    p.add_argument("--out", default="report.html", help="HTML file to write (default report.html)")
    p.add_argument("--catalogue", help="csv with item_id and name, to show item names in recommendations")
    p.add_argument("--title", help="the report's title")
    p.add_argument("--backtest", metavar="CSV",
                   help="the csv of cxml evaluate --backtest --out: models against baselines with intervals")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file at --out")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("promote", help="move alias 'champion' to the current 'challenger' (shows metrics)")
    p.add_argument("name", help="registered model name")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    p.set_defaults(func=_cmd_promote)

    p = sub.add_parser("info", help="verify a bundle and print its metadata")
    p.add_argument("bundle", help="bundle directory")
    p.set_defaults(func=_cmd_info)
    return parser


def _add_train(sub: Any) -> None:
    """The ``train`` sub-command."""
    p = sub.add_parser("train", help="train the configured models and log them to MLflow")
    p.add_argument("--config", required=True, help="TOML config (see cxml.tracking.config)")
    p.add_argument("--events", help="override events.path")
    p.add_argument("--as-of", help="override train.as_of (default: the day after the last event)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    p.add_argument("--register", metavar="NAME", help="register the model under NAME with alias 'challenger'")
    p.add_argument("--bundle-dir", help="override train.bundle_dir")
    p.add_argument("--experiment", help="override train.experiment")
    p.add_argument("--memory-budget", metavar="SIZE",
                   help="override train.memory_budget: a parquet dataset whose training would not fit this much "
                        "memory (e.g. 6G) is streamed, with churn/CLTV on a customer sample "
                        "(docs/training-at-scale.md; default: only one that would not fit in half the RAM)")
    p.set_defaults(func=_cmd_train)


def _add_reading(p: argparse.ArgumentParser) -> None:
    """The flags that say how to read an events source (``load_events`` keywords)."""
    p.add_argument("--column", action="append", metavar="CANONICAL=YOURS",
                   help="map a canonical column to yours, e.g. --column timestamp=date (repeatable)")
    order = p.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True,
                       help="numeric dates are day/month/year (default: detected from the whole column)")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                       help="numeric dates are month/day/year")
    p.add_argument("--timestamp-format", metavar="FORMAT", help="strptime format of the timestamps, e.g. %%d/%%m/%%Y")


def _add_model_events_as_of(p: argparse.ArgumentParser, events_help: str, *, k: bool = True,
                            required: bool = True) -> None:
    """The flags ``score``, ``evaluate`` and ``report`` share (``report`` shows no top-k list)."""
    p.add_argument("--model", required=required, help="bundle directory or models:/NAME@alias")
    p.add_argument("--events", required=True, help=events_help)
    p.add_argument("--as-of", required=required, help="a date: models see the events before it")
    if k:
        p.add_argument("--k", type=_int_at_least(1), default=10,
                       help="recommendations per customer, an integer >= 1 (default 10; capped at the catalogue size)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI for models:/ URIs")
    _add_reading(p)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Parameters
    ----------
    argv
        The arguments after ``cxml``; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 for a :class:`cxml.CxmlError` (bad config, data or argument), 1 for an
        unexpected error, 130 when interrupted. Usage errors, ``--help`` and ``--version`` exit
        through :class:`SystemExit` as argparse does (code 2 for a usage error).
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("cxml: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one readable line; the traceback only when asked
        if args.debug:
            raise
        known = isinstance(exc, CxmlError)
        kind = type(exc).__name__ if known else f"unexpected {type(exc).__name__}"
        lines = str(exc).splitlines() or [""]
        print(f"cxml: error: {kind}: {lines[0]}", file=sys.stderr)
        return EXIT_ERROR if known else EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
