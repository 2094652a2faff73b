"""``IdMap``: a frozen mapping between external ids (strings) and dense internal ints.

Built once from the ids a model was fitted on; lookups are vectorised (a pandas ``Index``
hash table) and unknown ids come back as ``-1`` (or raise :class:`~cxml.UnknownIdError` with
``strict=True``) instead of crashing deep inside a model.

Examples
--------
>>> from cxml.data import IdMap
>>> m = IdMap.from_values(["b", "a", "b", "c"])
>>> m.external_ids.tolist()
['a', 'b', 'c']
>>> m.to_internal(["c", "zz", "a"]).tolist()
[2, -1, 0]
>>> m.to_external([1, 0]).tolist()
['b', 'a']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxml.exceptions import SchemaError, UnknownIdError
from cxml.schema import STRING_DTYPE

__all__ = ["IdMap", "plain_str_array", "to_id_strings"]


@dataclass(frozen=True, eq=False)
class IdMap:
    """Frozen external-id ↔ internal-int mapping. Build it with :meth:`from_values`."""

    external_ids: np.ndarray
    _index: pd.Index = field(repr=False, compare=False)

    @classmethod
    def from_values(cls, values: Iterable[Any], *, sort: bool = True) -> IdMap:
        """Build from any iterable of ids (duplicates allowed), stored as strings.

        ``sort=True`` (default) numbers the distinct ids in sorted order, so the mapping does not
        depend on row order; ``sort=False`` keeps the order of first appearance.

        Parameters
        ----------
        values
            Ids of any type (list, array, Series, Index, ...); a single ``str`` is one id. They are
            converted with :func:`to_id_strings`: whole floats lose their ``.0`` and surrounding
            white space is removed.
        sort
            ``True`` (default): internal ints follow the sorted order of the distinct id strings;
            ``False``: the order in which each id first appears in ``values``.

        Returns
        -------
        IdMap
            A frozen map of the distinct ids to ``0..n-1``.

        Raises
        ------
        SchemaError
            When ``values`` holds missing values (``None``, NaN).
        """
        s = to_id_strings(_as_series(values))
        if s.isna().any():
            raise SchemaError(f"IdMap ids contain {int(s.isna().sum())} missing values; expected ids")
        uniq = pd.unique(s.to_numpy(dtype=object))
        ids = np.asarray(sorted(uniq) if sort else uniq, dtype=object)
        return cls.from_unique(ids)

    @classmethod
    def from_unique(cls, ids: np.ndarray) -> IdMap:
        """Build from ids that are already distinct strings, keeping their order (no sort, no conversion).

        For callers that hold the exact id array a model was fitted on (e.g. the rows of a
        factor matrix); :meth:`from_values` is the general constructor.

        Parameters
        ----------
        ids
            Distinct string ids; position ``i`` becomes internal id ``i``.

        Returns
        -------
        IdMap

        Raises
        ------
        SchemaError
            When an id repeats.
        """
        ids = np.asarray(ids, dtype=object)
        index = pd.Index(ids, dtype=object)
        if not index.is_unique:
            raise SchemaError(f"IdMap ids must be unique; {int(index.duplicated().sum())} repeat")
        ids.setflags(write=False)
        return cls(external_ids=ids, _index=index)

    def __len__(self) -> int:
        return len(self.external_ids)

    def __contains__(self, item: object) -> bool:
        return str(item) in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and np.array_equal(self.external_ids, other.external_ids)

    __hash__ = None  # type: ignore[assignment]

    def to_internal(self, ids: Iterable[Any], *, strict: bool = False) -> np.ndarray:
        """Internal ints for ``ids`` (int64); unknown ids are ``-1``, or raise with ``strict=True``.

        Parameters
        ----------
        ids
            External ids of any type (converted like in :meth:`from_values`); a single ``str`` is
            one id. Duplicates are allowed and keep their position.
        strict
            ``False`` (default): unknown ids (and missing values) map to ``-1``. ``True``: raise
            instead.

        Returns
        -------
        numpy.ndarray
            int64 array of the same length as ``ids``, in input order.

        Raises
        ------
        UnknownIdError
            With ``strict=True``, when some ids are unknown (the message counts them and names the
            first).
        """
        keys = _as_str_array(ids)
        if len(keys) <= 8:  # a hash lookup per key beats building an Index for get_indexer
            codes = np.fromiter((self._loc(key) for key in keys), dtype=np.int64, count=len(keys))
        else:
            codes = self._index.get_indexer(keys).astype(np.int64)
        if strict and (codes < 0).any():
            unknown = keys[codes < 0]
            raise UnknownIdError(
                f"{len(unknown)} of {len(keys)} ids are unknown (first: {unknown[0]!r})"
            )
        return codes

    def _loc(self, key: str) -> int:
        try:
            loc = self._index.get_loc(key)
        except KeyError:
            return -1
        return loc if isinstance(loc, int) else -1  # unique index: always an int

    def to_external(self, codes: Iterable[int] | np.ndarray) -> np.ndarray:
        """External ids (object array of str) for internal ints; out-of-range raises ``IndexError``."""
        arr = np.asarray(codes, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self)):
            raise IndexError(f"internal ids must be in 0..{len(self) - 1}; got {arr.min()}..{arr.max()}")
        return self.external_ids[arr]

    def unknown(self, ids: Iterable[Any]) -> np.ndarray:
        """The ids (as str) that this map does not know, in input order."""
        keys = _as_str_array(ids)
        return keys[self._index.get_indexer(keys) < 0]

    def drop(self, ids: Iterable[Any]) -> tuple[IdMap, np.ndarray]:
        """A new map without ``ids`` and the old internal ints that were kept (in new order)."""
        keep = ~np.isin(self.external_ids, _as_str_array(ids))
        return IdMap.from_unique(self.external_ids[keep].copy()), np.flatnonzero(keep)

    def to_frame(self) -> pd.DataFrame:
        """Two columns ``internal, external`` (for parquet); :meth:`from_frame` reverses it."""
        return pd.DataFrame(
            {"internal": np.arange(len(self), dtype=np.int64),
             "external": pd.array(self.external_ids, dtype=STRING_DTYPE)}
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> IdMap:
        """Rebuild from :meth:`to_frame` output, checking the internal ids are 0..n-1 in order."""
        internal = frame["internal"].to_numpy()
        if not np.array_equal(internal, np.arange(len(frame))):
            raise SchemaError("IdMap frame 'internal' column must be 0..n-1 in order")
        return cls.from_unique(frame["external"].astype(object).to_numpy())


def _as_series(ids: Iterable[Any]) -> pd.Series:
    if isinstance(ids, str):
        return pd.Series([ids], dtype=object)
    if isinstance(ids, pd.Series | pd.Index | np.ndarray):
        return pd.Series(np.asarray(ids))
    return pd.Series(list(ids), dtype=object)


#: Up to this many ids, a request made of plain ``str`` ids skips the pandas conversion (latency).
_FAST_PATH_MAX: int = 256


def plain_str_array(ids: Iterable[Any]) -> np.ndarray | None:
    """``ids`` as an object array when there are few of them and each is already a canonical id
    (a ``str`` without surrounding white space); ``None`` otherwise, meaning "convert properly".

    Single-customer calls in an app pass a short list of strings; converting those through pandas
    costs more than the model's scoring, so they take this path. Anything else (numbers, NaN, long
    arrays, padded strings) goes through :func:`to_id_strings` as before.
    """
    if isinstance(ids, list | tuple):
        seq: Any = ids
    elif isinstance(ids, np.ndarray) and ids.dtype == object and ids.ndim == 1:
        seq = ids
    else:
        return None
    if len(seq) > _FAST_PATH_MAX:
        return None
    for x in seq:
        if type(x) is not str or not x or x[0].isspace() or x[-1].isspace():
            return None
    return np.array(seq, dtype=object) if len(seq) else None


def _as_str_array(ids: Iterable[Any]) -> np.ndarray:
    fast = plain_str_array(ids)
    if fast is not None:
        return fast
    return to_id_strings(_as_series(ids)).to_numpy(dtype=object, na_value=None)


def to_id_strings(s: pd.Series, name: Any = None) -> pd.Series:
    """Convert ids of any dtype to strings; whole floats lose their ``.0`` (``12346.0`` → ``"12346"``).

    Surrounding white space is removed, so ``" 42"`` and ``42`` are the same id. Integers become
    their exact decimal text (17-digit ids included), ``bytes`` are decoded as UTF-8, strings are
    kept as written (``"00123"`` and ``"123"`` stay two ids). Missing values stay missing.
    ``name`` (a column name) is only used in the error message.

    Raises
    ------
    SchemaError
        When an id is text that is not valid UTF-8 (undecodable bytes, lone surrogates).
    """
    try:
        return _id_strings(s)
    except UnicodeError as exc:
        where = "ids" if name is None else f"column {name!r}"
        raise SchemaError(
            f"{where} holds ids that are not valid UTF-8 text ({len(s)} rows): {exc}; expected text or numbers"
        ) from exc


def _id_strings(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return _id_strings(s.astype(object))
    if pd.api.types.is_float_dtype(s.dtype):
        return _float_id_strings(s)
    if s.dtype == object:
        # mixed python objects: 1 and "1" must meet as "1"; a whole float 1.0 as "1" too
        s = s.map(_one_id, na_action="ignore")
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        return s.astype(STRING_DTYPE).str.strip()
    return s.astype(STRING_DTYPE)


def _float_id_strings(s: pd.Series) -> pd.Series:
    vals = s.to_numpy(dtype="float64", na_value=np.nan)
    finite = np.isfinite(vals)
    whole = finite & (np.mod(vals, 1, where=finite, out=np.zeros_like(vals)) == 0)
    small = whole & (np.abs(vals) < 2.0**63)
    if np.array_equal(small, ~np.isnan(vals)):  # the usual case: a float column of whole ids (NaN for missing)
        return s.astype("Int64").astype(STRING_DTYPE)
    text = np.asarray(s.astype(STRING_DTYPE), dtype=object)  # non-whole values keep their decimals
    text[small] = vals[small].astype(np.int64).astype(str).astype(object)
    big = whole & ~small
    text[big] = [str(int(v)) for v in vals[big]]
    return pd.Series(text, index=s.index, dtype=STRING_DTYPE)


def _one_id(x: Any) -> str:
    if isinstance(x, float | np.floating) and float(x).is_integer():
        return str(int(x))
    if isinstance(x, bytes):
        return x.decode("utf-8")
    return str(x)
