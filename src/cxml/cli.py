"""The ``cxml`` command line. Errors print as one readable line (``--debug`` shows the traceback).

Exit codes: 0 success, 1 a cxml error (bad data, bad config ...), 2 bad command-line usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cxml.exceptions import CxmlError

__all__ = ["main"]


def _cmd_describe(args: argparse.Namespace) -> int:
    import pandas as pd

    from cxml.data import describe_events, load_events

    events = load_events(args.events)
    with pd.option_context("display.max_rows", 100):
        print(describe_events(events).to_string())
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from cxml.data.sample import write_sample

    path = write_sample(Path(args.out), n_customers=args.customers, n_items=args.items,
                        random_state=args.seed)
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxml", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("describe", help="load an events file and print a summary of it")
    p.add_argument("events", help="events csv/parquet in the canonical column names")
    p.set_defaults(func=_cmd_describe)

    p = sub.add_parser("sample", help="write the synthetic sample events (deterministic)")
    p.add_argument("--out", default="data/sample", help="output directory (default data/sample)")
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--items", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_sample)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CxmlError as exc:
        if args.debug:
            raise
        print(f"cxml: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
