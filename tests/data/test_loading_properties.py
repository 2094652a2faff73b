"""Property tests: messy frames load into a correct canonical table or raise a CxmlError, nothing else.

Every loaded result is checked against an oracle written here (ids, row counts, schema), and
loading a result again gives the same frame (``load_events(load_events(x)) == load_events(x)``).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cxml
from cxml.data.loading import is_canonical
from cxml.schema import CANONICAL_DTYPES, Columns

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

clean_ids = st.one_of(
    st.none(), st.integers(-5, 5), st.integers(-(2**70), 2**70), st.floats(-1e6, 1e6).map(round).map(float),
    st.text(max_size=4), st.just("  "), st.text(max_size=3).map(str.encode),
    st.sampled_from(["00123", "123", "ü", "客户", "12345678901234567", " 7 "]),
)
messy_ids = st.one_of(clean_ids, st.floats(allow_nan=True, allow_infinity=True, width=32), st.binary(max_size=3),
                      st.lists(st.integers(), max_size=2), st.just(float("nan")))
tz = st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)),
                      dt.timezone(dt.timedelta(hours=-8))])
datetimes = st.builds(
    lambda d, z: d.replace(tzinfo=z),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)), tz,
)
#: each clean timestamp column holds one kind of value (mixing unix numbers with strings is refused)
clean_stamps = st.sampled_from([
    datetimes, datetimes.map(str), datetimes.map(lambda d: d.isoformat()), st.integers(0, 2_000_000_000),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2200, 1, 1)).map(lambda d: d.strftime("%d/%m/%Y")),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2200, 1, 1)).map(lambda d: d.strftime("%m.%d.%Y")),
])
messy_stamps = st.one_of(
    st.none(), st.just("yesterday"), st.just(""), st.integers(0, 2_000_000_000), st.integers(-(2**70), 2**70),
    datetimes, datetimes.map(str), st.floats(allow_nan=True, allow_infinity=True), st.binary(max_size=2),
    st.sampled_from(["2024-01-01T10:00:00+02:00", "2024-02-30", "2024-13-01", "01/02/2024",
                     "05/01/2024", "25/01/2024", "01/25/2024", "1.2.2024", "1000-01-01", "2024-01-01 10:00 PM"]),
)
clean_numbers = st.one_of(st.none(), st.floats(-1e6, 1e6), st.integers(-100, 100),
                          st.sampled_from(["1.5", "", "-3", "1e3", "nan", " 2 "]))
messy_numbers = st.one_of(clean_numbers, st.floats(allow_nan=True, allow_infinity=True),
                          st.integers(-(2**80), 2**80), st.binary(max_size=2), st.sampled_from(["ten", "1e308"]))
clean_kinds = st.one_of(st.none(), st.sampled_from(["purchase", "view", "nps", "csat", "ces", " Login ", ""]))
messy_kinds = st.one_of(clean_kinds, st.integers(0, 3), st.binary(max_size=2))
odd_labels = st.sampled_from([0, 1.5, None, float("nan"), ("a", "b"), "ü", "price", "order_id", "Unnamed: 0"])


def _column(draw: st.DrawFn, clean: st.SearchStrategy[Any], messy: st.SearchStrategy[Any], n: int) -> pd.Series:
    strat = messy if draw(st.integers(0, 3)) == 0 else clean
    values = draw(st.lists(strat, min_size=n, max_size=n))
    series = pd.Series(values, dtype=object)
    if draw(st.booleans()):  # let pandas pick a dtype (int64, float64, str, datetime ...) when it can
        try:
            series = pd.Series(values)
        except (TypeError, ValueError, OverflowError):
            pass
    return series


@st.composite
def frames(draw: st.DrawFn, duplicates: bool = True) -> pd.DataFrame:
    n = draw(st.integers(1, 6)) if draw(st.integers(0, 5)) != 3 else 0
    cols: dict[Any, pd.Series] = {
        "customer_id": _column(draw, clean_ids, messy_ids, n),
        "timestamp": _column(draw, draw(clean_stamps), messy_stamps, n),
    }
    for name, clean, messy in (("amount", clean_numbers, messy_numbers), ("quantity", clean_numbers, messy_numbers),
                               ("value", clean_numbers, messy_numbers), ("event_type", clean_kinds, messy_kinds),
                               ("item_id", clean_ids, messy_ids)):
        if draw(st.booleans()):
            cols[name] = _column(draw, clean, messy, n)
    for label in draw(st.lists(odd_labels, max_size=2, unique_by=repr)):
        cols.setdefault(label, _column(draw, clean_numbers, messy_numbers, n))
    frame = pd.DataFrame(cols)
    if duplicates and draw(st.integers(0, 9)) == 7:
        label = draw(st.sampled_from(list(frame.columns)))
        frame = pd.concat([frame, frame[[label]]], axis=1)
    return frame


def _load(raw: Any, **kwargs: Any) -> pd.DataFrame | None:
    """``load_events`` result, or None for a CxmlError; any other exception fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        try:
            return cxml.load_events(raw, **kwargs)
        except cxml.CxmlError:
            return None


def _expected_id(x: Any) -> str | None:
    """The oracle: the id string a raw value stands for, or None when it is missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    if isinstance(x, float) and x.is_integer():
        text = str(int(x))
    elif isinstance(x, bytes):
        text = x.decode("utf-8")
    else:
        text = str(x)
    text = text.strip()
    return text or None


def _check_canonical(ev: pd.DataFrame) -> None:
    assert list(ev.columns[: len(Columns.EVENTS)]) == list(Columns.EVENTS)
    for col in Columns.EVENTS:
        assert ev[col].dtype == CANONICAL_DTYPES[col]
    assert ev.columns.is_unique
    assert ev[Columns.CUSTOMER].notna().all() and ev[Columns.CUSTOMER].str.strip().ne("").all()
    assert ev[Columns.TIMESTAMP].notna().all()
    assert ev[Columns.TIMESTAMP].is_monotonic_increasing
    assert isinstance(ev.index, pd.RangeIndex) and ev.index.start == 0
    for col in (Columns.AMOUNT, Columns.QUANTITY, Columns.VALUE):
        assert not np.isinf(ev[col].to_numpy()).any()
    cxml.validate_events(ev)


@SETTINGS
@given(frames())
def test_any_frame_loads_correctly_or_raises_a_cxml_error(raw: pd.DataFrame) -> None:
    before = raw.copy()
    ev = _load(raw)
    pd.testing.assert_frame_equal(raw, before)  # the input is never modified
    if ev is None:
        return
    _check_canonical(ev)
    report = ev.attrs["cxml_load_report"]
    assert report["rows_out"] + report["dropped_missing_customer_id"] == len(raw) == report["rows_in"]
    expected = sorted(e for e in map(_expected_id, raw["customer_id"]) if e is not None)
    assert sorted(ev[Columns.CUSTOMER].tolist()) == expected


@SETTINGS
@given(frames())
def test_loading_twice_changes_nothing(raw: pd.DataFrame) -> None:
    once = _load(raw)
    if once is None:
        return
    assert is_canonical(once)
    assert cxml.as_events(once) is once  # the fast path: same object, no copy
    twice = cxml.load_events(once)
    pd.testing.assert_frame_equal(twice, once)


@SETTINGS
@given(frames())
def test_as_events_is_load_events_or_a_cxml_error(raw: pd.DataFrame) -> None:
    expected = _load(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        if expected is None:
            with pytest.raises(cxml.CxmlError):
                cxml.as_events(raw)
            return
        pd.testing.assert_frame_equal(cxml.as_events(raw), expected)


@SETTINGS
@given(frames(), st.sampled_from(["csv", "csv.gz", "tsv", "parquet"]))
def test_files_load_correctly_or_raise_a_cxml_error(
    tmp_path_factory: pytest.TempPathFactory, raw: pd.DataFrame, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("src") / f"events.{suffix}"
    try:
        if suffix == "parquet":
            raw.rename(columns=str).to_parquet(path)
        else:
            # CRLF: Python's csv writer then quotes any field holding "\r" or "\n"; with "\n" alone it
            # writes a bare "\r" unquoted, which every csv reader (pandas' too) takes for a line end
            raw.to_csv(path, index=False, sep="\t" if suffix == "tsv" else ",", lineterminator="\r\n")
    except (ValueError, TypeError, ArithmeticError, UnicodeError, pa.ArrowException):
        assume(False)  # pandas/pyarrow cannot write this frame; nothing to load
    ev = _load(path)
    if ev is not None:
        _check_canonical(ev)
        assert ev.attrs["cxml_load_report"]["rows_in"] == len(raw)


@st.composite
def numeric_dates(draw: st.DrawFn) -> tuple[list[dt.date], bool, str]:
    days = draw(st.lists(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 12, 31)),
                         min_size=1, max_size=8))
    return days, draw(st.booleans()), draw(st.sampled_from(["/", ".", "-"]))


@SETTINGS
@given(numeric_dates())
def test_numeric_dates_are_read_in_one_order_or_refused(case: tuple[list[dt.date], bool, str]) -> None:
    days, dayfirst, sep = case
    fmt = f"%d{sep}%m{sep}%Y" if dayfirst else f"%m{sep}%d{sep}%Y"
    raw = pd.DataFrame({"customer_id": range(len(days)), "timestamp": [d.strftime(fmt) for d in days]})
    settled = any((d.day > 12) for d in days if d.day != d.month)
    ambiguous = any(d.day != d.month for d in days)
    if ambiguous and not settled:
        with pytest.raises(cxml.SchemaError, match="ambiguous"):
            cxml.load_events(raw)
    else:
        ev = cxml.load_events(raw)
        got = dict(zip(ev[Columns.CUSTOMER], ev[Columns.TIMESTAMP].dt.date, strict=True))
        assert got == {str(i): d for i, d in enumerate(days)}
    # the caller can always settle it
    ev = cxml.load_events(raw, dayfirst=dayfirst)
    assert sorted(ev[Columns.TIMESTAMP].dt.date) == sorted(days)
    ev = cxml.load_events(raw, timestamp_format=fmt)
    assert sorted(ev[Columns.TIMESTAMP].dt.date) == sorted(days)


#: what pandas reads as a missing value in a csv (its documented ``na_values`` defaults)
CSV_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
          "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
id_text = st.one_of(
    st.from_regex(r"0{0,3}[0-9]{1,17}", fullmatch=True), st.from_regex(r"[A-Za-z0-9_-]{1,6}", fullmatch=True),
    st.just(""),
)


@SETTINGS
@given(st.lists(st.tuples(id_text, id_text), min_size=1, max_size=8))
def test_csv_ids_survive_as_written(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str]]) -> None:
    path = tmp_path_factory.mktemp("csv") / "events.csv"
    lines = ["cust,sku,when"] + [f"{c},{i},2024-01-{k + 1:02d}" for k, (c, i) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    ev = _load(path, customer_id="cust", item_id="sku", timestamp="when")
    kept = [(c, "" if i in CSV_NA else i) for c, i in rows if c not in CSV_NA]
    if not kept:
        assert ev is None
        return
    assert ev is not None
    got = list(zip(ev[Columns.CUSTOMER], ev[Columns.ITEM].fillna(""), strict=True))
    assert got == kept
