"""Places: real OSM / GTFS / CSV / vector files, snapping, bad input (origins: test_origins.py)."""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pytest
import shapely

from passages._errors import CRSError, InputError, InputFileNotFoundError
from passages.network import Streets, load_network, streets_from_arrays
from passages.origins import load_origins
from passages.places import COLUMNS, MERGE_RADIUS_M, load_places, snap_places
from tests.conftest import BAD, DATA, shared

HELSINKI = shared("osm", "Helsinki.osm.pbf")
OAKLAND = shared("osm", "West-Oakland.osm.bz2")
MARTA = DATA / "marta_stops_2015_central_atlanta.csv"
GREENSPACE = DATA / "arc_greenspace_central_atlanta.geojson"
LA_RAIL = shared("los_angeles", "lametro_rail_stops.txt")
LA_BUS = shared("los_angeles", "lametro_bus_stops.txt")
GOOD = Path(__file__).resolve().parent / "data" / "places"
BAD_PLACES = BAD / "places"


@pytest.fixture(scope="module")
def streets() -> Streets:
    return Streets.from_graph(load_network(DATA / "central-atlanta-filtered.osm.pbf", cache=False).data)


@pytest.fixture(scope="module")
def helsinki() -> Any:
    return load_places(HELSINKI, fmt="osm")


def _osm_objects(path: Path, key: str, value: str) -> dict[str, str]:
    """``{"way/123": name}`` for every object tagged key=value, counted straight from the file."""
    types = {"n": "node", "w": "way", "r": "relation"}
    found = {}
    for obj in osmium.FileProcessor(str(path)):
        if obj.tags.get(key) == value:
            found[f"{types[obj.type_str()]}/{obj.id}"] = str(obj.tags.get("name") or "")
    return found


def _merged(report: Any) -> int:
    notes = [m for n in report.notes if (m := re.match(r"merged (\d+) transit", n))]
    return int(notes[0].group(1)) if notes else 0


def _check_schema(gdf: gpd.GeoDataFrame) -> None:
    assert tuple(gdf.columns) == COLUMNS
    assert gdf.crs.to_epsg() == 4326
    assert gdf["place_id"].is_unique
    assert list(gdf["place_id"]) == sorted(gdf["place_id"])
    assert gdf["kind"].str.fullmatch(r"[a-z_]+").all()
    assert (gdf["name"].str.len() > 0).all()
    assert gdf["line"].dtype == np.int64 and (gdf["line"] >= 1).all()
    assert set(gdf.geometry.geom_type) <= {"Point", "Polygon", "MultiPolygon"}
    assert gdf.geometry.is_valid.all()


# ---- OpenStreetMap --------------------------------------------------------------------------


def test_helsinki_schools_and_parks_match_the_file(helsinki: Any) -> None:
    gdf = helsinki.data
    _check_schema(gdf)
    schools = _osm_objects(HELSINKI, "amenity", "school")
    parks = _osm_objects(HELSINKI, "leisure", "park")
    assert len(schools) == 3 and all(k.startswith("way/") for k in schools)  # PROVENANCE: 3 ways
    assert sum(k.startswith("way/") for k in parks) == 16  # PROVENANCE: 16 ways (+1 relation)
    got = gdf.set_index("place_id")
    assert set(gdf.loc[gdf.kind == "school", "place_id"]) == set(schools)
    assert set(gdf.loc[gdf.kind == "park", "place_id"]) == set(parks)
    assert set(got.loc[list(schools)].geometry.geom_type) == {"Polygon"}
    assert got.loc["relation/6627217", "name"] == "Kaisaniemen puisto"
    assert got.loc["relation/6627217"].geometry.geom_type == "MultiPolygon"
    for pid, name in {**schools, **parks}.items():
        kind = "school" if pid in schools else "park"
        expected = name or f"unnamed {kind} ({'OSM ' + pid.replace('/', ' ')})"
        assert got.loc[pid, "name"] == expected
    assert "Kruununhaan yläasteen koulu" in set(got["name"])
    # the multipolygon is assembled into a real area (about 14 ha in this extract), not a ring
    area_ha = gpd.GeoSeries([got.loc["relation/6627217"].geometry], crs=4326).to_crs(3067).area[0] / 1e4
    assert 10 < area_ha < 20


def test_helsinki_transit_stops_and_stations(helsinki: Any) -> None:
    gdf, report = helsinki.data, helsinki.report
    got = gdf.set_index("place_id")
    bus_stops = _osm_objects(HELSINKI, "highway", "bus_stop")
    tram_stops = _osm_objects(HELSINKI, "railway", "tram_stop")
    assert len(bus_stops) == 92  # PROVENANCE
    nodes: Any = osmium.FileProcessor(str(HELSINKI), osmium.osm.NODE)
    lonlat = {f"node/{n.id}": (n.lon, n.lat) for n in nodes}
    utm = gdf.to_crs(3067).set_index("place_id")
    merged = 0
    for pid, name in {**bus_stops, **tram_stops}.items():
        subkind = "rail" if pid in tram_stops else "bus"  # a shared tram + bus stop counts as rail
        if pid in got.index:
            assert (got.loc[pid, "kind"], got.loc[pid, "subkind"]) == ("transit", subkind)
        else:  # merged: one kept place of its subkind and name lies within the merge radius
            merged += 1
            here = gpd.GeoSeries([shapely.Point(lonlat[pid])], crs=4326).to_crs(3067)[0]
            same = utm[(utm["name"] == name) & (utm["subkind"] == subkind)]
            assert (same.distance(here) <= MERGE_RADIUS_M).sum() == 1, pid
    assert 0 < merged <= _merged(report)
    platforms = [p for p in _osm_objects(HELSINKI, "public_transport", "platform") if p.startswith("way/")]
    assert len(platforms) == 79
    # platforms are folded into their station / stop; 3 unnamed bus platforms with no stop nearby stay
    assert sum(p in got.index for p in platforms) == 3
    stations = _osm_objects(HELSINKI, "railway", "station")
    assert stations and set(stations) <= set(got.index)
    assert (got.loc[list(stations), "subkind"] == "rail").all()
    assert got.loc["node/25389429", "name"] == "Helsinki"
    # nothing vanished silently: kept + merged + skipped = read
    assert report.rows_read == report.kept + _merged(report) + report.dropped_total
    assert any("had no name" in n for n in report.notes)


def test_transit_merge_rules_on_a_hand_made_osm_file(tmp_path: Path) -> None:
    # ~11 m per 0.0001° of latitude, ~5.5 m per 0.0001° of longitude at 60° N
    nodes = {
        1: (24.9400, 60.1700, {"railway": "station", "name": "Alpha"}),
        2: (24.9401, 60.1701, {}),
        3: (24.9405, 60.1701, {}),
        4: (24.9400, 60.1698, {}),
        5: (24.9404, 60.1698, {}),
        6: (24.9400, 60.1720, {"railway": "station", "name": "Alpha"}),  # 222 m north: another place
        7: (24.9500, 60.1700, {"highway": "bus_stop", "name": "Beta"}),
        8: (24.9500, 60.1703, {"highway": "bus_stop", "name": "Beta"}),  # other side of the street
        9: (24.9600, 60.1700, {"highway": "bus_stop", "name": "Gamma"}),
        10: (24.9601, 60.1701, {}),
        11: (24.9603, 60.1701, {}),
    }
    ways = {
        100: ([2, 3], {"public_transport": "platform", "railway": "platform", "name": "Alpha"}),
        101: ([4, 5], {"public_transport": "platform", "railway": "platform"}),  # unnamed, 22 m away
        102: ([10, 11], {"public_transport": "platform", "highway": "platform", "name": "Gamma"}),
    }

    def tags(t: dict[str, str]) -> str:
        return "".join(f'<tag k="{k}" v="{v}"/>' for k, v in t.items())

    xml = ['<?xml version="1.0"?><osm version="0.6">']
    for i, (lon, lat, t) in nodes.items():
        xml.append(f'<node id="{i}" lat="{lat}" lon="{lon}">{tags(t)}</node>')
    for i, (refs, t) in ways.items():
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        xml.append(f'<way id="{i}">{nds}{tags(t)}</way>')
    path = tmp_path / "synthetic_stops.osm"
    path.write_text("".join([*xml, "</osm>"]))
    loaded = load_places(path, fmt="osm")
    got = loaded.data.set_index("place_id")
    assert got["subkind"].to_dict() == {
        "node/1": "rail",
        "node/6": "rail",
        "node/7": "bus",
        "node/8": "bus",
        "node/9": "bus",
    }
    assert got.loc["node/1", "name"] == "Alpha" and got.loc["node/1"].geometry.geom_type == "Point"
    assert _merged(loaded.report) == 3


def test_osm_kind_and_include_filters(helsinki: Any) -> None:
    schools = load_places(HELSINKI, fmt="osm", kind="school").data
    assert set(schools["kind"]) == {"school"} and len(schools) == 3
    rail = load_places(HELSINKI, fmt="osm", include=("rail",)).data
    assert set(rail["subkind"]) == {"rail"}
    assert len(rail) == int((helsinki.data["subkind"] == "rail").sum())


def test_osm_xml_bz2_west_oakland() -> None:
    loaded = load_places(OAKLAND, fmt="osm")
    gdf = loaded.data.set_index("place_id")
    _check_schema(loaded.data)
    assert gdf.loc["way/27204443", "name"] == "Prescott School"
    assert gdf.loc["way/27204443", "kind"] == "school"
    assert gdf.loc["way/220258195", "kind"] == "park"
    assert gdf.loc["way/220258194", "name"] == "unnamed recreation (OSM way 220258194)"  # a playground


# ---- GTFS ------------------------------------------------------------------------------------


def test_marta_stops_rail_by_name_and_station_duplicates_merged() -> None:
    loaded = load_places(MARTA, fmt="gtfs")
    gdf, report = loaded.data, loaded.report
    _check_schema(gdf)
    with MARTA.open() as f:
        rows = list(csv.DictReader(f))
    assert report.rows_read == len(rows) == 987
    assert sum("STATION" in r["stop_name"].upper() for r in rows) == 49
    # "BROAD ST @ ALABAMA ST (FIVE POINTS STATION)" is a bus bay at a station, not the station
    n_station = sum("STATION" in r["stop_name"].upper() and "@" not in r["stop_name"] for r in rows)
    assert n_station == 38
    assert (
        f"classified {n_station} rail and {987 - n_station} bus stops ('station' in the name)" in report.notes
    )
    bus, rail = gdf[gdf.subkind == "bus"], gdf[gdf.subkind == "rail"]
    assert len(bus) == 987 - n_station  # bus stops are never merged
    assert len(rail) == n_station - _merged(report) == 20
    assert not rail["name"].str.contains("@").any()
    names = rail["name"].value_counts()
    assert names["FIVE POINTS STATION"] == 1  # four rows 0-15 m apart
    assert names["MIDTOWN STATION"] == 1  # "MIDTOWN  STATION" (two spaces) is the same name
    assert names["KING MEMORIAL STATION"] == 2  # two rows ~58 m apart stay separate
    assert set(gdf["kind"]) == {"transit"}


def test_la_metro_rail_platforms_fold_into_stations() -> None:
    loaded = load_places(LA_RAIL, fmt="gtfs")
    gdf, report = loaded.data, loaded.report
    _check_schema(gdf)
    with LA_RAIL.open() as f:
        rows = list(csv.DictReader(f))
    stations = [r for r in rows if r["location_type"] == "1"]
    assert report.rows_read == len(rows) == 427
    assert len(gdf) == len(stations) == 102
    assert set(gdf["place_id"]) == {r["stop_id"] for r in stations}
    assert (
        f"{len(rows) - len(stations)} platforms / entrances folded into their parent stations" in report.notes
    )
    watts = gdf[gdf["name"].str.contains("Watts Towers")]
    assert list(watts["name"]) == ["103rd Street / Watts Towers Station"]
    assert watts.iloc[0]["subkind"] == "rail" and watts.iloc[0]["place_id"] == "80113S"
    assert watts.geometry.iloc[0].equals_exact(shapely.Point(-118.243159, 33.94222), 1e-9)
    with pytest.raises(InputError, match="no usable places left"):
        load_places(LA_RAIL, fmt="gtfs", include=("bus",))  # every row is a rail station or part of one


def test_la_metro_bus_stops_leading_space_latitudes() -> None:
    assert b",  33.973248," in LA_BUS.read_bytes()[:400]
    loaded = load_places(LA_BUS, fmt="gtfs", include=("bus",))
    assert loaded.report.rows_read == 12_100
    assert not loaded.report.dropped  # every latitude parsed despite the spaces
    first = loaded.data.set_index("place_id").loc["1"]
    assert first["name"] == "Paramount / Slauson"
    assert first.geometry.equals_exact(shapely.Point(-118.113113, 33.973248), 1e-9)
    assert set(loaded.data["subkind"]) == {"bus"}


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


AGENCY = (
    b"agency_id,agency_name,agency_url,agency_timezone\nMARTA,MARTA,https://itsmarta.com,America/New_York\n"
)


def test_gtfs_feed_zip_reads_its_stops_txt(tmp_path: Path) -> None:
    plain = load_places(MARTA, fmt="gtfs")
    stops = MARTA.read_bytes()
    zipped = load_places(_zip(tmp_path / "marta.zip", {"agency.txt": AGENCY, "stops.txt": stops}), fmt="gtfs")
    pd.testing.assert_frame_equal(zipped.data, plain.data)  # same places, same physical lines
    assert zipped.report.rows_read == 987
    assert zipped.report.source == str(tmp_path / "marta.zip")
    assert zipped.report.notes == ["read stops.txt from the ZIP archive", *plain.report.notes]
    # a feed zipped with its folder: the one stops.txt inside is found
    nested = _zip(tmp_path / "nested.zip", {"gtfs/agency.txt": AGENCY, "gtfs/stops.txt": stops})
    pd.testing.assert_frame_equal(load_places(nested, fmt="gtfs").data, plain.data)


def test_gtfs_zip_problems_name_the_archive(tmp_path: Path) -> None:
    stops = MARTA.read_bytes()
    no_stops = _zip(tmp_path / "routes.zip", {"agency.txt": AGENCY, "routes.txt": b"route_id\n1\n"})
    with pytest.raises(InputError, match=r"routes\.zip: a ZIP archive with no stops\.txt; it holds: agency"):
        load_places(no_stops, fmt="gtfs")
    two = _zip(tmp_path / "two.zip", {"a/stops.txt": stops, "b/stops.txt": stops})
    with pytest.raises(InputError, match=r"2 files named stops\.txt \(none at the top\)"):
        load_places(two, fmt="gtfs")
    no_lat = _zip(
        tmp_path / "feed.zip", {"stops.txt": (BAD_PLACES / "gtfs_missing_stop_lat.txt").read_bytes()}
    )
    with pytest.raises(InputError, match=r"feed\.zip/stops\.txt: no latitude column \(looked for stop_lat\)"):
        load_places(no_lat, fmt="gtfs")
    with pytest.raises(InputError) as info:  # a feed given as a CSV is refused, pointing to fmt="gtfs"
        load_places(no_lat, fmt="csv", kind="transit")
    assert "not a text CSV file (binary content, looks like a ZIP archive" in str(info.value)
    assert "fmt='gtfs'" in str(info.value)
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(_zip(tmp_path / "whole.zip", {"stops.txt": stops}).read_bytes()[:-30])
    with pytest.raises(InputError, match=r"damaged\.zip: a damaged or unsupported ZIP archive"):
        load_places(damaged, fmt="gtfs")


# ---- CSV and vector ----------------------------------------------------------------------------


def test_greenspace_geojson_as_parks() -> None:
    loaded = load_places(GREENSPACE, fmt="vector", kind="park", name_column="NAME", id_column="OBJECTID")
    gdf = loaded.data
    _check_schema(gdf)
    raw = gpd.read_file(GREENSPACE)
    assert len(gdf) == len(raw) == 107 and loaded.report.kept == 107
    assert set(gdf["kind"]) == {"park"}
    assert sorted(gdf["place_id"]) == sorted(raw["OBJECTID"].astype(str))
    assert sorted(gdf["name"]) == sorted(raw["NAME"])
    assert gdf.geometry.geom_type.value_counts().to_dict() == {"Polygon": 94, "MultiPolygon": 13}
    assert "Piedmont Park" in set(gdf["name"])


def test_csv_schools_synthetic_fixture() -> None:
    loaded = load_places(GOOD / "schools_synthetic.csv", fmt="csv", kind="school")
    gdf = loaded.data
    _check_schema(gdf)
    assert list(gdf["kind"]) == ["school"] * 4
    assert list(gdf["place_id"]) == ["school:2", "school:3", "school:4", "school:5"]  # kind:line
    assert gdf.iloc[0]["name"] == "Synthetic Downtown Elementary"  # school_name auto-detected
    assert gdf.geometry.iloc[0].equals_exact(shapely.Point(-84.38810, 33.74905), 1e-9)


def test_semicolon_csv_with_decimal_commas_as_a_spreadsheet_writes_it() -> None:
    comma = load_places(GOOD / "schools_synthetic.csv", fmt="csv", kind="school")
    semicolon = load_places(GOOD / "schools_semicolon_synthetic.csv", fmt="csv", kind="school")
    _check_schema(semicolon.data)
    assert not semicolon.report.dropped  # "33,74905" and "33.74820" both read
    cols = ["place_id", "kind", "name", "line"]
    pd.testing.assert_frame_equal(semicolon.data[cols], comma.data[cols])
    for a, b in zip(semicolon.data.geometry, comma.data.geometry, strict=True):
        assert a.equals_exact(b, 1e-12)


def test_csv_kind_column_open_set_and_ids_across_kinds() -> None:
    loaded = load_places(GOOD / "places_mixed_synthetic.csv", fmt="csv")
    gdf, report = loaded.data, loaded.report
    assert dict(zip(gdf["place_id"], gdf["kind"], strict=True)) == {
        "library:L-1": "library",
        "park:P-1": "park",  # "Park" lower-cased
        "park:S-1": "park",
        "recreation_center:R-1": "recreation_center",  # an open set of kinds
        "school:S-1": "school",
    }
    assert report.dropped == {"`kind` (kind) is empty or not [a-z_]+": 1}
    assert report.examples["`kind` (kind) is empty or not [a-z_]+"] == [6]
    assert "place ids repeat across kinds; every id was prefixed with its kind" in report.notes


def test_loading_twice_is_identical_and_logs_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="passages.places"):
        a = load_places(MARTA, fmt="gtfs").data
    lines = [r.getMessage() for r in caplog.records if r.name == "passages.places"]
    assert len(lines) == 1 and "969 of 987 read" in lines[0] and "transit/rail 20" in lines[0]
    b = load_places(MARTA, fmt="gtfs").data
    assert a.equals(b)


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options", "error", "message"),
    [
        ("does_not_exist.csv", {"fmt": "csv", "kind": "school"}, InputFileNotFoundError, "not found"),
        ("empty.csv", {"fmt": "csv", "kind": "transit"}, InputError, "the file is empty"),
        (
            "binary_junk.csv",
            {"fmt": "csv", "kind": "school"},
            InputError,
            "not a text CSV file (binary content)",
        ),
        ("header_only.csv", {"fmt": "csv", "kind": "transit"}, InputError, "but no data rows"),
        (
            "missing_lat_column.csv",
            {"fmt": "csv", "kind": "transit"},
            InputError,
            "no latitude column (looked for lat, latitude, y, stop_lat); "
            "columns found: stop_id, stop_code, stop_name, stop_lon; set lat_column=",
        ),
        (
            "gtfs_missing_stop_lat.txt",
            {"fmt": "gtfs"},
            InputError,
            "no latitude column (looked for stop_lat); columns found: stop_id, stop_code, stop_name, "
            "stop_lon",
        ),
        ("no_prj.shp", {"fmt": "vector", "kind": "park"}, CRSError, "needs its .prj"),
        ("empty_name.csv", {"fmt": "csv", "kind": "transit", "name_column": "nope"}, InputError, "'nope'"),
        ("bom_prefixed.csv", {"fmt": "table"}, InputError, "unknown fmt 'table'"),
        ("bom_prefixed.csv", {"fmt": "csv", "kind": "Bus Stop"}, InputError, "'Bus Stop'"),
        ("bom_prefixed.csv", {"fmt": "gtfs", "kind": "park"}, InputError, "GTFS stops are kind 'transit'"),
    ],
)
def test_bad_input_raises_one_clear_error(
    name: str, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        load_places(BAD_PLACES / name, **options)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "options", "kept_lines", "dropped", "note"),
    [
        (
            "nan_coordinates.csv",
            {"fmt": "csv", "kind": "transit"},
            [2, 5],
            {"`stop_lat`/`stop_lon` missing or not a number": [3, 4, 6, 7]},
            None,
        ),
        (
            "out_of_range_coordinates.csv",
            {"fmt": "csv", "kind": "transit"},
            [2, 6],
            {
                "`stop_lat`/`stop_lon` out of range (lat -90..90, lon -180..180)": [3, 4],
                "`stop_lat`/`stop_lon` is 0 (a missing-value marker, not a place)": [5],
            },
            None,
        ),
        (  # record 2 spans lines 3-4, so the empty names are on lines 6 and 7
            "empty_name.csv",
            {"fmt": "csv", "kind": "transit"},
            [2, 3, 5, 8],
            {"`stop_name` (name) is empty": [6, 7]},
            None,
        ),
        (
            "empty_geometry.geojson",
            {"fmt": "vector", "kind": "park"},
            [1, 4],
            {"empty or missing geometry": [2, 3]},
            None,
        ),
        (
            "self_intersecting.geojson",
            {"fmt": "vector", "kind": "park"},
            [1, 2, 3, 4],
            {},
            "1 invalid geometries repaired with shapely.make_valid (feature 2)",
        ),
        ("no_crs_member.geojson", {"fmt": "vector", "kind": "park"}, [1, 2, 3, 4], {}, None),
        (
            "projected_utm16n.geojson",
            {"fmt": "vector", "kind": "park"},
            [1, 2, 3, 4],
            {},
            "reprojected from WGS 84 / UTM zone 16N to EPSG:4326",
        ),
        (
            "cp1252_encoded.csv",
            {"fmt": "csv", "kind": "transit"},
            [2, 3, 4, 5],
            {},
            "cp1252_encoded.csv is not UTF-8; read it as Windows-1252 (cp1252)",
        ),
        ("bom_prefixed.csv", {"fmt": "csv", "kind": "transit"}, [2, 3, 4, 5], {}, None),
        (
            "duplicate_ids.csv",
            {"fmt": "csv", "kind": "transit"},
            [2, 3, 4, 5],
            {"exact copy of an earlier row": [6]},
            "1 repeated place ids made unique by adding #2, #3, …",
        ),
    ],
)
def test_bad_rows_are_skipped_with_line_numbers_or_repaired(
    name: str, options: dict[str, Any], kept_lines: list[int], dropped: dict[str, list[int]], note: str | None
) -> None:
    loaded = load_places(BAD_PLACES / name, **options)
    _check_schema(loaded.data)
    assert sorted(loaded.data["line"]) == kept_lines
    assert dict(loaded.report.dropped) == {k: len(v) for k, v in dropped.items()}
    assert loaded.report.examples == dropped
    if note is not None:
        assert note in loaded.report.notes
    assert loaded.report.kept + loaded.report.dropped_total == loaded.report.rows_read


def test_bad_files_details() -> None:
    multi = load_places(BAD_PLACES / "empty_name.csv", fmt="csv", kind="transit").data.set_index("line")
    assert multi.loc[3, "name"] == "JOSEPH E LOWERY BLVD @PARSONS ST SW"  # newline in quotes -> space
    cp = load_places(BAD_PLACES / "cp1252_encoded.csv", fmt="csv", kind="transit").data.set_index("line")
    assert cp.loc[2, "name"].endswith("– CAFÉ JOE’S")
    bom = load_places(BAD_PLACES / "bom_prefixed.csv", fmt="csv", kind="transit").data
    assert list(bom["place_id"]) == ["100004", "100006", "100008", "100010"]  # `stop_id` found despite BOM
    dup = load_places(BAD_PLACES / "duplicate_ids.csv", fmt="csv", kind="transit").data.set_index("place_id")
    assert dup.loc["100006#2", "name"] == "JOSEPH E LOWERY BLVD@ASHBY GRV SW"
    bow = load_places(BAD_PLACES / "self_intersecting.geojson", fmt="vector", kind="park").data
    repaired = bow.set_index("line").loc[2].geometry
    assert repaired.geom_type == "MultiPolygon" and repaired.is_valid and repaired.area > 0
    plain = load_places(BAD_PLACES / "no_crs_member.geojson", fmt="vector", kind="park").data
    utm = load_places(BAD_PLACES / "projected_utm16n.geojson", fmt="vector", kind="park").data
    assert plain.crs.to_epsg() == utm.crs.to_epsg() == 4326
    for a, b in zip(plain.geometry, utm.geometry, strict=True):
        assert a.equals_exact(b, 1e-7)


def test_inputs_are_unchanged_after_loading() -> None:
    files = [HELSINKI, MARTA, GREENSPACE, LA_RAIL, *sorted(BAD_PLACES.iterdir()), *sorted(GOOD.iterdir())]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    load_places(HELSINKI, fmt="osm")
    load_places(MARTA, fmt="gtfs")
    load_places(GREENSPACE, fmt="vector", kind="park")
    load_places(LA_RAIL, fmt="gtfs")
    load_places(BAD_PLACES / "self_intersecting.geojson", fmt="vector", kind="park")
    load_places(BAD_PLACES / "duplicate_ids.csv", fmt="csv", kind="transit")
    load_origins(GOOD / "origins_synthetic.csv", fmt="csv", weight_column="households")
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files} == before


# ---- snapping --------------------------------------------------------------------------------


def test_marta_rail_stations_snap_or_are_reported(streets: Streets) -> None:
    rail = load_places(MARTA, fmt="gtfs", include=("rail",)).data
    snapped = snap_places(rail, streets)
    x, y = streets.from_lonlat(rail.geometry.x, rail.geometry.y)
    # independent check: brute-force distance to every network node
    nearest = np.hypot(x[:, None] - streets.x[None, :], y[:, None] - streets.y[None, :]).min(axis=1)
    reachable = nearest <= 250.0
    got = snapped.data.set_index("place_id")
    assert set(got.index) == set(rail.loc[reachable, "place_id"])
    np.testing.assert_allclose(
        got.loc[rail.loc[reachable, "place_id"], "snap_m"], nearest[reachable], atol=1e-6
    )
    downtown = {
        "FIVE POINTS STATION",
        "PEACHTREE CENTER STATION",
        "GARNETT STATION",
        "GEORGIA STATE STATION",
        "VINE CITY STATION",
        "ASHBY STATION",
        "INMAN PARK-REYNOLDSTOWN STATION",
        "DOME-GWCC-PHILIPS ARENA-CNN STATION",
    }
    assert downtown <= set(got["name"])
    assert (got["snap_m"] < 60).all()
    # the bundled network stops near 33.765 N: Midtown / North Ave / Civic Center / Bankhead are out
    report = snapped.report
    far = rail.loc[~reachable]
    out_of_area = {"CIVIC CENTER STATION", "NORTH AVENUE STATION", "NORTH AVE STATION", "BANKHEAD STATION"}
    assert set(far["name"]) == out_of_area | {"MIDTOWN STATION"}
    assert report.dropped == {"farther than 250 m from the walk network": len(far)}
    assert report.examples["farther than 250 m from the walk network"] == sorted(far["line"])
    node_xy = np.column_stack([streets.x[got["node"]], streets.y[got["node"]]])
    np.testing.assert_allclose(np.hypot(*(node_xy - got[["x", "y"]].to_numpy()).T), got["snap_m"], atol=1e-6)


def test_a_place_2_km_outside_is_reported_not_moved(streets: Streets) -> None:
    west, south, east, _ = streets.bounds_lonlat()
    schools = load_places(GOOD / "schools_synthetic.csv", fmt="csv", kind="school").data
    far_lat = south - 2000 / 111_000  # 2 km south of the network's southern edge
    outside = gpd.GeoDataFrame(
        {"place_id": ["school:99"], "kind": ["school"], "subkind": [""], "name": ["Synthetic Far School"]},
        geometry=[shapely.Point((west + east) / 2, far_lat)],
        crs=4326,
    ).assign(line=99)
    both = gpd.GeoDataFrame(pd.concat([schools, outside], ignore_index=True), crs=4326)
    snapped = snap_places(both, streets)
    assert list(snapped.data["place_id"]) == list(schools["place_id"])
    assert snapped.report.examples == {"farther than 250 m from the walk network": [99]}
    assert (snapped.data["snap_m"] < 100).all()
    kept = snapped.data.set_index("place_id")
    for pid, geom in zip(schools["place_id"], schools.geometry, strict=True):
        assert kept.loc[pid].geometry.equals(geom)  # the place is never moved, only linked to a node


def test_parks_snap_to_a_node_inside_or_nearest_the_boundary(streets: Streets) -> None:
    parks = load_places(GREENSPACE, fmt="vector", kind="park", id_column="OBJECTID").data
    snapped = snap_places(parks, streets)
    got = snapped.data.set_index("place_id")
    # Freedom Park (OBJECTID 215) crosses the network's east edge and has paths inside: 0 m
    freedom = got.loc["215"]
    assert freedom["name"] == "Freedom Park" and freedom["snap_m"] == 0.0
    poly_utm = gpd.GeoSeries([freedom.geometry], crs=4326).to_crs(streets.crs)[0]
    assert poly_utm.intersects(shapely.Point(streets.x[freedom["node"]], streets.y[freedom["node"]]))
    # Piedmont Park (55) lies north of the bundled network (it stops near 33.777 N): reported, not moved
    assert parks.set_index("place_id").loc["55", "name"] == "Piedmont Park"
    assert "55" not in got.index
    far = snapped.report.examples["farther than 250 m from the walk network"]
    assert 6 in far  # Piedmont Park is feature 6
    assert snapped.report.dropped["farther than 250 m from the walk network"] == len(parks) - len(got)
    # every snapped park's distance is the true polygon-to-network minimum
    polys = snapped.data.to_crs(streets.crs).geometry.to_numpy()
    pts = shapely.points(streets.x, streets.y)
    true_min = np.array([shapely.distance(p, pts).min() for p in polys])
    np.testing.assert_allclose(snapped.data["snap_m"], true_min, atol=1e-6)
    assert (snapped.data["snap_m"] == 0).sum() >= 10


def test_polygon_snap_picks_the_inside_node_nearest_the_boundary() -> None:
    # a 3×3 grid, 100 m apart; the square covers nodes 4 (centre, 50 m from its edge) and 5 (10 m)
    xs, ys = np.meshgrid([0.0, 100.0, 200.0], [0.0, 100.0, 200.0])
    edges = [(0, 1), (1, 2), (3, 4), (4, 5), (6, 7), (7, 8), (0, 3), (3, 6), (1, 4), (4, 7), (2, 5), (5, 8)]
    grid = streets_from_arrays(x=xs.ravel().tolist(), y=ys.ravel().tolist(), edges=edges)
    square = shapely.box(50, 50, 210, 150)
    beside = shapely.box(320, 0, 340, 40)  # 120 m east of node 2 (200, 0)
    gdf = gpd.GeoDataFrame(
        {"place_id": ["a", "b", "c"], "line": [1, 2, 3]},
        geometry=[square, beside, shapely.Point(190, 190)],
        crs=grid.crs,
    )
    out = snap_places(gdf, grid).data.set_index("place_id")
    assert out.loc["a", "node"] == 5 and out.loc["a", "snap_m"] == 0.0
    assert out.loc["b", "node"] == 2 and out.loc["b", "snap_m"] == pytest.approx(120.0)
    assert (out.loc["b", "x"], out.loc["b", "y"]) == (320.0, 0.0)  # the access point on the park's edge
    assert out.loc["c", "node"] == 8 and out.loc["c", "snap_m"] == pytest.approx(np.hypot(10, 10))
    two = snap_places(gdf.iloc[[2, 2]].assign(place_id=["c1", "c2"]), grid).data
    assert list(two["node"]) == [8, 8]  # several places on one node are all kept
    with pytest.raises(InputError, match="none of the 1 places"):
        snap_places(gdf.iloc[[1]], grid, max_snap_m=50)
