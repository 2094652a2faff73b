"""Loading events, id maps, summaries and the synthetic sample generator."""

from typing import Any

from cxml.data.describe import describe_events
from cxml.data.idmap import IdMap
from cxml.data.loading import as_events, load_events

__all__ = ["IdMap", "as_events", "describe_events", "generate_sample", "load_events", "load_sample"]


def __getattr__(name: str) -> Any:
    # lazy, so that `python -m cxml.data.sample` does not find its own module half-imported
    if name in {"generate_sample", "load_sample"}:
        from cxml.data import sample

        return getattr(sample, name)
    raise AttributeError(f"module 'cxml.data' has no attribute {name!r}")
