"""_tables: how every loader reads a delimited text table or a vector layer."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from passages._errors import CRSError, InputError
from passages._tables import (
    Table,
    decimal_points,
    decode,
    find_column,
    read_layer,
    read_table,
    records,
    sniff_delimiter,
)
from passages._validate import LoadReport
from tests.conftest import BAD, DATA

COBRA = DATA / "apd_cobra_2021_central_atlanta.csv"
MARTA = DATA / "marta_stops_2015_central_atlanta.csv"
ADVICE = "export it as CSV"


def _report() -> LoadReport:
    return LoadReport(source="test", kind="test")


def _write(tmp_path: Path, data: bytes, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _read(path: Path, report: LoadReport | None = None) -> Table:
    return read_table(path, report or _report(), advice=ADVICE)


# ---- physical line numbers ---------------------------------------------------------------------


def test_real_multiline_records_start_on_the_line_of_their_first_field() -> None:
    """COBRA quotes a three-line address in every record: line != record number + 1."""
    t = _read(COBRA)
    physical = COBRA.read_bytes().decode("utf-8").split("\n")  # independent of the csv module
    assert len(t.rows) == 6336 and t.header[0] == "offense_id"
    for line, row in zip(t.lines, t.rows, strict=True):
        assert physical[line - 1].startswith(row[0] + ","), line
    assert t.lines[:3] == [2, 5, 8]


def test_blank_lines_and_quoted_newlines_count_as_lines(tmp_path: Path) -> None:
    text = '\n\nid,name,n\r\n1,"two\nlines",5\r\n\r\n  \n2,"three\r\nline\nname",6\n3,plain,7'
    t = _read(_write(tmp_path, text.encode()))
    assert t.header == ["id", "name", "n"]
    assert [r[0] for r in t.rows] == ["1", "2", "3"]
    assert t.lines == [4, 8, 11]  # "1" on 4-5, a blank 6, spaces 7, "2" on 8-10, "3" on 11
    assert t.rows[1][1] == "three\r\nline\nname"  # cells are kept as written
    assert list(records(text, ",", tmp_path)) == [
        (3, ["id", "name", "n"]),
        (4, ["1", "two\nlines", "5"]),
        (8, ["2", "three\r\nline\nname", "6"]),
        (11, ["3", "plain", "7"]),
    ]


def test_a_field_beyond_the_csv_limit_names_its_line(tmp_path: Path) -> None:
    big = "x" * (csv.field_size_limit() + 1)
    path = _write(tmp_path, f'a,b\n1,2\n3,"{big}"\n'.encode())
    with pytest.raises(InputError, match=r"table\.csv line 3: not a readable CSV file \(field larger"):
        _read(path)


# ---- encodings ---------------------------------------------------------------------------------


def test_utf8_bom_is_not_part_of_the_first_column_name() -> None:
    path = BAD / "places" / "bom_prefixed.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    t = _read(path)
    assert t.header[0] == "stop_id"
    assert (t.encoding, t.bad_byte_line) == ("utf-8", 0)


def test_cp1252_fallback_says_where_the_first_bad_byte_is(tmp_path: Path) -> None:
    data = "name,lat\nplain,1\nCAFÉ JOE’S – east,2\n".encode("cp1252")
    t = _read(_write(tmp_path, data))
    assert (t.encoding, t.bad_byte_line) == ("cp1252", 3)
    assert t.rows[1][0] == "CAFÉ JOE’S – east"


def test_bytes_cp1252_leaves_undefined_fall_back_to_latin1(tmp_path: Path) -> None:
    t = _read(_write(tmp_path, b"name,lat\n\xc9cole \x81,1\n"))
    assert (t.encoding, t.bad_byte_line) == ("latin-1", 2)
    assert t.rows[0][0] == "\xc9cole \x81"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path: Path, codec: str) -> None:
    bom = b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff"
    text = 'id;name\r\n1;"Ünïcødé\r\nstop"\r\n2;b\r\n'
    t = _read(_write(tmp_path, bom + text.encode(codec)))
    assert t.encoding == "utf-16" and t.delimiter == ";"
    assert t.rows == [["1", "Ünïcødé\r\nstop"], ["2", "b"]]
    assert t.lines == [2, 4]


def test_utf16_bom_on_bytes_that_are_not_utf16(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="starts like UTF-16 text but cannot be decoded"):
        _read(_write(tmp_path, b"\xff\xfea\x00b"))  # odd length: a truncated code unit


# ---- binary content ----------------------------------------------------------------------------


def test_binary_junk_is_refused_with_the_advice() -> None:
    path = BAD / "incidents" / "binary_junk.csv"
    with pytest.raises(InputError) as info:
        _read(path)
    assert str(info.value) == f"{path}: not a text CSV file (binary content); {ADVICE}"


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        (b"PK\x03\x04\x14\x00rest", "a ZIP archive or an Excel .xlsx workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel .xls workbook"),
        (b"SQLite format 3\x00", "a SQLite/GeoPackage database (name it .gpkg)"),
        (b"\x1f\x8b\x08\x00", "a gzip-compressed file (decompress it first)"),
        (b"%PDF-1.7\n", "a PDF document"),
    ],
)
def test_known_binary_formats_are_named(tmp_path: Path, data: bytes, looks_like: str) -> None:
    with pytest.raises(InputError, match=re.escape(f"binary content, looks like {looks_like}")):
        decode(data + b"a,b\n1,2\n", tmp_path / "x.csv", advice=ADVICE)


def test_control_bytes_without_nul_are_binary_but_a_few_are_tolerated(tmp_path: Path) -> None:
    text = b"a,b\n" + b"1,2\n" * 100
    assert decode(text + b"\x1b", tmp_path, advice=ADVICE).text.endswith("\x1b")  # one stray ESC
    with pytest.raises(InputError, match="not a text CSV file"):
        decode(text + b"\x01\x02\x03\x04\x05\x06" * 10, tmp_path, advice=ADVICE)


@pytest.mark.parametrize("data", [b"", b"  \n\r\n\t\n", b",,,\n , \n"])
def test_empty_or_blank_files(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError, match=r"table\.csv: the file is empty; it has no data rows"):
        _read(_write(tmp_path, data))


# ---- delimiters and header -----------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_detected_from_the_first_non_blank_line(tmp_path: Path, delimiter: str) -> None:
    with MARTA.open(newline="") as f:
        rows = list(csv.reader(f))[:4]
    lines = [delimiter.join(f'"{c}"' if "," in c or ";" in c else c for c in r) for r in rows]
    t = _read(_write(tmp_path, ("\n" + "\n".join(lines) + "\n").encode()))
    assert t.delimiter == delimiter
    assert t.header == rows[0]
    assert t.rows == rows[1:]
    assert t.lines == [3, 4, 5]


def test_delimiter_ties_and_data_lines() -> None:
    assert sniff_delimiter("name\nA;B;C\n") == ","  # a one-column table: nothing to count
    assert sniff_delimiter("a;b,c\n") == ","  # a tie goes to the comma
    assert sniff_delimiter("a;b;c\n1,5;2,5;3,5\n") == ";"  # decimal commas below do not count
    assert sniff_delimiter("\n\n  \nx|y\n") == "|"


def test_header_names_stripped_and_repeats_renamed(tmp_path: Path) -> None:
    report = _report()
    t = read_table(_write(tmp_path, b" name ,lat,name,lon,name\n"), report, advice=ADVICE)
    assert t.header == ["name", "lat", "name.1", "lon", "name.2"]
    assert t.rows == [] and report.rows_read == 0
    assert report.notes == ["repeated column names in the header; later copies renamed <name>.1, ..."]


def test_trailing_empty_fields_trimmed_other_ragged_rows_kept(tmp_path: Path) -> None:
    report = _report()
    t = read_table(_write(tmp_path, b"a,b,c\n1,2,3,,\n1,2\n1,2,3,4\n1,2,3, ,\n"), report, advice=ADVICE)
    assert t.rows == [["1", "2", "3"], ["1", "2"], ["1", "2", "3", "4"], ["1", "2", "3"]]
    assert report.rows_read == 4  # the loader decides what a ragged row means


def test_columns_found_exactly_then_case_insensitively() -> None:
    header = ["Name", "name", "LAT", "stop_lon"]
    assert find_column(header, "name") == 1
    assert find_column(header, "NAME ") == 0
    assert find_column(header, "lat") == 2
    assert find_column(header, "lon") is None
    t = Table(Path("x.csv"), header, [["A", "a", "1", "2"], ["B"]], [2, 3])
    assert t.col(None, ("lat", "latitude"), "lat_column", "latitude") == 2
    assert t.col(None, ("y",), "lat_column") is None  # optional: no error
    with pytest.raises(
        InputError, match=r"x\.csv: no column 'LON'; columns found: Name, name, LAT, stop_lon; set"
    ):
        t.col("LON", (), "lon_column")
    assert t.values(0) == ["A", "B"]
    assert t.values(3) == ["2", ""]  # short rows read as empty
    assert t.values(None, "park") == ["park", "park"]
    assert t.subset([False, True]).lines == [3]


def test_points_from_coordinate_columns(tmp_path: Path) -> None:
    text = "lat;lon\n33,749;-84,388\n33.75;-84.39\n0;-84.3\n133;-84\n;-84\n1,234,5;2\n"
    report = _report()
    t = read_table(_write(tmp_path, text.encode()), report, advice=ADVICE)
    got = t.points(report, 0, 1)
    assert got[0].equals(shapely.Point(-84.388, 33.749)) and got[1].equals(shapely.Point(-84.39, 33.75))
    assert got[2:] == [None] * 4
    assert report.examples == {
        "`lat`/`lon` is 0 (a missing-value marker, not a place)": [4],
        "`lat`/`lon` out of range (lat -90..90, lon -180..180)": [5],
        "`lat`/`lon` missing or not a number": [6, 7],
    }
    comma = Table(Path("c.csv"), ["lat", "lon"], [["33,749", "-84,388"]], [2], delimiter=",")
    assert comma.points(_report(), 0, 1) == [None]  # a decimal comma only where commas do not delimit


def test_decimal_points_rewrites_only_decimal_commas() -> None:
    import pandas as pd

    got = decimal_points(pd.Series(["33,749", "-84,388", "33.75", "1,234,5", "", "a,b"]))
    assert got.tolist() == ["33.749", "-84.388", "33.75", "1,234,5", "", "a,b"]
    assert Table(Path("s.csv"), [], [], [], delimiter=";").decimal_comma
    assert not Table(Path("c.csv"), [], [], [], delimiter=",").decimal_comma


# ---- ZIP members ---------------------------------------------------------------------------------


def test_a_table_inside_a_zip_archive(tmp_path: Path) -> None:
    feed = tmp_path / "feed.zip"
    with zipfile.ZipFile(feed, "w") as z:
        z.writestr("__MACOSX/STOPS.TXT", b"junk")
        z.writestr("STOPS.TXT", MARTA.read_bytes())
    report = _report()
    t = read_table(feed, report, advice=ADVICE, member="stops.txt")
    assert t.path == feed / "STOPS.TXT"
    assert len(t.rows) == report.rows_read == 987
    assert report.notes == ["read STOPS.TXT from the ZIP archive"]
    assert read_table(MARTA, _report(), advice=ADVICE, member="stops.txt").rows == t.rows  # plain file
    with pytest.raises(InputError, match="looks like a ZIP archive"):
        _read(feed)  # without member= a ZIP archive is binary content


# ---- vector layers -------------------------------------------------------------------------------


def test_layer_attributes_as_text_geometries_in_lonlat() -> None:
    report = _report()
    t = read_layer(BAD / "places" / "projected_utm16n.geojson", report, expected="layer", assume_lonlat=False)
    raw = gpd.read_file(BAD / "places" / "no_crs_member.geojson")
    assert (t.unit, t.lines, report.rows_read) == ("feature", [1, 2, 3, 4], 4)
    assert report.notes == ["reprojected from WGS 84 / UTM zone 16N to EPSG:4326"]
    assert t.header == [str(c) for c in raw.columns if c != "geometry"]
    assert all(isinstance(v, str) for r in t.rows for v in r)
    assert t.geoms is not None
    for a, b in zip(t.geoms, raw.geometry, strict=True):
        assert a.equals_exact(b, 1e-7)


def test_layer_without_crs_refused_or_assumed_lonlat() -> None:
    shp = BAD / "places" / "no_prj.shp"
    with pytest.raises(CRSError, match=r"no_prj\.shp: has no coordinate reference system"):
        read_layer(shp, _report(), expected="layer", assume_lonlat=False)
    report = _report()
    t = read_layer(shp, report, expected="layer", assume_lonlat=True)
    assert report.notes == ["the layer has no CRS; coordinates taken as longitude/latitude (EPSG:4326)"]
    assert t.geoms and all(-85 < g.centroid.x < -84 for g in t.geoms)


def test_layer_first_of_several_and_unreadable_files(tmp_path: Path) -> None:
    gpkg = tmp_path / "two.gpkg"
    pts = gpd.GeoDataFrame({"n": [1, None]}, geometry=[shapely.Point(1, 2), shapely.Point(3, 4)], crs=4326)
    pts.to_file(gpkg, layer="first")
    pts.iloc[:1].to_file(gpkg, layer="second")
    report = _report()
    t = read_layer(gpkg, report, expected="point layer", assume_lonlat=False)
    assert report.notes == ["2 layers; read the first, 'first'"]
    assert t.rows == [["1.0"], [""]]  # missing values read as empty text
    with pytest.raises(InputError, match=r"truncated\.geojson: not a readable point layer \("):
        read_layer(
            BAD / "incidents" / "truncated.geojson", _report(), expected="point layer", assume_lonlat=True
        )
