"""Drive a headless Chromium from the command line: rendered DOM, console log and screenshots.

Used by ``python -m cxml.report --demo-screenshot`` and by the browser tests; needs only the
``chromium`` binary (Debian: ``apt-get install chromium``), no Python package. Every run gets a
fresh profile directory and no network features (sync, component updates, background fetches).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cxml.exceptions import CxmlError

__all__ = ["BrowserRun", "find_chromium", "run_chromium"]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)


@dataclass
class BrowserRun:
    """What one Chromium run printed: ``stdout`` (e.g. the DOM) and ``stderr`` (its log, console included)."""

    stdout: str
    stderr: str


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable on ``PATH``, or ``None``."""
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def run_chromium(page: Path, args: Sequence[str], *, timeout: float = 120.0) -> BrowserRun:
    """Open ``page`` (a local file) in a headless Chromium with extra ``args`` and wait for it to exit.

    Parameters
    ----------
    page
        The HTML file to open (as a ``file://`` URL).
    args
        Extra flags, e.g. ``["--dump-dom"]`` or ``["--screenshot=out.png", "--window-size=1280,1600"]``.
    timeout
        Seconds before the browser is stopped.

    Returns
    -------
    BrowserRun
        Its standard output and log.

    Raises
    ------
    CxmlError
        When no Chromium is installed, it times out, or it exits with an error.
    """
    exe = find_chromium()
    if exe is None:
        raise CxmlError("no chromium found on PATH; install it (Debian: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="cxml-chromium-") as profile:
        cmd = [exe, *_FLAGS, f"--user-data-dir={profile}", *args, Path(page).resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise CxmlError(f"chromium did not finish within {timeout:.0f} s: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        raise CxmlError(f"chromium exited with {proc.returncode}: {proc.stderr[-2000:]}")
    return BrowserRun(proc.stdout, proc.stderr)
