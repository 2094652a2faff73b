"""One self-contained HTML report for the shop owner: :func:`build`.

The page needs no network (inline CSS, charts as base64 PNG ``data:`` URIs drawn with
matplotlib's Agg backend) and opens in any browser. ``python -m cxml.report --demo-screenshot``
rebuilds ``docs/report.png`` from the bundled sample with a headless Chromium.

Examples
--------
>>> from cxml.report import build  # doctest: +SKIP
>>> build("data/sample/events.csv", "models/latest", as_of="2024-09-01", out="report.html")  # doctest: +SKIP
PosixPath('report.html')
"""

from cxml.report._build import SECTION_TITLES, build

__all__ = ["SECTION_TITLES", "build"]
