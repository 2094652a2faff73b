"""``make demo``: the end-to-end job on the bundled sample (``python -m cxml.demo``).

Until the model layers land it loads and summarises the sample; each stage is added here as it lands.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from cxml.data import describe_events, load_events

SAMPLE = Path("data/sample/events.csv")


def main() -> int:
    """Summarise the sample events (generating them first if the file is missing)."""
    if not SAMPLE.exists():
        from cxml.data.sample import write_sample

        write_sample(SAMPLE.parent)
    events = load_events(SAMPLE)
    print(f"== events: {SAMPLE} ==")
    with pd.option_context("display.max_rows", 100):
        print(describe_events(events).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
