"""The Streets array view: matrices, nearest node / edge, cutting, names, pickling."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from passages import network
from passages._errors import CRSError
from passages.streets import Streets, graph_from_streets, streets_from_arrays
from tests.conftest import DATA

SAMPLE = DATA / "central-atlanta-filtered.osm.pbf"


@pytest.fixture(scope="module")
def streets(tmp_path_factory: pytest.TempPathFactory) -> Streets:
    # module fixtures run before conftest's cache isolation: name the session's cache folder
    return network.load_streets(SAMPLE, cache_dir=tmp_path_factory.getbasetemp() / "cache").data


def test_network_re_exports_the_array_view() -> None:
    assert network.Streets is Streets
    assert network.streets_from_arrays is streets_from_arrays
    assert network.graph_from_streets is graph_from_streets
    assert {"Streets", "streets_from_arrays", "graph_from_streets", "load_streets"} <= set(network.__all__)


def test_streets_module_does_not_import_the_loaders() -> None:
    code = "import sys, passages.streets; print('passages.network' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# ---- matrices ---------------------------------------------------------------------------


def test_streets_matrix_equals_networkx_dijkstra(streets: Streets) -> None:
    G = graph_from_streets(streets)
    rng = np.random.default_rng(7)
    for source in rng.choice(streets.n_nodes, 3, replace=False).tolist():
        ours = dijkstra(streets.csr(), indices=source)
        theirs = nx.single_source_dijkstra_path_length(G, source, weight="length_m")
        nodes = np.array(list(theirs))
        assert np.allclose(ours[nodes], [theirs[n] for n in nodes.tolist()], atol=1e-9, rtol=0)
        assert np.isfinite(ours).all(), "one connected piece"


def test_parallel_edges_collapse_to_the_cheapest() -> None:
    s = streets_from_arrays(x=[0, 100, 0], y=[0, 0, 100], edges=[(0, 1), (1, 2), (0, 2)])
    # make a second, longer edge 0-1 by hand
    doubled = Streets(
        crs=s.crs,
        node_id=s.node_id,
        x=s.x,
        y=s.y,
        u=np.append(s.u, 0).astype(np.int32),
        v=np.append(s.v, 1).astype(np.int32),
        length_m=np.append(s.length_m, 500.0),
        name=np.append(s.name, "long way"),
        highway=np.append(s.highway, "path"),
        geometry=np.append(s.geometry, shapely.linestrings([[(0, 0), (50, 200), (100, 0)]])),
    )
    assert doubled.csr()[0, 1] == pytest.approx(100.0)
    assert doubled.edge_of([0], [1]).tolist() == [0]
    cost = doubled.length_m.copy()
    cost[0] = np.inf  # close the short one: the long edge is now the only way
    assert doubled.csr(cost)[0, 1] == pytest.approx(500.0)
    assert doubled.edge_of([0], [1], cost).tolist() == [3]


def test_cut_gives_equal_pieces_on_the_edge_geometry() -> None:
    s = streets_from_arrays(x=[0.0, 100.0, 100.0], y=[0.0, 0.0, 30.0], edges=[(0, 1), (1, 2)])
    cut = s.cut(40.0)
    assert cut.count.tolist() == [3, 1]  # 100 m → 3 pieces of 33.3 m; 30 m stays whole
    np.testing.assert_allclose(cut.length_m, [100 / 3] * 3 + [30.0])
    # pieces of edge 0 run from u through the two cut points to v
    assert cut.a[:3].tolist() == [0, 3, 4] and cut.b[:3].tolist() == [3, 4, 1]
    np.testing.assert_allclose(cut.x[3:], [100 / 3, 200 / 3])
    assert cut.inner_edge.tolist() == [-1, -1, -1, 0, 0]
    assert s.cut(math.inf).count.tolist() == [1, 1]
    with pytest.raises(ValueError, match="segment_m=0"):
        s.cut(0.0)


# ---- nearest node and edge --------------------------------------------------------------


def test_nearest_edge_position_and_intersection_name(streets: Streets) -> None:
    e = int(np.argmax(streets.length_m))
    mid = streets.geometry[e].interpolate(0.25, normalized=True)
    edge, dist, t = streets.nearest_edge([mid.x], [mid.y])
    assert edge[0] == e and dist[0] < 1e-6 and t[0] == pytest.approx(0.25, abs=1e-6)
    names = [streets.intersection_name(n) for n in range(streets.n_nodes)]
    crossings = [n for n in names if " & " in n]
    assert len(crossings) > 500
    assert any("Peachtree" in n for n in crossings)


def test_nearest_edge_equals_brute_force_shapely_distance(streets: Streets) -> None:
    rng = np.random.default_rng(42)
    lo, hi = np.array([streets.x.min(), streets.y.min()]), np.array([streets.x.max(), streets.y.max()])
    xy = np.vstack(
        [
            rng.uniform(lo, hi, (400, 2)),  # anywhere in the network's box
            rng.uniform(lo - 2_000, lo, (50, 2)),  # outside it, up to 2 km off
            np.column_stack([streets.x, streets.y])[rng.choice(streets.n_nodes, 50)],  # on nodes: ties
        ]
    )
    pts = np.asarray(shapely.points(xy), dtype=object)
    every = shapely.distance(pts[:, None], streets.geometry[None, :])  # (500, m) brute force
    edge, dist, t = streets.nearest_edge(xy[:, 0], xy[:, 1])
    np.testing.assert_allclose(dist, every.min(axis=1), rtol=0, atol=1e-6)
    # the edge given is a nearest one (another may tie, e.g. at a node the two share) ...
    np.testing.assert_allclose(every[np.arange(len(xy)), edge], every.min(axis=1), rtol=0, atol=1e-6)
    assert (edge == every.argmin(axis=1)).mean() > 0.85
    # ... and t is the position of the nearest point along that edge
    located = shapely.line_locate_point(streets.geometry[edge], pts, normalized=True)
    np.testing.assert_allclose(t, located, rtol=0, atol=1e-6)


def test_nearest_edge_matches_strtree_query_nearest(streets: Streets) -> None:
    # the former implementation, shapely's STRtree, on many more points
    rng = np.random.default_rng(7)
    xy = rng.uniform([streets.x.min(), streets.y.min()], [streets.x.max(), streets.y.max()], (20_000, 2))
    edge, dist, t = streets.nearest_edge(xy[:, 0], xy[:, 1])
    pts = shapely.points(xy)
    (src, ref_edge), ref_dist = shapely.STRtree(streets.geometry).query_nearest(
        pts, return_distance=True, all_matches=False
    )
    assert src.tolist() == list(range(len(xy)))
    ref_t = shapely.line_locate_point(streets.geometry[ref_edge], pts, normalized=True)
    np.testing.assert_allclose(dist, ref_dist, rtol=0, atol=1e-6)
    same = edge == ref_edge
    assert same.mean() > 0.99  # the rest are ties: points nearest to a node shared by two edges
    np.testing.assert_allclose(t[same], ref_t[same], atol=1e-9)


def test_nearest_edge_limit_nan_and_repeated_points() -> None:
    s = streets_from_arrays(x=[0.0, 100.0, 100.0], y=[0.0, 0.0, 100.0], edges=[(0, 1), (1, 2)])
    x = [25.0, 130.0, np.nan, 25.0, 400.0, 90.0]
    y = [10.0, 50.0, 0.0, 10.0, 0.0, -5.0]
    edge, dist, t = s.nearest_edge(x, y, max_dist_m=100.0)
    assert edge.tolist() == [0, 1, -1, 0, -1, 0]
    np.testing.assert_allclose(dist, [10.0, 30.0, np.inf, 10.0, np.inf, 5.0])
    np.testing.assert_allclose(t, [0.25, 0.5, 0.0, 0.25, 0.0, 0.9])
    far = s.nearest_edge([400.0], [50.0])  # no limit: every finite point gets an edge
    assert far[0].tolist() == [1] and far[1][0] == pytest.approx(300.0) and far[2][0] == 0.5
    empty = s.nearest_edge([], [])
    assert [len(a) for a in empty] == [0, 0, 0]
    with pytest.raises(ValueError, match="2 x values but 1 y values"):
        s.nearest_edge([0.0, 1.0], [0.0])


def test_nearest_node_equals_brute_force(streets: Streets) -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform([streets.x.min(), streets.y.min()], [streets.x.max(), streets.y.max()], (200, 2))
    node, dist = streets.nearest_node(xy[:, 0], xy[:, 1])
    every = np.hypot(xy[:, :1] - streets.x[None, :], xy[:, 1:] - streets.y[None, :])
    np.testing.assert_allclose(dist, every.min(axis=1), rtol=0, atol=1e-9)
    np.testing.assert_allclose(every[np.arange(200), node], dist, rtol=0, atol=1e-9)


# ---- construction and pickling ----------------------------------------------------------


def test_streets_refuse_unprojected_graphs() -> None:
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_edge(1, 2, length_m=10.0)
    with pytest.raises(CRSError, match="geographic"):
        Streets.from_graph(G)


def test_pickle_keeps_every_array_and_drops_the_lookup_caches(streets: Streets) -> None:
    streets.nearest_edge([streets.x[0]], [streets.y[0]])  # fill a cache
    assert "snap_pieces" in streets._cache
    back = pickle.loads(pickle.dumps(streets, protocol=pickle.HIGHEST_PROTOCOL))
    assert back._cache == {}
    assert back.crs == streets.crs and back.crs.srs == streets.crs.srs
    for name in ("node_id", "x", "y", "u", "v", "length_m", "name", "highway", "osmid"):
        got, want = getattr(back, name), getattr(streets, name)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert back.geometry.dtype == object
    assert shapely.equals_exact(back.geometry, streets.geometry, tolerance=0).all()
    synthetic = streets_from_arrays(x=[0.0, 1.0], y=[0.0, 0.0], edges=[(0, 1)])
    assert pickle.loads(pickle.dumps(synthetic)).osmid is None
