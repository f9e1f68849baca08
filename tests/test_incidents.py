"""incidents.py on the real COBRA and LAPD samples, small fixtures, and deliberately broken files."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from passages._errors import InputError, InputFileNotFoundError, PassagesError
from passages._validate import LoadReport
from passages.incidents import (
    DEFAULT_SEVERITY,
    REASON_AREA,
    REASON_BAD_XY,
    REASON_DUPLICATE,
    REASON_IMPOSSIBLE_DATE,
    REASON_MALFORMED,
    REASON_NO_DATE,
    REASON_NO_GEOMETRY,
    REASON_NO_XY,
    REASON_NOT_POINT,
    REASON_RANGE_XY,
    REASON_SENSITIVE,
    REASON_ZERO_XY,
    ColumnMapping,
    is_sensitive,
    load_incidents,
    severity_of,
)
from tests.conftest import BAD, DATA, shared

COBRA = DATA / "apd_cobra_2021_central_atlanta.csv"
LAPD = shared("los_angeles", "lapd_crime_2020_citywide_sample.csv")
BAD_INC = BAD / "incidents"
GOOD_INC = Path(__file__).resolve().parent / "data" / "incidents"
#: the bundled sample's area (west, south, east, north), from PROVENANCE.md
ATLANTA = (-84.43819, 33.73862, -84.34196, 33.78583)
COLUMNS = ["incident_id", "occurred_at", "time_known", "category", "severity", "sensitive", "line"]
LAPD_MAPPING = {
    "id": "DR_NO",
    "lat": "LAT",
    "lon": "LON",
    "date": "DATE OCC",
    "time": "TIME OCC",
    "category": "Crm Cd Desc",
}
SYNTHETIC_MAPPING = {
    "id": "case_number",
    "lat": "latitude",
    "lon": "longitude",
    "date": "occurred_on",
    "time": "occurred_time",
    "category": "offense_type",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def line_of(path: Path, record_prefix: str, nth: int = 1) -> int:
    """Physical line (1-based) where the nth record starting with ``record_prefix`` begins.

    Independent of the csv module: finds the byte offset and counts newlines before it.
    """
    data = path.read_bytes()
    offset = -1
    for _ in range(nth):
        offset = data.index(b"\n" + record_prefix.encode(), offset + 1)
    return data[: offset + 1].count(b"\n") + 1


@pytest.fixture(scope="module")
def cobra() -> tuple[pd.DataFrame, LoadReport]:
    loaded = load_incidents(COBRA, adapter="cobra")
    return loaded.data, loaded.report


@pytest.fixture(scope="module")
def lapd() -> tuple[pd.DataFrame, LoadReport]:
    loaded = load_incidents(LAPD, adapter="lapd")
    return loaded.data, loaded.report


# --- the real COBRA sample -------------------------------------------------------------------


def test_cobra_counts_and_reasons(cobra: tuple[pd.DataFrame, LoadReport]) -> None:
    df, report = cobra
    assert report.rows_read == 6336
    # the two rows without occur_date are the only losses; no sensitive category in COBRA 2021
    assert dict(report.dropped) == {REASON_NO_DATE: 2}
    assert report.examples[REASON_NO_DATE] == [line_of(COBRA, "210490181,"), 13073]
    assert report.kept == len(df) == 6334
    assert report.kept + report.dropped_total == report.rows_read
    assert list(df.columns) == [*COLUMNS, "geometry"]
    assert df.crs.to_epsg() == 4326
    assert list(df.index) == list(range(len(df)))


def test_cobra_output_types_and_order(cobra: tuple[pd.DataFrame, LoadReport]) -> None:
    df, _ = cobra
    assert df["occurred_at"].dtype == "datetime64[ns]"
    assert df["time_known"].dtype == bool
    assert df["sensitive"].dtype == bool
    assert df["line"].dtype == np.int64
    assert pd.api.types.is_string_dtype(df["incident_id"])
    assert pd.api.types.is_string_dtype(df["category"])
    assert (df["severity"] > 0).all()
    assert df["incident_id"].is_unique
    assert df.sort_values(["occurred_at", "incident_id"]).index.equals(df.index)
    assert df.geometry.x.between(ATLANTA[0], ATLANTA[2]).all()
    assert df.geometry.y.between(ATLANTA[1], ATLANTA[3]).all()


def test_cobra_line_numbers_follow_multiline_records(cobra: tuple[pd.DataFrame, LoadReport]) -> None:
    df, _ = cobra
    by_id = df.set_index("incident_id")
    for offense_id in ("21282015", "200017887", "211542057", "210072083"):
        assert by_id.loc[offense_id, "line"] == line_of(COBRA, offense_id + ",")
    # every record spans three physical lines here, so line != record number + 1
    assert by_id.loc["200017887", "line"] == 14
    homicide = by_id.loc["210072083"]  # a homicide record starting on line 743
    assert (homicide["line"], homicide["category"], homicide["severity"]) == (743, "HOMICIDE", 10.0)


def test_cobra_repeated_offense_ids_are_kept_and_made_unique(
    cobra: tuple[pd.DataFrame, LoadReport],
) -> None:
    df, report = cobra
    suffixed = df[df["incident_id"].str.endswith("#2")]
    assert len(suffixed) == 31
    assert not df["incident_id"].str.endswith("#3").any()
    assert any("31 incident ids appear on more than one row" in n for n in report.notes)
    pair = df[df["incident_id"].str.startswith("210051372")].set_index("incident_id")
    assert pair.loc["210051372", "line"] == line_of(COBRA, "210051372,", 1)
    assert pair.loc["210051372#2", "line"] == line_of(COBRA, "210051372,", 2)
    assert pair.loc["210051372", "occurred_at"] == pd.Timestamp("2021-01-05 18:12")
    assert pair.loc["210051372#2", "occurred_at"] == pd.Timestamp("2021-01-03 18:05")


def test_cobra_dates_times_categories_severities(cobra: tuple[pd.DataFrame, LoadReport]) -> None:
    df, _ = cobra
    row = df.set_index("incident_id").loc["21282015"]  # 8/6/2021 22:23, LARCENY-FROM VEHICLE
    assert row["occurred_at"] == pd.Timestamp("2021-08-06 22:23")
    assert row["time_known"]
    assert row["category"] == "LARCENY-FROM VEHICLE"
    assert row["severity"] == 1.0
    counts = df["category"].value_counts()
    assert counts["HOMICIDE"] == 34
    assert counts["LARCENY-FROM VEHICLE"] == 3301
    weights = df.groupby("category")["severity"].unique().map(lambda a: a.tolist()).to_dict()
    assert weights == {
        "HOMICIDE": [10.0],
        "AGG ASSAULT": [6.0],
        "ROBBERY": [5.0],
        "BURGLARY": [2.0],
        "AUTO THEFT": [1.5],
        "LARCENY-FROM VEHICLE": [1.0],
        "LARCENY-NON VEHICLE": [1.0],
    }
    assert not df["sensitive"].any()


def test_cobra_with_its_area_keeps_everything_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    before = sha256(COBRA)
    with caplog.at_level(logging.INFO, logger="passages.incidents"):
        loaded = load_incidents(COBRA, area=ATLANTA)
    assert sha256(COBRA) == before  # the input file is never modified
    assert loaded.report.kept == 6334
    assert REASON_AREA not in loaded.report.dropped
    assert [r.getMessage() for r in caplog.records] == [
        "loaded incidents: 6,336 read, 6,334 kept, 2 dropped (missing date: 2)"
    ]


# --- the real LAPD sample ---------------------------------------------------------------------


def test_lapd_zero_coordinates_reported_with_lines(lapd: tuple[pd.DataFrame, LoadReport]) -> None:
    _, report = lapd
    text = LAPD.read_text(encoding="utf-8").splitlines()
    zero_lines = [i for i, line in enumerate(text, start=1) if line.endswith(",0,0")]
    assert len(zero_lines) == 13
    assert report.dropped[REASON_ZERO_XY] == 13
    assert report.examples[REASON_ZERO_XY] == zero_lines[:5]
    assert "zero coordinates" in REASON_ZERO_XY


def test_lapd_counts_and_sensitive_drop(lapd: tuple[pd.DataFrame, LoadReport]) -> None:
    df, report = lapd
    assert report.rows_read == 10_000
    assert report.kept == len(df) == 10_000 - 13 - report.dropped[REASON_SENSITIVE]
    assert set(report.dropped) == {REASON_ZERO_XY, REASON_SENSITIVE}
    assert not df["sensitive"].any()
    assert not df["category"].str.contains("INTIMATE PARTNER|RAPE|CHILD|LEWD").any()
    everything = load_incidents(LAPD, adapter="lapd", include_sensitive=True)
    flagged = everything.data[everything.data["sensitive"]]
    assert len(flagged) == report.dropped[REASON_SENSITIVE]
    assert (flagged["category"] == "INTIMATE PARTNER - SIMPLE ASSAULT").sum() == 279
    assert (flagged["category"] == "CHILD ABUSE (PHYSICAL) - SIMPLE ASSAULT").sum() == 29
    assert (flagged["category"] == "SEXUAL PENETRATION W/FOREIGN OBJECT").sum() == 10


def test_lapd_mixed_date_formats_and_hhmm_times(lapd: tuple[pd.DataFrame, LoadReport]) -> None:
    df, _ = lapd
    by_id = df.set_index("incident_id")
    # line 2: DATE OCC "01/08/2020 00:00", TIME OCC "2230"; DR_NO keeps its leading zero
    assert by_id.loc["010304468", "occurred_at"] == pd.Timestamp("2020-01-08 22:30")
    assert by_id.loc["010304468", "line"] == 2
    # line 21: DATE OCC "01/14/2020 12:00:00 AM", TIME OCC "1330"
    assert by_id.loc["200100535", "occurred_at"] == pd.Timestamp("2020-01-14 13:30")
    assert by_id.loc["200100535", "severity"] == 5.0
    # line 58: TIME OCC "0030"
    assert by_id.loc["200104027", "occurred_at"] == pd.Timestamp("2020-01-01 00:30")
    assert df["time_known"].all()
    assert df["occurred_at"].between("2020-01-01", "2021-01-01").all()


def test_lapd_auto_and_generic_mapping_give_the_same_table(
    lapd: tuple[pd.DataFrame, LoadReport],
) -> None:
    df, _ = lapd
    auto = load_incidents(LAPD).data
    generic = load_incidents(LAPD, adapter="generic", mapping=LAPD_MAPPING).data
    pd.testing.assert_frame_equal(auto, df)
    pd.testing.assert_frame_equal(generic, df)


def test_lapd_unpadded_hhmm_times() -> None:
    """Real LAPD rows with TIME OCC written without leading zeros, as some exports do."""
    df = load_incidents(GOOD_INC / "lapd_rows_unpadded_time.csv").data.set_index("incident_id")
    assert df.loc["010304468", "occurred_at"] == pd.Timestamp("2020-01-08 22:30")  # "2230"
    assert df.loc["190101086", "occurred_at"] == pd.Timestamp("2020-01-01 00:30")  # "30"
    assert df.loc["200104027", "occurred_at"] == pd.Timestamp("2020-01-01 00:05")  # "5"


# --- generic mapping and point layers ---------------------------------------------------------


@pytest.mark.parametrize(
    "mapping", [SYNTHETIC_MAPPING, ColumnMapping(**SYNTHETIC_MAPPING)], ids=["dict", "dataclass"]
)
def test_generic_mapping_on_synthetic_fixture(mapping: Any) -> None:
    loaded = load_incidents(GOOD_INC / "synthetic_generic_incidents.csv", adapter="generic", mapping=mapping)
    df = loaded.data.set_index("incident_id")
    assert loaded.report.rows_read == 8
    assert dict(loaded.report.dropped) == {REASON_SENSITIVE: 1}  # DOMESTIC BATTERY
    assert loaded.report.examples[REASON_SENSITIVE] == [5]
    assert df.loc["SYN-2023-0001", "occurred_at"] == pd.Timestamp("2023-03-14 19:45")
    assert df.loc["SYN-2023-0002", "occurred_at"] == pd.Timestamp("2023-03-14 00:00")
    assert not df.loc["SYN-2023-0002", "time_known"]
    assert df.loc["SYN-2023-0003", "severity"] == 10.0
    assert df.loc["SYN-2023-0005", "severity"] == 0.75
    assert df.loc["SYN-2023-0006", "severity"] == 6.0
    assert df.loc["SYN-2023-0008", "severity"] == 1.0  # FRAUD: the fallback
    assert df.loc["SYN-2023-0007", "occurred_at"] == pd.Timestamp("2023-03-18 12:00")
    assert any("1 kept rows have no usable time" in n for n in loaded.report.notes)


def test_generic_mapping_with_explicit_formats_and_without_id() -> None:
    mapping = {**SYNTHETIC_MAPPING, "date_format": "%Y-%m-%d", "time_format": "%I:%M %p"}
    del mapping["id"]
    loaded = load_incidents(GOOD_INC / "synthetic_generic_incidents.csv", mapping=mapping)
    df = loaded.data.set_index("incident_id")
    assert df.loc["line-2", "occurred_at"] == pd.Timestamp("2023-03-14 19:45")
    assert not df.loc["line-4", "time_known"]  # "00:30" is not in the given %I:%M %p format
    assert any("no incident id" in n for n in loaded.report.notes)


def test_severity_and_sensitive_overrides() -> None:
    path = GOOD_INC / "synthetic_generic_incidents.csv"
    df = load_incidents(
        path,
        mapping=SYNTHETIC_MAPPING,
        severity={"fraud": 4.0, "homicide": 12.0},
        sensitive=["graffiti"],
        include_sensitive=True,
    ).data.set_index("incident_id")
    assert df.loc["SYN-2023-0008", "severity"] == 4.0
    assert df.loc["SYN-2023-0003", "severity"] == 12.0
    assert df.loc["SYN-2023-0005", "sensitive"]
    assert df.loc["SYN-2023-0004", "sensitive"]
    with pytest.raises(InputError, match="must be a number > 0"):
        load_incidents(path, mapping=SYNTHETIC_MAPPING, severity={"fraud": -1.0})


def test_severity_table_first_match_order() -> None:
    cats = [
        "BATTERY WITH SEXUAL CONTACT",
        "INTIMATE PARTNER - AGGRAVATED ASSAULT",
        "BATTERY - SIMPLE ASSAULT",
        "VEHICLE - STOLEN",
        "THEFT FROM MOTOR VEHICLE - PETTY ($950 & UNDER)",
        "DISCHARGE FIREARMS/SHOTS FIRED",
        "CRIMINAL HOMICIDE",
        "SHOPLIFTING - PETTY THEFT ($950 & UNDER)",
        "VANDALISM - MISDEAMEANOR ($399 OR UNDER)",
        "TRESPASSING",
    ]
    assert severity_of(cats).tolist() == [8.0, 6.0, 3.0, 1.5, 1.0, 6.0, 10.0, 1.0, 0.75, 1.0]
    assert min(DEFAULT_SEVERITY.values()) > 0
    # a pattern that is not a valid regex is taken literally
    assert severity_of(["THEFT ($950"], severity={"($950": 2.5}).tolist() == [2.5]
    flags = is_sensitive(["CRM AGNST CHLD (13 OR UNDER)", "ROBBERY", "LEWD CONDUCT", "BURGLARY"])
    assert flags.tolist() == [True, False, True, False]


def test_point_layer_with_generic_mapping() -> None:
    loaded = load_incidents(
        GOOD_INC / "synthetic_incidents_points.geojson",
        mapping={"id": "case_id", "datetime": "occurred", "category": "offense"},
    )
    df = loaded.data.set_index("incident_id")
    assert loaded.report.rows_read == 5
    assert loaded.report.kept == 4  # DOMESTIC BATTERY dropped as sensitive
    assert df.loc["SYN-2023-0001", "occurred_at"] == pd.Timestamp("2023-03-14 08:30")
    assert df.loc["SYN-2023-0001", "line"] == 1
    assert df.loc["SYN-2023-0003", "geometry"].coords[0] == (-84.4166, 33.7558)
    assert df["time_known"].all()


def test_non_point_features_are_dropped() -> None:
    loaded = load_incidents(
        BAD_INC / "not_all_points.geojson",
        mapping={"id": "case_id", "datetime": "occurred", "category": "offense"},
    )
    assert dict(loaded.report.dropped) == {REASON_NOT_POINT: 1, REASON_NO_GEOMETRY: 1}
    assert loaded.report.examples == {REASON_NOT_POINT: [2], REASON_NO_GEOMETRY: [3]}
    df = loaded.data.set_index("incident_id")
    assert not df.loc["G-4", "time_known"]  # a date without a time


# --- deliberately broken files ----------------------------------------------------------------


def _kept_ids(path: Path, **kw: Any) -> list[str]:
    return sorted(load_incidents(path, **kw).data["incident_id"])


ERRORS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("does_not_exist.csv", {}, InputFileNotFoundError, "incidents file not found"),
    ("empty.csv", {}, InputError, "has no data rows"),
    ("header_only.csv", {}, InputError, "has no data rows"),
    (
        "missing_lat_column.csv",
        {},
        InputError,
        r"no column for 'lat' .*incidents\.columns\.lat.*columns found: offense_id, rpt_date,.* long$",
    ),
    ("renamed_columns.csv", {}, InputError, r"set incidents\.adapter.*columns found: Report Number"),
    ("binary_junk.csv", {}, InputError, "not a text CSV file"),
    ("excel_workbook_named.csv", {}, InputError, "Excel .xlsx"),
    ("all_rows_bad.csv", {}, InputError, r"all 4 rows were dropped: zero coordinates .* \(4\)"),
    ("truncated.geojson", {}, InputError, "not a readable point layer"),
    ("renamed_columns.csv", {"adapter": "generic"}, InputError, "needs a column mapping"),
    (
        "unclosed_quote.csv",
        {"mapping": {"date": "occur_date", "datetime": "rpt_date"}},
        InputError,
        "not both",
    ),
]


@pytest.mark.parametrize(
    ("name", "kw", "error", "match"), ERRORS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)]
)
def test_bad_files_raise_one_line(name: str, kw: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match) as info:
        load_incidents(BAD_INC / name, **kw)
    assert isinstance(info.value, PassagesError)
    assert "\n" not in str(info.value)
    assert str(BAD_INC / name) in str(info.value)  # names the file


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"adapter": "chicago"}, "unknown incidents adapter 'chicago'; accepted: auto, cobra"),
        ({"mapping": {"lattitude": "Latitude"}}, "unknown incident column mapping key.*lattitude"),
        ({"mapping": {"lat": 3}}, r"incidents\.columns\.lat must be a column name"),
        ({"area": (1, 2, 3)}, r"must be \(west, south, east, north\) in degrees"),
        ({"area": (-84.3, 33.7, -84.4, 33.8)}, "west < east"),
        ({"severity": {"fraud": float("nan")}}, "must be a number > 0"),
    ],
)
def test_bad_arguments_raise(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        load_incidents(BAD_INC / "ragged_rows.csv", **kw)


def _check_renamed(report: LoadReport, df: pd.DataFrame) -> None:
    assert report.kept == 5
    assert df["incident_id"].str.fullmatch(r"\d+").all()


def _check_cp1252(report: LoadReport, df: pd.DataFrame) -> None:
    assert any("read as cp1252" in n for n in report.notes)
    assert "LARCENY-NON VEHICLE (CAFÉ PATIO)" in set(df["category"])


def _check_clean(report: LoadReport, df: pd.DataFrame) -> None:
    assert report.kept == report.rows_read == 5
    assert not report.dropped
    assert sorted(df["incident_id"]) == ["200017887", "21282015", "21320347", "21791668", "61583880"]
    assert sorted(df["line"]) == [2, 5, 8, 11, 14]


def _check_swapped(report: LoadReport, df: pd.DataFrame) -> None:
    assert report.kept == 6
    assert any("looked swapped" in n for n in report.notes)
    assert df.geometry.y.between(33.7, 33.8).all()


def _check_swapped_rows(report: LoadReport, df: pd.DataFrame) -> None:
    assert any("2 rows had latitude beyond" in n for n in report.notes)
    assert df.geometry.y.between(33.5, 34.5).all()
    assert df.geometry.x.between(-119, -118).all()


def _check_impossible(report: LoadReport, df: pd.DataFrame) -> None:
    assert dict(report.dropped) == {REASON_IMPOSSIBLE_DATE: 3}
    assert report.examples[REASON_IMPOSSIBLE_DATE] == [5, 11, 14]


def _check_unparseable(report: LoadReport, df: pd.DataFrame) -> None:
    (reason,) = (r for r in report.dropped if r.startswith("unparseable date"))
    assert report.dropped[reason] == 2
    assert report.examples[reason] == [2, 8]
    assert report.dropped[REASON_NO_DATE] == 1
    assert any("line 2: occur_date='yesterday'" in n for n in report.notes)


def _check_nan(report: LoadReport, df: pd.DataFrame) -> None:
    assert dict(report.dropped) == {REASON_NO_XY: 4, REASON_BAD_XY: 1}
    assert report.examples[REASON_BAD_XY] == [14]
    assert report.kept == 1


def _check_out_of_area(report: LoadReport, df: pd.DataFrame) -> None:
    assert dict(report.dropped) == {REASON_AREA: 2}
    assert report.examples[REASON_AREA] == [5, 14]


def _check_range(report: LoadReport, df: pd.DataFrame) -> None:
    assert dict(report.dropped) == {REASON_RANGE_XY: 1}
    assert report.examples[REASON_RANGE_XY] == [8]


def _check_duplicates(report: LoadReport, df: pd.DataFrame) -> None:
    assert dict(report.dropped) == {REASON_DUPLICATE: 1}
    assert report.examples[REASON_DUPLICATE] == [17]
    assert {"210051372", "210051372#2"} <= set(df["incident_id"])
    assert df["incident_id"].is_unique


def _check_ragged(report: LoadReport, df: pd.DataFrame) -> None:
    assert dict(report.dropped) == {REASON_MALFORMED: 2}
    assert report.examples[REASON_MALFORMED] == [5, 11]
    assert sorted(df["line"]) == [2, 8, 14, 17]


def _check_unclosed(report: LoadReport, df: pd.DataFrame) -> None:
    assert report.examples[REASON_MALFORMED][0] == 8  # where the unclosed quote starts
    assert {"21282015", "21320347"} <= set(df["incident_id"])


def _check_missing_time(report: LoadReport, df: pd.DataFrame) -> None:
    assert report.kept == 5
    assert not report.dropped
    by_id = df.set_index("incident_id")
    assert not by_id.loc["21282015", "time_known"]  # empty occur_time
    assert by_id.loc["21282015", "occurred_at"] == pd.Timestamp("2021-08-06 00:00")
    assert not by_id.loc["21791668", "time_known"]  # "25:99"
    assert by_id.loc["21320347", "time_known"]
    assert any("2 kept rows have no usable time" in n for n in report.notes)


def _check_utf16(report: LoadReport, df: pd.DataFrame) -> None:
    assert report.kept == 3
    assert any("UTF-16" in n for n in report.notes)


LOADS: list[tuple[str, dict[str, Any], Callable[[LoadReport, pd.DataFrame], None]]] = [
    (
        "renamed_columns.csv",
        {
            "adapter": "cobra",
            "mapping": {
                "id": "Report Number",
                "lat": "latitude",  # case-insensitive match
                "lon": "Longitude",
                "date": "Occurred Date",
                "time": "Occurred Time",
                "category": "Offense",
            },
        },
        _check_renamed,
    ),
    ("cp1252_encoded.csv", {}, _check_cp1252),
    ("bom_prefixed.csv", {}, _check_clean),
    ("crlf_line_endings.csv", {}, _check_clean),
    ("semicolon_delimited.csv", {}, _check_clean),
    ("utf16_encoded.csv", {}, _check_utf16),
    ("swapped_lat_lon.csv", {"area": ATLANTA}, _check_swapped),
    ("swapped_rows_lapd.csv", {"include_sensitive": True}, _check_swapped_rows),
    ("impossible_dates.csv", {}, _check_impossible),
    ("unparseable_dates.csv", {}, _check_unparseable),
    ("nan_coordinates.csv", {}, _check_nan),
    ("out_of_area.csv", {"area": ATLANTA}, _check_out_of_area),
    ("out_of_range_coordinates.csv", {}, _check_range),
    ("duplicate_ids.csv", {}, _check_duplicates),
    ("ragged_rows.csv", {}, _check_ragged),
    ("unclosed_quote.csv", {}, _check_unclosed),
    ("missing_time.csv", {}, _check_missing_time),
]


@pytest.mark.parametrize(("name", "kw", "check"), LOADS, ids=[e[0] for e in LOADS])
def test_bad_files_load_with_report(
    name: str, kw: dict[str, Any], check: Callable[[LoadReport, pd.DataFrame], None]
) -> None:
    path = BAD_INC / name
    before = sha256(path)
    loaded = load_incidents(path, **kw)
    assert sha256(path) == before
    report = loaded.report
    assert report.kept == len(loaded.data) > 0
    assert report.kept + report.dropped_total == report.rows_read
    check(report, loaded.data)


def test_swapped_columns_without_area_are_not_guessed() -> None:
    """Atlanta's longitude (-84) is a valid latitude: only an area can tell the swap."""
    loaded = load_incidents(BAD_INC / "swapped_lat_lon.csv")
    assert not any("swapped" in n for n in loaded.report.notes)
    assert (loaded.data.geometry.y < -80).all()


def test_out_of_area_rows_are_kept_without_area() -> None:
    assert len(_kept_ids(BAD_INC / "out_of_area.csv")) == 6


def test_datetime_key_replaces_the_adapters_date_and_time() -> None:
    df = load_incidents(
        GOOD_INC / "lapd_rows_unpadded_time.csv", adapter="lapd", mapping={"datetime": "Date Rptd"}
    ).data.set_index("incident_id")
    assert df.loc["010304468", "occurred_at"] == pd.Timestamp("2020-01-08 00:00")  # "01/08/2020 00:00"
    assert df.loc["010304468", "time_known"]  # the value carries a time, even at midnight


def test_every_bad_file_is_exercised() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    files = [p.name for p in BAD_INC.iterdir() if p.suffix != ".md"]
    assert len(files) >= 20
    assert [name for name in files if f'"{name}"' not in source] == []


def test_bad_date_format_reason_names_the_format() -> None:
    loaded = load_incidents(
        BAD_INC / "unparseable_dates.csv", adapter="cobra", mapping={"date_format": "%m/%d/%Y"}
    )
    assert loaded.report.dropped["unparseable date (expected format %m/%d/%Y)"] == 2


# --- properties -------------------------------------------------------------------------------


def _text(max_size: int) -> st.SearchStrategy[str]:
    """Any printable text (control characters make the file binary: a separate test)."""
    return st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=max_size)


_lat = st.floats(min_value=ATLANTA[1], max_value=ATLANTA[3]).map(lambda v: f"{v:.6f}")
_lon = st.floats(min_value=ATLANTA[0], max_value=ATLANTA[2]).map(lambda v: f"{v:.6f}")
_coord = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-200, max_value=200).map(lambda v: f"{v:.5f}"),
    st.sampled_from(["", "NaN", "0", "abc", " 33.75 ", "1e999", "-84.39"]),
    _text(max_size=6),
)
_date = st.one_of(
    st.dates().map(lambda d: f"{d.month}/{d.day}/{d.year}"),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["", "2021-02-30", "13/45/2021", "0001-01-01", "9999-12-31 23:59", "x"]),
    _text(max_size=12),
)
_time = st.one_of(st.sampled_from(["", "30", "2230", "25:99", "12:00 PM", "7"]), _text(max_size=5))
_category = st.one_of(st.sampled_from(["ROBBERY", "RAPE", "", "HOMICIDE"]), _text(max_size=10))
_good_date = st.dates(min_value=date(2020, 1, 1), max_value=date(2021, 12, 31)).map(str)


def _mostly(good: st.SearchStrategy[str], junk: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``good`` three times in four (``|`` would flatten and weight by branch count)."""
    return st.integers(0, 3).flatmap(lambda k: junk if k == 0 else good)


_row = st.tuples(_mostly(_lat, _coord), _mostly(_lon, _coord), _mostly(_good_date, _date), _time, _category)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=12), area=st.booleans())
def test_loader_never_raises_other_errors_and_accounts_for_every_row(
    rows: list[tuple[str, str, str, str, str]], area: bool
) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(["case", "lat", "lon", "date", "time", "category"])
    writer.writerows([f"T{i}", *row] for i, row in enumerate(rows))
    mapping = {"id": "case", "lat": "lat", "lon": "lon", "date": "date", "time": "time"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        try:
            loaded = load_incidents(
                path,
                mapping={**mapping, "category": "category"},
                area=ATLANTA if area else None,
            )
        except InputError as exc:
            assert "rows were dropped" in str(exc) or "not a text CSV" in str(exc)
            event("every row dropped")
            return
    event("kept some rows")
    report = loaded.report
    assert report.rows_read == len(rows)
    assert report.kept + report.dropped_total == report.rows_read
    assert report.kept == len(loaded.data)
    df = loaded.data
    assert df["incident_id"].is_unique
    assert df["occurred_at"].notna().all()
    assert df.geometry.y.between(-90, 90).all()
    assert df.geometry.x.between(-180, 180).all()
    assert (df.geometry.x != 0).all()


def test_decimal_comma_coordinates_in_a_semicolon_file(tmp_path: Path) -> None:
    """A European-locale export ("33,749" in a ;-delimited file) reads as places/origins read it."""
    f = tmp_path / "eu.csv"
    f.write_text(
        "case_number;latitude;longitude;occurred_on;occurred_time;offense_type\n"
        "A;33,749;-84,388;2021-01-05;2230;ROBBERY\n"
        "B;33.75;-84.39;2021-01-06;2230;ROBBERY\n"
        "C;1,234,5;-84,388;2021-01-07;2230;ROBBERY\n",
        encoding="utf-8",
    )
    loaded = load_incidents(f, adapter="generic", mapping=SYNTHETIC_MAPPING)
    df = loaded.data.set_index("incident_id")
    assert df.loc["A"].geometry.coords[0] == (-84.388, 33.749)
    assert dict(loaded.report.dropped) == {"non-numeric coordinates": 1}
    assert loaded.report.examples["non-numeric coordinates"] == [4]


def test_repeated_ids_holding_a_hash_are_counted_once(tmp_path: Path) -> None:
    f = tmp_path / "hash.csv"
    f.write_text(
        "case_number,latitude,longitude,occurred_on,occurred_time,offense_type\n"
        "R#1,33.75,-84.39,2021-01-05,2230,ROBBERY\n"
        "R#1,33.75,-84.39,2021-01-05,2230,BURGLARY\n"
        "R#2,33.75,-84.39,2021-01-05,2230,ROBBERY\n"
        "R#2,33.75,-84.39,2021-01-05,2230,BURGLARY\n",
        encoding="utf-8",
    )
    loaded = load_incidents(f, adapter="generic", mapping=SYNTHETIC_MAPPING)
    assert sorted(loaded.data["incident_id"]) == ["R#1", "R#1#2", "R#2", "R#2#2"]
    assert any(n.startswith("2 incident ids appear on more than one row") for n in loaded.report.notes)


def test_auto_detects_an_adapter_whatever_the_header_case(tmp_path: Path) -> None:
    lines = shared("los_angeles", "lapd_crime_2020_citywide_sample.csv").read_text().splitlines(keepends=True)
    lower = tmp_path / "lapd_lowercase_headers.csv"
    lower.write_text(lines[0].lower() + "".join(lines[1:30]))
    loaded = load_incidents(lower)
    assert "schema detected from the columns: lapd" in loaded.report.notes
    assert loaded.report.rows_read == 29
    assert loaded.report.kept > 0
