"""Resumable batch scoring: ``Scorer.score`` writes a parquet dataset chunk by chunk.

Layout of ``out`` (a directory readable with ``pd.read_parquet(out)``)::

    part-00000.parquet ...   one file per chunk of customers, each renamed into place when complete
    _journal.json            the run's fingerprint, ``complete`` and, per committed part, its row
                             count and sha256
    _SUCCESS.json            the run summary, written last
    _cxml.lock               present while a writer runs (one writer at a time)

The fingerprint covers the bundle's manifest, ``as_of``, ``k``, ``chunk_size`` and a hash of the
events before ``as_of``. Re-running with the same arguments verifies the committed parts and skips
those that are intact, so a killed run finishes with every customer exactly once, and a part that
was deleted or changed since is scored again. An existing ``out`` from different arguments is
refused unless ``overwrite=True``; a directory that is not a cxml scores dataset is never deleted.

**Partial or complete?** ``pd.read_parquet(out)`` reads whatever parts exist. A reader that must
not see a partial dataset (a run still going, or killed) calls :func:`is_complete` or reads with
:func:`read_scores`, which refuses a partial one.

Per-customer features depend only on that customer's own history and the fitted models, so scoring
a chunk (:func:`score_chunk`) gives the same numbers as scoring everybody at once; RFM segments are
relative to the whole population, so they are computed once for all customers
(:func:`population_inputs`) and handed to every chunk. When the events do not fit in memory the
population is assembled from pieces: :func:`rfm_values` of each group of customers (a hash bucket,
a Spark partition), then :func:`population_from_values` over all of them gives the same segments.

**Streaming.** ``score_events(..., memory_budget="2G")`` on a parquet file or directory (and any
parquet dataset that would not fit in half the RAM) scores it in customer hash buckets
(:mod:`cxml.batch._stream`): the rows and values equal the in-memory path's; each part is a bucket.
The bucketing itself (:func:`spill_buckets`, :func:`read_bucket`, :class:`Spill`, sized by
:func:`parse_memory_budget`, :func:`bucket_count`, :func:`rows_per_bucket` and
:func:`spill_batch_rows`) is exported for
``cxml train``'s streamed path, which buckets customers the same way.

Examples
--------
>>> from cxml.batch import is_complete
>>> is_complete("no/such/dir")
False
"""

from cxml.batch._buckets import Spill, read_bucket, spill_buckets
from cxml.batch._budget import bucket_count, parse_memory_budget, rows_per_bucket, spill_batch_rows
from cxml.batch._chunks import (
    RECOMMENDED,
    SEGMENT,
    Population,
    ScoringModels,
    capped_k,
    cold_start_count,
    population_inputs,
    score_chunk,
)
from cxml.batch._journal import JOURNAL, SUCCESS, is_complete, read_scores
from cxml.batch._lock import LOCK
from cxml.batch._population import population_from_values, rfm_values
from cxml.batch._run import score_events

__all__ = [
    "JOURNAL",
    "LOCK",
    "RECOMMENDED",
    "SEGMENT",
    "SUCCESS",
    "Population",
    "ScoringModels",
    "Spill",
    "bucket_count",
    "capped_k",
    "cold_start_count",
    "is_complete",
    "parse_memory_budget",
    "population_from_values",
    "population_inputs",
    "read_bucket",
    "read_scores",
    "rfm_values",
    "rows_per_bucket",
    "score_chunk",
    "score_events",
    "spill_batch_rows",
    "spill_buckets",
]
