"""Churn risk and customer lifetime value.

This package holds the probabilistic buy-till-you-die baselines (:class:`BGNBDModel`,
:class:`GammaGammaModel`, with their :func:`rfm_summary` statistics), the evaluation
:mod:`~cxml.churn.metrics` and :mod:`~cxml.churn.plots` (matplotlib, imported lazily).

>>> from cxml.churn import BGNBDModel
>>> BGNBDModel(time_unit="D").time_unit
'D'
"""

from cxml.churn import metrics, plots
from cxml.churn._reasons import reason_lists
from cxml.churn.bgnbd import BGNBDModel
from cxml.churn.churn_model import ChurnModel
from cxml.churn.cltv_model import CLTVModel
from cxml.churn.evaluation import evaluate_churn, evaluate_cltv
from cxml.churn.gamma_gamma import GammaGammaModel
from cxml.churn.metrics import churn_metrics, cltv_metrics
from cxml.churn.summary import rfm_summary

__all__ = [
    "BGNBDModel",
    "CLTVModel",
    "ChurnModel",
    "GammaGammaModel",
    "churn_metrics",
    "cltv_metrics",
    "evaluate_churn",
    "evaluate_cltv",
    "metrics",
    "plots",
    "reason_lists",
    "rfm_summary",
]
