"""Backtests people can trust: rolling-origin evaluation with paired-bootstrap intervals.

:func:`backtest` refits churn, CLTV and recommendation models at several cutoffs and compares each
with its strongest baseline; :func:`paired_bootstrap` is the interval machinery on its own.

>>> from cxml.evaluate import backtest, paired_bootstrap
>>> callable(backtest) and callable(paired_bootstrap)
True
"""

from cxml.evaluate.backtest import COLUMNS, HIGHER_IS_BETTER, backtest
from cxml.evaluate.bootstrap import paired_bootstrap

__all__ = ["COLUMNS", "HIGHER_IS_BETTER", "backtest", "paired_bootstrap"]
