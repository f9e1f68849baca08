"""Risk-weighted routing, foot-traffic flows, corridors and route metrics.

Walking is undirected, so the routes from every origin to one destination form one
shortest-path tree rooted at the destination: the work is one bounded Dijkstra search per
destination and per risk weight λ, never one per origin–destination pair. With edge cost
``length_m × (1 + λ·risk)`` and a sweep ``0 = λ0 < λ1 < … < λk``, per destination:

1. the λ = 0 tree, bounded by the walk zone, gives the origins in reach and their shortest
   route length ``L0`` and exposure ``E0`` (Σ risk × length_m along the route);
2. each λ > 0 tree, bounded by the largest ``L0 + λ·E0`` among those origins (the λ cost of
   the shortest route, so every origin's cheapest route lies inside the bound), gives each
   origin's route length and exposure, summed root-down over the tree's levels;
3. each origin takes the route of the largest λ whose length keeps the detour cap
   ``length ≤ (1 + max_detour)·L0`` and whose exposure is below the shortest route's (a
   detour with no gain is no recommendation), else the shortest route;
4. origin weights flow along the chosen routes: subtree sums over each tree, level by level
   from the deepest with ``np.add.at``, give every edge's foot traffic.

Destinations snapped to one node share their searches. Corridors are connected runs of the
busiest edges. :func:`compare_route` gives the same choice for one origin, for ``passages route``.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from passages._errors import CRSError, InputError, RoutingError
from passages.network import Streets

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: dense (sources × nodes) blocks of one Dijkstra call stay under this size, bytes
CHUNK_BYTES = 200_000_000
#: sources per Dijkstra call in plans: small blocks of trees stay in cache, and in the λ sweep
#: (sources sorted by bound) each call's bound stays tight
CHUNK_ROWS = 16
#: relative tolerance of the detour cap and exposure comparisons (float summation order)
RTOL = 1e-9


# --------------------------------------------------------------------------------------
# parameters


@dataclass(frozen=True)
class RoutingParams:
    """How routes are chosen and corridors drawn.

    Attributes
    ----------
    walk_zone_m
        Origins within this walking distance of a destination are routed, metres (50..20000).
    max_detour
        Longest accepted detour as a fraction of the shortest route (0..2).
    lambdas
        Risk weights swept, cost = length_m × (1 + λ·risk); starts at 0, strictly increasing.
    closed_streets
        Street names (case-insensitive; any part of a ``"; "``-joined name) or edge indices
        (OSM way ids when the Streets carry an ``osmid`` array) not to route on.
    avoid_areas
        shapely (Multi)Polygons in the network CRS; edges touching them are not used.
    corridor_percentile, corridor_min_share
        Corridor edges carry at least this percentile (0..100) of the positive traffic and
        this share (0..1) of the busiest edge's traffic.
    """

    walk_zone_m: float = 1600.0
    max_detour: float = 0.25
    lambdas: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
    closed_streets: tuple[str | int, ...] = ()
    avoid_areas: tuple[shapely.Polygon | shapely.MultiPolygon, ...] = ()
    corridor_percentile: float = 80.0
    corridor_min_share: float = 0.02

    def __post_init__(self) -> None:
        for name, lo, hi, unit in (
            ("walk_zone_m", 50.0, 20000.0, "metres"),
            ("max_detour", 0.0, 2.0, "fraction of the shortest route"),
            ("corridor_percentile", 0.0, 100.0, "percent"),
            ("corridor_min_share", 0.0, 1.0, "share of the busiest edge"),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
                raise InputError(
                    f"routing: {name}={value!r} is outside the accepted range {lo:g}..{hi:g} ({unit})"
                )
        try:
            lam = np.asarray(self.lambdas, dtype=float).ravel()
        except (TypeError, ValueError):
            lam = np.array([np.nan])
        if not (lam.size and lam[0] == 0 and np.isfinite(lam).all() and (np.diff(lam) > 0).all()):
            raise InputError(
                f"routing: lambdas={self.lambdas!r} is not accepted; give finite values starting at 0 "
                "and strictly increasing, e.g. (0, 0.5, 1, 2, 4, 8)"
            )
        object.__setattr__(self, "lambdas", tuple(lam.tolist()))
        object.__setattr__(self, "closed_streets", tuple(self.closed_streets))
        object.__setattr__(self, "avoid_areas", tuple(self.avoid_areas))
        for item in self.closed_streets:
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise InputError(f"routing: closed_streets item {item!r} is not a street name or an id")
        for area in self.avoid_areas:
            if not isinstance(area, shapely.Polygon | shapely.MultiPolygon) or area.is_empty:
                raise InputError(f"routing: avoid_areas item {area!r} is not a non-empty (Multi)Polygon")


def usable_edges(streets: Streets, params: RoutingParams) -> BoolArray:
    """Edges a route may use: not on a closed street and not touching an avoid area.

    Raises
    ------
    InputError
        A closed street matches no edge (the message lists close names) or an id is unknown.
    CRSError
        An avoid area looks like (lon, lat) degrees while the network is projected.
    """
    return ~(_closed_mask(streets, params.closed_streets) | _avoid_mask(streets, params.avoid_areas))


def _closed_mask(streets: Streets, closed: Sequence[str | int]) -> BoolArray:
    mask = np.zeros(streets.n_edges, dtype=bool)
    parts: dict[str, list[int]] = {}
    spelled: dict[str, str] = {}
    for e, name in enumerate(streets.name.tolist() if closed else []):
        for part in (p.strip() for p in str(name).split(";")):
            if part:
                parts.setdefault(part.casefold(), []).append(e)
                spelled.setdefault(part.casefold(), part)
    osmid = getattr(streets, "osmid", None)
    ids = np.arange(streets.n_edges) if osmid is None else np.asarray(osmid, dtype=np.int64)
    for item in closed:
        if isinstance(item, str):
            hit = parts.get(item.strip().casefold())
            if hit is None:
                close = difflib.get_close_matches(item.strip().casefold(), list(parts), n=3)
                hint = f"; did you mean {', '.join(repr(spelled[c]) for c in close)}?" if close else ""
                raise InputError(f"routing: closed street {item!r} matches no street name{hint}")
            mask[hit] = True
        elif not (ids == item).any():
            kind = "an edge index" if osmid is None else "an OSM way id"
            raise InputError(f"routing: closed street id {item} is not {kind} of this network")
        else:
            mask |= ids == item
    return mask


def _avoid_mask(streets: Streets, areas: Sequence[shapely.Polygon | shapely.MultiPolygon]) -> BoolArray:
    mask = np.zeros(streets.n_edges, dtype=bool)
    for area in areas:
        hit = np.asarray(shapely.intersects(streets.geometry, area), dtype=bool)
        west, south, east, north = area.bounds
        if not hit.any() and -180 <= west <= east <= 180 and -90 <= south <= north <= 90:
            raise CRSError(
                f"routing: avoid area with bounds {area.bounds} touches no street and looks like "
                f"(lon, lat) degrees; give it in the network CRS ({streets.crs.name})"
            )
        if not hit.any():
            logger.warning("avoid area with bounds %s touches no street", area.bounds)
        mask |= hit
    return mask


# --------------------------------------------------------------------------------------
# bounded trees


@dataclass(frozen=True)
class _Graph:
    csr: Any  # scipy.sparse.csr_array, symmetric n × n costs
    neighbours: IntArray  # (n, max degree) usable neighbours of each node, -1 padded
    edges: IntArray  # (n, max degree) the cheapest usable edge to each


class Router:
    """Bounded shortest-path trees on one network, some edges left out.

    Parameters
    ----------
    streets
        The network.
    usable
        Boolean mask (m,) of the edges routes may use (default all), e.g. :func:`usable_edges`.
    """

    def __init__(self, streets: Streets, usable: npt.ArrayLike | None = None) -> None:
        self.streets = streets
        mask = np.ones(streets.n_edges, dtype=bool) if usable is None else np.asarray(usable)
        if mask.shape != (streets.n_edges,) or mask.dtype != np.bool_:
            raise InputError(f"routing: the usable mask must be bool of shape ({streets.n_edges},)")
        self.usable: BoolArray = mask.copy()
        self._graphs: dict[bytes, _Graph] = {}

    def _graph(self, cost: npt.ArrayLike) -> _Graph:
        c = np.asarray(cost, dtype=np.float64)
        if c.shape != (self.streets.n_edges,) or np.isnan(c).any() or (c <= 0).any():
            raise InputError(f"routing: edge costs must be > 0, one per edge ({self.streets.n_edges})")
        c = np.where(self.usable, c, np.inf)
        key = hashlib.blake2b(c.tobytes(), digest_size=16).digest()
        if key not in self._graphs:
            lookup = self.streets.edge_lookup(c).tocsr()
            lookup.data[~np.isfinite(c[lookup.data - 1])] = 0
            lookup.eliminate_zeros()
            lookup.sort_indices()
            degree = np.diff(lookup.indptr)
            row = np.repeat(np.arange(self.streets.n_nodes), degree)
            slot = np.arange(len(row)) - lookup.indptr[row]
            shape = (self.streets.n_nodes, max(1, int(degree.max(initial=0))))
            neighbours, edges = np.full(shape, -1, dtype=np.int64), np.full(shape, -1, dtype=np.int64)
            neighbours[row, slot], edges[row, slot] = lookup.indices, lookup.data - 1
            if len(self._graphs) >= 16:
                self._graphs.clear()
            self._graphs[key] = _Graph(self.streets.csr(c), neighbours, edges)
        return self._graphs[key]

    def edges_between(self, a: npt.ArrayLike, b: npt.ArrayLike, cost: npt.ArrayLike) -> IntArray:
        """Index of the cheapest usable edge (by ``cost``) joining nodes ``a`` and ``b`` (-1: none)."""
        graph = self._graph(cost)
        a_, b_ = np.asarray(a, dtype=np.int64).ravel(), np.asarray(b, dtype=np.int64).ravel()
        hit = graph.neighbours[a_] == b_[:, None]  # scan each node's few neighbours
        slot = hit.argmax(axis=1)
        return np.where(hit[np.arange(len(a_)), slot], graph.edges[a_, slot], -1)

    def trees(
        self, sources: npt.ArrayLike, cost: npt.ArrayLike, *, limit: float = np.inf
    ) -> tuple[FloatArray, npt.NDArray[np.int32]]:
        """Shortest-path trees from ``sources`` (k,) on edge ``cost`` (m,), searched up to ``limit``.

        Returns
        -------
        dist, pred
            (k, n) costs (``inf`` where unreached) and predecessors (-9999 at the sources and
            unreached nodes), from ``scipy.sparse.csgraph.dijkstra`` on chunks of sources whose
            dense blocks stay under ``CHUNK_BYTES``. Unusable edges are left out.
        """
        src = np.atleast_1d(np.asarray(sources)).astype(np.int64).ravel()
        if src.size and (src.min() < 0 or src.max() >= self.streets.n_nodes):
            raise InputError(f"routing: source nodes must be in 0..{self.streets.n_nodes - 1}")
        if not limit >= 0:
            raise InputError(f"routing: limit={limit} must be ≥ 0")
        blocks = list(self._chunks(src, cost, np.full(len(src), float(limit))))
        if not blocks:
            return np.empty((0, self.streets.n_nodes)), np.empty((0, self.streets.n_nodes), dtype=np.int32)
        return np.vstack([b[1] for b in blocks]), np.vstack([b[2] for b in blocks])

    def _chunks(
        self, sources: IntArray, cost: npt.ArrayLike, limits: FloatArray, *, rows: int = CHUNK_BYTES
    ) -> Iterator[tuple[int, FloatArray, npt.NDArray[np.int32]]]:
        """(first row, dist, pred) per call of ≤ ``rows`` sources, searched to their largest limit."""
        graph = self._graph(cost)
        rows = max(1, min(rows, CHUNK_BYTES // (20 * self.streets.n_nodes)))  # dist, pred, forest map
        for lo in range(0, len(sources), rows):
            dist, pred = csgraph.dijkstra(
                graph.csr,
                directed=True,
                indices=sources[lo : lo + rows],
                limit=float(np.max(limits[lo : lo + rows])) * (1 + RTOL) + 1e-6,
                return_predecessors=True,
            )
            yield lo, np.atleast_2d(dist), np.atleast_2d(pred)


@dataclass(frozen=True)
class _Forest:
    """The reached part of a chunk of trees, one entry per reached (row, node), in BFS order.

    Depth ``i`` is the slice ``bounds[i]:bounds[i + 1]``; lengths and exposures are summed
    from the root down, so one path gives one sum in any tree.
    """

    row: IntArray
    parent: IntArray  # entry of the predecessor (non-decreasing); roots point at themselves
    edge: IntArray  # edge to the predecessor; -1 at roots
    bounds: list[int]
    length_m: FloatArray
    exposure: FloatArray

    def subtree_sums(self, entries: IntArray, weights: FloatArray) -> tuple[IntArray, IntArray, FloatArray]:
        """Flow of ``weights`` from ``entries`` to the roots: (row, edge, traffic) of used edges."""
        acc = np.zeros(len(self.row))
        np.add.at(acc, entries, weights)
        for lo, hi in reversed(list(itertools.pairwise(self.bounds[1:]))):
            np.add.at(acc, self.parent[lo:hi], acc[lo:hi].copy())  # a view would copy all of acc
        used = np.flatnonzero((acc > 0) & (self.edge >= 0))
        return self.row[used], self.edge[used], acc[used]


def _forest(
    router: Router,
    cost: FloatArray,
    risk_m: FloatArray,
    tree: tuple[FloatArray, Any],
    query: tuple[IntArray, IntArray],
) -> tuple[_Forest, IntArray]:
    """Flatten dense trees (dist, pred); return them and the entries of the (row, node) ``query``."""
    dist, pred = tree
    k, n = dist.shape
    flat = np.flatnonzero(np.isfinite(dist.ravel()))
    size = len(flat)
    where = np.full(k * n, -1, dtype=np.int64)
    where[flat] = np.arange(size)
    p = pred.ravel()[flat].astype(np.int64)
    child, roots = np.flatnonzero(p >= 0), np.flatnonzero(p < 0)
    up = where[flat[child] - flat[child] % n + p[child]]
    # breadth-first order from a super-root joined to every root: each depth becomes a slice
    heads = np.concatenate([np.full(len(roots), size), up])
    links = sparse.csr_array((np.ones(size), (heads, np.concatenate([roots, child]))), shape=(size + 1,) * 2)
    order = csgraph.breadth_first_order(links, size, directed=True, return_predecessors=False)[1:]
    rank = np.empty(size, dtype=np.int64)
    rank[order] = np.arange(size)
    parent = np.arange(size, dtype=np.int64)
    parent[rank[child]] = rank[up]
    flat, p = flat[order], p[order]
    where[flat] = np.arange(size)
    bounds, search = [0, len(roots)], np.where(np.arange(size) < len(roots), -1, parent)
    while bounds[-1] < size:  # the parents of depth i + 1 are the entries of depth i
        bounds.append(int(np.searchsorted(search, bounds[-1])))
    edge = np.full(size, -1, dtype=np.int64)
    edge[len(roots) :] = router.edges_between(flat[len(roots) :] % n, p[len(roots) :], cost)
    steps = np.where(
        (edge >= 0)[:, None], np.column_stack([router.streets.length_m[edge], risk_m[edge]]), 0.0
    )
    sums = np.zeros((size, 2))
    for lo, hi in itertools.pairwise(bounds[1:]):
        sums[lo:hi] = sums[parent[lo:hi]] + steps[lo:hi]
    rows, nodes = query
    forest = _Forest(flat // n, parent, edge, bounds, sums[:, 0].copy(), sums[:, 1].copy())
    return forest, where[rows * n + nodes]


def _accept(
    length_m: FloatArray, exposure: FloatArray, L0: FloatArray, E0: FloatArray, max_detour: float
) -> BoolArray:
    """Routes that keep the detour cap and lower the exposure of the shortest route."""
    return (length_m <= (1 + max_detour) * L0 * (1 + RTOL)) & (exposure < E0 - RTOL * (1 + E0))


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
    origins: tuple[npt.ArrayLike, npt.ArrayLike] | None,
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
    r = _check_risk(streets, risk)
    place_id, name, kind, dest_node = _destination_columns(streets, destinations)
    origins_ = _check_origins(streets, origins)
    closed = _closed_mask(streets, params.closed_streets)
    avoid = _avoid_mask(streets, params.avoid_areas)
    uniq, inverse = np.unique(dest_node, return_inverse=True)
    sweep = _Sweep(Router(streets, ~(closed | avoid)), r, origins_, uniq, params)
    sweep.run()
    in_zone = sweep.counts
    if closed.any() or avoid.any():
        in_zone = _Sweep(Router(streets), r, origins_, uniq, params).zone_counts()
    status = _statuses(sweep, in_zone, closed, avoid)
    t_dest, t_edge, t_flow = (np.concatenate(t) for t in zip(*sweep.flows, strict=True))
    per_node = sparse.coo_array((t_flow, (t_dest, t_edge)), shape=(len(uniq), streets.n_edges)).tocsr()
    per_node.sum_duplicates()
    per_node.sort_indices()
    traffic = np.asarray(np.bincount(inverse, minlength=len(uniq)) @ per_node, dtype=np.float64).ravel()
    per_node_fields = []
    for u in range(len(uniq)):
        span = slice(per_node.indptr[u], per_node.indptr[u + 1])
        fields = {"node": int(uniq[u]), "status": status[u], "origins_in_zone": int(in_zone[u])}
        fields |= {"edges": per_node.indices[span].astype(np.int64), "traffic": per_node.data[span]}
        per_node_fields.append(fields | sweep.metrics(u))
    results = tuple(
        DestinationResult(place_id=place_id[i], name=name[i], kind=kind[i], **per_node_fields[u])
        for i, u in enumerate(inverse.tolist())
    )
    corridors = _corridors(streets, r, traffic, params)
    counts = (len(results), len(uniq), len(sweep.L0), len(corridors))
    logger.info("corridors %s: %d destinations (%d nodes), %d routes, %d corridors", window, *counts)
    return WindowCorridors(window, traffic, results, corridors, _pareto(sweep.rows), params)


class _Sweep:
    """The routing of one window over distinct destination nodes ``dests``.

    Origin–destination pairs in the walk zone are flat arrays grouped by destination
    (``p_dest`` ascending): origin, shortest length ``L0`` and exposure ``E0``, chosen λ index
    ``choice`` and the chosen route's ``rec_len`` / ``rec_exp``.
    """

    def __init__(
        self,
        router: Router,
        risk: FloatArray,
        origins: tuple[IntArray, FloatArray],
        dests: IntArray,
        params: RoutingParams,
    ) -> None:
        self.router, self.risk, self.origins, self.dests, self.params = router, risk, origins, dests, params
        self.o_node, self.o_weight = origins
        self.length = router.streets.length_m
        self.risk_m = risk * self.length
        self.counts = np.zeros(len(dests), dtype=np.int64)
        self.rows: list[SweepRow] = []
        empty = np.zeros(0, dtype=np.int64)
        self.flows: list[tuple[IntArray, IntArray, FloatArray]] = [(empty, empty, np.zeros(0))]

    def zone_counts(self) -> IntArray:
        """Origins within the walk zone of each destination (no routing)."""
        self._zone(count_only=True)
        return self.counts

    def _zone(self, *, count_only: bool = False) -> None:
        """λ = 0 trees bounded by the walk zone: the pairs, L0 and E0."""
        zone = self.params.walk_zone_m
        rows = min(CHUNK_ROWS, CHUNK_BYTES // (8 * len(self.o_node) + 20 * self.router.streets.n_nodes))
        self.forests0: list[tuple[_Forest, IntArray]] = []  # forest, destination of each row
        parts: list[tuple[Any, ...]] = []
        for lo, dist, pred in self.router._chunks(
            self.dests, self.length, np.full(len(self.dests), zone), rows=rows
        ):
            k = dist.shape[0]
            within = (dist[:, self.o_node] <= zone) & (self.o_node[None, :] != self.dests[lo : lo + k, None])
            self.counts[lo : lo + k] = within.sum(axis=1)
            if count_only:
                continue
            rr, oo = (a.astype(np.int64) for a in np.nonzero(within))
            forest, entries = _forest(
                self.router, self.length, self.risk_m, (dist, pred), (rr, self.o_node[oo])
            )
            c = np.full(len(rr), len(self.forests0))
            parts.append((lo + rr, oo, entries, c, forest.length_m[entries], forest.exposure[entries]))
            self.forests0.append((forest, lo + np.arange(k)))
        if count_only:
            return
        cat = [np.concatenate(p) if p else np.zeros(0) for p in zip(*parts, strict=True)] or [np.zeros(0)] * 6
        self.p_dest, self.p_origin, self.p_entry0, self.p_chunk0 = (a.astype(np.int64) for a in cat[:4])
        self.L0, self.E0 = cat[4].astype(np.float64), cat[5].astype(np.float64)
        self.p_weight = self.o_weight[self.p_origin]
        self.starts = np.searchsorted(self.p_dest, np.arange(len(self.dests)))
        self.choice = np.full(len(self.L0), -1, dtype=np.int64)
        self.rec_len, self.rec_exp = self.L0.copy(), self.E0.copy()

    def run(self) -> None:
        """Zone, then the λ trees largest first, then the shortest routes for the rest."""
        self._zone()
        lambdas = self.params.lambdas
        rows = {j: self._lambda(j) for j in range(len(lambdas) - 1, 0, -1)}
        rest = np.flatnonzero(self.choice < 0)
        self.choice[rest] = 0
        for c, (forest, row_dest) in enumerate(self.forests0):
            mine = rest[self.p_chunk0[rest] == c]
            row, edge, flow = forest.subtree_sums(self.p_entry0[mine], self.p_weight[mine])
            self.flows.append((row_dest[row], edge, flow))
        rows[0] = self._row(f"λ={lambdas[0]:g}", 0.0, self.L0, self.E0)
        self.rows = [rows[j] for j in range(len(lambdas))]
        self.rows.append(self._row("recommended", None, self.rec_len, self.rec_exp))

    def _lambda(self, j: int) -> SweepRow:
        """Trees for λ_j (sources sorted by bound, in small chunks); assign origins and flow."""
        lam = self.params.lambdas[j]
        cost = self.length * (1.0 + lam * self.risk)
        has = np.flatnonzero(self.counts > 0)
        bound = np.zeros(len(self.dests))
        if has.size:
            bound[has] = np.maximum.reduceat(self.L0 + lam * self.E0, self.starts[has])
        order = has[np.argsort(bound[has], kind="stable")]
        length_l, exposure_l = np.full(len(self.L0), np.inf), np.full(len(self.L0), np.inf)
        for lo, dist, pred in self.router._chunks(self.dests[order], cost, bound[order], rows=CHUNK_ROWS):
            chunk = order[lo : lo + dist.shape[0]]
            counts = self.counts[chunk]
            local = np.repeat(np.arange(len(chunk)), counts)
            idx = np.repeat(self.starts[chunk] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            query = (local, self.o_node[self.p_origin[idx]])
            far = np.maximum.reduceat(dist[query], np.cumsum(counts) - counts)  # no ancestor lies beyond
            dist[dist > far[:, None]] = np.inf
            forest, entries = _forest(self.router, cost, self.risk_m, (dist, pred), query)
            ok = entries >= 0  # always, unless rounding put an origin past the bound
            length_l[idx[ok]] = forest.length_m[entries[ok]]
            exposure_l[idx[ok]] = forest.exposure[entries[ok]]
            take = (self.choice[idx] < 0) & _accept(
                length_l[idx], exposure_l[idx], self.L0[idx], self.E0[idx], self.params.max_detour
            )
            taken = idx[take]
            self.choice[taken] = j
            self.rec_len[taken], self.rec_exp[taken] = length_l[taken], exposure_l[taken]
            row, edge, flow = forest.subtree_sums(entries[take], self.p_weight[taken])
            self.flows.append((chunk[row], edge, flow))
        return self._row(f"λ={lam:g}", lam, length_l, exposure_l)

    def _row(self, label: str, lam: float | None, length_m: FloatArray, exposure: FloatArray) -> SweepRow:
        w = self.p_weight
        detour = length_m / self.L0 - 1.0
        med, p90 = np.percentile(detour, [50, 90]) if detour.size else (np.nan, np.nan)
        over = length_m > (1 + self.params.max_detour) * self.L0 * (1 + RTOL)
        total_len, total_exp = (float(w @ length_m), float(w @ exposure)) if w.size else (0.0, 0.0)
        return SweepRow(
            label, lam, total_len, total_exp, float(med), float(p90), float(over.mean()) if over.size else 0.0
        )

    def metrics(self, u: int) -> dict[str, Any]:
        """DestinationResult fields of destination node ``u``, from its pairs."""
        s = slice(int(self.starts[u]), int(self.starts[u] + self.counts[u]))
        w, L0 = self.p_weight[s], self.L0[s]
        med, p90 = np.percentile(self.rec_len[s] / L0 - 1.0, [50, 90]) if L0.size else (np.nan, np.nan)
        exp_rec, exp_short = float(w @ self.rec_exp[s]), float(w @ self.E0[s])
        counts = np.bincount(self.choice[s], minlength=len(self.params.lambdas))
        return {
            "origins_served": int(self.counts[u]),
            "weight_served": float(w.sum()),
            "median_detour": float(med),
            "p90_detour": float(p90),
            "length_recommended_m": float(w @ self.rec_len[s]),
            "length_shortest_m": float(w @ L0),
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
        counts = _Sweep(Router(streets, ~mask), sweep.risk, sweep.origins, dests[bad], params).zone_counts()
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
        found.append(
            (float(traffic[edges] @ length), edges, total, names, float(risk[edges] @ length) / total)
        )
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


def _check_risk(streets: Streets, risk: npt.ArrayLike) -> FloatArray:
    r = np.asarray(risk, dtype=np.float64)
    if r.shape != (streets.n_edges,):
        raise InputError(
            f"routing: risk has shape {r.shape}; expected ({streets.n_edges},), one value per edge"
        )
    if not np.isfinite(r).all() or (r < 0).any() or (r > 1).any():
        i = int(np.flatnonzero(~(np.isfinite(r) & (r >= 0) & (r <= 1)))[0])
        raise InputError(f"routing: risk of edge {i} is {r[i]:g}; risk must be finite and in 0..1")
    return r


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


# --------------------------------------------------------------------------------------
# one route


@dataclass(frozen=True, eq=False)
class Route:
    """A walking route.

    Attributes
    ----------
    nodes, edges
        Node and edge indices in walking order, origin first.
    length_m, exposure
        Route length, and Σ risk × length_m over its edges.
    streets
        Street names in walking order, repeats collapsed (``"unnamed path"`` when unnamed).
    """

    nodes: IntArray
    edges: IntArray
    length_m: float
    exposure: float
    streets: tuple[str, ...]

    @property
    def directions(self) -> str:
        """Street names joined by arrows, e.g. ``"Peachtree St NE → Ellis St NE"``."""
        return " → ".join(self.streets)


@dataclass(frozen=True, eq=False)
class RouteComparison:
    """The recommended and the shortest route between two nodes.

    Attributes
    ----------
    origin_node, dest_node
        The two ends.
    recommended, shortest
        The routes.
    lambda_used
        λ of the recommended route (0: it is the shortest route).
    detour, reduction_pct
        Recommended length / shortest length − 1; exposure reduction, percent.
    within_walk_zone
        Whether the shortest route is within ``walk_zone_m`` (plans route only those).
    """

    origin_node: int
    dest_node: int
    recommended: Route
    shortest: Route
    lambda_used: float
    detour: float
    reduction_pct: float
    within_walk_zone: bool


def compare_route(
    streets: Streets, risk: npt.ArrayLike, origin_node: int, dest_node: int, params: RoutingParams
) -> RouteComparison:
    """The route :func:`plan_corridors` recommends from an origin to a destination, and the shortest.

    Raises
    ------
    RoutingError
        The origin cannot reach the destination on the usable network.
    """
    r = _check_risk(streets, risk)
    o, d = int(origin_node), int(dest_node)
    for label, node in (("origin", o), ("destination", d)):
        if not 0 <= node < streets.n_nodes:
            raise InputError(f"routing: {label} node {node} is not a node index 0..{streets.n_nodes - 1}")
    router = Router(streets, usable_edges(streets, params))
    length, risk_m = streets.length_m, r * streets.length_m
    dist, pred = router.trees([d], length)
    if not np.isfinite(dist[0, o]):
        raise RoutingError(
            f"routing: {streets.intersection_name(o)} (node {o}) cannot reach {streets.intersection_name(d)} "
            f"(node {d}) on the usable network; check closed streets and avoid areas"
        )
    shortest = chosen = _route(router, pred[0], (o, d), length, risk_m)
    lam_used = 0.0
    for lam in reversed(params.lambdas[1:]):
        cost = length * (1.0 + lam * r)
        _, pred = router.trees([d], cost, limit=shortest.length_m + lam * shortest.exposure)
        route = _route(router, pred[0], (o, d), cost, risk_m)
        a, b = np.array([route.length_m, route.exposure]), np.array([shortest.length_m, shortest.exposure])
        if _accept(a[:1], a[1:], b[:1], b[1:], params.max_detour)[0]:
            chosen, lam_used = route, lam
            break
    return RouteComparison(
        origin_node=o,
        dest_node=d,
        recommended=chosen,
        shortest=shortest,
        lambda_used=lam_used,
        detour=chosen.length_m / shortest.length_m - 1.0 if shortest.length_m > 0 else 0.0,
        reduction_pct=100.0 * (1.0 - chosen.exposure / shortest.exposure) if shortest.exposure > 0 else 0.0,
        within_walk_zone=shortest.length_m <= params.walk_zone_m,
    )


def _route(router: Router, pred: Any, ends: tuple[int, int], cost: FloatArray, risk_m: FloatArray) -> Route:
    """Follow ``pred`` from the origin to the root of the tree, the destination."""
    path = [ends[0]]
    while path[-1] != ends[1]:
        path.append(int(pred[path[-1]]))
    nodes = np.asarray(path, dtype=np.int64)
    edges = router.edges_between(nodes[:-1], nodes[1:], cost)
    # summed root-down like the trees of plan_corridors, so both give the same numbers
    length_m = float(np.cumsum(router.streets.length_m[edges][::-1])[-1]) if edges.size else 0.0
    exposure = float(np.cumsum(risk_m[edges][::-1])[-1]) if edges.size else 0.0
    names = ["unnamed path" if not n else str(n) for n in router.streets.name[edges].tolist()]
    collapsed = tuple(n for i, n in enumerate(names) if i == 0 or n != names[i - 1])
    return Route(nodes, edges, length_m, exposure, collapsed)
