"""Officer posts along the corridors (maximum coverage), their schedule, and what losing one costs.

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
Choice
    Maximum coverage: pick ``officers`` posts maximising the covered demand, pinned posts forced
    in, forbidden ones left out. Lazy greedy plus 1-swap local search always runs (milliseconds);
    ``scipy.optimize.milp`` (HiGHS) solves it exactly when asked or when ``method="auto"`` cannot
    already prove greedy within ``mip_gap``; the better solution is kept. ``PostPlan.gap`` is
    ``(upper bound − covered) / upper bound`` with the tightest bound available, named in
    ``PostPlan.bound_source``: HiGHS' dual bound, a Lagrangian bound (subgradient on the LP
    relaxation), or the online submodular bound (covered + the largest remaining marginal gains).
    Results are deterministic unless a time limit cuts a solver short.
Schedule and resilience
    :func:`schedule` turns a plan into fixed posts or rotation beats; :func:`resilience` prices
    each post's loss and names a stand-in.
"""

from __future__ import annotations

import heapq
import logging
import math
import time as clock
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from passages._errors import InputError
from passages.network import Streets

__all__ = [
    "Coverage",
    "Post",
    "PostPlan",
    "PostResilience",
    "Schedule",
    "ScheduleEntry",
    "build_coverage",
    "candidate_nodes",
    "choose_posts",
    "edge_demand",
    "format_days",
    "post_names",
    "resilience",
    "resolve_posts",
    "schedule",
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
#: method="auto" solves the MILP when the coverage matrix has at most this many pairs
AUTO_MILP_MAX_PAIRS = 200_000
#: walking speed between posts, metres per minute
WALK_M_PER_MIN = 80.0
#: network / straight-line distance ratio used when no network is given to ``schedule``
CIRCUITY = 1.3
#: preferred stay at a post in a rotation (Koper curve), minutes
PREFERRED_DWELL_MIN = 15
_DAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: most distance-matrix cells held at once while building coverage (× 8 bytes)
_BATCH_CELLS = 4_000_000


class WindowLike(Protocol):
    """The time-window attributes used here (``passages.config.TimeWindow`` has them)."""

    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def days(self) -> frozenset[int]: ...
    @property
    def start(self) -> time: ...
    @property
    def end(self) -> time: ...


# --------------------------------------------------------------------------------------
# demand and coverage


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


# --------------------------------------------------------------------------------------
# choosing posts


@dataclass(frozen=True, eq=False)
class Post:
    """One officer post. ``demand_covered`` and ``share`` are marginal in the plan (each covered edge
    is credited to the first post in P01, P02, … order that sees it), so they add up to the plan's;
    ``covered_edges`` and ``corridor_m`` count everything the post sees."""

    post_id: str
    node: int
    x: float
    y: float
    lon: float
    lat: float
    name: str
    covered_edges: IntArray
    demand_covered: float
    corridor_m: float
    share: float
    pinned: bool


@dataclass(frozen=True, eq=False)
class PostPlan:
    """The posts chosen for one window.

    ``demand_*`` are in demand units (:func:`edge_demand`), ``share_covered`` their ratio.
    ``method`` is "milp" or "greedy" (whose solution was kept), "all" (no more candidates than
    officers) or "none" (empty plan); ``gap`` = (upper bound − demand_covered) / upper bound, from
    the bound named in ``bound_source``; ``status`` says in words what happened;
    ``forbidden_nodes`` are the excluded node indices (kept out of :func:`resilience` backups).
    """

    window: str
    officers: int
    posts: tuple[Post, ...]
    demand_total: float
    demand_covered: float
    share_covered: float
    method: str
    gap: float
    n_candidates: int
    status: str
    radius_m: float
    bound_source: str = ""
    forbidden_nodes: tuple[int, ...] = field(default=())


def choose_posts(
    streets: Streets,
    demand: npt.ArrayLike,
    *,
    officers: int,
    radius_m: float = 150.0,
    candidates: npt.ArrayLike | None = None,
    pinned: Sequence[PostSpec] = (),
    forbidden: Sequence[PostSpec] = (),
    method: str = "auto",
    time_limit_s: float = 10.0,
    mip_gap: float = 0.01,
    window: str = "",
    coverage: Coverage | None = None,
) -> PostPlan:
    """Choose ``officers`` posts maximising the covered demand.

    Parameters
    ----------
    demand
        Demand per edge (:func:`edge_demand`).
    officers
        Posts to choose (one officer each); 0 gives an empty plan.
    radius_m
        Eyeshot radius along the network, metres, in (0, 2000].
    candidates
        Node indices that may hold a post; default every node touching a demand edge.
    pinned, forbidden
        Posts that must / must not be used: [lon, lat] in degrees (snapped within ``radius_m``)
        or OSM node ids.
    method
        "milp" (HiGHS, compared with greedy: the better is kept), "greedy" (lazy greedy) or "auto"
        (greedy; then the MILP unless the bound already proves greedy within ``mip_gap`` or the
        coverage matrix has more than ``AUTO_MILP_MAX_PAIRS`` pairs).
    time_limit_s, mip_gap
        HiGHS time limit (seconds) and relative gap at which it stops.
    window
        Window name carried into the plan.
    coverage
        A prebuilt :func:`build_coverage` result for this demand and radius (its candidates are
        used instead of ``candidates``; it is rebuilt when a pinned post is not among them).

    Returns
    -------
    PostPlan
        Posts numbered P01, P02, … by marginal demand; an empty plan (with ``status`` saying why)
        for zero officers or no demand; every candidate when there are no more than officers.
    """
    r = _check_radius(radius_m)
    d = _check_demand(streets, demand)
    if isinstance(officers, bool) or not isinstance(officers, int | np.integer) or officers < 0:
        raise InputError(f"window {window!r}: officers={officers!r}; accepted: a whole number ≥ 0")
    if method not in ("auto", "milp", "greedy"):
        raise InputError(f"deployment method={method!r}; accepted: 'auto', 'milp', 'greedy'")
    if not time_limit_s > 0 or not 0 <= mip_gap < 1:
        raise InputError(f"time_limit_s={time_limit_s!r} must be > 0 and mip_gap={mip_gap!r} in [0, 1)")
    officers = int(officers)
    pins = _resolve(streets, pinned, r, "pinned")
    bans = _resolve(streets, forbidden, r, "forbidden")
    for node, label in pins.items():
        if node in bans:
            raise InputError(
                f"pinned post {label} ({post_names(streets, [node])[0]}) is also forbidden "
                f"(as {bans[node]}); remove it from one of the lists"
            )
    total = float(d.sum())
    plan = PostPlan(window=window, officers=officers, posts=(), demand_total=total, demand_covered=0.0,
                    share_covered=0.0, method="none", gap=0.0, n_candidates=0, status="", radius_m=r,
                    forbidden_nodes=tuple(sorted(bans)))  # fmt: skip
    if officers == 0:
        note = f"; {len(pins)} pinned posts left unstaffed" if pins else ""
        return replace(plan, status=f"0 officers on duty: no posts{note}")
    if len(pins) > officers:
        raise InputError(f"window {window!r}: {len(pins)} pinned posts but only {officers} officers")
    cov = coverage
    if cov is not None and not math.isclose(cov.radius_m, r):
        raise InputError(f"coverage was built for radius_m={cov.radius_m:g}, not {r:g}")
    if cov is None or not np.isin(list(pins), cov.candidates).all():
        cand = cov.candidates if cov is not None else candidates
        cand = candidate_nodes(streets, d) if cand is None else _node_array(streets, cand)
        cov = build_coverage(streets, d, radius_m=r, candidates=np.union1d(cand, list(pins)))
    keep = ~np.isin(cov.candidates, list(bans))
    cand, A = cov.candidates[keep], cov.matrix[np.flatnonzero(keep)]
    w = d[cov.edges]
    pin_rows = np.searchsorted(cand, sorted(pins)).astype(np.int64)
    k = len(cand)
    if total == 0:
        rows, value, ub, used, src = pin_rows, 0.0, 0.0, "none", ""
        status = "no demand in this window (no corridors)" + ("; pinned posts only" if pins else "")
    elif k <= officers:
        rows, used, src = np.arange(k), "all", "every candidate"
        value = ub = _value(A, w, rows)
        status = f"{officers} officers, only {k} candidate posts: every candidate is staffed"
    else:
        rows, value, ub, used, src, status = _solve(
            A, w, officers, pins=pin_rows, method=method, limit_s=time_limit_s, gap=mip_gap
        )
    posts = _posts(streets, cand=cand, edges=cov.edges, A=A, w=w, rows=rows, pins=set(pins), total=total)
    gap = max(0.0, (ub - value) / ub) if ub > 0 else 0.0
    share = value / total if total > 0 else 0.0
    plan = replace(plan, posts=posts, demand_covered=value, share_covered=share, method=used, gap=gap)
    plan = replace(plan, n_candidates=k, status=status, bound_source=src)
    logger.info(
        "posts for window %r: %d of %s candidates, %.1f%% of demand covered (%s, gap %.2f%%)",
        window, len(posts), f"{k:,}", 100 * plan.share_covered, used, 100 * gap,
    )  # fmt: skip
    return plan


def _solve(
    A: sparse.csr_array, w: FloatArray, p: int, *, pins: IntArray, method: str, limit_s: float, gap: float
) -> tuple[IntArray, float, float, str, str, str]:
    """Rows chosen, value, upper bound, method used, bound source, status."""
    deadline = clock.perf_counter() + limit_s
    rows = _swap(A, w, _greedy(A, w, p, pins), pins, deadline=deadline)
    value = _value(A, w, rows)
    rest = A @ np.where(_covered(A, rows), 0.0, w)  # marginal gains left
    rest[rows] = 0.0
    online = value + float(-np.sort(-rest)[: p - len(pins)].sum())
    lagrange = _lagrangian_bound(A, w, p, pins, value, deadline=min(deadline, clock.perf_counter() + 2.0))
    ub, src = min((online, "online submodular bound"), (lagrange, "Lagrangian (LP relaxation) bound"))
    used, status = "greedy", f"greedy + swaps within {_pct(value, ub)} of the {src}"
    if method == "auto" and (ub - value) <= gap * ub:
        return rows, value, ub, used, src, status
    if method == "auto" and A.nnz > AUTO_MILP_MAX_PAIRS:
        return rows, value, ub, used, src, f"{status} ({A.nnz:,} coverage pairs: too many for the MILP)"
    if method in {"milp", "auto"}:
        left_s = max(0.1 * limit_s, deadline - clock.perf_counter())
        m_rows, dual, text = _milp(A, w, p, pins=pins, limit_s=left_s, gap=gap)
        if math.isfinite(dual) and dual < ub:
            ub, src = dual, "HiGHS dual bound"
        m_value = _value(A, w, m_rows) if m_rows is not None else -1.0
        if m_rows is not None and m_value >= value:
            rows, value, used = m_rows, m_value, "milp"
        keep = "MILP solution" if used == "milp" else "greedy solution (better than the MILP's)"
        status = f"{text}; {keep} within {_pct(value, ub)} of the {src}"
    return rows, value, max(ub, value), used, src, status


def _pct(value: float, ub: float) -> str:
    return f"{100 * max(0.0, (ub - value) / ub):.2f}%" if ub > 0 else "0%"


def _covered(A: sparse.csr_array, rows: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    covered = np.zeros(A.shape[1], dtype=bool)
    covered[A[np.asarray(rows, dtype=np.int64)].indices] = True
    return covered


def _value(A: sparse.csr_array, w: FloatArray, rows: npt.ArrayLike) -> float:
    return float(w[_covered(A, rows)].sum())


def _greedy(A: sparse.csr_array, w: FloatArray, p: int, pins: IntArray) -> IntArray:
    """Lazy greedy max coverage, starting from the pinned rows (ties: more total demand, lower row)."""
    covered = _covered(A, pins)
    chosen = [int(i) for i in pins]
    gain0 = A @ w
    taken = set(chosen)
    heap = [(-float(gain0[i]), -float(gain0[i]), i) for i in range(A.shape[0]) if i not in taken]
    heapq.heapify(heap)
    while len(chosen) < p and heap:
        _, total, i = heapq.heappop(heap)
        cols = A.indices[A.indptr[i] : A.indptr[i + 1]]
        gain = float(w[cols[~covered[cols]]].sum())
        if heap and gain < -heap[0][0] * (1 - 1e-12):  # stale: push back with the fresh gain
            heapq.heappush(heap, (-gain, total, i))
            continue
        chosen.append(i)
        covered[cols] = True
    return np.array(chosen, dtype=np.int64)


def _swap(A: sparse.csr_array, w: FloatArray, rows: IntArray, pins: IntArray, *, deadline: float) -> IntArray:
    """1-swap local search: replace a post by the best outside one while that adds demand."""
    B = sparse.csr_array(A, dtype=np.float64)
    out = [int(r) for r in rows]
    count = np.bincount(A[rows].indices, minlength=A.shape[1])
    fixed = {int(i) for i in pins}
    for _ in range(10):
        improved = False
        for pos, c in enumerate(list(out)):
            if c in fixed or clock.perf_counter() > deadline:
                continue
            cols = A.indices[A.indptr[c] : A.indptr[c + 1]]
            loss = float(w[cols[count[cols] == 1]].sum())
            count[cols] -= 1
            gains = B @ np.where(count == 0, w, 0.0)
            gains[out] = -1.0
            best = int(np.argmax(gains))
            if gains[best] > loss * (1 + 1e-9):
                out[pos], improved = best, True
                count[A.indices[A.indptr[best] : A.indptr[best + 1]]] += 1
            else:
                count[cols] += 1
        if not improved:
            break
    return np.array(out, dtype=np.int64)


def _lagrangian_bound(
    A: sparse.csr_array, w: FloatArray, p: int, pins: IntArray, best: float, *, deadline: float
) -> float:
    """Upper bound on max coverage from relaxing ``y_e ≤ Σ x_c`` with multipliers ``mu_e ∈ [0, w_e]``.

    ``L(mu) = Σ max(0, w_e − mu_e) + Σ_pinned (A mu)_c + the p' largest other (A mu)_c`` bounds the
    optimum for every ``mu``; subgradient steps (Polyak, towards ``best``) drive it down towards
    the LP relaxation's value. Dense BLAS calls are avoided on purpose (thread start-up dominates).
    """
    B = sparse.csr_array(A, dtype=np.float64)
    Bt = B.T.tocsr()
    mu = w / np.maximum(np.diff(Bt.indptr), 1)
    free = np.ones(B.shape[0], dtype=bool)
    free[pins] = False
    n_free = p - len(pins)
    bound, step, stall = math.inf, 2.0, 0
    for _ in range(1000):
        score = B @ mu
        top = np.argpartition(np.where(free, -score, np.inf), n_free - 1)[:n_free] if n_free else pins[:0]
        value = float(np.maximum(w - mu, 0.0).sum() + score[pins].sum() + score[top].sum())
        stall = 0 if value < bound * (1 - 1e-6) else stall + 1
        bound = min(bound, value)
        if stall >= 20:
            step, stall = step / 2, 0
        x = np.zeros(B.shape[0])
        x[top] = x[pins] = 1.0
        g = Bt @ x - (w > mu)
        norm = float(np.square(g).sum())
        if norm == 0 or step < 1e-3 or bound - best <= 1e-4 * bound or clock.perf_counter() > deadline:
            break
        mu = np.clip(mu - step * (value - best) / norm * g, 0.0, w)
    return bound


def _milp(
    A: sparse.csr_array, w: FloatArray, p: int, *, pins: IntArray, limit_s: float, gap: float
) -> tuple[IntArray | None, float, str]:
    """Solve max coverage with HiGHS; rows (None if no solution), upper bound (nan if none), status."""
    k = A.shape[0]
    At = A.T.tocsr()
    counts = np.diff(At.indptr)
    single = np.flatnonzero(counts == 1)
    wx = np.bincount(At.indices[At.indptr[single]], weights=w[single], minlength=k)
    groups: dict[bytes, int] = {}
    multi = np.flatnonzero(counts > 1)
    gid = [  # edges seen by the same posts share one y variable
        groups.setdefault(At.indices[At.indptr[e] : At.indptr[e + 1]].tobytes(), len(groups))
        for e in multi.tolist()
    ]
    gw = np.bincount(np.array(gid, dtype=np.int64), weights=w[multi], minlength=len(groups))
    firsts = multi[np.unique(np.array(gid, dtype=np.int64), return_index=True)[1]] if gid else multi
    P = At[firsts].astype(np.float64)
    n_g = len(firsts)
    link = sparse.hstack([-P, sparse.eye_array(n_g)], format="csr")
    budget = sparse.csr_array(np.concatenate([np.ones(k), np.zeros(n_g)])[None, :])
    lb = np.zeros(k + n_g)
    lb[pins] = 1.0
    t0 = clock.perf_counter()
    res = milp(
        -np.concatenate([wx, gw]),
        integrality=np.concatenate([np.ones(k), np.zeros(n_g)]),
        bounds=Bounds(lb, np.ones(k + n_g)),
        constraints=[LinearConstraint(link, -np.inf, 0.0), LinearConstraint(budget, p, p)],
        options={"time_limit": float(limit_s), "mip_rel_gap": float(gap), "disp": False},
    )
    took = clock.perf_counter() - t0
    dual = -float(getattr(res, "mip_dual_bound", np.nan) or np.nan)
    text = {0: "MILP optimal within the gap", 1: f"MILP stopped at its {limit_s:.1f} s time limit"}.get(
        int(res.status), f"MILP failed ({res.message})"
    )
    text += f" ({k:,} candidates, {n_g:,} edge groups, {took:.1f} s)"
    if res.x is None:
        return None, dual, text
    return np.flatnonzero(res.x[:k] > 0.5).astype(np.int64), dual, text


def _posts(
    streets: Streets,
    *,
    cand: IntArray,
    edges: IntArray,
    A: sparse.csr_array,
    w: FloatArray,
    rows: IntArray,
    pins: set[int],
    total: float,
) -> tuple[Post, ...]:
    """Posts in order of marginal demand (greedy order within the chosen set)."""
    rows = np.unique(rows)
    if len(rows) == 0:
        return ()
    sub = A[rows]
    covered = np.zeros(A.shape[1], dtype=bool)
    left = list(range(len(rows)))
    order: list[tuple[int, float]] = []
    while left:
        gains = sub[left] @ np.where(covered, 0.0, w)
        j = int(np.argmax(gains))
        i = left.pop(j)
        order.append((i, float(gains[j])))
        covered[sub.indices[sub.indptr[i] : sub.indptr[i + 1]]] = True
    nodes = cand[rows[[i for i, _ in order]]]
    lon, lat = streets.to_lonlat(streets.x[nodes], streets.y[nodes])
    names = post_names(streets, nodes)
    width = max(2, len(str(len(order))))
    out = []
    for rank, ((i, gain), node) in enumerate(zip(order, nodes.tolist(), strict=True)):
        seen = edges[sub.indices[sub.indptr[i] : sub.indptr[i + 1]]]
        out.append(Post(
            post_id=f"P{rank + 1:0{width}d}", node=node, x=float(streets.x[node]), y=float(streets.y[node]),
            lon=float(lon[rank]), lat=float(lat[rank]), name=names[rank],
            covered_edges=np.sort(seen), demand_covered=gain, corridor_m=float(streets.length_m[seen].sum()),
            share=gain / total if total > 0 else 0.0, pinned=node in pins,
        ))  # fmt: skip
    return tuple(out)


# --------------------------------------------------------------------------------------
# schedule


@dataclass(frozen=True)
class ScheduleEntry:
    """One staffed slot at one post: the whole window (``mode="fixed"``) or one rotation visit.

    ``start`` / ``end`` are local clock times (``end < start`` crosses midnight); ``days`` is the
    display text of ``weekdays`` (Mon = 0); ``beat`` numbers the officer (or beat) from 1.
    """

    window: str
    post_id: str
    location: str
    lon: float
    lat: float
    officers: int
    start: time
    end: time
    days: str
    mode: str
    covered_m: float
    share: float
    note: str
    beat: int
    weekdays: tuple[int, ...]


@dataclass(frozen=True)
class Schedule:
    """A window's schedule entries (officer by officer, in time order) and its warnings."""

    window: str
    entries: tuple[ScheduleEntry, ...]
    warnings: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[ScheduleEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def format_days(days: frozenset[int] | Sequence[int]) -> str:
    """Weekdays (Mon = 0) as text: ``"Mon–Fri"``, ``"Mon, Wed–Fri"``, ``"Daily"``."""
    ds = sorted({int(d) for d in days})
    if len(ds) == 7:
        return "Daily"
    runs: list[list[int]] = []
    for d in ds:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    ends = [(_DAY[r[0]], _DAY[r[-1]], len(r)) for r in runs]
    return ", ".join(a if n == 1 else f"{a}, {b}" if n == 2 else f"{a}–{b}" for a, b, n in ends)


def schedule(
    plan: PostPlan,
    window: WindowLike,
    *,
    officers: int,
    dwell_min: tuple[int, int] = (10, 16),
    revisit_max_min: int = 120,
    streets: Streets | None = None,
) -> Schedule:
    """Who stands where, when, in one window.

    With at least as many officers as posts every post is staffed for the whole window (extra
    officers go to the busiest posts). With fewer, the posts are cut into ``officers`` beats along
    a nearest-neighbour tour (cuts chosen to make the longest beat cycle as short as possible);
    each officer cycles their beat, staying 15 min (clamped to ``dwell_min``, shortened towards
    its minimum when needed to keep each post's revisit interval, start to start, within
    ``revisit_max_min``) and walking between posts at 80 m/min. A beat that still cannot meet
    the interval is named in ``Schedule.warnings`` and in its entries' notes.

    Parameters
    ----------
    plan
        Posts from :func:`choose_posts`.
    window
        The window (name, label, days, start, end), e.g. ``passages.config.TimeWindow``.
    officers
        Officers on duty.
    dwell_min
        Shortest and longest stay at a post in a rotation, minutes.
    revisit_max_min
        Longest interval between visit starts at a post, minutes.
    streets
        The network, for walking times along streets; without it straight lines × 1.3.
    """
    lo, hi = (int(x) for x in dwell_min)
    if not 0 < lo <= hi:
        raise InputError(
            f"dwell_min={tuple(dwell_min)!r}; accepted: (shortest, longest) minutes, 0 < shortest ≤ longest"
        )
    if revisit_max_min <= 0:
        raise InputError(f"revisit_max_min={revisit_max_min!r}; accepted: minutes > 0")
    if isinstance(officers, bool) or not isinstance(officers, int | np.integer) or officers < 0:
        raise InputError(f"window {window.name!r}: officers={officers!r}; accepted: a whole number ≥ 0")
    t0 = window.start.hour * 60 + window.start.minute
    dur = (window.end.hour * 60 + window.end.minute - t0) % 1440
    if dur == 0:
        raise InputError(
            f"window {window.name!r}: start and end are both {window.start}; the window is empty"
        )
    posts, name, days, weekdays = (
        plan.posts,
        window.name,
        format_days(window.days),
        tuple(sorted(window.days)),
    )
    if not posts:
        return Schedule(name, (), (f"window {name}: no posts to staff ({plan.status})",))
    if officers == 0:
        return Schedule(name, (), (f"window {name}: 0 officers on duty; {len(posts)} posts unstaffed",))

    def at(t: int) -> time:
        m = (t0 + t) % 1440
        return time(m // 60, m % 60)

    def entry(
        p: Post, span: tuple[int, int], *, mode: str, beat: int, note: str, n: int = 1
    ) -> ScheduleEntry:
        return ScheduleEntry(
            window=name, post_id=p.post_id, location=p.name, lon=p.lon, lat=p.lat, officers=n,
            start=at(span[0]), end=at(span[1]), days=days, mode=mode, covered_m=p.corridor_m,
            share=p.share, note=note, beat=beat, weekdays=weekdays,
        )  # fmt: skip

    if officers >= len(posts):
        base, extra = divmod(officers, len(posts))
        out = []
        for i, p in enumerate(posts):
            n = base + (i < extra)
            note = f"{n} officers (more officers than posts; extras at the busiest posts)" if n > 1 else ""
            out.append(entry(p, (0, dur), mode="fixed", beat=i + 1, note=note, n=n))
        return Schedule(name, tuple(out))

    walk = _walk_minutes(posts, streets)
    pref = min(max(PREFERRED_DWELL_MIN, lo), hi)
    entries: list[ScheduleEntry] = []
    warnings: list[str] = []
    for b, beat in enumerate(_beats(walk, officers, pref), 1):
        if len(beat) == 1:
            note = f"officer {b} of {officers}: stays here"
            entries.append(entry(posts[beat[0]], (0, dur), mode="fixed", beat=b, note=note))
            continue
        loop = sum(int(walk[beat[i], beat[(i + 1) % len(beat)]]) for i in range(len(beat)))
        dwell = pref
        if len(beat) * pref + loop > revisit_max_min:
            dwell = max(lo, min(pref, (revisit_max_min - loop) // len(beat)))
        visits: list[tuple[int, int, int]] = []
        t, i = 0, 0
        while t < dur and (t + lo <= dur or not visits):
            here, nxt = beat[i % len(beat)], beat[(i + 1) % len(beat)]
            visits.append((here, t, min(t + dwell, dur)))
            t = visits[-1][2] + int(walk[here, nxt])
            i += 1
        # longest wait at a post: from the window start to its first visit, then start to start
        starts = {q: [0] + [a for v, a, _ in visits if v == q] for q in beat}
        worst = max(int(max(np.diff(s), default=0)) for s in starts.values())
        unseen = [posts[q].post_id for q in beat if len(starts[q]) == 1]
        ids = " → ".join(posts[q].post_id for q in beat)
        cycle = len(beat) * dwell + loop
        note = f"officer {b} of {officers}: beat {ids}, {dwell} min per post, {loop} min walking"
        note += f", cycle {cycle} min"
        if worst > revisit_max_min or unseen:
            why = f"{', '.join(unseen)} never visited" if unseen else f"a post waits up to {worst} min"
            warnings.append(
                f"window {name}, officer {b} (beat {ids}): {why}; the {revisit_max_min} min revisit limit "
                "is not met; add an officer or drop a post"
            )
            note += f"; revisit limit {revisit_max_min} min NOT met ({why})"
        entries.extend(entry(posts[q], (a, e), mode="rotation", beat=b, note=note) for q, a, e in visits)
    return Schedule(name, tuple(entries), tuple(warnings))


def _walk_minutes(posts: Sequence[Post], streets: Streets | None) -> IntArray:
    """Whole minutes of walking between posts (network distance when ``streets`` is given)."""
    xy = np.array([[p.x, p.y] for p in posts])
    metres = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * CIRCUITY
    if streets is not None:
        nodes = np.array([p.node for p in posts])
        net = dijkstra(streets.csr(), directed=False, indices=nodes)[:, nodes]
        metres = np.where(np.isfinite(net), net, metres)
    minutes: IntArray = np.ceil(metres / WALK_M_PER_MIN - 1e-9).astype(np.int64)
    return minutes


def _beats(walk: IntArray, officers: int, dwell: int) -> list[list[int]]:
    """Cut a nearest-neighbour + 2-opt open tour into ``officers`` runs minimising the longest cycle."""
    n = len(walk)
    tour, left = [0], set(range(1, n))
    while left:
        nxt = min(left, key=lambda j: (walk[tour[-1], j], j))
        tour.append(nxt)
        left.remove(nxt)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            for j in range(i + 1, n):
                old = walk[tour[i - 1], tour[i]] + (walk[tour[j], tour[j + 1]] if j + 1 < n else 0)
                new = walk[tour[i - 1], tour[j]] + (walk[tour[i], tour[j + 1]] if j + 1 < n else 0)
                if new < old:
                    tour[i : j + 1] = tour[i : j + 1][::-1]
                    improved = True
    step = np.concatenate([[0], np.cumsum([walk[tour[i], tour[i + 1]] for i in range(n - 1)])])

    def cycle(i: int, j: int) -> int:  # posts tour[i:j]
        return int((j - i) * dwell + step[j - 1] - step[i] + walk[tour[j - 1], tour[i]])

    best = [[math.inf] * (n + 1) for _ in range(officers + 1)]
    cut = [[0] * (n + 1) for _ in range(officers + 1)]
    best[0][0] = 0
    for b in range(1, officers + 1):
        for j in range(b, n - (officers - b) + 1):
            for i in range(b - 1, j):
                c = max(best[b - 1][i], cycle(i, j))
                if c < best[b][j]:
                    best[b][j], cut[b][j] = c, i
    runs, j = [], n
    for b in range(officers, 0, -1):
        runs.append(tour[cut[b][j] : j])
        j = cut[b][j]
    return runs[::-1]


# --------------------------------------------------------------------------------------
# resilience


@dataclass(frozen=True)
class PostResilience:
    """What the plan loses if one post goes unstaffed, and the best stand-in.

    ``demand_lost`` is the demand only this post covers. ``backup_node`` is where to stand
    instead (the post's corner is closed, say): the unchosen, unforbidden candidate that adds the
    most demand back alongside the other posts (``backup_share``; it can exceed ``share_lost``
    when the backup also reaches streets nobody covered), None when none adds any. Shares are of
    the window's total demand; ``flagged`` when ``share_lost`` > the threshold.
    """

    post_id: str
    node: int
    name: str
    demand_lost: float
    share_lost: float
    backup_node: int | None
    backup_name: str
    backup_share: float
    flagged: bool


def resilience(
    streets: Streets,
    plan: PostPlan,
    demand: npt.ArrayLike,
    coverage: Coverage,
    *,
    threshold: float = 0.10,
) -> list[PostResilience]:
    """Per post: demand lost if unstaffed and the best backup post among unchosen candidates.

    Parameters
    ----------
    plan
        The plan from :func:`choose_posts`.
    demand
        The demand the plan was chosen for.
    coverage
        The coverage the plan was chosen on (:func:`build_coverage`); its candidates are the backups.
    threshold
        Flag posts whose loss drops the covered share by more than this.
    """
    if not 0 <= threshold <= 1:
        raise InputError(f"resilience threshold={threshold!r}; accepted: a share in [0, 1]")
    d = _check_demand(streets, demand)
    total = float(d.sum())
    count = np.zeros(streets.n_edges, dtype=np.int64)
    for p in plan.posts:
        count[p.covered_edges] += 1
    out_nodes = {p.node for p in plan.posts} | set(plan.forbidden_nodes)
    backup_rows = np.flatnonzero(~np.isin(coverage.candidates, list(out_nodes)))
    B = coverage.matrix[backup_rows].astype(np.float64)
    w = d[coverage.edges]
    out = []
    for p in plan.posts:
        only = p.covered_edges[count[p.covered_edges] == 1]
        lost = float(d[only].sum())
        # demand the other posts leave uncovered once this one is gone
        open_w = np.where((count[coverage.edges] == 0) | np.isin(coverage.edges, only), w, 0.0)
        recovered = B @ open_w if len(backup_rows) else np.zeros(1)
        j = int(np.argmax(recovered))
        node = int(coverage.candidates[backup_rows[j]]) if recovered[j] > 0 else None
        share = lost / total if total > 0 else 0.0
        out.append(PostResilience(
            post_id=p.post_id, node=p.node, name=p.name, demand_lost=lost, share_lost=share,
            backup_node=node, backup_name=post_names(streets, [node])[0] if node is not None else "",
            backup_share=float(recovered[j]) / total if node is not None and total > 0 else 0.0,
            flagged=share > threshold,
        ))  # fmt: skip
    return out
