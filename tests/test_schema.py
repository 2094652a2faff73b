"""schema: ``parse_as_of`` / ``parse_horizon`` refuse what would silently mean something else."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.features import churn_labels, customer_features
from cxml.schema import parse_as_of, parse_horizon


@pytest.mark.parametrize("value", [20110901, 1.5e18, True, np.int64(20110901), np.float64(3.0)])
def test_as_of_numbers_are_refused(value: object) -> None:
    with pytest.raises(cxml.ParameterError, match=r"as_of=.* is a number, not a date.*'2011-09-01'"):
        parse_as_of(value)


@pytest.mark.parametrize("value", ["1000-01-01", "3000-12-31", dt.date(1500, 1, 1), dt.datetime(2300, 1, 1)])
def test_as_of_outside_pandas_range_is_refused(value: object) -> None:
    with pytest.raises(cxml.ParameterError, match=r"outside the dates pandas can hold.*'2011-09-01'") as info:
        parse_as_of(value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [None, "not a date", [2011, 9, 1], np.datetime64("NaT"), pd.NaT])
def test_as_of_other_bad_values_are_parameter_errors(value: object) -> None:
    with pytest.raises(cxml.ParameterError, match="as_of") as info:
        parse_as_of(value)
    assert not isinstance(info.value, cxml.SchemaError)  # an argument, not data


def test_as_of_keeps_time_of_day_and_converts_zones() -> None:
    assert parse_as_of("2011-09-01 12:30") == pd.Timestamp("2011-09-01 12:30")
    assert parse_as_of("2011-09-01T12:30+02:00") == pd.Timestamp("2011-09-01 10:30")
    assert parse_as_of(dt.date(2011, 9, 1)) == pd.Timestamp("2011-09-01")
    assert parse_as_of(np.datetime64("2011-09-01T06:00")).unit == "ns"
    with pytest.raises(cxml.ParameterError, match="cutoffs=5"):
        parse_as_of(5, name="cutoffs")


@pytest.mark.parametrize("value", ["90", " 90 ", "1.5", "+7"])
def test_horizon_string_without_unit_is_refused(value: str) -> None:
    expected = f"horizon={value!r} has no unit; write e.g. '{value.strip()}D'"
    with pytest.raises(cxml.ParameterError, match=re.escape(expected)):
        parse_horizon(value)


def test_horizon_numbers_are_days_and_units_are_honoured() -> None:
    assert parse_horizon(90) == pd.Timedelta(days=90)
    assert parse_horizon(1.5) == pd.Timedelta(hours=36)
    assert parse_horizon(np.int64(7)) == pd.Timedelta(days=7)
    assert parse_horizon("90D") == parse_horizon("90 days") == pd.Timedelta(days=90)
    assert parse_horizon(dt.timedelta(hours=12)) == pd.Timedelta(hours=12)


@pytest.mark.parametrize("value", ["soon", "-3D", 0, -1, True, None, float("nan"), float("inf"), 10**30])
def test_horizon_other_bad_values_are_parameter_errors(value: object) -> None:
    with pytest.raises(cxml.ParameterError, match="horizon"):
        parse_horizon(value)


def test_entry_points_refuse_int_as_of_and_unitless_horizon() -> None:
    ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "b"],
                                        "timestamp": ["2024-01-01", "2024-02-01", "2024-01-15"]}))
    with pytest.raises(cxml.ParameterError, match="as_of=20240301"):
        customer_features(ev, as_of=20240301)
    with pytest.raises(cxml.ParameterError, match="has no unit"):
        churn_labels(ev, as_of="2024-01-20", horizon="90")
    # the same calls, written as meant, work
    assert len(customer_features(ev, as_of="2024-03-01")) == 2
    assert churn_labels(ev, as_of="2024-01-20", horizon="90D").to_dict() == {"a": 0, "b": 1}
