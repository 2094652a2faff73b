"""The memory budget of a streaming run: parsed from ``"2G"``-like text, turned into rows per bucket."""

from __future__ import annotations

import math
import os
import re
from typing import Any, Final

from cxml.exceptions import ParameterError

__all__ = ["BYTES_PER_EVENT", "SPILL_BYTES_PER_EVENT", "auto_budget", "bucket_count", "parse_memory_budget",
           "rows_per_bucket", "spill_batch_rows"]

#: peak bytes per event of a bucket while it is read, prepared and scored (features, churn, CLTV,
#: recommendations), measured on the synthetic data at scale with margin (benchmarks/scale.py)
BYTES_PER_EVENT: Final = 1_500
#: bytes per event of a read batch while the bucketing pass normalises, hashes and splits it (about
#: 2.2 KB measured on the synthetic 1M-customer dataset, benchmarks/scale.py), with margin: the
#: batches are smaller than the buckets, so that bucketing stays within the budget too (batches of
#: a whole bucket's rows peaked at 1.7 GB over the process's own memory with a 1 GB budget)
SPILL_BYTES_PER_EVENT: Final = 6_000
#: the smallest budget accepted: below it the bucket overhead (models, id maps) dominates
MIN_BUDGET: Final = 16 * 2**20
_UNITS: Final = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
                 "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}
_TEXT: Final = re.compile(r"\s*(\d+(?:\.\d*)?)\s*([a-zA-Z]*)\s*")


def parse_memory_budget(value: Any) -> int | None:
    """``None``, or the budget in bytes from an int or text such as ``"2G"``, ``"512MB"``, ``"1.5GiB"``.

    Units are powers of 1024. Raises :class:`cxml.ParameterError` for anything else or a budget
    under 16 MiB.
    """
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and (match := _TEXT.fullmatch(value)) and match.group(2).lower() in _UNITS:
        number = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if number is None or number < MIN_BUDGET:
        raise ParameterError(
            f"memory_budget={value!r} is not a memory size of at least 16 MiB; expected bytes (int) or "
            "text such as '2G', '512M', '1.5GiB'"
        )
    return int(number)


def rows_per_bucket(budget: int) -> int:
    """Events per bucket that keep a bucket's scoring within ``budget`` bytes.

    Parameters
    ----------
    budget
        Memory budget in bytes (:func:`parse_memory_budget`).
    """
    return max(1, budget // BYTES_PER_EVENT)


def spill_batch_rows(budget: int) -> int:
    """Events per read batch of the bucketing pass (:func:`cxml.batch.spill_buckets`) under ``budget`` bytes.

    Parameters
    ----------
    budget
        Memory budget in bytes (:func:`parse_memory_budget`).
    """
    return max(1, budget // SPILL_BYTES_PER_EVENT)


def bucket_count(n_rows: int, budget: int) -> int:
    """Buckets for ``n_rows`` events under ``budget`` (at least 1).

    Parameters
    ----------
    n_rows
        Events to bucket.
    budget
        Memory budget in bytes (:func:`parse_memory_budget`).
    """
    return max(1, math.ceil(n_rows / rows_per_bucket(budget)))


def auto_budget(n_rows: int) -> int | None:
    """The budget of a run given none: ``None`` (score in memory) when the events fit in half the RAM.

    Otherwise a quarter of the physical memory, so that a dataset bigger than memory streams.
    """
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # not POSIX: never switch silently
        return None
    if n_rows * BYTES_PER_EVENT <= ram // 2:
        return None
    return max(MIN_BUDGET, ram // 4)
