"""The report in a real headless browser (Debian's chromium): it loads with no console errors and no
failed resources, every image has a non-zero natural and rendered size, every section heading is in
the rendered DOM, and a screenshot of the top of the page can be taken.

The report itself carries no script: the test opens a copy with a small probe (an error listener in
<head>, and on ``load`` the sizes of every image written into data attributes) and reads them back
from ``--dump-dom``. A control page with a deliberate error proves the checks can fail.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from cxml.report import SECTION_TITLES
from cxml.report._browser import BrowserRun, find_chromium, run_chromium

from ._page import read_page

REPO = Path(__file__).resolve().parents[2]
PROBE_HEAD = (
    "<script>window.__cxmlErrors = []; window.addEventListener('error', function (e) {"
    " window.__cxmlErrors.push(e.message || ((e.target && e.target.tagName) + ' failed to load')); }, true);"
    "</script>"
)
PROBE_BODY = """<script>
window.addEventListener('load', function () {
  for (const img of document.images) {
    const r = img.getBoundingClientRect();
    img.setAttribute('data-natural', img.naturalWidth + 'x' + img.naturalHeight);
    img.setAttribute('data-rendered', Math.round(r.width) + 'x' + Math.round(r.height));
  }
  document.body.setAttribute('data-errors', window.__cxmlErrors.join(' | '));
  document.body.setAttribute('data-probe', 'done');
  console.log('cxml-probe: loaded');
});
</script>"""
DUMP = ["--dump-dom", "--virtual-time-budget=10000", "--window-size=1280,1600"]


def _install_chromium() -> None:
    """apt-get install chromium when we are root on Debian; one worker at a time (dpkg lock)."""
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    with open(Path(tempfile.gettempdir()) / "cxml-chromium-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if find_chromium() is None:
            subprocess.run("apt-get update -qq && apt-get install -y -qq chromium chromium-driver",
                           shell=True, capture_output=True, timeout=1800, check=False)


@pytest.fixture(scope="session")
def chromium() -> str:
    if find_chromium() is None:
        _install_chromium()
    exe = find_chromium()
    if exe is None:
        pytest.skip("chromium is not installed and could not be installed here (apt-get install -y chromium "
                    "chromium-driver needs root on Debian); the browser checks did not run")
    return exe


def _probed(page: Path, tmp: Path) -> Path:
    html = page.read_text(encoding="utf-8")
    assert html.count("<head>") == 1 and html.count("</body>") == 1
    probed = tmp / f"probed-{page.name}"
    probed.write_text(html.replace("<head>", "<head>" + PROBE_HEAD).replace("</body>", PROBE_BODY + "</body>"),
                      encoding="utf-8")
    return probed


def _console(run: BrowserRun) -> list[str]:
    """Chromium's console log lines (``--enable-logging=stderr``: ``[...:INFO:CONSOLE:12] "text", source: ...``)."""
    return [line for line in run.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


def _size(value: str) -> tuple[int, int]:
    w, h = value.split("x")
    return int(w), int(h)


def test_the_checks_catch_a_broken_page(chromium: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body><h2>x</h2>"
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="broken"><script>noSuchFunction();</script></body></html>',
        encoding="utf-8",
    )
    run = run_chromium(_probed(bad, tmp_path), DUMP)
    dom = read_page(run.stdout)
    assert any("Uncaught" in line for line in _console(run))
    assert "noSuchFunction" in dom.body["data-errors"]
    assert _size(dom.images[0]["data-natural"]) == (0, 0)


def test_the_report_loads_cleanly_with_every_image_and_heading(chromium: str, report: Path, tmp_path: Path) -> None:
    run = run_chromium(_probed(report, tmp_path), DUMP)
    console = _console(run)
    assert not [line for line in console if "cxml-probe: loaded" not in line], console
    assert any("cxml-probe: loaded" in line for line in console), "the console log was not captured"
    assert "Uncaught" not in run.stderr and "ERROR:CONSOLE" not in run.stderr
    dom = read_page(run.stdout)
    assert dom.body.get("data-probe") == "done"
    assert dom.body.get("data-errors") == ""
    assert len(dom.images) == 6
    for img in dom.images:
        natural, rendered = _size(img["data-natural"]), _size(img["data-rendered"])
        assert min(natural) > 0 and min(rendered) > 0, (img["alt"], natural, rendered)
        assert rendered[0] <= 960  # fits the page column on a laptop screen
    titles = [t for i, t in dom.headings if i != "contents"]
    assert titles == [f"{n}. {t}" for n, t in enumerate(SECTION_TITLES, 1)]


def test_a_screenshot_of_the_top_of_the_page(chromium: str, report: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    run_chromium(report, [f"--screenshot={png}", "--window-size=1280,1600"])
    with Image.open(png) as im:
        assert im.size == (1280, 1600)
        grey = im.convert("L")
        assert grey.getextrema()[0] < 100  # dark text and chart ink, not a blank page
        assert ImageStat.Stat(grey).stddev[0] > 10


def test_the_committed_screenshot_is_there() -> None:
    with Image.open(REPO / "docs" / "report.png") as im:
        assert im.format == "PNG" and im.size == (1280, 1600)


def test_demo_screenshot_command(chromium: str, tmp_path: Path) -> None:
    from cxml.report.__main__ import main

    png, html = tmp_path / "shot.png", tmp_path / "demo.html"
    assert main(["--demo-screenshot", "--events", str(REPO / "data" / "sample" / "events.csv"),
                 "--png", str(png), "--html", str(html)]) == 0
    with Image.open(png) as im:
        assert im.size == (1280, 1600)
    assert "Customer report — sample shop" in html.read_text(encoding="utf-8")
