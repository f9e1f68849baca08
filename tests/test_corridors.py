"""Risk-weighted routing, foot traffic, corridors: a hand-built ladder and the real Atlanta sample."""

from __future__ import annotations

import itertools
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from passages._errors import CRSError, InputError
from passages.config import load_scenario
from passages.corridors import (
    Corridor,
    Router,
    RoutingParams,
    WindowCorridors,
    compare_route,
    plan_corridors,
    usable_edges,
)
from passages.corridors import _corridors as corridors_of
from passages.network import Streets, graph_from_streets, load_network, streets_from_arrays
from passages.plan import plan
from tests.conftest import DATA

SAMPLE = DATA / "central-atlanta-filtered.osm.pbf"
#: MARTA rail stations (stop_id) in the sample area: Five Points, Georgia State (two entrances),
#: King Memorial, Inman Park-Reynoldstown, Ashby, Peachtree Center, Garnett, Dome-GWCC, Vine City
RAIL = (908976, 908618, 210709, 908436, 908437, 908963, 908601, 908600, 908694, 908958)


# ---- a hand-built synthetic ladder ----------------------------------------------------
#
#            5 ---- Park St ---- 6 ---- Park St ---- 7        y = 60
#            |                                       |
#  0 -Main- 1 -Main (hot)- 2 -Main (hot)- 3 -Main- 4         y = 0     (x = 0, 200, …, 800)
#         First Ave                                Third Ave
#
# Main St 0→4 is 800 m; the way round by Park St is 920 m (a 15 % detour) and has no risk.

MAIN, HOT, ROUND = {0, 1, 2, 3}, {1, 2}, {0, 4, 5, 6, 7, 3}


def synthetic_ladder(*, park: str = "Park St") -> Streets:
    """The hand-built ladder above; edges 0-3 Main St, 4 First Ave, 5-6 Park St, 7 Third Ave."""
    return streets_from_arrays(
        x=[0, 200, 400, 600, 800, 200, 400, 600],
        y=[0, 0, 0, 0, 0, 60, 60, 60],
        edges=[(0, 1), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7), (3, 7)],
        names=["Main St", "Main St", "Main St", "Main St", "First Ave", park, park, "Third Ave"],
    )


def hot_block(streets: Streets, level: float = 1.0) -> np.ndarray:
    risk = np.zeros(streets.n_edges)
    risk[sorted(HOT)] = level
    return risk


def one_destination(node: int, place_id: str = "school") -> pd.DataFrame:
    return pd.DataFrame(
        {"place_id": [place_id], "kind": ["school"], "name": ["Ladder School"], "node": [node]}
    )


def plan_ladder(risk: np.ndarray, **params: Any) -> WindowCorridors:
    streets = synthetic_ladder()
    return plan_corridors(streets, risk, one_destination(4), ([0], [1.0]), RoutingParams(**params))


def test_recommended_route_avoids_the_hot_block_when_the_detour_is_allowed() -> None:
    streets = synthetic_ladder()
    result = plan_ladder(hot_block(streets), max_detour=0.25)
    dest = result.destinations[0]
    assert set(dest.edges.tolist()) == ROUND
    np.testing.assert_allclose(dest.traffic, 1.0)
    assert dest.lambda_counts[8.0] == 1 and dest.origins_served == 1
    assert dest.exposure_shortest == pytest.approx(400.0)
    assert dest.exposure_recommended == 0.0 and dest.reduction_pct == pytest.approx(100.0)
    assert dest.median_detour == pytest.approx(0.15)


@pytest.mark.parametrize("max_detour", [0.0, 0.1])
def test_shortest_route_is_kept_when_the_detour_breaks_the_cap(max_detour: float) -> None:
    streets = synthetic_ladder()
    dest = plan_ladder(hot_block(streets), max_detour=max_detour).destinations[0]
    assert set(dest.edges.tolist()) == MAIN
    assert dest.lambda_counts == {0.0: 1, 0.5: 0, 1.0: 0, 2.0: 0, 4.0: 0, 8.0: 0}
    assert dest.reduction_pct == 0.0 and dest.median_detour == 0.0


def test_sweep_rows_follow_lambda_and_mark_the_pareto_front() -> None:
    # risk 0.1 on the hot block: Main St costs 800 + 40·λ, Park St 920 → the way round wins from λ = 4
    streets = synthetic_ladder()
    rows = {r.label: r for r in plan_ladder(hot_block(streets, 0.1), max_detour=0.1).sweep}
    assert [rows[f"λ={lam:g}"].length_m for lam in (0, 0.5, 1, 2, 4, 8)] == pytest.approx(
        [800] * 4 + [920] * 2
    )
    assert [rows[f"λ={lam:g}"].exposure for lam in (0, 2, 4)] == pytest.approx([40, 40, 0])
    assert rows["λ=4"].over_cap_share == 1.0 and rows["λ=2"].over_cap_share == 0.0
    assert rows["recommended"].length_m == pytest.approx(800) and rows["recommended"].over_cap_share == 0.0
    assert all(r.pareto for r in rows.values())  # (800 m, 40) and (920 m, 0): neither beats the other
    rows = {r.label: r for r in plan_ladder(hot_block(streets, 0.1), max_detour=0.25).sweep}
    assert rows["recommended"].exposure == 0.0 and rows["recommended"].median_detour == pytest.approx(0.15)
    table = plan_ladder(hot_block(streets, 0.1)).sweep_table()
    assert list(table["label"]) == ["λ=0", "λ=0.5", "λ=1", "λ=2", "λ=4", "λ=8", "recommended"]


def test_zero_risk_gives_the_shortest_routes_and_no_reduction() -> None:
    streets = synthetic_ladder()
    origins = ([0, 1, 2, 3, 6, 7], [1.0] * 6)  # node 5 has two equally short ways
    result = plan_corridors(streets, np.zeros(streets.n_edges), one_destination(4), origins, RoutingParams())
    dest = result.destinations[0]
    assert dest.reduction_pct == 0.0 and dest.median_detour == 0.0 and dest.p90_detour == 0.0
    assert dest.lambda_counts[0.0] == dest.origins_served == 6
    assert dest.exposure_recommended == dest.exposure_shortest == 0.0
    assert dest.length_recommended_m == dest.length_shortest_m
    # the shortest ways: Main St, and from 6 and 7 down Third Ave
    assert set(dest.edges.tolist()) == MAIN | {6, 7}
    assert dest.traffic[dest.edges.tolist().index(3)] == pytest.approx(6.0)  # everyone's last block
    rows = result.sweep
    assert len({(r.length_m, r.exposure) for r in rows}) == 1 and all(r.pareto for r in rows)


def test_traffic_is_conserved_at_the_destination_and_doubles_with_a_second_destination() -> None:
    streets = synthetic_ladder()
    weights = np.arange(1.0, 9.0)
    origins = (np.arange(8), weights)
    one = plan_corridors(streets, hot_block(streets), one_destination(4), origins, RoutingParams())
    dest = one.destinations[0]
    at_node = streets.node_edges(4)
    flow = dict(zip(dest.edges.tolist(), dest.traffic.tolist(), strict=True))
    assert sum(flow.get(e, 0.0) for e in at_node.tolist()) == pytest.approx(dest.weight_served)
    assert dest.weight_served == pytest.approx(weights.sum() - weights[4])  # the origin at 4 walks 0 m
    two = pd.concat([one_destination(4, "a"), one_destination(4, "b")], ignore_index=True)
    both = plan_corridors(streets, hot_block(streets), two, origins, RoutingParams())
    np.testing.assert_allclose(both.traffic, 2 * one.traffic)
    assert [d.place_id for d in both.destinations] == ["a", "b"]


def test_closed_street_is_honoured_by_any_part_of_a_joined_name() -> None:
    streets = synthetic_ladder(park="Park St; Ellis St")
    params = RoutingParams(closed_streets=("ELLIS ST",), max_detour=0.5)
    assert usable_edges(streets, params).tolist() == [True] * 5 + [False] * 2 + [True]
    dest = plan_corridors(streets, hot_block(streets), one_destination(4), ([0], [1.0]), params).destinations[
        0
    ]
    assert set(dest.edges.tolist()) == MAIN and dest.status == "ok"
    by_id = RoutingParams(closed_streets=(5,), max_detour=0.5)
    assert not usable_edges(streets, by_id)[5] and usable_edges(streets, by_id).sum() == 7


def test_closed_street_typo_and_unknown_id_raise_with_what_is_accepted() -> None:
    streets = synthetic_ladder()
    with pytest.raises(InputError, match=r"'Prak St' matches no street name; did you mean 'Park St'"):
        usable_edges(streets, RoutingParams(closed_streets=("Prak St",)))
    with pytest.raises(InputError, match="closed street id 99 is not an edge index"):
        usable_edges(streets, RoutingParams(closed_streets=(99,)))


def test_avoid_area_is_honoured_and_a_cut_off_destination_is_unreachable() -> None:
    streets = synthetic_ladder()
    middle = shapely.box(390, 50, 410, 70)  # around node 6 on Park St
    params = RoutingParams(avoid_areas=(middle,), max_detour=0.5)
    dest = plan_corridors(streets, hot_block(streets), one_destination(4), ([0], [1.0]), params).destinations[
        0
    ]
    assert set(dest.edges.tolist()) == MAIN
    assert not any(streets.geometry[e].intersects(middle) for e in dest.edges.tolist())
    around_4 = RoutingParams(avoid_areas=(shapely.Point(800, 0).buffer(50),))
    dest = plan_corridors(streets, hot_block(streets), one_destination(4), None, around_4).destinations[0]
    assert dest.status == "unreachable: cut off by avoid areas"
    assert dest.origins_served == 0 and dest.origins_in_zone == 7 and dest.edges.size == 0
    assert np.isnan(dest.median_detour) and dest.reduction_pct == 0.0
    both = RoutingParams(avoid_areas=(shapely.Point(800, 0).buffer(50),), closed_streets=("Park St",))
    dest = plan_corridors(streets, hot_block(streets), one_destination(4), None, both).destinations[0]
    assert dest.status == "unreachable: cut off by avoid areas"
    with pytest.raises(CRSError, match="looks like"):  # degrees, not metres
        usable_edges(streets, RoutingParams(avoid_areas=(shapely.box(-84.4, 33.7, -84.3, 33.8),)))


def test_far_or_isolated_destinations_are_reported_not_crashed() -> None:
    streets = streets_from_arrays(x=[0, 300, 600, 5000], y=[0, 0, 0, 0], edges=[(0, 1), (1, 2)])
    dests = pd.DataFrame({"place_id": ["a", "b"], "kind": "park", "name": ["A", "B"], "node": [0, 3]})
    result = plan_corridors(streets, np.zeros(2), dests, None, RoutingParams(walk_zone_m=100))
    assert [d.status for d in result.destinations] == [
        "unreachable: no origins within 100 m",
        "unreachable: isolated node (no streets)",
    ]
    assert result.corridors == () and not result.traffic.any()
    assert result.destination_table()["origins_served"].tolist() == [0, 0]


# ---- corridors along streets ----------------------------------------------------------
#
#                     (0,300)
#                        |  Peachtree St (4 × 150 m, traffic 10; one edge "Peachtree St; Route 9")
#  (-300,10)-(-150,10)   (0,150)
#   |  sidewalk  |       |      \  diagonal footway (212 m, traffic 2): touches both streets
#  (-300,0)--(-150,0)--(0,0)--(150,0)--(300,0) ..gap.. (450,0)--(600,0)     Edgewood Ave
#                        |                    (traffic 5; the gap edge carries none; east piece 4)
#                     (0,-150)
#                        |
#                     (0,-300)--(50,-300) Auburn Ave: a 50 m crumb (traffic 3)
#
#  and far off, an unnamed 120 m footway (traffic 1) touching no street.

CROSSING_NODES = [
    (0, -300), (0, -150), (0, 0), (0, 150), (0, 300),  # 0-4 Peachtree
    (-300, 0), (-150, 0), (150, 0), (300, 0),  # 5-8 Edgewood (with 2)
    (-300, 10), (-150, 10),  # 9-10 sidewalk
    (450, 0), (600, 0),  # 11-12 Edgewood east
    (50, -300),  # 13 Auburn
    (2000, 2000), (2120, 2000),  # 14-15 a lone footway
]  # fmt: skip
CROSSING_EDGES = [  # (u, v, name, traffic)
    (0, 1, "Peachtree St", 10.0), (1, 2, "Peachtree St", 10.0),
    (2, 3, "Peachtree St; Route 9", 10.0), (3, 4, "Peachtree St", 10.0),  # 0-3
    (5, 6, "Edgewood Ave", 5.0), (6, 2, "Edgewood Ave", 5.0),
    (2, 7, "EDGEWOOD AVE", 5.0), (7, 8, "Edgewood Ave", 5.0),  # 4-7
    (6, 10, "", 2.0), (10, 9, "", 2.0), (9, 5, "", 2.0),  # 8-10 the sidewalk
    (3, 7, "", 2.0),  # 11 the diagonal
    (8, 11, "Edgewood Ave", 0.0), (11, 12, "Edgewood Ave", 4.0),  # 12-13
    (0, 13, "Auburn Ave", 3.0),  # 14 the crumb
    (14, 15, "", 1.0),  # 15 the lone footway
]  # fmt: skip


def crossing_corridors(**params: Any) -> tuple[Corridor, ...]:
    x, y = zip(*CROSSING_NODES, strict=True)
    u, v, names, traffic = zip(*CROSSING_EDGES, strict=True)
    streets = streets_from_arrays(x=x, y=y, edges=list(zip(u, v, strict=True)), names=names)
    every_positive = RoutingParams(corridor_percentile=0.0, corridor_min_share=0.0, **params)
    return corridors_of(streets, np.zeros(streets.n_edges), np.array(traffic), every_positive)


def test_corridors_run_along_named_streets_with_their_sidewalks() -> None:
    found = crossing_corridors()
    assert [(c.corridor_id, c.streets) for c in found] == [
        ("C01", ("Peachtree St", "Route 9")),  # the joined name groups by its first part
        ("C02", ("Edgewood Ave",)),  # shown as mostly written, grouped case-folded
        ("C03", ("Edgewood Ave",)),  # the east piece, not connected along Edgewood
        ("C04", ()),  # unnamed paths touching no street
    ]
    peachtree, edgewood, east, lone = found
    # the diagonal touches both streets and goes with the busier; the sidewalk with its street
    assert peachtree.edges.tolist() == [0, 1, 2, 3, 11]
    assert edgewood.edges.tolist() == [4, 5, 6, 7, 8, 9, 10]
    assert east.edges.tolist() == [13] and lone.edges.tolist() == [15]
    assert peachtree.length_m == pytest.approx(600 + 150 * np.sqrt(2))
    assert peachtree.traffic_m == pytest.approx(6000 + 2 * 150 * np.sqrt(2))
    assert edgewood.length_m == pytest.approx(770) and edgewood.traffic_m == pytest.approx(3340)
    # the 50 m Auburn Ave crumb is no corridor; with no minimum length it is the smallest
    assert all(14 not in c.edges for c in found)
    every = crossing_corridors(corridor_min_length_m=0.0)
    assert [c.streets for c in every][-2:] == [("Auburn Ave",), ()]
    assert [c.corridor_id for c in every] == ["C01", "C02", "C03", "C04", "C05"]
    assert [c.edges.tolist() for c in every[:4]] == [c.edges.tolist() for c in found[:3]] + [[14]]
    # a minimum above the sidewalked Edgewood run leaves Peachtree only
    assert [c.streets[0] for c in crossing_corridors(corridor_min_length_m=800.0)] == ["Peachtree St"]


@pytest.mark.parametrize(
    ("field", "value", "accepted"),
    [
        ("walk_zone_m", 10.0, "50..20000"),
        ("walk_zone_m", 30000.0, "50..20000"),
        ("max_detour", -0.1, "0..2"),
        ("max_detour", 2.5, "0..2"),
        ("corridor_percentile", 120.0, "0..100"),
        ("corridor_min_length_m", -1.0, "0..5000"),
        ("corridor_min_length_m", 6000.0, "0..5000"),
        ("lambdas", (0.5, 1.0), "starting at 0"),
        ("lambdas", (0.0, 2.0, 1.0), "strictly increasing"),
        ("lambdas", (0.0, -1.0), "strictly increasing"),
        ("lambdas", (), "starting at 0"),
        ("lambdas", (0.0, float("inf")), "finite"),
        ("closed_streets", (1.5,), "not a street name"),
        ("avoid_areas", (shapely.Point(0, 0),), "Polygon"),
    ],
)
def test_invalid_params_raise_input_error_naming_value_and_range(
    field: str, value: Any, accepted: str
) -> None:
    with pytest.raises(InputError, match=accepted) as info:
        RoutingParams(**{field: value})
    assert field in str(info.value)


def test_bad_inputs_raise_input_error() -> None:
    streets = synthetic_ladder()
    risk, dest, params = hot_block(streets), one_destination(4), RoutingParams()
    with pytest.raises(InputError, match=r"risk has shape \(3,\)"):
        plan_corridors(streets, np.zeros(3), dest, None, params)
    with pytest.raises(InputError, match=r"risk of edge 0 is 1\.5"):
        plan_corridors(streets, risk + 1.5, dest, None, params)
    with pytest.raises(InputError, match=r"lack columns \['node'\]"):
        plan_corridors(streets, risk, dest.drop(columns="node"), None, params)
    with pytest.raises(InputError, match=r"node=99 is not a node index 0\.\.7"):
        plan_corridors(streets, risk, one_destination(99), None, params)
    with pytest.raises(InputError, match="weights must be finite"):
        plan_corridors(streets, risk, dest, ([0, 1], [1.0, -1.0]), params)
    with pytest.raises(InputError, match="source nodes"):
        Router(streets).trees([8], streets.length_m)
    with pytest.raises(InputError, match="edge costs must be > 0"):
        Router(streets).trees([0], np.zeros(streets.n_edges))


# ---- the real Atlanta sample ------------------------------------------------------------


@pytest.fixture(scope="module")
def streets() -> Streets:
    return Streets.from_graph(load_network(SAMPLE, cache=False).data)


@pytest.fixture(scope="module")
def stations(streets: Streets) -> pd.DataFrame:
    stops = pd.read_csv(DATA / "marta_stops_2015_central_atlanta.csv")
    stops = stops[stops["stop_id"].isin(RAIL)].sort_values("stop_id")
    x, y = streets.from_lonlat(stops["stop_lon"].to_numpy(), stops["stop_lat"].to_numpy())
    node, snap_m = streets.nearest_node(x, y)
    assert len(stops) == 10 and snap_m.max() < 60
    return pd.DataFrame(
        {
            "place_id": stops["stop_id"].astype(str),
            "kind": "transit",
            "name": stops["stop_name"],
            "node": node,
        }
    )


@pytest.fixture(scope="module")
def incident_risk(streets: Streets) -> np.ndarray:
    """A Gaussian (σ = 150 m) density of 400 real 2021 incidents at edge midpoints, scaled to 0..1."""
    incidents = pd.read_csv(
        DATA / "apd_cobra_2021_central_atlanta.csv", usecols=["offense_id", "lat", "long"]
    )
    incidents = incidents.dropna().sort_values("offense_id").iloc[:400]
    ix, iy = streets.from_lonlat(incidents["long"].to_numpy(), incidents["lat"].to_numpy())
    mid = shapely.line_interpolate_point(streets.geometry, 0.5, normalized=True)
    mx, my = shapely.get_x(mid), shapely.get_y(mid)
    density = np.zeros(streets.n_edges)
    for x, y in zip(ix, iy, strict=True):
        density += np.exp(-((mx - x) ** 2 + (my - y) ** 2) / (2 * 150.0**2))
    return np.asarray(density / density.max(), dtype=np.float64)


def _nx_weight(cost: np.ndarray) -> Any:
    return lambda u, v, d: min(cost[a["edge"]] for a in d.values())


def _simple_graph(streets: Streets, cost: np.ndarray) -> nx.Graph:
    """A plain networkx Graph keeping the cheapest of parallel edges (faster than a callable weight)."""
    G = nx.Graph()
    for e in np.argsort(-cost, kind="stable").tolist():  # the cheapest edge is written last
        G.add_edge(int(streets.u[e]), int(streets.v[e]), weight=float(cost[e]), edge=e)
    return G


def test_router_trees_equal_networkx(streets: Streets) -> None:
    rng = np.random.default_rng(7)
    risk = rng.random(streets.n_edges)
    cost = streets.length_m * (1 + 2.0 * risk)
    G = graph_from_streets(streets)
    sources = rng.choice(streets.n_nodes, 4, replace=False)
    dist, pred = Router(streets).trees(sources, cost)
    limited, _ = Router(streets).trees(sources, cost, limit=1500.0)
    for i, s in enumerate(sources.tolist()):
        expected = nx.single_source_dijkstra_path_length(G, s, weight=_nx_weight(cost))
        assert len(expected) == streets.n_nodes == np.isfinite(dist[i]).sum()
        got = dist[i, list(expected)]
        np.testing.assert_allclose(got, list(expected.values()), rtol=0, atol=1e-9)
        near = {k for k, v in expected.items() if v <= 1500.0}
        assert set(np.flatnonzero(np.isfinite(limited[i])).tolist()) == near
        assert pred[i, s] == -9999
    # an unusable edge is left out, as if removed from the graph
    usable = np.ones(streets.n_edges, dtype=bool)
    usable[rng.choice(streets.n_edges, 500, replace=False)] = False
    closed_dist, _ = Router(streets, usable).trees(sources[:1], cost)
    H = graph_from_streets(streets)
    H.remove_edges_from([(u, v, k) for u, v, k, e in H.edges(keys=True, data="edge") if not usable[e]])
    expected = nx.single_source_dijkstra_path_length(H, int(sources[0]), weight=_nx_weight(cost))
    np.testing.assert_allclose(closed_dist[0, list(expected)], list(expected.values()), rtol=0, atol=1e-9)
    assert np.isfinite(closed_dist[0]).sum() == len(expected)


def test_plan_matches_routes_recomputed_with_networkx(streets: Streets, stations: pd.DataFrame) -> None:
    """Each origin's route, re-derived per λ with networkx, gives the same λ counts and traffic."""
    rng = np.random.default_rng(11)
    risk = rng.random(streets.n_edges)
    origins = (rng.choice(streets.n_nodes, 600, replace=False), rng.uniform(0.5, 2.0, 600))
    params = RoutingParams(walk_zone_m=1200.0)
    dests = stations.iloc[:3]
    result = plan_corridors(streets, risk, dests, origins, params)
    costs = {lam: streets.length_m * (1 + lam * risk) for lam in params.lambdas}
    graphs = {lam: _simple_graph(streets, cost) for lam, cost in costs.items()}
    weight_of = dict(zip(origins[0].tolist(), origins[1].tolist(), strict=True))
    for dest in result.destinations:
        d = dest.node
        L0 = nx.single_source_dijkstra_path_length(graphs[0.0], d, cutoff=params.walk_zone_m)
        served = [o for o in weight_of if o in L0 and o != d]
        assert dest.origins_served == len(served)
        routes: dict[float, dict[int, list[int]]] = {}
        for lam in params.lambdas:
            paths = nx.single_source_dijkstra_path(graphs[lam], d, cutoff=(1 + lam) * params.walk_zone_m)
            G = graphs[lam]
            routes[lam] = {o: [G[a][b]["edge"] for a, b in itertools.pairwise(paths[o])] for o in served}
        flow: dict[int, float] = {}
        counts = dict.fromkeys(params.lambdas, 0)
        for o in served:
            short = routes[0.0][o]
            L, E = streets.length_m[short].sum(), (risk * streets.length_m)[short].sum()
            chosen = 0.0
            for lam in reversed(params.lambdas[1:]):
                edges = routes[lam][o]
                length, exposure = streets.length_m[edges].sum(), (risk * streets.length_m)[edges].sum()
                if length <= (1 + params.max_detour) * L * (1 + 1e-9) and exposure < E - 1e-9 * (1 + E):
                    chosen = lam
                    break
            counts[chosen] += 1
            assert streets.length_m[routes[chosen][o]].sum() <= (1 + params.max_detour) * L + 1e-6
            for e in routes[chosen][o]:
                flow[e] = flow.get(e, 0.0) + weight_of[o]
        assert dest.lambda_counts == counts
        assert sorted(flow) == dest.edges.tolist()
        np.testing.assert_allclose(dest.traffic, [flow[e] for e in dest.edges.tolist()], rtol=1e-12)
        at_node = set(streets.node_edges(d).tolist())
        into = sum(t for e, t in zip(dest.edges.tolist(), dest.traffic.tolist(), strict=True) if e in at_node)
        assert into == pytest.approx(dest.weight_served)
    assert sum(n for d in result.destinations for lam, n in d.lambda_counts.items() if lam > 0) > 100
    np.testing.assert_allclose(
        result.traffic,
        sum(np.bincount(d.edges, d.traffic, minlength=streets.n_edges) for d in result.destinations),
    )


def test_rail_stations_with_incident_risk(
    streets: Streets, stations: pd.DataFrame, incident_risk: np.ndarray
) -> None:
    params = RoutingParams()
    result = plan_corridors(streets, incident_risk, stations, None, params, window="weekday-am")
    assert result.window == "weekday-am" and len(result.destinations) == len(stations)
    reductions = []
    for dest in result.destinations:
        assert dest.status == "ok" and dest.origins_served > 100
        assert dest.exposure_recommended <= dest.exposure_shortest * (1 + 1e-12)
        assert 0.0 <= dest.median_detour <= dest.p90_detour <= params.max_detour + 1e-9
        assert dest.length_recommended_m >= dest.length_shortest_m
        assert sum(dest.lambda_counts.values()) == dest.origins_served
        reductions.append(dest.reduction_pct)
    assert max(reductions) > 5.0  # the sample's hot spots are worth walking around
    rows = {r.label: r for r in result.sweep}
    assert rows["recommended"].over_cap_share == 0.0 and rows["λ=8"].over_cap_share > 0.0
    assert rows["recommended"].exposure < rows["λ=0"].exposure and rows["λ=0"].pareto
    exposures = np.array([rows[f"λ={lam:g}"].exposure for lam in params.lambdas])
    assert (np.diff(exposures) <= 1e-9 * exposures[0]).all()  # more weight on risk, less exposure
    # corridors: busiest first, connected, above the threshold, named
    # numbered busiest first, zero-padded to the count: runs along streets are many more than the
    # connected components of the old rule were, so the sample's ids have three digits (C001, …)
    width = max(2, len(str(len(result.corridors))))
    assert len(result.corridors) >= 100
    assert [c.corridor_id for c in result.corridors] == [
        f"C{i:0{width}d}" for i in range(1, len(result.corridors) + 1)
    ]
    traffic_m = [c.traffic_m for c in result.corridors]
    assert traffic_m == sorted(traffic_m, reverse=True)
    positive = result.traffic[result.traffic > 0]
    threshold = max(np.percentile(positive, 80), 0.02 * positive.max())
    for c in result.corridors:
        assert (result.traffic[c.edges] >= threshold).all()
        assert c.length_m == pytest.approx(streets.length_m[c.edges].sum())
        assert 0.0 <= c.risk_mean <= 1.0
        assert nx.is_connected(nx.Graph(list(zip(streets.u[c.edges], streets.v[c.edges], strict=True))))
        assert c.length_m >= params.corridor_min_length_m
        # a run along one street: every named edge carries the corridor's (first) name
        first = {str(n).split("; ")[0].casefold() for n in streets.name[c.edges].tolist()} - {""}
        assert first == ({c.streets[0].casefold()} if first else set())
    assert any(c.streets for c in result.corridors)
    table = result.destination_table()
    assert len(table) == len(stations) and "routes_lambda_8" in table.columns
    again = plan_corridors(streets, incident_risk, stations, None, params, window="weekday-am")
    np.testing.assert_array_equal(again.traffic, result.traffic)


def test_closures_on_the_real_network(
    streets: Streets, stations: pd.DataFrame, incident_risk: np.ndarray
) -> None:
    five_points = stations[stations["place_id"] == "908976"]
    node = int(five_points["node"].iloc[0])
    centre = shapely.Point(streets.x[node], streets.y[node])
    # a ring 300-400 m out: the origins outside it are cut off from the station
    area = shapely.Polygon(centre.buffer(400).exterior.coords, [centre.buffer(300).exterior.coords])
    params = RoutingParams(
        closed_streets=("Edgewood Avenue Northeast",), avoid_areas=(shapely.box(*area.bounds),)
    )
    usable = usable_edges(streets, params)
    assert not usable[streets.name == "Edgewood Avenue Northeast"].any()
    result = plan_corridors(streets, incident_risk, stations, None, params)
    for dest in result.destinations:
        for e in dest.edges.tolist():
            assert usable[e]
            assert streets.name[e] != "Edgewood Avenue Northeast"
    cut = next(d for d in result.destinations if d.place_id == "908976")
    assert cut.status == "unreachable: cut off by avoid areas" and cut.origins_in_zone > 100
    open_ring = RoutingParams(avoid_areas=(area,))
    ring = plan_corridors(streets, incident_risk, five_points, None, open_ring).destinations[0]
    assert 0 < ring.origins_served < ring.origins_in_zone
    assert not any(streets.geometry[e].intersects(area) for e in ring.edges.tolist())


def test_compare_route_matches_the_plan(
    streets: Streets, stations: pd.DataFrame, incident_risk: np.ndarray
) -> None:
    params = RoutingParams()
    dests = stations.iloc[:2]
    result = plan_corridors(streets, incident_risk, dests, None, params)
    for dest in result.destinations:
        used = set(dest.edges.tolist())
        dist, _ = Router(streets).trees([dest.node], streets.length_m, limit=params.walk_zone_m)
        for origin in np.flatnonzero(np.isfinite(dist[0]))[::251].tolist():
            if origin == dest.node:
                continue
            route = compare_route(streets, incident_risk, origin, dest.node, params)
            assert set(route.recommended.edges.tolist()) <= used
            assert route.recommended.exposure <= route.shortest.exposure
            assert route.detour <= params.max_detour + 1e-9
            assert route.recommended.nodes[0] == origin and route.recommended.nodes[-1] == dest.node
            names = route.recommended.streets
            assert all(a != b for a, b in itertools.pairwise(names))


#: what the engine gave before it moved to passages.routing and was vectorised over whole λ passes
#: (commit 97e6d704), for the rail stations with the 400-incident risk and default parameters
BEFORE_LAMBDA_COUNTS = [
    [899, 0, 0, 58, 16, 2337],
    [598, 0, 6, 28, 101, 2369],
    [611, 0, 0, 0, 0, 221],
    [419, 0, 0, 0, 74, 1983],
    [632, 0, 0, 17, 49, 1833],
    [1176, 0, 0, 44, 62, 1966],
    [807, 0, 49, 141, 28, 1841],
    [1030, 0, 0, 0, 10, 1113],
    [572, 0, 0, 0, 0, 793],
    [1019, 0, 4, 186, 120, 1850],
]
BEFORE_EXPOSURES = {  # sweep exposure per row (λ = 0 … 8, recommended): unit and seeded weights
    "unit": [4011933.7529705027, 3798873.108885943, 3702257.8665362014, 3570269.748993014,
             3385937.4752765065, 3322521.152359547, 3444154.759847245],
    "weighted": [5034931.397978697, 4765902.319725391, 4645723.671415068, 4478584.982545401,
                 4245782.172049158, 4166156.7503520777, 4318392.221770704],
}  # fmt: skip
BEFORE_TRAFFIC = {"unit": (690837.0, 26140900.032767512), "weighted": (861935.3251114348, 32635632.537935495)}


@pytest.mark.parametrize("weights", ["unit", "weighted"])
def test_rail_station_plan_is_the_plan_of_the_engine_before_the_split(
    streets: Streets, stations: pd.DataFrame, incident_risk: np.ndarray, weights: str
) -> None:
    w = np.random.default_rng(5).uniform(0.5, 2.0, streets.n_nodes)
    origins = None if weights == "unit" else (np.arange(streets.n_nodes), w)
    result = plan_corridors(streets, incident_risk, stations, origins, RoutingParams())
    assert [list(d.lambda_counts.values()) for d in result.destinations] == BEFORE_LAMBDA_COUNTS
    assert [r.exposure for r in result.sweep] == pytest.approx(BEFORE_EXPOSURES[weights], rel=1e-12)
    total, walker_m = BEFORE_TRAFFIC[weights]
    assert result.traffic.sum() == pytest.approx(total, rel=1e-12)
    assert result.traffic @ streets.length_m == pytest.approx(walker_m, rel=1e-12)


def test_sample_corridors_are_streets_not_downtown() -> None:
    """The sample's morning corridors: street-long runs named after their street, not one blob.

    Under the old rule (a connected component of the busiest edges) C01 was one 85 km blob
    covering downtown.
    """
    sample = plan(load_scenario(DATA / "atlanta.toml"))
    morning = next(w for w in sample.windows if w.window.name == "morning")
    found = morning.corridors.corridors
    assert len(found) > 20
    assert max(c.length_m for c in found) < 10_000
    assert all(c.streets for c in found[:10])  # the busiest corridors carry street names
    assert len({c.streets[0] for c in found[:10]}) >= 8  # and are different streets
    assert "Edgewood Avenue Northeast" in [c.streets[0] for c in found[:5]]
    assert sum(c.length_m for c in found[:5]) < 20_000
