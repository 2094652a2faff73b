"""Backtests people can trust: rolling-origin evaluation with paired-bootstrap intervals."""

from cxml.evaluate.bootstrap import paired_bootstrap

__all__ = ["paired_bootstrap"]
