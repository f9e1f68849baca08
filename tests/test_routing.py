"""The routing engine: cheapest parallel edges, local searches, forests of trees, several windows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from passages import routing
from passages._errors import InputError
from passages.corridors import RoutingParams, plan_corridors, plan_corridors_windows
from passages.network import Streets, streets_from_arrays
from passages.routing import Router


def jittered_grid(side: int = 50, *, seed: int = 3) -> Streets:
    """A street-like grid: 80 m blocks, ±10 m jitter, 10 % of the links dropped, some diagonals."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = gx.ravel() * 80.0 + rng.uniform(-10, 10, side * side)
    y = gy.ravel() * 80.0 + rng.uniform(-10, 10, side * side)
    idx = np.arange(side * side).reshape(side, side)
    links = np.vstack(
        [
            np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),
            np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
        ]
    )
    links = links[rng.random(len(links)) >= 0.1]
    cells = np.column_stack([idx[:-1, :-1].ravel(), idx[1:, 1:].ravel()])
    links = np.vstack([links, cells[rng.random(len(cells)) < 0.05]])
    return streets_from_arrays(x=x.tolist(), y=y.tolist(), edges=[(int(a), int(b)) for a, b in links])


@pytest.fixture(scope="module")
def grid() -> Streets:
    return jittered_grid()


def grid_risk(streets: Streets) -> np.ndarray:
    """Two hot spots, risk falling off with distance from them."""
    mx, my = (
        (streets.x[streets.u] + streets.x[streets.v]) / 2,
        (streets.y[streets.u] + streets.y[streets.v]) / 2,
    )
    hot = np.exp(-((mx - 1500) ** 2 + (my - 2000) ** 2) / 2e5) + np.exp(
        -((mx - 2600) ** 2 + (my - 900) ** 2) / 1e5
    )
    return np.asarray(hot / hot.max(), dtype=np.float64)


def as_whole(nodes: np.ndarray, dist: np.ndarray, pred: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense (k, n) dist and pred (node numbers) from a block's columns."""
    full_dist = np.full((len(dist), n), np.inf)
    full_pred = np.full((len(dist), n), -9999)
    full_dist[:, nodes] = dist
    full_pred[:, nodes] = np.where(pred >= 0, nodes[np.maximum(pred, 0)], -9999)
    return full_dist, full_pred


def test_local_searches_give_the_trees_of_whole_network_searches(
    grid: Streets, monkeypatch: pytest.MonkeyPatch
) -> None:
    cost = grid.length_m * (1 + 4.0 * grid_risk(grid))
    sources = np.array([0, 77, 1234, 2499, 1300, 640])
    limits = np.array([300.0, 500.0, 800.0, 800.0, 1500.0, 2500.0])
    router = Router(grid)
    monkeypatch.setattr(routing, "LOCAL_SHARE", 1.0)  # every search that can be local is local
    local = list(router.blocks(sources, cost, limits, rows=2))
    assert any(len(nodes) < grid.n_nodes for _, nodes, _, _ in local)
    whole = list(router.blocks(sources, cost, limits, rows=2, local=False))
    for (lo, nodes, dist, pred), (lo_w, nodes_w, dist_w, pred_w) in zip(local, whole, strict=True):
        assert lo == lo_w and len(nodes_w) == grid.n_nodes
        got_dist, got_pred = as_whole(nodes, dist, pred, grid.n_nodes)
        np.testing.assert_array_equal(got_dist, dist_w)
        np.testing.assert_array_equal(got_pred, pred_w)


def test_plans_are_identical_with_and_without_local_searches(
    grid: Streets, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(8)
    nodes = rng.choice(grid.n_nodes, 40, replace=False)
    dests = pd.DataFrame(
        {"place_id": [f"p{i}" for i in range(40)], "kind": "park", "name": "", "node": nodes}
    )
    origins = (np.arange(grid.n_nodes), rng.uniform(0.2, 3.0, grid.n_nodes))
    params = RoutingParams(walk_zone_m=600.0)
    results = {}
    for share in (0.0, 1.0):  # never local; local wherever a search's cells are not the whole grid
        monkeypatch.setattr(routing, "LOCAL_SHARE", share)
        results[share] = plan_corridors(grid, grid_risk(grid), dests, origins, params)
    whole, local = results[0.0], results[1.0]
    np.testing.assert_array_equal(whole.traffic, local.traffic)
    pd.testing.assert_frame_equal(whole.destination_table(), local.destination_table())
    pd.testing.assert_frame_equal(whole.sweep_table(), local.sweep_table())
    assert sum(d.lambda_counts[8.0] for d in whole.destinations) > 0


def test_the_cheapest_of_parallel_edges_is_kept_as_streets_csr_does() -> None:
    # edges 0, 1, 2 join nodes 0 and 1; 3 joins 1 and 2; 4 joins 0 and 2
    streets = streets_from_arrays(
        x=[0, 100, 200], y=[0, 0, 50], edges=[(0, 1), (0, 1), (1, 0), (1, 2), (0, 2)]
    )
    cost = np.array([5.0, 3.0, 3.0, 2.0, 9.0])
    usable = np.array([True, True, True, True, False])
    router = Router(streets, usable)
    csr = router._graph(cost).csr
    expected = streets.csr(np.where(usable, cost, np.inf))
    np.testing.assert_array_equal(csr.toarray(), expected.toarray())
    assert csr.indices.dtype == np.int32  # csgraph would copy int64 indices on every call
    assert router.edges_between([0, 1, 1, 0], [1, 0, 2, 2], cost).tolist() == [1, 1, 3, -1]  # a tie: lowest
    cost[1] = 4.0
    assert router.edges_between([0], [1], cost).tolist() == [2]


def test_forest_sums_on_a_hand_checked_path() -> None:
    # 0 - 1 - 2 - 3 in a row, 100 m apart; trees from node 3 and from node 0
    streets = streets_from_arrays(x=[0, 100, 200, 300], y=[0, 0, 0, 0], edges=[(0, 1), (1, 2), (2, 3)])
    values = np.array([1.0, 10.0, 100.0])

    def targets(lo: int, nodes: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.array([0, 0, 1]), np.array([0, 1, 3])  # tree 0: nodes 0 and 1; tree 1: node 3

    forest, found = Router(streets).forest(
        np.array([3, 0]), streets.length_m, np.array([1000.0, 1000.0]), targets
    )
    np.testing.assert_array_equal(forest.path_sums(values)[found], [111.0, 110.0, 111.0])
    sums = forest.path_sums(np.column_stack([streets.length_m, values]))[found]
    np.testing.assert_allclose(sums, [[300, 111], [200, 110], [300, 111]])
    tree, edge, flow = forest.subtree_sums(found, np.array([1.0, 2.0, 4.0]))
    got = sorted(zip(tree.tolist(), edge.tolist(), flow.tolist(), strict=True))
    assert got == [(0, 0, 1.0), (0, 1, 3.0), (0, 2, 3.0), (1, 0, 4.0), (1, 1, 4.0), (1, 2, 4.0)]
    assert forest.levels == ((0, 2, 4, 6, 8),)  # two roots, then one node per tree at each depth


def test_windows_share_the_shortest_trees_and_give_the_plans_of_single_windows(grid: Streets) -> None:
    rng = np.random.default_rng(4)
    dests = pd.DataFrame(
        {
            "place_id": [f"d{i}" for i in range(30)],
            "kind": ["school", "park", "transit"] * 10,
            "name": "",
            "node": rng.choice(grid.n_nodes, 30, replace=False),
        }
    )
    risk = grid_risk(grid)
    risks = {"am": risk, "pm": risk[::-1].copy(), "night": np.sqrt(risk)}
    served = {"am": dests, "pm": dests[dests["kind"] != "school"], "night": dests[dests["kind"] == "transit"]}
    params = RoutingParams(walk_zone_m=800.0, lambdas=(0.0, 1.0, 4.0))
    together = plan_corridors_windows(grid, risks, served, None, params)
    assert list(together) == ["am", "pm", "night"]
    for w, risk_w in risks.items():
        alone = plan_corridors(grid, risk_w, served[w], None, params, window=w)
        got: Any = together[w]
        assert got.window == w
        np.testing.assert_array_equal(got.traffic, alone.traffic)
        pd.testing.assert_frame_equal(got.destination_table(), alone.destination_table())
        pd.testing.assert_frame_equal(got.sweep_table(), alone.sweep_table())
        assert [c.edges.tolist() for c in got.corridors] == [c.edges.tolist() for c in alone.corridors]
    with pytest.raises(
        InputError, match=r"risks are given for windows \['am', 'pm'\], destinations for \['am'\]"
    ):
        plan_corridors_windows(grid, {"am": risk, "pm": risk}, {"am": dests}, None, params)
