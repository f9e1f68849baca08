"""Time passages.corridors.plan_corridors on the Atlanta sample against two baselines.

Destinations: all 987 MARTA stops of data/marta_stops_2015_central_atlanta.csv, snapped to their
nearest network node. Origins: every network node, weight 1. Risk: a deterministic Gaussian
density (σ = 150 m) of the first 2,000 incidents of data/apd_cobra_2021_central_atlanta.csv,
scaled to 0..1. One window, default RoutingParams (walk zone 1,600 m, six λ values).

Also timed: three windows (risks from three disjoint sets of 2,000 incidents) planned by
``plan_corridors_windows``, which searches the λ = 0 trees once for all windows, against three
``plan_corridors`` calls.

Baselines, on the same matrix:

* bare: one ``csgraph.dijkstra(csr, indices=dest_nodes, limit=walk_zone_m)`` call (λ = 0 only,
  no predecessors, no routes, no metrics);
* per pair: ``osmnx.routing.shortest_path(G, o, d, weight=...)`` timed on a seeded sample of
  origin–destination pairs within the walk zone, then **extrapolated** to every pair the plan
  routes — once per pair (one λ) and once per pair and λ (the work the plan does).

Times are the best of ``--repeat`` runs (wall clock, and process CPU time, which is less
sensitive to other work on a shared machine).

    .venv/bin/python benchmarks/bench_corridors.py              # 200 sampled pairs, best of 3
    .venv/bin/python benchmarks/bench_corridors.py --pairs 500 --repeat 5
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from passages.corridors import Router, RoutingParams, plan_corridors, plan_corridors_windows  # noqa: E402
from passages.network import Streets, graph_from_streets, load_network  # noqa: E402


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall-clock and CPU seconds of ``repeat`` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def incident_risk(streets: Streets, n: int = 2000, *, skip: int = 0) -> np.ndarray:
    """A Gaussian (σ = 150 m) density of incidents ``skip .. skip + n`` at edge midpoints, scaled to 0..1."""
    inc = pd.read_csv(ROOT / "data/apd_cobra_2021_central_atlanta.csv", usecols=["offense_id", "lat", "long"])
    inc = inc.dropna().sort_values("offense_id").iloc[skip : skip + n]
    ix, iy = streets.from_lonlat(inc["long"].to_numpy(), inc["lat"].to_numpy())
    mid = shapely.line_interpolate_point(streets.geometry, 0.5, normalized=True)
    mx, my = shapely.get_x(mid), shapely.get_y(mid)
    density = np.zeros(streets.n_edges)
    for x, y in zip(ix, iy, strict=True):
        density += np.exp(-((mx - x) ** 2 + (my - y) ** 2) / (2 * 150.0**2))
    return np.asarray(density / density.max(), dtype=np.float64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=200, help="origin–destination pairs timed with osmnx")
    ap.add_argument("--repeat", type=int, default=3, help="runs per timing; the best is kept")
    args = ap.parse_args()

    import osmnx as ox
    from scipy.sparse import csgraph

    t0 = time.perf_counter()
    streets = Streets.from_graph(load_network(ROOT / "data/central-atlanta-filtered.osm.pbf").data)
    stops = pd.read_csv(ROOT / "data/marta_stops_2015_central_atlanta.csv")
    x, y = streets.from_lonlat(stops["stop_lon"].to_numpy(), stops["stop_lat"].to_numpy())
    nodes, _ = streets.nearest_node(x, y)
    dests = pd.DataFrame(
        {
            "place_id": stops["stop_id"].astype(str),
            "kind": "transit",
            "name": stops["stop_name"],
            "node": nodes,
        }
    )
    risk = incident_risk(streets)
    params = RoutingParams()
    print(
        f"setup {time.perf_counter() - t0:.1f} s: {streets.n_nodes:,} nodes, {streets.n_edges:,} edges, "
        f"{len(dests):,} destinations on {len(np.unique(nodes)):,} nodes, λ = {params.lambdas}"
    )

    result = plan_corridors(streets, risk, dests, None, params)  # warm-up, and the pair count
    pairs = sum(d.origins_served for d in result.destinations)
    plan_wall, plan_cpu = best_of(lambda: plan_corridors(streets, risk, dests, None, params), args.repeat)
    two = RoutingParams(lambdas=(0.0, 2.0))
    two_wall, two_cpu = best_of(lambda: plan_corridors(streets, risk, dests, None, two), args.repeat)
    risks = {w: incident_risk(streets, skip=2000 * i) for i, w in enumerate(("am", "pm", "night"))}
    each_wall, each_cpu = best_of(
        lambda: [plan_corridors(streets, r, dests, None, params) for r in risks.values()], args.repeat
    )
    windows = dict.fromkeys(risks, dests)
    win_wall, win_cpu = best_of(
        lambda: plan_corridors_windows(streets, risks, windows, None, params), args.repeat
    )

    # the Dijkstra calls inside one plan: what any exact λ sweep must search
    spent = [0.0, 0.0]
    dijkstra = csgraph.dijkstra

    def timed(*a: object, **k: object) -> object:
        w0, c0 = time.perf_counter(), time.process_time()
        out = dijkstra(*a, **k)
        spent[0] += time.perf_counter() - w0
        spent[1] += time.process_time() - c0
        return out

    csgraph.dijkstra = timed
    try:
        plan_corridors(streets, risk, dests, None, params)
    finally:
        csgraph.dijkstra = dijkstra

    csr = streets.csr(streets.length_m)
    bare_wall, bare_cpu = best_of(
        lambda: csgraph.dijkstra(csr, directed=True, indices=nodes, limit=params.walk_zone_m), args.repeat
    )

    # per pair: a seeded sample of the pairs the plan routes (origin within the walk zone)
    rng = np.random.default_rng(0)
    dist, _ = Router(streets).trees(np.unique(nodes), streets.length_m, limit=params.walk_zone_m)
    uniq = np.unique(nodes)
    rows, cols = np.nonzero(np.isfinite(dist) & (dist > 0))
    pick = rng.choice(len(rows), size=min(args.pairs, len(rows)), replace=False)
    sample = [(int(cols[i]), int(uniq[rows[i]])) for i in pick]
    G = graph_from_streets(streets)
    cost = streets.length_m * (1 + params.lambdas[-1] * risk)
    for _, _, data in G.edges(data=True):
        data["cost"] = float(cost[data["edge"]])

    def per_pair() -> None:
        for o, d in sample:
            ox.routing.shortest_path(G, o, d, weight="cost")

    pair_wall, pair_cpu = best_of(per_pair, 1)
    per_call = pair_wall / len(sample)
    one_lambda = per_call * pairs
    all_lambdas = one_lambda * len(params.lambdas)

    rows_out = [
        ("plan_corridors (6 λ, routes, traffic, metrics)", plan_wall, plan_cpu, ""),
        ("  of which its bounded Dijkstra calls (one run)", spent[0], spent[1], ""),
        ("plan_corridors with λ = (0, 2)", two_wall, two_cpu, f"cpu {two_cpu / bare_cpu:.1f}× bare"),
        ("3 windows: plan_corridors × 3", each_wall, each_cpu, ""),
        (
            "3 windows: plan_corridors_windows",
            win_wall,
            win_cpu,
            f"cpu {win_cpu / each_cpu:.2f}× of 3 calls",
        ),
        (
            "bare csgraph.dijkstra, 987 sources, λ=0 only",
            bare_wall,
            bare_cpu,
            f"plan = {plan_wall / bare_wall:.1f}× (cpu {plan_cpu / bare_cpu:.1f}×)",
        ),
        (
            f"osmnx per pair, measured on {len(sample)} pairs",
            pair_wall,
            pair_cpu,
            f"{1000 * per_call:.2f} ms per pair",
        ),
        (
            f"osmnx per pair, EXTRAPOLATED to {pairs:,} pairs, 1 λ",
            one_lambda,
            float("nan"),
            f"plan is {one_lambda / plan_wall:,.0f}× faster",
        ),
        (
            f"osmnx per pair, EXTRAPOLATED to {pairs:,} pairs × {len(params.lambdas)} λ",
            all_lambdas,
            float("nan"),
            f"plan is {all_lambdas / plan_wall:,.0f}× faster",
        ),
    ]
    print(f"\n{'case':<58} {'wall s':>10} {'cpu s':>8}  note")
    for name, wall, cpu, note in rows_out:
        print(f"{name:<58} {wall:>10.3f} {cpu:>8.3f}  {note}")


if __name__ == "__main__":
    main()
