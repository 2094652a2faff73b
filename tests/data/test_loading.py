"""load_events: column mapping, dtypes, counted handling of dirty rows, clear errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.schema import CANONICAL_DTYPES, Columns, purchase_mask


def _raw(**cols: object) -> pd.DataFrame:
    base: dict[str, object] = {"customer_id": ["a", "b"], "timestamp": ["2024-01-02", "2024-01-01"]}
    base.update(cols)
    return pd.DataFrame(base)


def test_canonical_columns_dtypes_and_order() -> None:
    ev = cxml.load_events(_raw(amount=[1.5, 2.0]))
    assert list(ev.columns) == list(Columns.EVENTS)
    for col in Columns.EVENTS:
        assert ev[col].dtype == CANONICAL_DTYPES[col], col
    # sorted by time, fresh index
    assert ev[Columns.CUSTOMER].tolist() == ["b", "a"]
    assert ev.index.tolist() == [0, 1]
    assert ev[Columns.EVENT_TYPE].tolist() == ["purchase", "purchase"]


def test_column_mapping_and_amount_from_price() -> None:
    raw = pd.DataFrame({"Cust": [1, 2], "When": ["2024-01-01", "2024-01-02"], "SKU": [10, 11],
                        "Qty": [3, -1], "Price": [2.0, 5.0], "country": ["UK", "FR"]})
    ev = cxml.load_events(raw, customer_id="Cust", timestamp="When", item_id="SKU",
                          quantity="Qty", price="Price")
    assert ev[Columns.AMOUNT].tolist() == [6.0, -5.0]
    assert ev[Columns.ITEM].tolist() == ["10", "11"]
    assert ev["country"].tolist() == ["UK", "FR"]  # extra columns kept
    assert "price" not in ev.columns and "Price" not in ev.columns
    assert list(cxml.load_events(raw, customer_id="Cust", timestamp="When", keep_columns=False).columns) \
        == list(Columns.EVENTS)


def test_input_frame_is_not_modified() -> None:
    raw = _raw(amount=["1.5", "2"], customer_id=[None, "x"])
    before = raw.copy()
    with pytest.warns(cxml.DataWarning):
        cxml.load_events(raw)
    pd.testing.assert_frame_equal(raw, before)


def test_missing_customer_rows_dropped_with_counted_warning() -> None:
    raw = pd.DataFrame({"customer_id": [1.0, np.nan, 3.0, np.nan],
                        "timestamp": pd.date_range("2024-01-01", periods=4)})
    with pytest.warns(cxml.DataWarning, match=r"dropped 2 of 4 rows with a missing customer id"):
        ev = cxml.load_events(raw)
    assert ev[Columns.CUSTOMER].tolist() == ["1", "3"]  # whole floats lose ".0"
    assert ev.attrs["cxml_load_report"]["dropped_missing_customer_id"] == 2


def test_blank_customer_ids_count_as_missing() -> None:
    with pytest.warns(cxml.DataWarning, match="dropped 1 of 2"):
        ev = cxml.load_events(_raw(customer_id=["  ", "b"]))
    assert ev[Columns.CUSTOMER].tolist() == ["b"]


def test_mixed_id_dtypes_become_strings() -> None:
    raw = pd.DataFrame({"customer_id": pd.Series([1, "1", 2.0, "c"], dtype=object),
                        "timestamp": ["2024-01-01"] * 4,
                        "item_id": pd.Series([5, "5", 7.0, None], dtype=object)})
    ev = cxml.load_events(raw)
    assert ev[Columns.CUSTOMER].tolist() == ["1", "1", "2", "c"]
    assert ev[Columns.ITEM].iloc[:3].tolist() == ["5", "5", "7"]
    assert ev[Columns.ITEM].isna().iloc[3]


def test_tz_aware_timestamps_become_naive_utc() -> None:
    ts = pd.to_datetime(["2024-01-01 12:00"]).tz_localize("Europe/Berlin")
    ev = cxml.load_events(pd.DataFrame({"customer_id": ["a"], "timestamp": ts}))
    assert ev[Columns.TIMESTAMP].iloc[0] == pd.Timestamp("2024-01-01 11:00")
    assert ev.attrs["cxml_load_report"]["timestamps_converted_to_utc"] == 1


def test_string_offsets_mixed_are_converted_to_utc() -> None:
    ev = cxml.load_events(_raw(timestamp=["2024-01-01T10:00:00+02:00", "2024-01-01T09:00:00Z"]))
    expected = [pd.Timestamp("2024-01-01 08:00"), pd.Timestamp("2024-01-01 09:00")]
    assert ev[Columns.TIMESTAMP].tolist() == expected


def test_numeric_timestamps_are_unix_seconds() -> None:
    ev = cxml.load_events(_raw(timestamp=[874724710, 893286638]))
    assert ev[Columns.TIMESTAMP].iloc[0] == pd.Timestamp("1997-09-20 03:05:10")


def test_negative_rows_are_kept_as_returns_and_duplicates_kept() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "a", "a"], "timestamp": ["2024-01-01"] * 3,
                        "item_id": ["x", "x", "x"], "quantity": [1, 1, -1], "amount": [5.0, 5.0, -5.0]})
    ev = cxml.load_events(raw)
    assert len(ev) == 3
    assert ev.attrs["cxml_load_report"]["return_rows"] == 1
    assert purchase_mask(ev).tolist() == [True, True, False]


def test_event_type_normalised_and_missing_is_purchase() -> None:
    with pytest.warns(cxml.DataWarning, match="missing event type"):
        ev = cxml.load_events(_raw(event_type=[" Login ", None]))
    assert sorted(ev[Columns.EVENT_TYPE].tolist()) == ["login", "purchase"]


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (pd.DataFrame({"customer_id": [], "timestamp": []}), r"empty \(0 rows\)"),
        (pd.DataFrame({"customer_id": ["a"]}), r"required column 'timestamp' is missing \(1 rows\)"),
        (pd.DataFrame({"timestamp": ["2024-01-01"]}), r"required column 'customer_id' is missing"),
        (_raw(timestamp=["2024-01-01", "yesterday"]),
         r"'timestamp' \(timestamp\) has 1 missing or unparseable values of 2 rows \(first: 'yesterday'\)"),
        (_raw(timestamp=["2024-01-01", None]), r"has 1 missing or unparseable values"),
        (_raw(amount=["1.5", "ten"]), r"column 'amount' has 1 non-numeric values of 2 rows \(first: 'ten'\)"),
        (_raw(quantity=[1.0, np.inf]), r"column 'quantity' has 1 infinite values"),
        (_raw(customer_id=[None, None]), r"missing in all 2 rows"),
        (_raw(event_type=["nps", "nps"], value=[11, 3]), r"1 'nps' scores outside 0..10 \(first: 11.0\)"),
        (_raw(event_type=["csat", "csat"], value=[0, 3]), r"1 'csat' scores outside 1..5"),
        (_raw(price=[1.0, 2.0]), r"price.*without a quantity column"),
        (_raw(), None),
    ],
)
def test_bad_input_raises_schema_error_naming_column_value_count(
    raw: pd.DataFrame, match: str | None
) -> None:
    if match is None:  # the control case loads fine
        assert len(cxml.load_events(raw)) == 2
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        with pytest.raises(cxml.SchemaError, match=match) as info:
            cxml.load_events(raw)
    assert isinstance(info.value, ValueError)


def test_mapping_to_absent_column_lists_available() -> None:
    with pytest.raises(cxml.SchemaError, match=r"column 'when' \(given as timestamp=\) is not in the source"):
        cxml.load_events(_raw(), timestamp="when")


def test_paths_csv_parquet_and_errors(tmp_path: Path) -> None:
    raw = _raw(amount=[1.0, 2.0])
    raw.to_csv(tmp_path / "e.csv", index=False)
    raw.to_parquet(tmp_path / "e.parquet")
    a = cxml.load_events(tmp_path / "e.csv")
    b = cxml.load_events(str(tmp_path / "e.parquet"))
    pd.testing.assert_frame_equal(a.drop(columns=[]), b, check_like=False)
    with pytest.raises(cxml.SourceError, match="does not exist"):
        cxml.load_events(tmp_path / "nope.csv")
    (tmp_path / "e.xlsx").write_text("x")
    with pytest.raises(cxml.SourceError, match="expected .csv or .parquet"):
        cxml.load_events(tmp_path / "e.xlsx")
    with pytest.raises(cxml.SchemaError, match="DataFrame or a path"):
        cxml.load_events(42)  # type: ignore[arg-type]
