"""Training at scale: when ``cxml train`` streams its events, and the customer sample LightGBM sees.

**In memory or streamed.** A csv file, a DataFrame-sized parquet source, or any source whose whole
training (events read into pandas, every model fitted) fits the memory budget is trained in memory,
exactly as before. A parquet file or directory whose estimated peak, ``rows ×``
:data:`TRAIN_BYTES_PER_EVENT`, exceeds the budget is streamed (:mod:`cxml.tracking._stream`). The
budget is ``train.memory_budget`` (``--memory-budget``); without one, a dataset streams when it would
not fit in half the RAM, and then gets a quarter of the RAM (the rule :meth:`cxml.Scorer.score`
follows).

**The customer sample.** Streamed, the LightGBM churn and CLTV models train on every event of a
sample of customers: those whose fixed-key hash of the id (:func:`cxml.data.dataset.stable_bucket`
modulo :data:`SAMPLE_MODULUS`) falls below ``fraction × SAMPLE_MODULUS``. The same ids are drawn on
every run and machine, and a customer is in or out with all of its events. The fraction is the
share of the history's events that fits the budget at :data:`SAMPLE_BYTES_PER_EVENT` each, but
never fewer than :data:`MIN_SAMPLE_CUSTOMERS` customers (LightGBM needs both classes in its
held-out share; below that the budget is exceeded and a warning says so).
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Final

import numpy as np
import pandas as pd

from cxml.batch import parse_memory_budget
from cxml.data.dataset import EventsDataset, is_parquet_source, stable_bucket
from cxml.exceptions import ConfigError, CxmlWarning
from cxml.tracking.config import TrainConfig

__all__ = [
    "MIN_SAMPLE_CUSTOMERS",
    "SAMPLE_BYTES_PER_EVENT",
    "SAMPLE_MODULUS",
    "TRAIN_BYTES_PER_EVENT",
    "in_sample",
    "sample_fraction",
    "streaming_budget",
]

#: peak bytes per event of the in-memory path (``load_events`` of the whole table, then every model
#: fitted), measured on the synthetic data at 100k customers / 5M events with margin (benchmarks/scale_train.py)
TRAIN_BYTES_PER_EVENT: Final = 400
#: peak bytes per event of the sample while churn and CLTV are evaluated, refitted and reported
#: (the sample frame itself included), measured the same way with margin
SAMPLE_BYTES_PER_EVENT: Final = 1_000
#: the smallest sample (or every customer when there are fewer)
MIN_SAMPLE_CUSTOMERS: Final = 2_000
#: resolution of the sample's hash rule: fractions are multiples of 1 / SAMPLE_MODULUS
SAMPLE_MODULUS: Final = 1 << 20


def streaming_budget(cfg: TrainConfig) -> int | None:
    """``None`` to train in memory as before, else the memory budget in bytes of a streamed run.

    Raises
    ------
    ConfigError
        When the events would stream but the config maps column names or sets reading options
        (a streamed dataset is read with its canonical column names, batch by batch).
    """
    if not is_parquet_source(cfg.events_path):
        return None
    budget = parse_memory_budget(cfg.memory_budget)
    need = EventsDataset(cfg.events_path).count_rows() * TRAIN_BYTES_PER_EVENT
    if budget is None:
        budget = _auto_budget(need)
    elif need <= budget:
        budget = None
    if budget is not None and (cfg.columns or cfg.read_options):
        raise ConfigError(
            f"events {str(cfg.events_path)!r} are streamed (about {need / 2**30:.1f} GiB in memory, over the "
            f"budget of {budget / 2**30:.1f} GiB), and a streamed parquet dataset is read with the canonical "
            "column names: remove [events.columns] and the reading options, or write the dataset with the "
            "canonical names (cxml.load_events(...).to_parquet)"
        )
    return budget


def _auto_budget(need: int) -> int | None:
    """``None`` when ``need`` bytes fit in half the RAM; otherwise a quarter of the RAM."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # not POSIX: never switch silently
        return None
    return None if need <= ram // 2 else ram // 4


def sample_fraction(history_rows: int, n_customers: int, budget: int) -> float:
    """The share of customers whose events LightGBM trains on (module docstring); 1.0 = everybody.

    A multiple of ``1 / SAMPLE_MODULUS``, so that :func:`in_sample` draws exactly this share of the
    hash range.
    """
    if history_rows <= 0 or n_customers <= 0:
        return 1.0
    fraction = budget / (history_rows * SAMPLE_BYTES_PER_EVENT)
    floor = min(1.0, MIN_SAMPLE_CUSTOMERS / n_customers)
    if fraction < floor:
        warnings.warn(
            f"a memory budget of {budget / 2**20:.0f} MiB fits the events of {fraction:.2%} of the "
            f"{n_customers} customers; LightGBM trains on {floor:.2%} (at least {MIN_SAMPLE_CUSTOMERS} "
            "customers) and may exceed it",
            CxmlWarning,
            stacklevel=3,
        )
        fraction = floor
    return min(1.0, math.ceil(fraction * SAMPLE_MODULUS) / SAMPLE_MODULUS)


def in_sample(customers: pd.Series, fraction: float) -> np.ndarray:
    """Whether each customer id is in the sample of ``fraction`` (boolean array, same order)."""
    if fraction >= 1.0:
        return np.ones(len(customers), dtype=bool)
    cut = round(fraction * SAMPLE_MODULUS)
    return np.asarray(stable_bucket(customers, SAMPLE_MODULUS).to_numpy() < cut)
