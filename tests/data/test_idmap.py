from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cxml
from cxml.data import IdMap


@given(st.lists(st.one_of(st.integers(-50, 50), st.text(min_size=1, max_size=4)), min_size=1, max_size=60))
def test_round_trip(values: list[object]) -> None:
    m = IdMap.from_values(values)
    strs = [str(v).strip() for v in values]
    codes = m.to_internal(values)
    assert (codes >= 0).all()
    assert m.to_external(codes).tolist() == strs
    assert len(m) == len(set(strs))
    assert IdMap.from_frame(m.to_frame()) == m


def test_unknown_ids_reported_not_crashed() -> None:
    m = IdMap.from_values(["a", "b"])
    assert m.to_internal(["b", "x", "a"]).tolist() == [1, -1, 0]
    assert m.unknown(["b", "x", "y"]).tolist() == ["x", "y"]
    with pytest.raises(cxml.UnknownIdError, match=r"1 of 2 ids are unknown \(first: 'x'\)") as info:
        m.to_internal(["a", "x"], strict=True)
    assert isinstance(info.value, KeyError)
    assert "x" not in m and "a" in m


def test_frozen_and_order_options() -> None:
    m = IdMap.from_values(["c", "a", "c"], sort=False)
    assert m.external_ids.tolist() == ["c", "a"]
    with pytest.raises(ValueError):
        m.external_ids[0] = "z"
    with pytest.raises(AttributeError):
        m.external_ids = np.array(["q"], dtype=object)  # type: ignore[misc]


def test_numeric_like_ids_match_their_strings() -> None:
    m = IdMap.from_values(pd.Series([12346.0, 12347.0]))
    assert m.external_ids.tolist() == ["12346", "12347"]
    assert m.to_internal(np.array([12347])).tolist() == [1]


def test_drop_returns_kept_codes() -> None:
    m = IdMap.from_values(["a", "b", "c"])
    m2, kept = m.drop(["b"])
    assert m2.external_ids.tolist() == ["a", "c"] and kept.tolist() == [0, 2]


def test_bad_frames_and_ranges() -> None:
    m = IdMap.from_values(["a"])
    with pytest.raises(IndexError):
        m.to_external([3])
    with pytest.raises(cxml.SchemaError):
        IdMap.from_frame(pd.DataFrame({"internal": [1], "external": ["a"]}))
    with pytest.raises(cxml.SchemaError, match="missing"):
        IdMap.from_values(["a", None])


_ids = st.one_of(st.text(max_size=4), st.integers(-5, 50), st.floats(allow_nan=False, allow_infinity=False))


@given(known=st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=20),
       asked=st.lists(_ids, max_size=12))
def test_short_request_fast_path_matches_the_general_conversion(known: list[str], asked: list[object]) -> None:
    """A short list of plain strings skips pandas; the answer must equal the general (pandas) path,
    including ids with surrounding white space, numbers and whole floats, which take the general one."""
    from cxml.data.idmap import plain_str_array, to_id_strings

    m = IdMap.from_values(known)
    general = m._index.get_indexer(
        to_id_strings(pd.Series(asked, dtype=object)).to_numpy(dtype=object, na_value=None)
    ).astype(np.int64) if asked else np.array([], np.int64)
    assert m.to_internal(asked).tolist() == general.tolist()
    fast = plain_str_array(asked)
    if fast is not None:
        assert all(isinstance(x, str) and x == x.strip() for x in asked)


def test_recommend_ids_fast_path_keeps_first_appearance_order() -> None:
    from cxml.recommend._frames import as_id_array

    assert as_id_array(["b", "a", "b", "c"], "customers").tolist() == ["b", "a", "c"]
    assert as_id_array([" b", "b", 2, 2.0], "customers").tolist() == ["b", "2"]
