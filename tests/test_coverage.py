"""Demand per edge and coverage: the eyeshot rule against networkx, restriction to a subset of
edges and candidates, and placing user-given posts ([lon, lat] or OSM ids) on the network."""

from __future__ import annotations

import networkx as nx
import numpy as np
import numpy.typing as npt
import pytest

from passages._errors import InputError
from passages.coverage import build_coverage, edge_demand, resolve_posts
from passages.network import Streets, graph_from_streets, streets_from_arrays


def two_star_clusters() -> tuple[Streets, npt.NDArray[np.float64]]:
    """Synthetic: two four-spoke stars 2 km apart joined by one long link.

    Spokes are 100 m, so with radius 150 m a star's centre (node 0, node 5) sees its four
    spokes and a spoke tip sees only its own spoke. Demand: 10 per spoke at star A, 5 at star B,
    none on the link; the 2-post optimum is {0, 5} covering 60.
    """
    x = [0, 0, 100, 0, -100, 2000, 2000, 2100, 2000, 1900]
    y = [0, 100, 0, -100, 0, 0, 100, 0, -100, 0]
    edges = [(0, 1), (0, 2), (0, 3), (0, 4), (5, 6), (5, 7), (5, 8), (5, 9), (2, 9)]
    names = ["A North", "A East", "A South", "A West", "B North", "B East", "B South", "B West", "Link Rd"]
    streets = streets_from_arrays(x=x, y=y, edges=edges, names=names)
    demand = np.array([10, 10, 10, 10, 5, 5, 5, 5, 0], dtype=float)
    return streets, demand


def jittered_grid(side: int, *, spacing_m: float = 60.0, seed: int = 0) -> Streets:
    """Synthetic: a jittered side×side grid with a few diagonals and one long avenue."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(side) * spacing_m, np.arange(side) * spacing_m)
    x = gx.ravel() + rng.uniform(-10, 10, gx.size)
    y = gy.ravel() + rng.uniform(-10, 10, gy.size)
    idx = np.arange(side * side).reshape(side, side)
    edges = [(int(a), int(b)) for a, b in zip(idx[:, :-1].ravel(), idx[:, 1:].ravel(), strict=True)]
    edges += [(int(a), int(b)) for a, b in zip(idx[:-1].ravel(), idx[1:].ravel(), strict=True)]
    edges += [(int(idx[i, i]), int(idx[i + 1, i + 1])) for i in range(0, side - 1, 2)]
    edges.append((int(idx[0, 0]), int(idx[side - 1, side - 1])))  # a long avenue (> radius)
    names = [f"Street {i % 7}" for i in range(len(edges))]
    return streets_from_arrays(x=x, y=y, edges=edges, names=names)


# ---- demand --------------------------------------------------------------------------


def test_edge_demand_weights_risk_with_a_floor() -> None:
    d = edge_demand([2.0, 2.0, 0.0], [0.0, 1.0, 1.0], [100.0, 100.0, 100.0])
    np.testing.assert_allclose(d, [2 * 100 * 0.05, 2 * 100 * 1.05, 0.0])


@pytest.mark.parametrize(
    ("traffic", "risk"), [([1.0, -1.0], [0.1, 0.1]), ([1.0, 1.0], [0.1, 1.5]), ([1.0], [0.1, 0.2])]
)
def test_edge_demand_rejects_bad_values(traffic: list[float], risk: list[float]) -> None:
    with pytest.raises(InputError, match="edge_demand"):
        edge_demand(traffic, risk, [10.0] * len(traffic))


# ---- coverage ------------------------------------------------------------------------


def test_coverage_matches_networkx_brute_force() -> None:
    streets = jittered_grid(7, seed=3)
    rng = np.random.default_rng(3)
    demand = rng.uniform(0, 1, streets.n_edges) * (rng.uniform(size=streets.n_edges) < 0.7)
    demand[-1] = 1.0  # the long avenue carries demand
    radius = 130.0
    cov = build_coverage(streets, demand, radius_m=radius)
    G = nx.Graph(graph_from_streets(streets).to_undirected())
    expected = np.zeros(cov.matrix.shape, dtype=bool)
    for i, c in enumerate(cov.candidates.tolist()):
        dist = nx.single_source_dijkstra_path_length(G, c, cutoff=radius, weight="length_m")
        for j, e in enumerate(cov.edges.tolist()):
            u, v, length = int(streets.u[e]), int(streets.v[e]), float(streets.length_m[e])
            whole = u in dist and v in dist and (dist[u] + dist[v] + length) / 2 <= radius
            expected[i, j] = whole or (length > radius and c in (u, v))
    assert cov.matrix.nnz > 0
    np.testing.assert_array_equal(cov.matrix.toarray(), expected)
    long_col = int(np.searchsorted(cov.edges, streets.n_edges - 1))
    assert set(cov.candidates[cov.matrix[:, [long_col]].toarray().ravel()]) == {
        int(streets.u[-1]),
        int(streets.v[-1]),
    }


def test_coverage_candidates_default_to_nodes_on_demand_edges() -> None:
    streets, demand = two_star_clusters()
    cov = build_coverage(streets, demand, radius_m=150.0)
    assert cov.candidates.tolist() == list(range(10))
    assert cov.edges.tolist() == list(range(8))
    centre_a = cov.matrix[[0]].indices.tolist()
    assert centre_a == [0, 1, 2, 3]
    assert cov.matrix[[1]].indices.tolist() == [0]


def test_restricted_coverage_equals_coverage_built_for_the_subset() -> None:
    streets = jittered_grid(7, seed=4)
    rng = np.random.default_rng(4)
    every = rng.uniform(0, 1, streets.n_edges) * (rng.uniform(size=streets.n_edges) < 0.8)
    some = every * (rng.uniform(size=streets.n_edges) < 0.5)
    full = build_coverage(streets, every, radius_m=130.0)
    own = build_coverage(streets, some, radius_m=130.0)
    sub = full.restrict(own.edges, own.candidates)
    assert sub.candidates.tolist() == own.candidates.tolist() and sub.edges.tolist() == own.edges.tolist()
    np.testing.assert_array_equal(sub.matrix.toarray(), own.matrix.toarray())
    missing = int(np.setdiff1d(full.edges, own.edges)[0])
    with pytest.raises(InputError, match=f"coverage holds no edge {missing} "):
        own.restrict(full.edges, own.candidates)
    with pytest.raises(InputError, match="coverage holds no candidate node"):
        own.restrict(own.edges, full.candidates)


# ---- placing posts -------------------------------------------------------------------


def test_resolve_posts_from_lonlat_and_osm_ids() -> None:
    streets, _ = two_star_clusters()
    lon, lat = streets.to_lonlat([2010.0, 0.0], [5.0, 95.0])
    got = resolve_posts(streets, [[float(lon[0]), float(lat[0])], 1, (float(lon[1]), float(lat[1]))])
    assert got.tolist() == [1, 5]
