"""``cxml[spark]``: cxml's batch jobs on Apache Spark, for data that outgrow one machine.

Optional: install with ``pip install 'cxml[spark]'``; the rest of cxml never imports this package
(only the ``cxml`` command does, for ``cxml score --engine spark``). See ``docs/spark.md``.

- :func:`score`: :meth:`cxml.Scorer.score`'s rows as a Spark DataFrame, each hash bucket of
  customers scored by :func:`cxml.batch.score_chunk` in ``applyInPandas``.
- :func:`fit_als`: Spark MLlib ALS (``implicitPrefs=True``) exported into an
  :class:`cxml.recommend.ALSRecommender` that :class:`cxml.Scorer` serves unchanged.
- :func:`btyd_summary`: the BG/NBD / Gamma-Gamma summary aggregated in Spark and collapsed to
  distinct rows with counts, for ``BGNBDModel().fit_summary(rows, weights="n")``.
- :func:`score_job`: read events, score, write parquet (``cxml score --engine spark``; under
  ``spark-submit`` run ``cxml/spark/__main__.py``).
- :func:`local_session`, :func:`events_to_spark`, :func:`read_events`: a one-machine session,
  pandas events on Spark, events read by Spark.
"""

from cxml.spark._als import MLLIB_ALS_DEFAULTS, fit_als
from cxml.spark._btyd import btyd_summary
from cxml.spark._events import SPARK_TYPES, events_to_spark, local_session
from cxml.spark._job import read_events, score_job
from cxml.spark._score import output_schema, score

__all__ = [
    "MLLIB_ALS_DEFAULTS",
    "SPARK_TYPES",
    "btyd_summary",
    "events_to_spark",
    "fit_als",
    "local_session",
    "output_schema",
    "read_events",
    "score",
    "score_job",
]
