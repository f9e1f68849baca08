"""Origins: weighted CSV / vector origins, street-frontage defaults, thinning, and bad input."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from passages._errors import InputError
from passages.network import Streets, load_network
from passages.origins import load_origins, origin_nodes
from tests.conftest import DATA

GOOD = Path(__file__).resolve().parent / "data" / "places"


@pytest.fixture(scope="module")
def streets() -> Streets:
    return Streets.from_graph(load_network(DATA / "central-atlanta-filtered.osm.pbf", cache=False).data)


def test_default_origins_weigh_street_frontage(streets: Streets) -> None:
    nodes, weights = origin_nodes(None, streets)
    assert list(nodes) == list(range(streets.n_nodes))
    assert weights.sum() == pytest.approx(streets.length_m.sum() / 1000.0)
    a_node = int(streets.u[0])
    touching = (streets.u == a_node) | (streets.v == a_node)
    assert weights[a_node] == pytest.approx(streets.length_m[touching].sum() / 2000.0)


def test_thinning_keeps_the_weight_and_one_node_per_cell(streets: Streets) -> None:
    nodes, weights = origin_nodes(None, streets)
    thin_nodes, thin_weights = origin_nodes(None, streets, spacing_m=200.0)
    assert len(thin_nodes) < len(nodes) / 5
    assert thin_weights.sum() == pytest.approx(weights.sum())
    assert list(thin_nodes) == sorted(thin_nodes)
    cells = np.floor(np.column_stack([streets.x[thin_nodes], streets.y[thin_nodes]]) / 200.0)
    assert len(np.unique(cells, axis=0)) == len(thin_nodes)
    zone = thin_nodes[:10]
    z_nodes, _ = origin_nodes(None, streets, zone_nodes=zone)
    assert list(z_nodes) == sorted(zone)


def test_origins_from_csv_and_polygons(streets: Streets) -> None:
    loaded = load_origins(GOOD / "origins_synthetic.csv", fmt="csv", weight_column="households")
    assert list(loaded.data["line"]) == [2, 3, 6, 7]
    assert loaded.report.examples == {
        "`households` (weight) is missing or not a number": [4],
        "`households` (weight) is negative": [5],
    }
    nodes, weights = origin_nodes(loaded.data, streets)
    # line 7 (33.90 N) is far outside the network: left out; the other three keep their weight
    assert weights.sum() == pytest.approx(120 + 45.5 + 80)
    assert list(nodes) == sorted(nodes)
    # a housing polygon shares its weight among the nodes inside it
    block = shapely.box(
        streets.x.mean() - 150, streets.y.mean() - 150, streets.x.mean() + 150, streets.y.mean() + 150
    )
    inside = np.flatnonzero(shapely.intersects(block, shapely.points(streets.x, streets.y)))
    assert len(inside) >= 2
    tiny = shapely.Point(streets.x[0] + 30, streets.y[0]).buffer(1.0)
    distance_to_tiny = shapely.distance(tiny, shapely.points(streets.x, streets.y))
    assert distance_to_tiny.min() > 0  # no node inside: its weight goes to the nearest node
    expected = dict.fromkeys(inside.tolist(), 300.0 / len(inside))
    nearest = int(np.argmin(distance_to_tiny))
    expected[nearest] = expected.get(nearest, 0.0) + 7.0
    housing = gpd.GeoDataFrame({"weight": [300.0, 7.0]}, geometry=[block, tiny], crs=streets.crs)
    h_nodes, h_weights = origin_nodes(housing, streets)
    assert dict(zip(h_nodes.tolist(), h_weights.tolist(), strict=True)) == pytest.approx(expected)


def test_origin_errors(streets: Streets) -> None:
    with pytest.raises(InputError, match="spacing_m"):
        origin_nodes(None, streets, spacing_m=-1)
    with pytest.raises(InputError, match="unknown fmt"):
        load_origins(GOOD / "origins_synthetic.csv", fmt="gtfs")
    with pytest.raises(InputError, match="'pop'"):
        load_origins(GOOD / "origins_synthetic.csv", fmt="csv", weight_column="pop")


def test_decimal_comma_weights_in_a_semicolon_file(tmp_path: Path) -> None:
    """Weights are read like the coordinates beside them: "45,5" in a ;-delimited file is 45.5."""
    f = tmp_path / "eu.csv"
    f.write_text("lat;lon;weight\n33,749;-84,388;45,5\n33,75;-84,39;12\n", encoding="utf-8")
    loaded = load_origins(f, fmt="csv")
    assert list(loaded.data["weight"]) == [45.5, 12.0]
    assert not loaded.report.dropped
