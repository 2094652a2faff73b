"""Regression tests for the reproductions of issue 13 (sections 1 and 2): nothing merged, nothing misread."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cxml
from cxml.schema import Columns


def _csv(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- ids are strings ----------------------------------------------------------------------------


def test_csv_leading_zero_ids_stay_distinct(tmp_path: Path) -> None:
    path = _csv(tmp_path, "customer_id,timestamp,item_id\n00123,2024-01-01,007\n123,2024-01-02,7\n")
    ev = cxml.load_events(path)
    assert ev[Columns.CUSTOMER].tolist() == ["00123", "123"]
    assert ev[Columns.ITEM].tolist() == ["007", "7"]
    assert ev[Columns.CUSTOMER].nunique() == 2


def test_csv_17_digit_ids_with_blanks_survive_exactly(tmp_path: Path) -> None:
    path = _csv(tmp_path, "cust,when,order\n12345678901234567,2024-01-01,98765432109876543\n"
                          ",2024-01-02,\n12345678901234568,2024-01-03,98765432109876544\n")
    with pytest.warns(cxml.DataWarning, match="dropped 1 of 3"):
        ev = cxml.load_events(path, customer_id="cust", timestamp="when", order_id="order")
    assert ev[Columns.CUSTOMER].tolist() == ["12345678901234567", "12345678901234568"]
    assert ev[Columns.ORDER].tolist() == ["98765432109876543", "98765432109876544"]


def test_csv_whole_float_ids_lose_their_zero_like_a_float_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "customer_id,timestamp\n12346.0,2024-01-01\n12347.0,2024-01-02\n,2024-01-03\n")
    with pytest.warns(cxml.DataWarning):
        ev = cxml.load_events(path)
    assert ev[Columns.CUSTOMER].tolist() == ["12346", "12347"]
    # text that is not a float column's output is kept as written
    path = _csv(tmp_path, "customer_id,timestamp\n12346.0,2024-01-01\nA1,2024-01-02\n", "mixed.csv")
    assert cxml.load_events(path)[Columns.CUSTOMER].tolist() == ["12346.0", "A1"]


def test_parquet_integer_ids_with_nulls_stay_exact(tmp_path: Path) -> None:
    # written without pandas metadata (e.g. by Spark): pandas alone would read the column as float64
    table = pa.table({"customer_id": pa.array([12345678901234567, None, 12345678901234568], pa.int64()),
                      "timestamp": pa.array(["2024-01-01", "2024-01-02", "2024-01-03"])})
    pq.write_table(table, tmp_path / "e.parquet")
    with pytest.warns(cxml.DataWarning):
        ev = cxml.load_events(tmp_path / "e.parquet")
    assert ev[Columns.CUSTOMER].tolist() == ["12345678901234567", "12345678901234568"]


def test_dataframe_ints_and_whole_floats_become_decimal_strings() -> None:
    raw = pd.DataFrame({"customer_id": [12346.0, 7.0], "timestamp": ["2024-01-01", "2024-01-02"],
                        "item_id": [12345678901234567, 5]})
    ev = cxml.load_events(raw)
    assert ev[Columns.CUSTOMER].tolist() == ["12346", "7"]
    assert ev[Columns.ITEM].tolist() == ["12345678901234567", "5"]


def test_text_that_is_not_utf8_is_a_schema_error_naming_the_column() -> None:
    raw = pd.DataFrame({"customer_id": pd.Series(["a", "\ud800"], dtype=object), "timestamp": ["2024-01-01"] * 2})
    with pytest.raises(cxml.SchemaError, match=r"column 'customer_id'.*UTF-8"):
        cxml.load_events(raw)


# --- dates: one order per column ------------------------------------------------------------------


def test_day_first_column_is_never_half_misread() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["05/01/2024", "25/01/2024"]})
    ev = cxml.load_events(raw)
    assert ev[Columns.TIMESTAMP].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-25")]


def test_day_first_csv_with_times_and_dots(tmp_path: Path) -> None:
    path = _csv(tmp_path, "customer_id,timestamp\na,05.01.2024 10:30\nb,25.01.2024 08:00\n")
    ev = cxml.load_events(path)
    assert ev[Columns.TIMESTAMP].tolist() == [pd.Timestamp("2024-01-05 10:30"), pd.Timestamp("2024-01-25 08:00")]


def test_space_separated_numeric_dates_follow_the_same_rule() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["05 01 2024", "25 01 2024"]})
    ev = cxml.load_events(raw)
    assert ev[Columns.TIMESTAMP].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-25")]


def test_day_first_with_a_12_hour_clock_is_not_re_read() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b", "c"],
                        "timestamp": ["Jan 3 2024", "05/01/2024 10:00 PM", "25/01/2024 10:00 PM"]})
    ev = cxml.load_events(raw)
    assert ev[Columns.TIMESTAMP].tolist() == [pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-05 22:00"),
                                              pd.Timestamp("2024-01-25 22:00")]


def test_month_first_is_detected_from_a_second_field_above_12() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["05/01/2024", "01/25/2024"]})
    ev = cxml.load_events(raw)
    assert ev[Columns.TIMESTAMP].tolist() == [pd.Timestamp("2024-01-25"), pd.Timestamp("2024-05-01")]


def test_both_orders_in_one_column_are_refused() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["25/01/2024", "01/25/2024"]})
    with pytest.raises(cxml.SchemaError, match=r"mixes date orders.*'25/01/2024'.*'01/25/2024'"):
        cxml.load_events(raw)


def test_a_column_that_cannot_decide_is_refused_naming_the_ways_out() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["05/01/2024", "06/02/2024"]})
    with pytest.raises(cxml.SchemaError) as info:
        cxml.load_events(raw)
    msg = str(info.value)
    assert "ambiguous" in msg and "'05/01/2024'" in msg
    assert "dayfirst=True" in msg and "timestamp_format='%d/%m/%Y'" in msg


def test_dayfirst_and_timestamp_format_settle_the_order() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["05/01/2024", "06/02/2024"]})
    day = cxml.load_events(raw, dayfirst=True)[Columns.TIMESTAMP].tolist()
    month = cxml.load_events(raw, dayfirst=False)[Columns.TIMESTAMP].tolist()
    fmt = cxml.load_events(raw, timestamp_format="%d/%m/%Y")[Columns.TIMESTAMP].tolist()
    assert day == fmt == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-02-06")]
    assert month == [pd.Timestamp("2024-05-01"), pd.Timestamp("2024-06-02")]
    # the caller's order wins over the data: a value that does not fit it is unparseable
    bad = pd.DataFrame({"customer_id": ["a"], "timestamp": ["01/25/2024"]})
    with pytest.raises(cxml.SchemaError, match=r"1 missing or unparseable values.*'01/25/2024'"):
        cxml.load_events(bad, dayfirst=True)


def test_timestamp_format_reads_numbers_and_offsets() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": [20240105, 20240125]})
    ev = cxml.load_events(raw, timestamp_format="%Y%m%d")
    assert ev[Columns.TIMESTAMP].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-25")]
    raw = pd.DataFrame({"customer_id": ["a"], "timestamp": ["05/01/2024 10:00 +0200"]})
    ev = cxml.load_events(raw, timestamp_format="%d/%m/%Y %H:%M %z")
    assert ev[Columns.TIMESTAMP].tolist() == [pd.Timestamp("2024-01-05 08:00")]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"dayfirst": "yes"}, "dayfirst='yes'"), ({"timestamp_format": "dd/mm/yyyy"}, "timestamp_format="),
     ({"dayfirst": True, "timestamp_format": "%d/%m/%Y"}, "not both"), ({"timestamp_unit": "sec"}, "timestamp_unit"),
     ({"customer_id": ["a"]}, r"customer_id=\['a'\]"), ({"keep_columns": "no"}, "keep_columns")],
)
def test_bad_arguments_are_parameter_errors(kwargs: dict[str, object], match: str) -> None:
    raw = pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-01-01"]})
    with pytest.raises(cxml.ParameterError, match=match):
        cxml.load_events(raw, **kwargs)  # type: ignore[arg-type]


def test_iso_dates_datetimes_and_offsets_are_unaffected() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b", "c"],
                        "timestamp": ["2024-01-05", "2024-05-01T10:00:00+02:00", "2024-01-25 08:00"]})
    ev = cxml.load_events(raw)
    assert ev[Columns.TIMESTAMP].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-25 08:00"),
                                              pd.Timestamp("2024-05-01 08:00")]
    aware = pd.Series([pd.Timestamp("2024-01-01 12:00", tz="Europe/Berlin"), pd.Timestamp("2024-01-01 12:00")],
                      dtype=object)
    ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "b"], "timestamp": aware}))
    assert ev[Columns.TIMESTAMP].tolist() == [pd.Timestamp("2024-01-01 11:00"), pd.Timestamp("2024-01-01 12:00")]


def test_python_numbers_in_an_object_column_are_unix_seconds() -> None:
    raw = pd.DataFrame({"customer_id": ["a"], "timestamp": pd.Series([874724710], dtype=object)})
    assert cxml.load_events(raw)[Columns.TIMESTAMP].iloc[0] == pd.Timestamp("1997-09-20 03:05:10")


# --- numbers ----------------------------------------------------------------------------------------


def test_price_times_quantity_overflowing_to_inf_is_refused() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b", "c"], "timestamp": ["2024-01-01"] * 3,
                        "unit": [1e300, 2.0, -1e300], "qty": [1e10, 1.0, 1e10]})
    with pytest.raises(cxml.SchemaError, match=r"'unit' \* 'qty'.* has 2 infinite values of 3 rows \(first: inf\)"):
        cxml.load_events(raw, price="unit", quantity="qty")


def test_nan_text_is_a_missing_number() -> None:
    ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["2024-01-01"] * 2,
                                        "amount": ["nan", "2.5"]}))
    assert ev[Columns.AMOUNT].isna().tolist() == [True, False]


# --- columns and files ------------------------------------------------------------------------------


def test_duplicated_column_names_are_refused_also_by_as_events() -> None:
    raw = pd.DataFrame([["a", "2024-01-01", "b"]], columns=["customer_id", "timestamp", "customer_id"])
    with pytest.raises(cxml.SchemaError, match=r"columns \['customer_id'\] appear more than once"):
        cxml.load_events(raw)
    ev = cxml.load_events(raw.iloc[:, :2])
    doubled = pd.concat([ev, ev[[Columns.CUSTOMER]]], axis=1)
    with pytest.raises(cxml.SchemaError, match="appear more than once"):
        cxml.as_events(doubled)


def test_multi_level_column_labels_are_refused() -> None:
    raw = pd.DataFrame([["a", "2024-01-01"]], columns=pd.MultiIndex.from_tuples([("customer_id", "x"),
                                                                                 ("timestamp", "y")]))
    with pytest.raises(cxml.SchemaError, match="levels of column labels"):
        cxml.load_events(raw)
    assert not cxml.data.loading.is_canonical(raw)


def test_odd_extra_labels_are_kept_and_reload_unchanged() -> None:
    raw = pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-01-01"], 0: [1], ("x", "y"): ["z"]})
    ev = cxml.load_events(raw)
    assert list(ev.columns[-2:]) == [0, ("x", "y")]
    pd.testing.assert_frame_equal(cxml.load_events(ev), ev)


def test_unreadable_files_are_source_errors_naming_the_file(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("customer_id,timestamp\nJos\xe9,2024-01-01\n".encode("latin-1"))
    with pytest.raises(cxml.SourceError, match=r"latin\.csv.*not UTF-8"):
        cxml.load_events(latin)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(cxml.SourceError, match=r"broken\.parquet"):
        cxml.load_events(broken)
    truncated = tmp_path / "t.csv.gz"
    truncated.write_bytes(gzip.compress(b"customer_id,timestamp\n" + b"a,2024-01-01\n" * 1000)[:60])
    with pytest.raises(cxml.SourceError, match=r"t\.csv\.gz"):
        cxml.load_events(truncated)
    ragged = _csv(tmp_path, 'customer_id,timestamp\na,2024-01-01\n"b,2024-01-02\n', "ragged.csv")
    with pytest.raises(cxml.CxmlError, match=r"ragged\.csv|timestamp"):
        cxml.load_events(ragged)
    with pytest.raises(cxml.SourceError, match="does not exist"):
        cxml.load_events("bad\x00name.csv")


# --- the as_events fast path --------------------------------------------------------------------------


def test_fast_path_passes_a_canonical_frame_through_and_nothing_else() -> None:
    ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["2024-01-01", "2024-01-02"],
                                        "item_id": ["x", "y"]}))
    assert cxml.as_events(ev) is ev
    assert cxml.as_events(ev, require="item_id") is ev  # a single name, not its characters
    holey = ev.copy()
    holey.loc[0, Columns.CUSTOMER] = np.nan  # canonical dtypes, but a missing id: goes through load_events
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        out = cxml.as_events(holey)
    assert out is not holey and out[Columns.CUSTOMER].tolist() == ["b"]
