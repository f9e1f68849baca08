"""Demand on the street network, and which candidate posts cover it.

Demand
    ``demand_e = traffic_e × length_m_e × (0.05 + risk_e)``: the foot traffic exposed along the
    block, weighted by its risk. The floor ε = 0.05 keeps busy low-risk corridors worth something
    (a school route with no recorded incidents still deserves an adult in sight), while a block
    at risk 1 weighs 21 times the same block at risk 0.
Coverage
    An officer at node ``c`` sees ``radius_m`` along the network. ``c`` covers edge ``e = (u, v)``
    when every point of ``e`` is within ``radius_m`` of ``c``, i.e. when
    ``(d(c, u) + d(c, v) + length_e) / 2 ≤ radius_m`` (the farthest point of the edge). An edge
    longer than ``radius_m`` can then only be seen whole across a shorter parallel path, so such a
    block also counts as covered by a post at either of its ends: the corner is as close as a post
    gets to a long block.
    Distances come from bounded Dijkstra searches on local subgraphs (spatial cells of
    candidates), so the cost grows with the number of candidates, not with the network squared.
    Coverage is pure geometry: build it once over the edges of every window and
    :meth:`Coverage.restrict` it (:func:`passages.deployment.choose_posts` and
    :func:`passages.deployment.resilience` do that themselves).
Posts
    Users give posts as [lon, lat] in degrees or as OSM node ids; :func:`resolve_posts` places
    them on the network and :func:`post_names` names post nodes by their streets.
    :mod:`passages.deployment` chooses the posts and re-exports these names.
"""

from __future__ import annotations

import logging
import math
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from passages._errors import InputError
from passages.network import Streets

__all__ = [
    "RISK_FLOOR",
    "Coverage",
    "PostSpec",
    "build_coverage",
    "candidate_nodes",
    "edge_demand",
    "post_names",
    "resolve_posts",
]

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: an officer post as given by a user: (lon, lat) in degrees or an OSM node id
PostSpec = int | Sequence[float]

#: demand weight of a risk-0 edge relative to risk 1 (see the module docstring)
RISK_FLOOR = 0.05
#: accepted eyeshot radius, metres: (0, MAX_RADIUS_M]
MAX_RADIUS_M = 2000.0
#: most distance-matrix cells held at once while building coverage (× 8 bytes)
_BATCH_CELLS = 4_000_000


def edge_demand(
    traffic: npt.ArrayLike, risk: npt.ArrayLike, length_m: npt.ArrayLike, *, risk_floor: float = RISK_FLOOR
) -> FloatArray:
    """Demand per edge: ``traffic × length_m × (risk_floor + risk)``.

    Parameters
    ----------
    traffic
        Foot traffic per edge (≥ 0), e.g. ``WindowCorridors.traffic``.
    risk
        Risk per edge in [0, 1].
    length_m
        Edge lengths in metres (``Streets.length_m``).
    risk_floor
        Weight of a risk-0 edge, so busy low-risk corridors are not worth zero.
    """
    t, r, length = (np.asarray(a, dtype=np.float64) for a in (traffic, risk, length_m))
    if not t.shape == r.shape == length.shape or t.ndim != 1:
        raise InputError(f"edge_demand: traffic {t.shape}, risk {r.shape}, length_m {length.shape} differ")
    for label, a, lo, hi in (
        ("traffic", t, 0.0, np.inf),
        ("risk", r, 0.0, 1.0),
        ("length_m", length, 0, np.inf),
    ):
        bad = ~np.isfinite(a) | (a < lo) | (a > hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"edge_demand: {label}[{i}]={a[i]} is outside [{lo}, {hi}] ({int(bad.sum())} bad)"
            )
    return t * length * (risk_floor + r)


@dataclass(frozen=True, eq=False)
class Coverage:
    """Which candidate posts see which demand edges.

    Attributes
    ----------
    candidates
        Sorted node indices (the matrix rows).
    edges
        Sorted indices of the edges with demand > 0 (the matrix columns).
    matrix
        Boolean ``(len(candidates), len(edges))`` CSR: True where the post sees the whole edge.
    radius_m
        Eyeshot radius used.
    """

    candidates: IntArray
    edges: IntArray
    matrix: sparse.csr_array
    radius_m: float

    def restrict(self, edges: npt.ArrayLike, candidates: npt.ArrayLike) -> Coverage:
        """The coverage of some of these edges by some of these candidates (no distances computed).

        Equal to :func:`build_coverage` for the same radius, edges and candidates. Raises
        InputError naming the first edge or candidate this coverage does not hold.
        """
        pos: list[IntArray] = []
        for what, have, want in (
            ("edge", self.edges, edges),
            ("candidate node", self.candidates, candidates),
        ):
            a = np.unique(np.asarray(want, dtype=np.int64).ravel())
            at = np.minimum(np.searchsorted(have, a), max(len(have) - 1, 0))
            missing = a[(have[at] != a) if len(have) else np.ones(len(a), dtype=bool)]
            if len(missing):
                raise InputError(
                    f"coverage holds no {what} {missing[0]} ({len(missing)} missing); "
                    "build it over every edge and candidate it is used for"
                )
            pos.append(at)
        m = self.matrix[pos[1]][:, pos[0]]
        return Coverage(self.candidates[pos[1]], self.edges[pos[0]], sparse.csr_array(m), self.radius_m)


def _check_radius(radius_m: float) -> float:
    r = float(radius_m)
    if not (math.isfinite(r) and 0.0 < r <= MAX_RADIUS_M):
        raise InputError(
            f"deployment radius_m={radius_m!r} is outside the accepted range (0, {MAX_RADIUS_M:g}] m"
        )
    return r


def _check_demand(streets: Streets, demand: npt.ArrayLike) -> FloatArray:
    d = np.asarray(demand, dtype=np.float64)
    if d.shape != (streets.n_edges,):
        raise InputError(f"demand has shape {d.shape}; expected ({streets.n_edges},), one value per edge")
    bad = ~np.isfinite(d) | (d < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"demand[{i}]={d[i]} is not a finite value ≥ 0 ({int(bad.sum())} bad values)")
    return d


def candidate_nodes(
    streets: Streets,
    demand: npt.ArrayLike,
    *,
    traffic: npt.ArrayLike | None = None,
    min_traffic_share: float = 0.0,
) -> IntArray:
    """Nodes touching an edge with demand > 0 (and traffic ≥ ``min_traffic_share`` × max traffic)."""
    keep = _check_demand(streets, demand) > 0
    if traffic is not None and min_traffic_share > 0:
        t = np.asarray(traffic, dtype=np.float64)
        keep &= t >= min_traffic_share * float(t.max(initial=0.0))
    return np.unique(np.concatenate([streets.u[keep], streets.v[keep]])).astype(np.int64)


def build_coverage(
    streets: Streets,
    demand: npt.ArrayLike,
    *,
    radius_m: float = 150.0,
    candidates: npt.ArrayLike | None = None,
) -> Coverage:
    """Build the sparse candidates × demand-edges coverage matrix (rule in the module docstring).

    Parameters
    ----------
    demand
        Demand per edge; the columns are the edges with demand > 0.
    radius_m
        Eyeshot radius along the network, metres.
    candidates
        Node indices that may hold a post; default :func:`candidate_nodes`.
    """
    r = _check_radius(radius_m)
    d = _check_demand(streets, demand)
    edges = np.flatnonzero(d > 0).astype(np.int64)
    cand = candidate_nodes(streets, d) if candidates is None else _node_array(streets, candidates)
    k, n_e = len(cand), len(edges)
    if k == 0 or n_e == 0:
        return Coverage(cand, edges, sparse.csr_array((k, n_e), dtype=bool), r)
    t0 = clock.perf_counter()
    u, v, length = (
        streets.u[edges].astype(np.int64),
        streets.v[edges].astype(np.int64),
        streets.length_m[edges],
    )
    graph = streets.csr()
    xy = np.column_stack([streets.x, streets.y])
    tree = cKDTree(xy)
    inc = sparse.csr_array(
        (np.ones(2 * n_e), (np.concatenate([u, v]), np.tile(np.arange(n_e), 2))), shape=(streets.n_nodes, n_e)
    )
    tol = 1e-9 * max(r, 1.0)
    reach = r * 1.01 + 1.0  # network distance ≥ straight line; 1 % slack for projection scale
    cell = 4.0 * r
    cxy = np.floor((xy[cand] - xy[cand].min(axis=0)) / cell).astype(np.int64)
    key = cxy[:, 0] * (int(cxy[:, 1].max()) + 1) + cxy[:, 1]
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    local = np.full(streets.n_nodes, -1, dtype=np.int64)
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    for group in np.split(order, bounds):
        pts = xy[cand[group]]
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        sub = np.sort(
            np.asarray(tree.query_ball_point((lo + hi) / 2, np.hypot(*(hi - lo)) / 2 + reach), dtype=np.int64)
        )
        local[sub] = np.arange(len(sub))
        subgraph = graph[sub][:, sub]
        near = np.unique(inc[sub].indices)
        lu, lv = local[u[near]], local[v[near]]
        inside = (lu >= 0) & (lv >= 0)
        near, lu, lv = near[inside], lu[inside], lv[inside]
        for batch in np.array_split(group, -(-len(group) * (len(sub) + len(near)) // _BATCH_CELLS)):
            dist = dijkstra(subgraph, directed=False, indices=local[cand[batch]], limit=r + tol)
            gi, ei = np.nonzero(dist[:, lu] + dist[:, lv] + length[near] <= 2 * r + tol)
            rows.append(batch[gi])
            cols.append(near[ei])
        local[sub] = -1
    long_e = np.flatnonzero(length > r)
    for ends in (u[long_e], v[long_e]):
        pos = np.minimum(np.searchsorted(cand, ends), k - 1)
        hit = cand[pos] == ends
        rows.append(pos[hit])
        cols.append(long_e[hit])
    ri, ci = np.concatenate(rows), np.concatenate(cols)
    m = sparse.coo_array((np.ones(len(ri), dtype=bool), (ri, ci)), shape=(k, n_e)).tocsr()
    m.sum_duplicates()
    m.sort_indices()
    logger.info(
        "coverage: %s candidates × %s demand edges, %s pairs within %.0f m (%.2f s)",
        f"{k:,}", f"{n_e:,}", f"{m.nnz:,}", r, clock.perf_counter() - t0,
    )  # fmt: skip
    return Coverage(cand, edges, m, r)


def _node_array(streets: Streets, nodes: npt.ArrayLike) -> IntArray:
    a = np.unique(np.asarray(nodes, dtype=np.int64).ravel())
    if len(a) and (a[0] < 0 or a[-1] >= streets.n_nodes):
        raise InputError(f"candidate node indices must be in 0..{streets.n_nodes - 1}; got {a[0]}..{a[-1]}")
    return a


def _resolve(streets: Streets, specs: Sequence[PostSpec], max_snap_m: float, what: str) -> dict[int, str]:
    """Node index → how the user wrote it, for each post spec."""
    out: dict[int, str] = {}
    index: dict[int, int] | None = None
    for spec in specs:
        if isinstance(spec, bool | np.bool_ | str | bytes):
            raise InputError(f"{what} post {spec!r}: accepted: [lon, lat] in degrees or an OSM node id")
        if isinstance(spec, int | np.integer):
            if index is None:
                index = {int(n): i for i, n in enumerate(streets.node_id.tolist())}
            node = index.get(int(spec))
            if node is None:
                raise InputError(f"{what} post {int(spec)}: no node with this OSM id in the walk network")
            out.setdefault(node, str(int(spec)))
            continue
        try:
            lon, lat = (float(c) for c in spec)
        except (TypeError, ValueError):
            raise InputError(
                f"{what} post {spec!r}: accepted: [lon, lat] in degrees or an OSM node id"
            ) from None
        label = f"[{lon:g}, {lat:g}]"
        if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
            raise InputError(f"{what} post {label}: not a (lon, lat) position in degrees")
        x, y = streets.from_lonlat([lon], [lat])
        idx, dist = streets.nearest_node(x, y)
        if dist[0] > max_snap_m:
            raise InputError(
                f"{what} post {label} is {dist[0]:,.0f} m from the nearest street node "
                f"(accepted: within {max_snap_m:g} m of the walk network)"
            )
        out.setdefault(int(idx[0]), label)
    return out


def post_names(streets: Streets, nodes: npt.ArrayLike, *, search_m: float = 150.0) -> list[str]:
    """Names for post nodes a coordinator can find: the intersection's streets, or for nodes on
    unnamed sidewalks and paths (most of an OSM walk network) the two nearest named streets:
    ``"A & B"`` when both are within 50 m along the network, else ``"near A & B"``."""
    nodes = np.asarray(nodes, dtype=np.int64)
    names = [streets.intersection_name(int(n)) for n in nodes]
    todo = [i for i, name in enumerate(names) if " & " not in name]
    if not todo:
        return names
    named = np.flatnonzero(streets.name != "")
    graph = streets.csr()
    for i in todo:
        dist = dijkstra(graph, directed=False, indices=int(nodes[i]), limit=search_m)
        near = np.minimum(dist[streets.u[named]], dist[streets.v[named]])
        seen: dict[str, float] = {}
        for e, d in zip(named[np.argsort(near, kind="stable")].tolist(), np.sort(near).tolist(), strict=True):
            if not math.isfinite(d) or len(seen) == 2:
                break
            for part in str(streets.name[e]).split("; "):
                if part and part not in seen and len(seen) < 2:
                    seen[part] = d
        if len(seen) == 2:
            a, b = seen
            names[i] = f"{a} & {b}" if max(seen.values()) <= 50.0 else f"near {a} & {b}"
    return names


def resolve_posts(streets: Streets, specs: Sequence[PostSpec], *, max_snap_m: float = 100.0) -> IntArray:
    """Node indices (sorted, unique) of posts given as [lon, lat] (snapped within ``max_snap_m``)
    or as OSM node ids. Raises InputError naming any post that cannot be placed."""
    return np.array(sorted(_resolve(streets, specs, max_snap_m, "")), dtype=np.int64)
