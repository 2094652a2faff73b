"""Loading events, id maps and the synthetic sample generator."""

from cxml.data.describe import describe_events
from cxml.data.idmap import IdMap
from cxml.data.loading import load_events

__all__ = ["IdMap", "describe_events", "load_events"]
