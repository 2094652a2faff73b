"""``python -m cxml.report --demo-screenshot``: rebuild ``docs/report.png`` from the bundled sample.

Fits a small bundle (popularity recommender, churn and CLTV models, horizon 90 days) on
``data/sample/events.csv`` as of 2024-09-01, writes the report and takes a 1280×1600 screenshot of
the top of the page with a headless Chromium (``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from cxml.bundle import save_bundle
from cxml.churn import ChurnModel, CLTVModel
from cxml.data import load_events
from cxml.recommend import PopularityRecommender
from cxml.report._browser import run_chromium
from cxml.report._build import build
from cxml.scoring import Scorer

__all__ = ["demo_report", "main"]

DEMO_AS_OF = "2024-09-01"
DEMO_HORIZON = "90D"


def demo_report(events_path: Path, out: Path, workdir: Path) -> Path:
    """Fit the demo bundle on ``events_path`` into ``workdir`` and write its report to ``out``.

    Parameters
    ----------
    events_path
        The sample events csv.
    out
        The HTML file to write (replaced when it exists).
    workdir
        Scratch directory for the bundle.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    events = load_events(events_path)
    recommender = PopularityRecommender().fit(events.loc[events["timestamp"] < pd.Timestamp(DEMO_AS_OF)])
    churn = ChurnModel(horizon=DEMO_HORIZON, random_state=0).fit(events, as_of=DEMO_AS_OF)
    cltv = CLTVModel(horizon=DEMO_HORIZON, random_state=0).fit(events, as_of=DEMO_AS_OF)
    bundle = save_bundle(workdir / "bundle", recommender=recommender, churn=churn, cltv=cltv, overwrite=True)
    return build(events, Scorer.load(bundle), as_of=DEMO_AS_OF, out=out, overwrite=True,
                 title="Customer report — sample shop")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--demo-screenshot [--png docs/report.png] [--events data/sample/events.csv]``.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status 0.
    """
    parser = argparse.ArgumentParser(prog="python -m cxml.report", description=__doc__.splitlines()[0])
    parser.add_argument("--demo-screenshot", action="store_true", required=True,
                        help="build the sample report and screenshot the top of the page")
    parser.add_argument("--events", type=Path, default=Path("data/sample/events.csv"))
    parser.add_argument("--png", type=Path, default=Path("docs/report.png"))
    parser.add_argument("--html", type=Path, default=None, help="also keep the report here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cxml-report-demo-") as tmp:
        html = args.html or Path(tmp) / "report.html"
        demo_report(args.events, html, Path(tmp))
        args.png.parent.mkdir(parents=True, exist_ok=True)
        run_chromium(html, [f"--screenshot={args.png.resolve()}", "--window-size=1280,1600"])
    print(f"wrote {args.png}" + (f" and {args.html}" if args.html else ""))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
