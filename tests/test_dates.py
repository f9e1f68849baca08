"""_dates.py: dates in mixed formats, HHMM times, impossible days and the 1900-2100 bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from passages._dates import (
    REASON_DATE_RANGE,
    REASON_IMPOSSIBLE_DATE,
    REASON_NO_DATE,
    parse_dates,
    parse_times,
)
from passages._validate import LoadReport


def _dates(
    values: list[str], fmt: str | None = None
) -> tuple[list[pd.Timestamp | None], list[bool], list[str], LoadReport]:
    report = LoadReport(source="test.csv", kind="incidents")
    column = pd.Series(values, name="occur_date", dtype=str)
    line = np.arange(2, len(values) + 2, dtype=np.int64)  # the header is line 1
    when, has_time, why = parse_dates(column, fmt, line, report)
    stamps = [None if np.isnat(w) else pd.Timestamp(w) for w in when]
    return stamps, has_time.tolist(), why.tolist(), report


def _times(values: list[str], fmt: str | None = None) -> tuple[list[str], list[bool]]:
    tod, known = parse_times(pd.Series(values, dtype=str), fmt)
    return [str(pd.Timedelta(t))[-8:-3] for t in tod], known.tolist()


def test_mixed_formats_in_one_column() -> None:
    """LAPD writes "01/08/2020 00:00" and "04/14/2020 12:00:00 AM" in the same column."""
    when, has_time, why, report = _dates(
        ["01/08/2020 00:00", "04/14/2020 12:00:00 AM", "2021-01-31", "1/31/21", "31.01.2021 22:30"]
    )
    assert when == [
        pd.Timestamp("2020-01-08 00:00"),
        pd.Timestamp("2020-04-14 00:00"),
        pd.Timestamp("2021-01-31"),
        pd.Timestamp("2021-01-31"),
        pd.Timestamp("2021-01-31 22:30"),
    ]
    assert has_time == [True, True, False, False, True]
    assert why == [""] * 5
    assert report.notes == []


def test_pm_and_seconds_are_read() -> None:
    when, has_time, _, _ = _dates(["04/14/2020 10:05:30 PM", "2020-04-14T22:05:30.250"])
    assert when == [pd.Timestamp("2020-04-14 22:05:30"), pd.Timestamp("2020-04-14 22:05:30.250")]
    assert has_time == [True, True]


def test_time_zone_suffix_is_dropped_and_noted() -> None:
    when, _, why, report = _dates(["2021-03-04T22:30:00Z", "2021-03-04 22:30+02:00", "2021-03-04T22:30-0500"])
    assert when == [pd.Timestamp("2021-03-04 22:30")] * 3
    assert why == [""] * 3
    assert report.notes == ["time-zone offsets in dates were ignored; times taken as written"]


@pytest.mark.parametrize("value", ["2021-02-30", "02/30/2021", "2/29/21", "2021-04-31 10:00"])
def test_impossible_day(value: str) -> None:
    when, _, why, report = _dates([value, "2020-02-29"])  # 2020 is a leap year
    assert when == [None, pd.Timestamp("2020-02-29")]
    assert why == [REASON_IMPOSSIBLE_DATE, ""]
    assert report.notes == []  # only unparseable values get a note


def test_unparseable_and_missing_dates() -> None:
    when, _, why, report = _dates(["yesterday", "", "  ", "13/31/2021"])
    unparseable = "unparseable date (expected e.g. 2021-01-31, 1/31/2021 or 01/31/2021 12:00:00 AM)"
    assert when == [None] * 4
    assert why == [unparseable, REASON_NO_DATE, REASON_NO_DATE, unparseable]  # month 13: not a day
    assert report.notes == ["first unparseable date: line 2: occur_date='yesterday'"]


@pytest.mark.parametrize(
    ("value", "kept"),
    [("1899-12-31", False), ("1900-01-01", True), ("2100-12-31 23:59", True), ("2101-01-01", False)],
)
def test_years_outside_1900_to_2100_are_out_of_range(value: str, kept: bool) -> None:
    when, _, why, _ = _dates([value])
    assert (when[0] is not None) == kept
    assert why == ["" if kept else REASON_DATE_RANGE]


def test_date_format_for_day_first_data() -> None:
    when, has_time, why, _ = _dates(["31/01/2021", "01/02/2021"], fmt="%d/%m/%Y")
    assert when == [pd.Timestamp("2021-01-31"), pd.Timestamp("2021-02-01")]
    assert has_time == [False, False]
    assert why == ["", ""]
    _, _, why, report = _dates(["2021-01-31"], fmt="%d/%m/%Y")
    assert why == ["unparseable date (expected format %d/%m/%Y)"]
    assert report.notes == ["first unparseable date: line 2: occur_date='2021-01-31'"]


def test_hhmm_times() -> None:
    assert _times(["2230", "30", "0030", "5", " 1330 "]) == (
        ["22:30", "00:30", "00:30", "00:05", "13:30"],
        [True] * 5,
    )
    assert _times(["2230", "30"], fmt="%H%M") == (["22:30", "00:30"], [True, True])


def test_clock_times_and_unusable_ones() -> None:
    tod, known = _times(["22:30", "10:30 PM", "10:30:15 pm", "", "2460", "12345", "noon"])
    assert tod == ["22:30", "22:30", "22:30", "00:00", "00:00", "00:00", "00:00"]
    assert known == [True, True, True, False, False, False, False]


def test_explicit_time_format_is_used_alone() -> None:
    assert _times(["22.30", "2230"], fmt="%H.%M") == (["22:30", "00:00"], [True, False])
