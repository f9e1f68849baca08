"""Foot-traffic flows, corridors and route metrics: risk-weighted routing of whole walk zones.

With edge cost ``length_m × (1 + λ·risk)`` and a sweep ``0 = λ0 < λ1 < … < λk``, per destination
node (the engine is :mod:`passages.routing`, whose names are re-exported here):

1. the λ = 0 tree, bounded by the walk zone, gives the origins in reach and their shortest route
   length ``L0``; it does not depend on risk, so windows share it (:func:`plan_corridors_windows`),
   each summing its exposure ``E0`` (Σ risk × length_m along the route) on it;
2. each λ > 0 tree, bounded by the largest ``L0 + λ·E0`` among those origins (the λ cost of the
   shortest route, so every origin's cheapest route lies inside), gives each origin's route;
3. each origin takes the route of the largest λ that keeps the detour cap
   ``length ≤ (1 + max_detour)·L0`` and lowers the exposure (a detour with no gain is no
   recommendation), else the shortest route;
4. origin weights flow along the chosen routes: subtree sums give every edge's foot traffic.

Each step runs on all trees of one λ at once. Destinations snapped to one node share their
searches. Corridors are connected runs of the busiest edges.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from passages._errors import InputError
from passages.network import Streets
from passages.routing import (
    CHUNK_BYTES,
    CHUNK_ROWS,
    RTOL,
    Route,
    RouteComparison,
    Router,
    RoutingParams,
    accepted,
    avoided_edges,
    check_risk,
    closed_edges,
    compare_route,
    ranges,
    usable_edges,
)

__all__ = [
    "ROUTE_MIN_SHARE",
    "Corridor",
    "DestinationResult",
    "Route",
    "RouteComparison",
    "Router",
    "RoutingParams",
    "SweepRow",
    "WindowCorridors",
    "compare_route",
    "main_routes",
    "plan_corridors",
    "plan_corridors_windows",
    "usable_edges",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Origins = tuple[npt.ArrayLike, npt.ArrayLike]


# --------------------------------------------------------------------------------------
# results


@dataclass(frozen=True, eq=False)
class DestinationResult:
    """Routes to one destination in one window.

    Attributes
    ----------
    place_id, name, kind, node
        The destination and its network node.
    status
        ``"ok"``, or ``"unreachable: …"`` with the reason.
    origins_in_zone
        Origins within the walk zone on the whole network (an origin at the node itself needs
        no route and is not counted).
    origins_served, weight_served
        Of those, the origins routed on the usable network and their total weight.
    median_detour, p90_detour
        Of recommended length / shortest length − 1 over served origins (nan when none).
    length_recommended_m, length_shortest_m, exposure_recommended, exposure_shortest
        Σ weight × route length, and Σ weight × Σ risk·length_m along the route.
    reduction_pct
        Exposure reduction of the recommended routes, percent (0 when the shortest has none).
    lambda_counts
        Origins routed with each λ (0 = shortest route).
    edges, traffic
        The edges carrying recommended-route traffic (sorted) and the weight flowing on each.
    """

    place_id: str
    name: str
    kind: str
    node: int
    status: str
    origins_in_zone: int
    origins_served: int
    weight_served: float
    median_detour: float
    p90_detour: float
    length_recommended_m: float
    length_shortest_m: float
    exposure_recommended: float
    exposure_shortest: float
    reduction_pct: float
    lambda_counts: dict[float, int]
    edges: IntArray
    traffic: FloatArray


#: a destination's main routes: edges carrying at least this share of its busiest edge's walkers
ROUTE_MIN_SHARE = 0.02


def main_routes(result: DestinationResult) -> IntArray:
    """A destination's route edges carrying at least :data:`ROUTE_MIN_SHARE` of its busiest edge.

    Every street in the walk zone is on some route; the main approaches are what a map (or a
    GIS layer) can usefully show.
    """
    edges = np.asarray(result.edges, dtype=np.int64)
    flow = np.asarray(result.traffic, dtype=float)
    if flow.size == 0 or not np.isfinite(flow).any() or flow.max() <= 0:
        return np.zeros(0, dtype=np.int64)
    out: IntArray = edges[flow >= ROUTE_MIN_SHARE * flow.max()]
    return out


@dataclass(frozen=True, eq=False)
class Corridor:
    """A connected run of high-traffic edges.

    Attributes
    ----------
    corridor_id
        ``"C01"``, ``"C02"``, … by ``traffic_m``, busiest first.
    edges
        Edge indices, sorted.
    length_m, traffic_m
        Total length and Σ traffic × length_m (walker-metres).
    streets
        Street names, the longest share of the corridor first (unnamed paths left out).
    risk_mean
        Length-weighted mean risk.
    """

    corridor_id: str
    edges: IntArray
    length_m: float
    traffic_m: float
    streets: tuple[str, ...]
    risk_mean: float


@dataclass(frozen=True)
class SweepRow:
    """One row of the λ sweep, over every served origin–destination pair of the window.

    Attributes
    ----------
    label, lam
        ``"λ=2"`` and 2.0 for one λ applied to every pair (no fallback), or ``"recommended"``
        and None for the per-origin choice.
    length_m, exposure
        Σ weight × route length and Σ weight × route exposure.
    median_detour, p90_detour, over_cap_share
        Of route length / shortest length − 1 over pairs; the share of pairs over the cap.
    pareto
        No other row has both ≤ length and ≤ exposure (one of them <).
    """

    label: str
    lam: float | None
    length_m: float
    exposure: float
    median_detour: float
    p90_detour: float
    over_cap_share: float
    pareto: bool = False


@dataclass(frozen=True, eq=False)
class WindowCorridors:
    """Routes, foot traffic and corridors of one time window.

    Attributes
    ----------
    window
        The window's name.
    traffic
        (m,) expected walkers per edge, summed over destinations.
    destinations
        One result per destination, in input order.
    corridors
        Busiest first.
    sweep
        One row per λ, then the recommended mix.
    params
        The parameters used.
    """

    window: str
    traffic: FloatArray
    destinations: tuple[DestinationResult, ...]
    corridors: tuple[Corridor, ...]
    sweep: tuple[SweepRow, ...]
    params: RoutingParams

    def destination_table(self) -> pd.DataFrame:
        """Per-destination metrics, one row per destination (no edges, λ counts as columns)."""
        cols = [
            f
            for f in DestinationResult.__dataclass_fields__
            if f not in {"edges", "traffic", "lambda_counts"}
        ]
        rows = [[getattr(d, c) for c in cols] + list(d.lambda_counts.values()) for d in self.destinations]
        return pd.DataFrame(rows, columns=cols + [f"routes_lambda_{lam:g}" for lam in self.params.lambdas])

    def sweep_table(self) -> pd.DataFrame:
        """The λ sweep, one row per :class:`SweepRow`."""
        return pd.DataFrame([vars(r) for r in self.sweep], columns=list(SweepRow.__dataclass_fields__))


# --------------------------------------------------------------------------------------
# planning


def plan_corridors(
    streets: Streets,
    risk: npt.ArrayLike,
    destinations: pd.DataFrame,
    origins: Origins | None,
    params: RoutingParams,
    *,
    window: str = "",
) -> WindowCorridors:
    """Route every origin in the walk zone to every destination, sum the foot traffic, find corridors.

    Parameters
    ----------
    streets
        The network.
    risk
        (m,) edge risk in [0, 1].
    destinations
        A (Geo)DataFrame with columns ``place_id``, ``kind``, ``name``, ``node`` (node index).
    origins
        ``(nodes, weights)``; None = every node with weight 1. Repeated nodes are merged.
    params
        Routing parameters.
    window
        The window's name, carried into the result.
    """
    return plan_corridors_windows(streets, {window: risk}, {window: destinations}, origins, params)[window]


def plan_corridors_windows(
    streets: Streets,
    risks: Mapping[str, npt.ArrayLike],
    destinations: Mapping[str, pd.DataFrame],
    origins: Origins | None,
    params: RoutingParams,
) -> dict[str, WindowCorridors]:
    """:func:`plan_corridors` for several time windows, searching their shortest routes once.

    The λ = 0 trees do not depend on risk: they are searched once for the destination nodes of
    every window; each window adds its exposures and λ > 0 trees. Each result equals
    :func:`plan_corridors` for that window alone.

    Parameters
    ----------
    risks, destinations
        ``{window name: (m,) edge risk}`` and ``{window name: destinations}``, the same windows.
    streets, origins, params
        As for :func:`plan_corridors`.

    Returns
    -------
    dict
        ``{window name: WindowCorridors}`` in the order of ``risks``.
    """
    if set(risks) != set(destinations):
        raise InputError(
            f"routing: risks are given for windows {sorted(risks)}, destinations for {sorted(destinations)}"
        )
    checked = {
        w: (check_risk(streets, r), _destination_columns(streets, destinations[w])) for w, r in risks.items()
    }
    origins_ = _check_origins(streets, origins)
    closed, avoid = closed_edges(streets, params), avoided_edges(streets, params)
    nodes = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *(c[3] for _, c in checked.values())]))
    zone = _Zone(Router(streets, ~(closed | avoid)), origins_, nodes, params)
    in_zone = zone.counts
    if closed.any() or avoid.any():
        in_zone = _zone_counts(Router(streets), origins_, nodes, params)
    masks = (closed, avoid)
    return {w: _plan_window(zone, in_zone, r, c, masks=masks, window=w) for w, (r, c) in checked.items()}


def _plan_window(
    zone: _Zone,
    in_zone: IntArray,
    risk: FloatArray,
    columns: tuple[list[str], list[str], list[str], IntArray],
    *,
    masks: tuple[BoolArray, BoolArray],
    window: str,
) -> WindowCorridors:
    """One window's result; ``in_zone`` counts the origins of each zone node on the whole network."""
    streets, params = zone.router.streets, zone.params
    place_id, name, kind, dest_node = columns
    uniq, inverse = np.unique(dest_node, return_inverse=True)
    which = np.searchsorted(zone.dests, uniq)
    sweep = _Sweep(zone, which, risk)
    sweep.run()
    status = _statuses(sweep, in_zone[which], *masks)
    t_dest, t_edge, t_flow = (np.concatenate(t) for t in zip(*sweep.flows, strict=True))
    per_node = sparse.coo_array((t_flow, (t_dest, t_edge)), shape=(len(uniq), streets.n_edges)).tocsr()
    per_node.sum_duplicates()
    per_node.sort_indices()
    traffic = np.asarray(np.bincount(inverse, minlength=len(uniq)) @ per_node, dtype=np.float64).ravel()
    per_node_fields = []
    for u in range(len(uniq)):
        span = slice(per_node.indptr[u], per_node.indptr[u + 1])
        fields = {"node": int(uniq[u]), "status": status[u], "origins_in_zone": int(in_zone[which[u]])}
        fields |= {"edges": per_node.indices[span].astype(np.int64), "traffic": per_node.data[span]}
        per_node_fields.append(fields | sweep.metrics(u))
    results = tuple(
        DestinationResult(place_id=place_id[i], name=name[i], kind=kind[i], **per_node_fields[u])
        for i, u in enumerate(inverse.tolist())
    )
    corridors = _corridors(streets, risk, traffic, params)
    counts = (len(results), len(uniq), len(sweep.L0), len(corridors))
    logger.info("corridors %s: %d destinations (%d nodes), %d routes, %d corridors", window, *counts)
    return WindowCorridors(window, traffic, results, corridors, _pareto(sweep.rows), params)


def _wsum(w: FloatArray, x: FloatArray) -> float:
    """Σ w·x, summed pairwise by numpy: the same on every machine, unlike a multi-threaded BLAS dot."""
    return float(np.sum(w * x))


def _zone_pairs(
    nodes: IntArray, dist: FloatArray, o_pos: IntArray, roots: IntArray, zone_m: float
) -> tuple[IntArray, IntArray]:
    """(row, column) of each origin within ``zone_m`` of a tree's root and not at the root, row by row.

    ``nodes`` are the network nodes of the columns of ``dist``; ``o_pos`` the origin index of
    every network node (-1: not an origin).
    """
    cols = np.flatnonzero(o_pos[nodes] >= 0)
    d = dist if len(cols) == len(nodes) else dist[:, cols]
    rr, jj = np.nonzero((d <= zone_m) & (nodes[cols][None, :] != roots[:, None]))
    return rr.astype(np.int64), cols[jj]


def _zone_counts(
    router: Router, origins: tuple[IntArray, FloatArray], dests: IntArray, params: RoutingParams
) -> IntArray:
    """Origins within the walk zone of each destination node (no routing)."""
    counts = np.zeros(len(dests), dtype=np.int64)
    o_pos = np.full(router.streets.n_nodes, -1, dtype=np.int64)
    o_pos[origins[0]] = np.arange(len(origins[0]))
    zone_m, limits = params.walk_zone_m, np.full(len(dests), params.walk_zone_m)
    for lo, nodes, dist, _ in router.blocks(dests, router.streets.length_m, limits, rows=_zone_rows(router)):
        rr, _ = _zone_pairs(nodes, dist, o_pos, dests[lo : lo + len(dist)], zone_m)
        counts[lo : lo + len(dist)] = np.bincount(rr, minlength=len(dist))
    return counts


def _zone_rows(router: Router) -> int:
    """Trees per λ = 0 search: the (trees × nodes) zone test stays under CHUNK_BYTES too."""
    return min(CHUNK_ROWS, CHUNK_BYTES // (28 * router.streets.n_nodes))


class _Zone:
    """The λ = 0 trees of distinct destination nodes ``dests``, bounded by the walk zone.

    Its origin–destination pairs are flat arrays grouped by destination (``p_dest`` ascending,
    then origin): origin index ``p_origin``, entry ``p_entry`` in ``forest``, and the
    shortest route length ``L0``. ``counts`` and ``starts`` give each destination's pairs.
    """

    def __init__(
        self, router: Router, origins: tuple[IntArray, FloatArray], dests: IntArray, params: RoutingParams
    ) -> None:
        self.router, self.origins, self.dests, self.params = router, origins, dests, params
        self.o_node, self.o_weight = origins
        self.counts = np.zeros(len(dests), dtype=np.int64)
        o_pos = np.full(router.streets.n_nodes, -1, dtype=np.int64)
        o_pos[self.o_node] = np.arange(len(self.o_node))
        pairs: list[tuple[IntArray, IntArray]] = [(np.zeros(0, dtype=np.int64),) * 2]

        def targets(lo: int, nodes: IntArray, dist: FloatArray) -> tuple[IntArray, IntArray]:
            rr, cols = _zone_pairs(nodes, dist, o_pos, dests[lo : lo + len(dist)], params.walk_zone_m)
            self.counts[lo : lo + len(dist)] = np.bincount(rr, minlength=len(dist))
            pairs.append((lo + rr, o_pos[nodes[cols]]))
            return rr, cols

        length = router.streets.length_m
        limits = np.full(len(dests), params.walk_zone_m)
        self.forest, self.p_entry = router.forest(dests, length, limits, targets, rows=_zone_rows(router))
        self.p_dest, self.p_origin = (np.concatenate(p) for p in zip(*pairs, strict=True))
        self.L0 = self.forest.path_sums(length)[self.p_entry]
        self.starts = np.searchsorted(self.p_dest, np.arange(len(dests)))


class _Sweep:
    """The routing of one window over the distinct destination nodes ``zone.dests[which]``.

    Its origin–destination pairs are the zone's pairs of those nodes, in the same order:
    shortest length ``L0`` and this window's exposure ``E0``, chosen λ index ``choice`` and the
    chosen route's ``rec_len`` / ``rec_exp``; ``flows`` collects (node, edge, traffic) parts.
    """

    def __init__(self, zone: _Zone, which: IntArray, risk: FloatArray) -> None:
        self.zone, self.router, self.params, self.risk = zone, zone.router, zone.params, risk
        self.dests, self.counts = zone.dests[which], zone.counts[which]
        self.starts = np.cumsum(self.counts) - self.counts
        self.length = self.router.streets.length_m
        self.risk_m = risk * self.length
        pairs = ranges(zone.starts[which], self.counts)
        self.p_origin, self.p_entry0, self.L0 = zone.p_origin[pairs], zone.p_entry[pairs], zone.L0[pairs]
        self.E0 = zone.forest.path_sums(self.risk_m)[self.p_entry0]
        self.p_weight = zone.o_weight[self.p_origin]
        self.node_of_tree = np.full(len(zone.dests), -1, dtype=np.int64)
        self.node_of_tree[which] = np.arange(len(which))
        self.choice = np.full(len(self.L0), -1, dtype=np.int64)
        self.rec_len, self.rec_exp = self.L0.copy(), self.E0.copy()
        self.rows: list[SweepRow] = []
        empty = np.zeros(0, dtype=np.int64)
        self.flows: list[tuple[IntArray, IntArray, FloatArray]] = [(empty, empty, np.zeros(0))]

    def run(self) -> None:
        """The λ trees largest first, then the shortest routes for the rest."""
        lambdas = self.params.lambdas
        rows = {j: self._lambda(j) for j in range(len(lambdas) - 1, 0, -1)}
        rest = np.flatnonzero(self.choice < 0)
        self.choice[rest] = 0
        tree, edge, flow = self.zone.forest.subtree_sums(self.p_entry0[rest], self.p_weight[rest])
        self.flows.append((self.node_of_tree[tree], edge, flow))
        rows[0] = self._row(f"λ={lambdas[0]:g}", 0.0, self.L0, self.E0)
        self.rows = [rows[j] for j in range(len(lambdas))]
        self.rows.append(self._row("recommended", None, self.rec_len, self.rec_exp))

    def _lambda(self, j: int) -> SweepRow:
        """Trees for λ_j (sources sorted by bound, in small blocks); assign origins and flow."""
        lam = self.params.lambdas[j]
        cost = self.length * (1.0 + lam * self.risk)
        has = np.flatnonzero(self.counts > 0)
        bound = np.zeros(len(self.dests))
        if has.size:
            bound[has] = np.maximum.reduceat(self.L0 + lam * self.E0, self.starts[has])
        order = has[np.argsort(bound[has], kind="stable")]
        counts = self.counts[order]
        pairs = ranges(self.starts[order], counts)  # tree by tree
        first = np.concatenate([[0], np.cumsum(counts)])
        t_row, t_node = np.repeat(np.arange(len(order)), counts), self.zone.o_node[self.p_origin[pairs]]

        def targets(lo: int, nodes: IntArray, dist: FloatArray) -> tuple[IntArray, IntArray]:
            block = slice(first[lo], first[lo + len(dist)])
            want = t_node[block]
            if len(nodes) == self.router.streets.n_nodes:  # the whole network: columns are nodes
                return t_row[block] - lo, want
            col = np.minimum(np.searchsorted(nodes, want), len(nodes) - 1)
            return t_row[block] - lo, np.where(nodes[col] == want, col, -1)

        forest, found = self.router.forest(self.dests[order], cost, bound[order], targets)
        entries = np.empty(len(self.L0), dtype=np.int64)  # of each pair: ``pairs`` covers them all
        entries[pairs] = found
        ok = entries >= 0  # always, unless rounding put an origin past the bound
        sums = np.vstack([forest.path_sums(np.column_stack([self.length, self.risk_m])), [[np.inf] * 2]])
        length_l, exposure_l = sums[np.where(ok, entries, -1)].T  # -1: the row of inf
        taken = np.flatnonzero(
            (self.choice < 0) & accepted(length_l, exposure_l, self.L0, self.E0, self.params.max_detour)
        )
        self.choice[taken] = j
        self.rec_len[taken], self.rec_exp[taken] = length_l[taken], exposure_l[taken]
        tree, edge, flow = forest.subtree_sums(entries[taken], self.p_weight[taken])
        self.flows.append((order[tree], edge, flow))
        return self._row(f"λ={lam:g}", lam, length_l, exposure_l)

    def _row(self, label: str, lam: float | None, length_m: FloatArray, exposure: FloatArray) -> SweepRow:
        w = self.p_weight
        detour = length_m / self.L0 - 1.0
        med, p90 = np.percentile(detour, [50, 90]) if detour.size else (np.nan, np.nan)
        over = length_m > (1 + self.params.max_detour) * self.L0 * (1 + RTOL)
        total_len, total_exp = _wsum(w, length_m), _wsum(w, exposure)
        return SweepRow(
            label, lam, total_len, total_exp, float(med), float(p90), float(over.mean()) if over.size else 0.0
        )

    def metrics(self, u: int) -> dict[str, Any]:
        """DestinationResult fields of destination node ``u``, from its pairs."""
        s = slice(int(self.starts[u]), int(self.starts[u] + self.counts[u]))
        w, L0 = self.p_weight[s], self.L0[s]
        med, p90 = np.percentile(self.rec_len[s] / L0 - 1.0, [50, 90]) if L0.size else (np.nan, np.nan)
        exp_rec, exp_short = _wsum(w, self.rec_exp[s]), _wsum(w, self.E0[s])
        counts = np.bincount(self.choice[s], minlength=len(self.params.lambdas))
        return {
            "origins_served": int(self.counts[u]),
            "weight_served": float(w.sum()),
            "median_detour": float(med),
            "p90_detour": float(p90),
            "length_recommended_m": _wsum(w, self.rec_len[s]),
            "length_shortest_m": _wsum(w, L0),
            "exposure_recommended": exp_rec,
            "exposure_shortest": exp_short,
            "reduction_pct": 100.0 * (1.0 - exp_rec / exp_short) if exp_short > 0 else 0.0,
            "lambda_counts": dict(zip(self.params.lambdas, counts.tolist(), strict=True)),
        }


def _statuses(sweep: _Sweep, in_zone: IntArray, closed: BoolArray, avoid: BoolArray) -> list[str]:
    """``"ok"``, or why a destination node has no route."""
    streets, dests, params = sweep.router.streets, sweep.dests, sweep.params
    out = ["ok"] * len(dests)
    bad = np.flatnonzero(sweep.counts == 0)

    def alone(mask: BoolArray, other: BoolArray) -> BoolArray:  # cut off with only ``mask`` closed?
        if not mask.any() or not other.any():
            return np.full(len(bad), mask.any())
        counts = _zone_counts(Router(streets, ~mask), sweep.zone.origins, dests[bad], params)
        return np.asarray(counts == 0, dtype=bool)

    by_closed, by_avoid = alone(closed, avoid), alone(avoid, closed)
    for i, u in enumerate(bad.tolist()):
        if streets.node_edges(int(dests[u])).size == 0:
            out[u] = "unreachable: isolated node (no streets)"
        elif in_zone[u] == 0:
            out[u] = f"unreachable: no origins within {params.walk_zone_m:g} m"
        elif by_closed[i] != by_avoid[i]:
            out[u] = f"unreachable: cut off by {'closed streets' if by_closed[i] else 'avoid areas'}"
        else:
            out[u] = "unreachable: cut off by closed streets and avoid areas"
    return out


def _corridors(
    streets: Streets, risk: FloatArray, traffic: FloatArray, params: RoutingParams
) -> tuple[Corridor, ...]:
    """Connected runs of the edges carrying the most traffic."""
    positive = traffic[traffic > 0]
    if not positive.size:
        return ()
    top = float(np.percentile(positive, params.corridor_percentile))
    sel = np.flatnonzero((traffic >= max(top, params.corridor_min_share * positive.max())) & (traffic > 0))
    n = streets.n_nodes
    graph = sparse.coo_array((np.ones(len(sel)), (streets.u[sel], streets.v[sel])), shape=(n, n))
    comp = csgraph.connected_components(graph, directed=False)[1][streets.u[sel]]
    order = np.argsort(comp, kind="stable")
    found = []
    for edges in np.split(sel[order], np.flatnonzero(np.diff(comp[order])) + 1):
        length = streets.length_m[edges]
        by_name: dict[str, float] = {}
        for name, part_m in zip(streets.name[edges].tolist(), length.tolist(), strict=True):
            for part in str(name).split("; "):
                by_name[part] = by_name.get(part, 0.0) + part_m
        names = tuple(k for k, _ in sorted(by_name.items(), key=lambda kv: (-kv[1], kv[0])) if k)
        total = float(length.sum())
        found.append((_wsum(traffic[edges], length), edges, total, names, _wsum(risk[edges], length) / total))
    found.sort(key=lambda f: (-f[0], int(f[1][0])))
    width = max(2, len(str(len(found))))
    return tuple(
        Corridor(f"C{i + 1:0{width}d}", edges.astype(np.int64), total, traffic_m, names, risk_mean)
        for i, (traffic_m, edges, total, names, risk_mean) in enumerate(found)
    )


def _pareto(rows: list[SweepRow]) -> tuple[SweepRow, ...]:
    """Mark the rows no other row beats on both length and exposure."""

    def beaten(r: SweepRow) -> bool:
        return any(
            o.length_m <= r.length_m
            and o.exposure <= r.exposure
            and (o.length_m, o.exposure) != (r.length_m, r.exposure)
            for o in rows
        )

    return tuple(replace(r, pareto=not beaten(r)) for r in rows)


# --------------------------------------------------------------------------------------
# input checks


def _destination_columns(
    streets: Streets, destinations: pd.DataFrame
) -> tuple[list[str], list[str], list[str], IntArray]:
    missing = [c for c in ("place_id", "kind", "name", "node") if c not in destinations.columns]
    if missing:
        found = ", ".join(map(str, destinations.columns))
        raise InputError(f"routing: destinations lack columns {missing}; columns found: {found}")
    node = pd.to_numeric(destinations["node"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.flatnonzero(
        ~np.isfinite(node) | (node < 0) | (node >= streets.n_nodes) | (node != np.round(node))
    )
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"routing: destination {destinations['place_id'].tolist()[i]!r}: "
            f"node={destinations['node'].tolist()[i]!r} is not a node index 0..{streets.n_nodes - 1}; "
            "snap destinations to the network first"
        )

    def text(col: str) -> list[str]:
        return ["" if pd.isna(v) else str(v) for v in destinations[col].tolist()]

    return text("place_id"), text("name"), text("kind"), node.astype(np.int64)


def _check_origins(
    streets: Streets, origins: tuple[npt.ArrayLike, npt.ArrayLike] | None
) -> tuple[IntArray, FloatArray]:
    if origins is None:
        return np.arange(streets.n_nodes, dtype=np.int64), np.ones(streets.n_nodes)
    nodes, weights = np.atleast_1d(np.asarray(origins[0])), np.atleast_1d(np.asarray(origins[1], dtype=float))
    if nodes.ndim != 1 or nodes.shape != weights.shape:
        raise InputError(
            f"routing: origins need 1-D nodes and weights of one length; got {nodes.shape}, {weights.shape}"
        )
    if nodes.size and (nodes.dtype.kind not in "iu" or nodes.min() < 0 or nodes.max() >= streets.n_nodes):
        raise InputError(f"routing: origin nodes must be integer node indices 0..{streets.n_nodes - 1}")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise InputError("routing: origin weights must be finite and ≥ 0")
    uniq, inverse = np.unique(nodes.astype(np.int64), return_inverse=True)
    return uniq.astype(np.int64), np.bincount(inverse, weights=weights, minlength=len(uniq)).astype(
        np.float64
    )
