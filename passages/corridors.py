"""Foot-traffic flows, corridors and route metrics of time windows.

Every origin within the walk zone of a destination walks the route that the λ sweep chooses for
it (:mod:`passages.sweep`, on the trees of :mod:`passages.routing`); the weights flowing along the
chosen routes give every edge's foot traffic. :func:`plan_corridors_windows` searches the λ = 0
trees, which do not depend on risk, once for several windows. Destinations snapped to one node
share their searches. Corridors are connected runs of the busiest edges along one street, with the
unnamed sidewalks and paths they touch. The public names of the routing engine, single routes and
the sweep that callers of corridors use are re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from passages._errors import InputError
from passages.network import Streets
from passages.routes import Route, RouteComparison, compare_route
from passages.routing import Router, RoutingParams, avoided_edges, check_risk, closed_edges, usable_edges
from passages.sweep import Sweep, SweepRow, Zone, pareto, wsum, zone_counts

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
    """A connected run of high-traffic edges along one street, with the unnamed paths it touches.

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
    zone = Zone(Router(streets, ~(closed | avoid)), origins_, nodes, params)
    in_zone = zone.counts
    if closed.any() or avoid.any():
        in_zone = zone_counts(Router(streets), origins_, nodes, params)
    masks = (closed, avoid)
    return {w: _plan_window(zone, in_zone, r, c, masks=masks, window=w) for w, (r, c) in checked.items()}


def _plan_window(
    zone: Zone,
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
    sweep = Sweep(zone, which, risk)
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
    return WindowCorridors(window, traffic, results, corridors, pareto(sweep.rows), params)


def _statuses(sweep: Sweep, in_zone: IntArray, closed: BoolArray, avoid: BoolArray) -> list[str]:
    """``"ok"``, or why a destination node has no route."""
    streets, dests, params = sweep.router.streets, sweep.dests, sweep.params
    out = ["ok"] * len(dests)
    bad = np.flatnonzero(sweep.counts == 0)

    def alone(mask: BoolArray, other: BoolArray) -> BoolArray:  # cut off with only ``mask`` closed?
        if not mask.any() or not other.any():
            return np.full(len(bad), mask.any())
        counts = zone_counts(Router(streets, ~mask), sweep.zone.origins, dests[bad], params)
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
    """Runs along one street of the edges carrying the most traffic, with their unnamed paths.

    1. The selected edges carry at least ``corridor_percentile`` of the positive traffic and
       ``corridor_min_share`` of the busiest edge's.
    2. Selected edges with a street name are grouped by its first ``"; "``-joined part,
       case-folded; each connected piece of a group (edges sharing a node) is one run.
    3. Unnamed selected edges (sidewalks, footways, crossings) join the named runs their group
       touches: each edge the run nearest along the group's edges, the busiest run (``traffic_m``,
       then name, then smallest edge) at equal distance, so a sidewalk goes with its street and a
       network of footways is shared out instead of making one run kilometres long. A group
       touching no run is a run of its own.
    4. Runs shorter than ``corridor_min_length_m`` are dropped (their edges keep their traffic).
    5. Busiest ``traffic_m`` first; ties by name, then smallest edge.
    """
    positive = traffic[traffic > 0]
    if not positive.size:
        return ()
    top = float(np.percentile(positive, params.corridor_percentile))
    sel = np.flatnonzero((traffic >= max(top, params.corridor_min_share * positive.max())) & (traffic > 0))
    length = streets.length_m[sel]
    primary = [str(name).split("; ")[0].strip() for name in streets.name[sel].tolist()]
    keys, group = np.unique([p.casefold() for p in primary], return_inverse=True)
    group = group.astype(np.int64).ravel()
    unnamed = keys[group] == ""
    piece = _pieces(streets.u[sel].astype(np.int64), streets.v[sel].astype(np.int64), group)
    order = np.argsort(piece, kind="stable")
    pieces = np.split(order, np.flatnonzero(np.diff(piece[order])) + 1)  # positions in sel, ascending

    def run_key(members: IntArray) -> tuple[float, str, int]:  # busiest first, then name, then edge
        return (-wsum(traffic[sel[members]], length[members]), keys[group[members[0]]], int(sel[members[0]]))

    runs = {int(piece[m[0]]): m for m in pieces if not unnamed[m[0]]}
    rank = {p: run_key(members) for p, members in runs.items()}
    name_of = {p: keys[group[members[0]]] for p, members in runs.items()}
    owner, left = _share_paths(streets, sel[unnamed], {p: sel[m] for p, m in runs.items()}, rank)
    at = np.flatnonzero(unnamed)
    runs = {p: np.sort(np.concatenate([members, at[owner == p]])) for p, members in runs.items()}
    alone = at[left][np.argsort(piece[at[left]], kind="stable")]  # unnamed paths touching no named run
    for members in np.split(alone, np.flatnonzero(np.diff(piece[alone])) + 1) if alone.size else []:
        runs[int(piece[members[0]])] = members
    found = []
    for p, members in runs.items():
        edges = np.sort(sel[members])
        edge_m = streets.length_m[edges]
        total = float(edge_m.sum())
        if total < params.corridor_min_length_m:
            continue
        key = (-wsum(traffic[edges], edge_m), name_of.get(p, ""), int(edges[0]))
        names = _street_names(streets.name[edges].tolist(), edge_m.tolist(), first=key[1])
        found.append((key, edges, total, names, wsum(risk[edges], edge_m) / total))
    found.sort(key=lambda f: f[0])
    width = max(2, len(str(len(found))))
    logger.debug("corridors: %d selected edges, %d runs, %d kept", len(sel), len(runs), len(found))
    return tuple(
        Corridor(f"C{i + 1:0{width}d}", edges.astype(np.int64), total, -key[0], names, risk_mean)
        for i, (key, edges, total, names, risk_mean) in enumerate(found)
    )


def _share_paths(
    streets: Streets,
    paths: IntArray,
    runs: Mapping[int, IntArray],
    rank: Mapping[int, tuple[float, str, int]],
) -> tuple[IntArray, BoolArray]:
    """The run each of the ``paths`` edges joins (nearest along ``paths``), and those joining none.

    Returns the run key of each path edge (-1 for none) and the mask of the edges joining none.
    """
    node_run: dict[int, int] = {}
    for p in sorted(runs, key=rank.__getitem__, reverse=True):  # the busiest run written last wins
        for node in np.union1d(streets.u[runs[p]], streets.v[runs[p]]).tolist():
            node_run[node] = p
    owner = np.full(len(paths), -1, dtype=np.int64)
    if not paths.size or not node_run:
        return owner, owner < 0
    cost = np.full(streets.n_edges, np.inf)
    cost[paths] = streets.length_m[paths]
    sources = np.array(sorted(node_run), dtype=np.int64)
    dist, _, source = csgraph.dijkstra(
        streets.csr(cost), directed=False, indices=sources, min_only=True, return_predecessors=True
    )
    run_at = np.full(streets.n_nodes, -1, dtype=np.int64)
    run_at[sources] = [node_run[n] for n in sources.tolist()]
    run_of = np.where(source >= 0, run_at[np.maximum(source, 0)], -1)  # each node's nearest run
    order = {p: i for i, p in enumerate(sorted(runs, key=rank.__getitem__))}
    for i, (a, b) in enumerate(zip(streets.u[paths].tolist(), streets.v[paths].tolist(), strict=True)):
        ends = [(dist[n], order[int(run_of[n])], int(run_of[n])) for n in (a, b) if run_of[n] >= 0]
        if ends:  # the nearer end's run; the busier one at equal distance
            owner[i] = min(ends)[2]
    return owner, owner < 0


def _pieces(u: IntArray, v: IntArray, group: IntArray) -> IntArray:
    """A label per edge for its connected piece, edges joining only edges of their own group."""
    ends = np.stack([np.concatenate([group, group]), np.concatenate([u, v])], axis=1)
    _, vertex = np.unique(ends, axis=0, return_inverse=True)
    vertex = vertex.ravel()
    a, b, n = vertex[: len(u)], vertex[len(u) :], int(vertex.max()) + 1 if vertex.size else 0
    graph = sparse.coo_array((np.ones(len(u)), (a, b)), shape=(n, n))
    labels: IntArray = csgraph.connected_components(graph, directed=False)[1].astype(np.int64)[a]
    return labels


def _street_names(names: list[str], lengths_m: list[float], *, first: str) -> tuple[str, ...]:
    """Street names by length along a run, ``first`` (case-folded) leading; each as most often written."""
    by_key: dict[str, dict[str, float]] = {}
    for name, part_m in zip(names, lengths_m, strict=True):
        for part in str(name).split("; "):
            if part := part.strip():
                spellings = by_key.setdefault(part.casefold(), {})
                spellings[part] = spellings.get(part, 0.0) + part_m
    total = {k: sum(s.values()) for k, s in by_key.items()}
    order = sorted(by_key, key=lambda k: (k != first, -total[k], k))
    return tuple(min(by_key[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] for k in order)


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
