"""Walk network loading: real OSM files, centerlines, GraphML, cache, online (mocked), bad input."""

from __future__ import annotations

import gc
import hashlib
import pickle
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import osmium
import pyproj
import pytest
import shapely

from passages import network
from passages._errors import CRSError, InputError, InputFileNotFoundError, NetworkError, PassagesError
from passages.network import Streets, load_network, load_streets
from tests.conftest import BAD, DATA, shared

SAMPLE = DATA / "central-atlanta-filtered.osm.pbf"


@pytest.fixture(scope="module")
def atlanta() -> nx.MultiDiGraph:
    return load_network(SAMPLE, cache=False).data


@pytest.fixture(scope="module")
def streets(atlanta: nx.MultiDiGraph) -> Streets:
    return Streets.from_graph(atlanta)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- the real sample --------------------------------------------------------------------


def test_sample_counts_match_provenance(atlanta: nx.MultiDiGraph) -> None:
    # PROVENANCE.md: after a walk filter, largest component ≈ 7,793 nodes / 22,452 edges
    assert 7_000 <= atlanta.number_of_nodes() <= 8_500
    assert 20_000 <= atlanta.number_of_edges() <= 25_000
    assert "UTM zone 16N" in str(pyproj.CRS(atlanta.graph["crs"]).name)
    assert nx.is_weakly_connected(atlanta)


def test_every_edge_is_walkable_measured_and_named(atlanta: nx.MultiDiGraph) -> None:
    highways = set()
    for u, v, d in atlanta.edges(data=True):
        assert d["length_m"] > 0
        assert isinstance(d["name"], str)
        highways.add(d["highway"])
        # geometry runs from u to v, in metres
        x0, y0 = d["geometry"].coords[0]
        assert abs(x0 - atlanta.nodes[u]["x"]) < 1e-6 and abs(y0 - atlanta.nodes[u]["y"]) < 1e-6
        assert atlanta.has_edge(v, u), "walking is two-way"
    assert not highways & network.EXCLUDED_HIGHWAYS
    assert {"footway", "residential", "steps"} <= highways
    named = [d["name"] for _, _, d in atlanta.edges(data=True) if d["name"]]
    assert "Peachtree Street Northeast" in named or any("Peachtree" in n for n in named)


def test_closed_ways_in_the_file_are_not_in_the_graph(atlanta: nx.MultiDiGraph) -> None:
    closed = set()
    for way in osmium.FileProcessor(str(SAMPLE), osmium.osm.WAY):
        if way.tags.get("foot") == "no" or way.tags.get("highway") == "motorway":
            closed.add(way.id)
    assert closed, "the sample has foot=no and motorway ways"
    used = {int(d["osmid"]) for _, _, d in atlanta.edges(data=True)}
    assert not closed & used


def test_report_counts_drops_by_reason() -> None:
    report = load_network(SAMPLE, cache=False).report
    assert report.rows_read == 5_806  # ways in the file, PROVENANCE.md
    assert report.dropped["highway=motorway is not walkable"] > 0
    assert report.dropped["foot=no"] > 0
    assert report.kept + report.dropped_total == report.rows_read
    assert any("smaller pieces" in n for n in report.notes)


def test_xml_and_pbf_give_the_same_graph(atlanta: nx.MultiDiGraph) -> None:
    G = load_network(shared("atlanta", "central-atlanta-filtered.osm.bz2"), cache=False).data
    assert G.number_of_nodes() == atlanta.number_of_nodes()
    assert G.number_of_edges() == atlanta.number_of_edges()
    assert set(G.nodes) == set(atlanta.nodes)


def test_helsinki_unfiltered_pbf_loads() -> None:
    loaded = load_network(shared("osm", "Helsinki.osm.pbf"), cache=False)
    assert loaded.data.number_of_nodes() > 1_000
    assert loaded.report.dropped["not a highway"] > 1_000  # buildings etc. are not walked
    assert "UTM zone 35N" in pyproj.CRS(loaded.data.graph["crs"]).name


def test_drop_classes_removes_those_ways(atlanta: nx.MultiDiGraph) -> None:
    G = load_network(SAMPLE, drop_classes=["service"], cache=False).data
    assert "service" not in {d["highway"] for _, _, d in G.edges(data=True)}
    assert G.number_of_edges() < atlanta.number_of_edges()


def test_loading_never_modifies_the_input() -> None:
    before = _sha(SAMPLE)
    load_network(SAMPLE, cache=False)
    assert _sha(SAMPLE) == before


# ---- cache ------------------------------------------------------------------------------


def _from_cache(caplog: pytest.LogCaptureFixture) -> bool:
    return any("loaded walk network from cache" in r.getMessage() for r in caplog.records)


def test_cache_is_reused_and_equal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="passages.network")
    first = load_network(SAMPLE, cache_dir=tmp_path)
    assert not _from_cache(caplog)
    assert len(list(tmp_path.iterdir())) == 1
    second = load_network(SAMPLE, cache_dir=tmp_path)
    assert _from_cache(caplog)
    assert nx.utils.graphs_equal(first.data, second.data)
    assert first.report.to_dict() == second.report.to_dict(), "a warm cache changes no report"


def test_cache_key_depends_on_options(tmp_path: Path) -> None:
    load_network(SAMPLE, cache_dir=tmp_path)
    load_network(SAMPLE, cache_dir=tmp_path, drop_classes=["service"])
    assert len(list(tmp_path.iterdir())) == 2


def test_damaged_cache_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    load_network(SAMPLE, cache_dir=tmp_path)
    (cache_file,) = tmp_path.iterdir()
    cache_file.write_bytes(b"not a cache")
    caplog.set_level("INFO", logger="passages.network")
    again = load_network(SAMPLE, cache_dir=tmp_path)
    assert not _from_cache(caplog)
    assert any("ignoring damaged network cache" in r.getMessage() for r in caplog.records)
    assert again.data.number_of_nodes() > 7_000


def _assert_same_streets(got: Streets, want: Streets) -> None:
    assert got.crs == want.crs
    for name in ("node_id", "x", "y", "u", "v", "length_m", "name", "highway", "osmid"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    assert shapely.equals_exact(got.geometry, want.geometry, tolerance=0).all()


def test_load_streets_equals_the_array_view_of_load_network(
    streets: Streets, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="passages.network")
    cold = load_streets(SAMPLE, cache_dir=tmp_path)
    assert not _from_cache(caplog)
    warm = load_streets(SAMPLE, cache_dir=tmp_path)
    assert _from_cache(caplog)
    assert gc.isenabled(), "reading the cache pauses the garbage collector only meanwhile"
    graph = load_network(SAMPLE, cache_dir=tmp_path)  # one cache file serves both
    assert len(list(tmp_path.iterdir())) == 1
    for got in (cold.data, warm.data, Streets.from_graph(graph.data)):
        _assert_same_streets(got, streets)
    assert cold.report.to_dict() == warm.report.to_dict() == graph.report.to_dict()
    uncached = load_streets(BAD_NET / "two_pieces.osm", cache=False)
    assert uncached.data.n_nodes == 3 and not any(tmp_path.glob("two_pieces*"))


def test_damaged_streets_part_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    small = BAD_NET / "two_pieces.osm"
    load_network(small, cache_dir=tmp_path)
    (cache_file,) = tmp_path.iterdir()
    payload = pickle.loads(cache_file.read_bytes())
    assert set(payload) == {"report", "graph", "streets"}
    payload["streets"] = b"not packed"
    cache_file.write_bytes(pickle.dumps(payload))
    caplog.set_level("INFO", logger="passages.network")
    again = load_streets(small, cache_dir=tmp_path)
    assert any("ignoring damaged network cache" in r.getMessage() for r in caplog.records)
    _assert_same_streets(again.data, load_streets(small, cache=False).data)
    caplog.clear()
    load_streets(small, cache_dir=tmp_path)  # the rebuilt cache is whole again
    assert _from_cache(caplog)


# ---- other sources ----------------------------------------------------------------------


def test_centerline_file_gives_an_equivalent_graph(streets: Streets, tmp_path: Path) -> None:
    lines = streets.edges_gdf().to_crs(4326)[["name", "highway", "geometry"]]
    path = tmp_path / "atlanta_centerlines.geojson"
    lines.to_file(path, driver="GeoJSON")
    G = load_network(path, cache=False).data
    other = Streets.from_graph(G)
    # OSM has a few distinct nodes at one spot; a centerline file cannot tell them apart
    distinct = len(np.unique(np.round(np.column_stack([streets.x, streets.y]), 3), axis=0))
    assert other.n_nodes == distinct
    assert streets.n_nodes - distinct <= 2
    assert other.n_edges == streets.n_edges
    # OSM lengths are great-circle; centerline lengths are measured in UTM: within 0.1 %
    assert other.length_m.sum() == pytest.approx(streets.length_m.sum(), rel=1e-3)
    assert sorted(set(other.name)) == sorted(set(streets.name))


def test_centerline_drop_classes_and_missing_class_column(streets: Streets, tmp_path: Path) -> None:
    lines = streets.edges_gdf().to_crs(4326).rename(columns={"highway": "fclass"})
    path = tmp_path / "centerlines.gpkg"
    lines[["name", "fclass", "geometry"]].to_file(path)
    kept = load_network(path, drop_classes=["footway"], class_column="fclass", cache=False)
    assert "footway" not in {d["highway"] for _, _, d in kept.data.edges(data=True)}
    assert kept.report.dropped["fclass=footway is not walkable"] > 0
    with pytest.raises(InputError, match=r"no column 'highway'.*columns found: name, fclass"):
        load_network(path, drop_classes=["footway"], cache=False)


def test_graphml_round_trip(atlanta: nx.MultiDiGraph, tmp_path: Path) -> None:
    import osmnx as ox

    path = tmp_path / "atlanta.graphml"
    ox.save_graphml(atlanta, path)
    G = load_network(path, cache=False).data
    assert G.number_of_nodes() == atlanta.number_of_nodes()
    assert G.number_of_edges() == atlanta.number_of_edges()


def test_online_place_is_used_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import osmnx as ox

    small = ox.graph_from_xml(shared("osm", "West-Oakland.osm.bz2"), bidirectional=True)
    calls: list[Any] = []

    def fake_place(place: str, **kwargs: Any) -> nx.MultiDiGraph:
        calls.append((place, kwargs))
        return small

    monkeypatch.setattr(ox, "graph_from_place", fake_place)
    loaded = network.load_network_online(place="West Oakland, California")
    assert calls == [
        ("West Oakland, California", {"network_type": "walk", "simplify": True, "retain_all": True})
    ]
    assert loaded.data.number_of_nodes() > 10
    assert pyproj.CRS(loaded.data.graph["crs"]).is_projected
    with pytest.raises(InputError, match="exactly one of place or bbox"):
        network.load_network_online()


# ---- bad input --------------------------------------------------------------------------

BAD_NET = BAD / "network"


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("does_not_exist.osm.pbf", InputFileNotFoundError, "network file not found"),
        ("wrong_kind.txt", InputError, "unknown kind '.txt'; accepted: .osm"),
        ("truncated.osm.pbf", InputError, "not a readable OSM file"),
        ("garbage.osm", InputError, "not a readable OSM file"),
        ("empty_no_ways.osm", NetworkError, "no walkable ways found"),
        ("only_motorway.osm", NetworkError, "no walkable ways found"),
        ("single_node_way.osm", NetworkError, "no walkable ways found"),
        ("points_not_lines.geojson", InputError, "need LineString features"),
        ("empty.geojson", NetworkError, "has no features"),
        ("no_crs_centerlines.shp", CRSError, "no coordinate reference system"),
        ("no_crs.graphml", CRSError, "no 'crs' attribute"),
    ],
)
def test_bad_network_files(name: str, error: type[PassagesError], message: str) -> None:
    path = BAD_NET / name
    before = _sha(path) if path.exists() else None
    with pytest.raises(error, match=message) as info:
        load_network(path, cache=False)
    assert str(path) in str(info.value) or name in str(info.value)
    assert "\n" not in str(info.value)
    if before is not None:
        assert _sha(path) == before


def test_disconnected_network_keeps_the_largest_piece_and_honours_access() -> None:
    loaded = load_network(BAD_NET / "two_pieces.osm", cache=False)
    G = loaded.data
    assert set(G.nodes) == {1, 3, 4}  # 2 sits mid-way on way 10 once 13 is gone
    ways = {int(d["osmid"]) for _, _, d in G.edges(data=True)}
    assert 13 not in ways  # access=private
    assert 14 in ways  # access=no but foot=yes
    assert 15 not in ways  # foot=no
    assert loaded.report.dropped == {"access=private": 1, "foot=no": 1}
    assert any("dropped 1 smaller pieces (2 nodes" in n for n in loaded.report.notes)
