"""Peak resident memory of this process during a block, shared by the benchmark scripts."""

from __future__ import annotations

import os
import threading


class PeakRSS:
    """Samples the process resident set size (``/proc/self/statm``) in a thread while the block runs.

    ``before`` is the RSS on entry, ``peak`` the largest sample (including one on exit), both in bytes.
    """

    def __init__(self, every: float = 0.02) -> None:
        self.every, self.page = every, os.sysconf("SC_PAGE_SIZE")
        self.peak = self.before = 0
        self._stop = threading.Event()

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRSS:
        self.before = self.peak = self.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())
