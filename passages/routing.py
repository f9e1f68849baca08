"""Risk-weighted routing: bounded shortest-path trees on the walk network.

Walking is undirected, so the routes from every origin to one destination form one shortest-path
tree rooted at the destination. :class:`Router` keeps a CSR matrix per edge cost (closed streets
and avoid areas left out) and searches bounded trees from blocks of roots with
``scipy.sparse.csgraph.dijkstra``, on the part of the network a block's bound can reach.
:meth:`Router.forest` flattens the needed part of many trees into one :class:`Forest` ordered
level by level, so that a sum along every route (length, exposure: from the root down, so one
path gives the same sums in any tree) or over every subtree (foot traffic) is one vectorised step
per tree level. :func:`accepted` is the choice rule, applied to whole walk zones by
:mod:`passages.corridors` and to one origin by :func:`passages.routes.compare_route`.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from passages._errors import CRSError, InputError
from passages.network import Streets

__all__ = [
    "Forest",
    "Router",
    "RoutingParams",
    "accepted",
    "avoided_edges",
    "check_risk",
    "closed_edges",
    "ranges",
    "usable_edges",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: ``targets(first_row, nodes, dist) -> (rows, columns)``: the entries wanted from one block of trees
Targets = Callable[[int, IntArray, FloatArray], tuple[IntArray, IntArray]]

#: dense (sources × nodes) blocks of one Dijkstra call stay under this size, bytes
CHUNK_BYTES = 200_000_000
#: sources per Dijkstra call in plans: small blocks of trees stay in cache, and in the λ sweep
#: (sources sorted by bound) each call's bound stays tight
CHUNK_ROWS = 16
#: a Forest is built and summed in groups of trees of about this many entries, which stay in cache
GROUP_ENTRIES = 1 << 17
#: a search that would reach more than this share of the network's nodes searches all of it
LOCAL_SHARE = 0.4
#: nodes per grid cell of the spatial index that finds the part of the network a search can reach
GRID_NODES = 16
#: relative tolerance of the detour cap and exposure comparisons (float summation order)
RTOL = 1e-9


# --------------------------------------------------------------------------------------
# parameters and usable edges


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
    corridor_min_length_m
        Runs of corridor edges shorter than this are not corridors, metres (0..5000).
    """

    walk_zone_m: float = 1600.0
    max_detour: float = 0.25
    lambdas: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
    closed_streets: tuple[str | int, ...] = ()
    avoid_areas: tuple[shapely.Polygon | shapely.MultiPolygon, ...] = ()
    corridor_percentile: float = 80.0
    corridor_min_share: float = 0.02
    corridor_min_length_m: float = 100.0

    def __post_init__(self) -> None:
        for name, lo, hi, unit in (
            ("walk_zone_m", 50.0, 20000.0, "metres"),
            ("max_detour", 0.0, 2.0, "fraction of the shortest route"),
            ("corridor_percentile", 0.0, 100.0, "percent"),
            ("corridor_min_share", 0.0, 1.0, "share of the busiest edge"),
            ("corridor_min_length_m", 0.0, 5000.0, "metres"),
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
    return ~(closed_edges(streets, params) | avoided_edges(streets, params))


def closed_edges(streets: Streets, params: RoutingParams) -> BoolArray:
    """Edges on ``params.closed_streets`` (raises as :func:`usable_edges`)."""
    closed = params.closed_streets
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


def avoided_edges(streets: Streets, params: RoutingParams) -> BoolArray:
    """Edges touching ``params.avoid_areas`` (raises as :func:`usable_edges`)."""
    mask = np.zeros(streets.n_edges, dtype=bool)
    for area in params.avoid_areas:
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


def check_risk(streets: Streets, risk: npt.ArrayLike) -> FloatArray:
    """Edge risk as float64, checked: one value per edge, finite, in 0..1."""
    r = np.asarray(risk, dtype=np.float64)
    if r.shape != (streets.n_edges,):
        raise InputError(
            f"routing: risk has shape {r.shape}; expected ({streets.n_edges},), one value per edge"
        )
    if not np.isfinite(r).all() or (r < 0).any() or (r > 1).any():
        i = int(np.flatnonzero(~(np.isfinite(r) & (r >= 0) & (r <= 1)))[0])
        raise InputError(f"routing: risk of edge {i} is {r[i]:g}; risk must be finite and in 0..1")
    return r


def accepted(
    length_m: FloatArray, exposure: FloatArray, L0: FloatArray, E0: FloatArray, max_detour: float
) -> BoolArray:
    """Routes that keep the detour cap and lower the exposure of the shortest route (``L0``, ``E0``)."""
    return (length_m <= (1 + max_detour) * L0 * (1 + RTOL)) & (exposure < E0 - RTOL * (1 + E0))


# --------------------------------------------------------------------------------------
# bounded trees


@dataclass(frozen=True)
class _Graph:
    csr: Any  # scipy.sparse.csr_array n × n, int32 indices: the cheapest usable edge cost per pair
    keys: IntArray  # a·n + b of each ordered pair (a, b) joined by a usable edge, ascending
    edge: IntArray  # that cheapest edge, per key
    reach: float  # no path costs less than reach × the straight-line distance between its ends


@dataclass(frozen=True, eq=False)
class Forest:
    """The needed part of many shortest-path trees, one entry per (tree, node).

    Entries come in groups of whole trees, each small enough to stay in cache; within a group
    they are in breadth-first order: the roots, in tree order, then depth 1, and so on, the
    parents of depth ``d + 1`` being exactly the entries of depth ``d``.

    Attributes
    ----------
    tree
        The tree of each entry (the index of its root in the sources searched).
    parent
        The entry of the node's predecessor on the way to the root (non-decreasing in a group);
        roots point at themselves.
    edge
        The edge to the predecessor; -1 at roots.
    levels
        Per group: the first entry of each depth, then the end of the group.
    """

    tree: IntArray
    parent: IntArray
    edge: IntArray
    levels: tuple[tuple[int, ...], ...]

    def path_sums(self, values: FloatArray) -> FloatArray:
        """Σ ``values[edge]`` from each entry's root down to it; ``values`` is (m,) or (m, 2)."""
        v = np.asarray(values, dtype=np.float64)
        if v.ndim == 2:  # two columns as one complex number: one gather per level, the same sums
            pair = np.empty(len(v), dtype=np.complex128)
            pair.real, pair.imag = v[:, 0], v[:, 1]
            sums = self.path_sums_of(pair[self.edge])
            return np.column_stack([sums.real, sums.imag])
        return self.path_sums_of(v[self.edge])

    def path_sums_of(self, steps: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Σ ``steps`` (one per entry; the roots' are not read) from each entry's root down to it."""
        sums = np.zeros_like(steps)
        for lv in self.levels:
            for lo, hi in itertools.pairwise(lv[1:]):
                sums[lo:hi] = sums[self.parent[lo:hi]] + steps[lo:hi]
        return sums

    def subtree_sums(self, entries: IntArray, weights: FloatArray) -> tuple[IntArray, IntArray, FloatArray]:
        """Flow of ``weights`` from ``entries`` to the roots: (tree, edge, flow) of the used edges.

        Each parent adds its own weight, then its children's flows in entry order.
        """
        acc = np.bincount(entries, weights=weights, minlength=len(self.tree)).astype(np.float64)
        for lv in self.levels:
            for d in range(len(lv) - 2, 0, -1):  # depth d adds into depth d - 1
                lo, hi, up = lv[d], lv[d + 1], lv[d - 1]
                into = np.concatenate([np.arange(lo - up), self.parent[lo:hi] - up])
                acc[up:lo] = np.bincount(into, weights=acc[up:hi], minlength=lo - up)
        used = np.flatnonzero((acc > 0) & (self.edge >= 0))
        return self.tree[used], self.edge[used], acc[used]


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
        self._pairs: tuple[IntArray, IntArray, IntArray] | None = None
        self._single: tuple[Any, Any, IntArray, FloatArray] | None = None  # when no pair has 2 edges
        self._grid: tuple[float, float, float, int, int, IntArray, IntArray] | None = None
        self._local: npt.NDArray[np.int32] | None = None  # node -> column of a subgraph, else -1

    def _graph(self, cost: npt.ArrayLike) -> _Graph:
        """The CSR matrix of ``cost`` and its edge lookup, cached per cost array (16 at most)."""
        c = np.asarray(cost, dtype=np.float64)
        if c.shape != (self.streets.n_edges,) or np.isnan(c).any() or (c <= 0).any():
            raise InputError(f"routing: edge costs must be > 0, one per edge ({self.streets.n_edges})")
        key = hashlib.blake2b(c.tobytes(), digest_size=16).digest()
        if key not in self._graphs:
            if len(self._graphs) >= 16:
                self._graphs.clear()
            self._graphs[key] = self._build(c)
        return self._graphs[key]

    def _build(self, c: FloatArray) -> _Graph:
        s, n = self.streets, self.streets.n_nodes
        if self._pairs is None:  # both directions of every usable edge, sorted by (a, b, edge)
            ok = np.flatnonzero(self.usable)
            a, b = np.concatenate([s.u[ok], s.v[ok]]), np.concatenate([s.v[ok], s.u[ok]])
            e = np.concatenate([ok, ok])
            order = np.lexsort((e, b, a))
            self._pairs = (a[order].astype(np.int64), b[order].astype(np.int64), e[order].astype(np.int64))
            self._single = None
        a, b, e = self._pairs
        ce = c[e]
        if self._single is not None and np.isfinite(ce).all():  # the usual case: cost-free structure
            indptr, cols, keys, chord = self._single
            return _Graph(sparse.csr_array((ce, cols, indptr), shape=(n, n)), keys, e, _reach(ce, chord))
        first = np.ones(len(a), dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        pick = np.flatnonzero(first)
        if len(pick) < len(a):  # parallel edges: the cheapest, then the lowest index, as Streets.csr
            group = np.cumsum(first) - 1
            low = np.flatnonzero(ce == np.minimum.reduceat(ce, pick)[group])
            pick = low[np.r_[True, group[low][1:] != group[low][:-1]]]
        finite = np.isfinite(ce[pick])
        pick = pick[finite]
        a, b, e, w = a[pick], b[pick], e[pick], ce[pick]
        index = np.int32 if max(len(a), n) < 2**31 else np.int64  # csgraph copies int64 indices per call
        indptr = np.concatenate([[0], np.cumsum(np.bincount(a, minlength=n))]).astype(index)
        structure = (indptr, b.astype(index), a * n + b, np.hypot(s.x[a] - s.x[b], s.y[a] - s.y[b]))
        if len(pick) == len(self._pairs[0]):
            self._single = structure
        indptr, cols, keys, chord = structure
        return _Graph(sparse.csr_array((w, cols, indptr), shape=(n, n)), keys, e, _reach(w, chord))

    def edges_between(self, a: npt.ArrayLike, b: npt.ArrayLike, cost: npt.ArrayLike) -> IntArray:
        """Index of the cheapest usable edge (by ``cost``) joining nodes ``a`` and ``b`` (-1: none)."""
        graph = self._graph(cost)
        q = (
            np.asarray(a, dtype=np.int64).ravel() * self.streets.n_nodes
            + np.asarray(b, dtype=np.int64).ravel()
        )
        if not graph.keys.size:
            return np.full(len(q), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(graph.keys, q), len(graph.keys) - 1)
        return np.where(graph.keys[at] == q, graph.edge[at], -1)

    def trees(
        self, sources: npt.ArrayLike, cost: npt.ArrayLike, *, limit: float = np.inf
    ) -> tuple[FloatArray, npt.NDArray[np.int32]]:
        """Shortest-path trees from ``sources`` (k,) on edge ``cost`` (m,), searched up to ``limit``.

        Returns (k, n) ``dist`` (``inf`` where unreached) and ``pred`` (-9999 at the sources and
        unreached nodes), as ``scipy.sparse.csgraph.dijkstra``; unusable edges are left out.
        """
        src = np.atleast_1d(np.asarray(sources)).astype(np.int64).ravel()
        if src.size and (src.min() < 0 or src.max() >= self.streets.n_nodes):
            raise InputError(f"routing: source nodes must be in 0..{self.streets.n_nodes - 1}")
        if not limit >= 0:
            raise InputError(f"routing: limit={limit} must be ≥ 0")
        limits = np.full(len(src), float(limit))
        blocks = list(self.blocks(src, cost, limits, rows=CHUNK_BYTES, local=False))
        if not blocks:
            return np.empty((0, self.streets.n_nodes)), np.empty((0, self.streets.n_nodes), dtype=np.int32)
        return np.vstack([b[2] for b in blocks]), np.vstack([b[3] for b in blocks])

    def blocks(
        self,
        sources: IntArray,
        cost: npt.ArrayLike,
        limits: FloatArray,
        *,
        rows: int = CHUNK_ROWS,
        local: bool = True,
    ) -> Iterator[tuple[int, IntArray, FloatArray, npt.NDArray[np.int32]]]:
        """Trees from ``sources`` in blocks: (first row, nodes, dist, pred) per call of ≤ ``rows`` sources.

        Each call searches to the largest ``limits`` of its sources (plus a rounding margin). With
        ``local``, a call whose limit reaches only a part of the network (by straight-line
        distance: no path costs less than ``reach`` × the distance between its ends) searches that
        part only, and gives the same trees. ``nodes`` (ascending) are the network nodes of the
        columns of ``dist`` and ``pred``; predecessors count in columns.
        """
        graph, n = self._graph(cost), self.streets.n_nodes
        every = np.arange(n)
        rows = max(1, min(rows, CHUNK_BYTES // (20 * n)))  # dist, pred, entry map
        for lo in range(0, len(sources), rows):
            src = sources[lo : lo + rows]
            limit = float(np.max(limits[lo : lo + rows])) * (1 + RTOL) + 1e-6
            nodes, csr, index = every, graph.csr, src
            if local and graph.reach > 0 and np.isfinite(limit):
                near = self._near(src, limit / graph.reach * (1 + RTOL) + 1.0)
                if near is not None:
                    nodes, csr, index = near, self._subgraph(graph.csr, near), np.searchsorted(near, src)
            dist, pred = csgraph.dijkstra(
                csr, directed=True, indices=index, limit=limit, return_predecessors=True
            )
            yield lo, nodes, np.atleast_2d(dist), np.atleast_2d(pred)

    def _near(self, sources: IntArray, radius_m: float) -> IntArray | None:
        """Nodes in the grid cells within ``radius_m`` of the sources (sorted), or None when too many."""
        x, y, n = self.streets.x, self.streets.y, self.streets.n_nodes
        if self._grid is None:  # nodes sorted by square cell, column by column; where each cell starts
            w, h = float(np.ptp(x)), float(np.ptp(y))
            cell = max(math.sqrt(w * h * GRID_NODES / n), max(w, h) * GRID_NODES / n, 1.0)
            nx, ny = int(w // cell) + 1, int(h // cell) + 1
            key = ((x - x.min()) // cell).astype(np.int64) * ny + ((y - y.min()) // cell).astype(np.int64)
            order = np.argsort(key, kind="stable")
            start = np.searchsorted(key[order], np.arange(nx * ny + 1))
            self._grid = (float(x.min()), float(y.min()), cell, nx, ny, order, start)
        x0, y0, cell, nx, ny, order, start = self._grid
        if (2 * radius_m) ** 2 > LOCAL_SHARE * (nx * ny * cell**2):  # one search alone covers too much
            return None
        reach = np.array([-radius_m, radius_m])
        cx0, cx1 = np.clip((x[sources, None] + reach - x0) // cell, 0, nx - 1).astype(np.int64).T
        cy0, cy1 = np.clip((y[sources, None] + reach - y0) // cell, 0, ny - 1).astype(np.int64).T
        cx = ranges(cx0, cx1 - cx0 + 1)  # each source's grid columns; in each, cells cy0..cy1 are contiguous
        src = np.repeat(np.arange(len(sources)), cx1 - cx0 + 1)
        first, last = start[cx * ny + cy0[src]], start[cx * ny + cy1[src] + 1]
        if (last - first).sum() > LOCAL_SHARE * n * len(sources):  # a wide search
            return None
        mask = np.zeros(n, dtype=bool)
        mask[order[ranges(first, last - first)]] = True
        near = np.flatnonzero(mask)
        return near if len(near) <= LOCAL_SHARE * n else None

    def _subgraph(self, csr: Any, nodes: IntArray) -> Any:
        """Rows and columns ``nodes`` (ascending) of ``csr``, renumbered 0..len(nodes) - 1 in order."""
        k = len(nodes)
        if self._local is None:
            self._local = np.full(self.streets.n_nodes, -1, dtype=np.int32)
        starts = csr.indptr[nodes].astype(np.int64)
        counts = csr.indptr[nodes + 1] - starts
        at = ranges(starts, counts)
        self._local[nodes] = np.arange(k, dtype=np.int32)
        col = self._local[csr.indices[at]]
        self._local[nodes] = -1
        keep = col >= 0
        row = np.repeat(np.arange(k), counts)[keep]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=k))]).astype(csr.indptr.dtype)
        return sparse.csr_array(
            (csr.data[at[keep]], col[keep].astype(csr.indices.dtype), indptr), shape=(k, k)
        )

    def forest(
        self,
        sources: IntArray,
        cost: FloatArray,
        limits: FloatArray,
        targets: Targets,
        *,
        rows: int = CHUNK_ROWS,
    ) -> tuple[Forest, IntArray]:
        """Trees from ``sources`` (see :meth:`blocks`), cut to what ``targets`` need, as one Forest.

        ``targets(first_row, nodes, dist)`` gives the (row, column) entries wanted from each
        block of trees (column -1: not in the block); every tree is cut beyond its farthest
        target, which leaves out no ancestor of a target. Returns the forest and the entries of
        the targets in the order given (-1 where unreached).
        """
        graph, n = self._graph(cost), self.streets.n_nodes
        groups: list[tuple[IntArray, ...]] = [(np.zeros(0, dtype=np.int64),) * 4]
        levels: list[tuple[int, ...]] = []
        parts: list[tuple[IntArray, ...]] = []
        size = start = 0  # entries so far; first entry of the group being filled
        for lo, nodes, dist, pred in self.blocks(sources, cost, limits, rows=rows):
            k, width = dist.shape
            t_row, t_col = targets(lo, nodes, dist)
            t_at = t_row * width + np.maximum(t_col, 0)
            t_dist = np.where(t_col >= 0, dist.ravel()[t_at], np.inf)
            reached = np.isfinite(t_dist)
            far = np.full(k, -np.inf)
            np.maximum.at(far, t_row[reached], t_dist[reached])
            flat = np.flatnonzero(dist <= far[:, None])
            ends = np.searchsorted(flat, np.arange(1, k + 1) * width)
            row = np.repeat(np.arange(k), np.diff(ends, prepend=0))
            col = flat - row * width
            p = pred.ravel()[flat].astype(np.int64)
            is_root = p < 0
            p[is_root] = col[is_root]  # a root is its own parent
            where = np.empty(k * width, dtype=np.int64)  # (row, column) -> entry in the group, where kept
            where[flat] = np.arange(size - start, size - start + len(flat))
            parent = where[row * width + p]
            found = np.where(reached, where[t_at], -1)
            a, b = (col, p) if width == n else (nodes[col], nodes[p])
            edge = np.full(len(flat), -1, dtype=np.int64)
            if graph.keys.size:  # (a, b) is a tree edge, always found, unless a is a root
                edge = graph.edge[np.minimum(np.searchsorted(graph.keys, a * n + b), len(graph.keys) - 1)]
                edge[is_root] = -1
            parts.append((lo + row, parent, edge, found))
            size += len(flat)
            if size - start >= GROUP_ENTRIES or lo + k >= len(sources):
                group, group_levels = _breadth_first(*(np.concatenate(c) for c in zip(*parts, strict=True)))
                group[1][:] += start
                group[3][group[3] >= 0] += start
                groups.append(group)
                levels.append(tuple(start + b for b in group_levels))
                parts, start = [], size
        tree, parent, edge, found = (np.concatenate(c) for c in zip(*groups, strict=True))
        return Forest(tree, parent, edge, tuple(levels)), found


def _reach(cost: FloatArray, chord: FloatArray) -> float:
    """The least cost per metre of straight line over the edges (0 when no edge has a length)."""
    far = chord > 0
    return float(np.min(cost[far] / chord[far])) if far.any() else 0.0


def ranges(starts: npt.ArrayLike, counts: npt.ArrayLike) -> IntArray:
    """``starts[i], …, starts[i] + counts[i] - 1`` for every i, concatenated."""
    s, c = np.asarray(starts, dtype=np.int64), np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(c)
    total = int(ends[-1]) if len(ends) else 0
    return np.asarray(np.repeat(s - ends + c, c) + np.arange(total), dtype=np.int64)


def _breadth_first(
    tree: IntArray, parent: IntArray, edge: IntArray, found: IntArray
) -> tuple[tuple[IntArray, ...], list[int]]:
    """Entries of a group of trees in breadth-first order, and where each depth starts.

    ``parent`` and ``found`` (entries, -1 for none) are renumbered to the new order.
    """
    size = len(tree)
    entry = np.arange(size)
    is_root = parent == entry
    heads = np.where(is_root, size, parent)  # a super-root joined to every root
    links = sparse.csr_array((np.ones(size), (heads, entry)), shape=(size + 1, size + 1))
    order = csgraph.breadth_first_order(links, size, directed=True, return_predecessors=False)[1:]
    rank = np.empty(size, dtype=np.int64)
    rank[order] = entry
    parent = rank[parent[order]]
    n_roots = int(is_root.sum())
    levels, search = [0, n_roots], np.where(entry < n_roots, -1, parent)
    while levels[-1] < size:  # the parents of depth d + 1 are the entries of depth d
        levels.append(int(np.searchsorted(search, levels[-1])))
    found = found.copy()
    found[found >= 0] = rank[found[found >= 0]]
    return (tree[order], parent, edge[order], found), levels
