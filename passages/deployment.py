"""Officer posts along the corridors (maximum coverage), and what losing one costs.

Demand and coverage
    What a post is worth and which posts see which blocks: :func:`edge_demand`,
    :func:`build_coverage` and the rest of :mod:`passages.coverage`, whose public names are
    re-exported here.
Choice
    Maximum coverage: pick ``officers`` posts maximising the covered demand, pinned posts forced
    in, forbidden ones left out. Lazy greedy plus 1-swap local search always runs (milliseconds).
    Its upper bound is the LP relaxation, solved by HiGHS on a core of promising posts and priced
    over all of them (row generation), so the bound is exact for the LP but costs a small LP.
    ``scipy.optimize.milp`` (HiGHS) then solves the problem exactly when asked, or when
    ``method="auto"`` cannot already prove greedy within ``mip_gap``; posts the LP bound proves
    useless (reduced-cost fixing) are left out of it first; the better solution is kept.
    ``PostPlan.gap`` is ``(upper bound − covered) / upper bound`` with the tightest bound
    available, named in ``PostPlan.bound_source``. Results are deterministic unless a time limit
    cuts a solver short.
Resilience
    :func:`resilience` prices each post's loss and names a stand-in. The schedule of the posts is
    in :mod:`passages.schedule` (re-exported here).
"""

from __future__ import annotations

import heapq
import logging
import math
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from passages._errors import InputError
from passages.coverage import (
    RISK_FLOOR,
    Coverage,
    PostSpec,
    _check_demand,
    _check_radius,
    _node_array,
    _resolve,
    build_coverage,
    candidate_nodes,
    edge_demand,
    post_names,
    resolve_posts,
)
from passages.network import Streets

__all__ = [
    "RISK_FLOOR",
    "Coverage",
    "Post",
    "PostPlan",
    "PostResilience",
    "PostSpec",
    "build_coverage",
    "candidate_nodes",
    "choose_posts",
    "edge_demand",
    "post_names",
    "resilience",
    "resolve_posts",
]

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: method="auto" solves the MILP when, after LP bound fixing, it has at most this many coverage pairs
AUTO_MILP_MAX_PAIRS = 200_000


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
        (greedy; then the MILP unless the LP bound already proves greedy within ``mip_gap`` or
        the MILP left after bound fixing has more than ``AUTO_MILP_MAX_PAIRS`` coverage pairs).
    time_limit_s, mip_gap
        Time limit for bound and MILP together (seconds), and the relative gap at which HiGHS stops.
    window
        Window name carried into the plan.
    coverage
        A prebuilt :func:`build_coverage` result for this radius, over this demand's edges or more
        (e.g. built once over every window's demand). Its candidates are used instead of
        ``candidates``; when it holds more edges it is restricted to this demand's edges and to
        its candidates touching one of them (as :func:`build_coverage` would choose them). It is
        rebuilt when a pinned post is not among its candidates.

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
    cov = _fit(coverage, streets, d, r, keep=list(pins)) if coverage is not None else None
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


def _fit(cov: Coverage, streets: Streets, d: FloatArray, r: float, *, keep: Sequence[int]) -> Coverage:
    """``cov`` restricted to the edges with demand > 0 and to its candidates touching one of them
    (or in ``keep``); unchanged when it holds exactly those edges."""
    if not math.isclose(cov.radius_m, r):
        raise InputError(f"coverage was built for radius_m={cov.radius_m:g}, not {r:g}")
    edges = np.flatnonzero(d > 0)
    if np.array_equal(cov.edges, edges):
        return cov
    cand = np.union1d(candidate_nodes(streets, d), np.asarray(keep, dtype=np.int64))
    return cov.restrict(edges, cand[np.isin(cand, cov.candidates)])


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
    lp, score = _lp_bound(A, w, p, pins, rows, deadline=deadline)
    ub, src = min((online, "online submodular bound"), (lp, "LP relaxation bound"))
    ub = max(ub, value)
    used, status = "greedy", f"greedy + swaps within {_pct(value, ub)} of the {src}"
    if method == "greedy" or (method == "auto" and ub - value <= gap * ub):
        return rows, value, ub, used, src, status
    live = _unfixed(score, p, pins, bound=lp, best=value) if score is not None else np.arange(A.shape[0])
    sub = A[live]
    if method == "auto" and sub.nnz > AUTO_MILP_MAX_PAIRS:
        return rows, value, ub, used, src, f"{status} ({sub.nnz:,} coverage pairs: too many for the MILP)"
    left_s = max(0.1 * limit_s, deadline - clock.perf_counter())
    m_rows, dual, text = _milp(sub, w, p, pins=np.searchsorted(live, pins), limit_s=left_s, gap=gap)
    text += f"; the LP bound left {len(live):,} of {A.shape[0]:,} candidates"
    if math.isfinite(dual) and max(dual, value) < ub:
        # a solution using a fixed-out row covers at most ``value``
        ub, src = max(dual, value), "HiGHS dual bound"
    if m_rows is not None:
        m_rows = _fill(live[m_rows], rows, p)
        m_value = _value(A, w, m_rows)
        if m_value >= value:
            rows, value, used = m_rows, m_value, "milp"
    keep = "MILP solution" if used == "milp" else "greedy solution (better than the MILP's)"
    status = f"{text}; {keep} within {_pct(value, max(ub, value))} of the {src}"
    return rows, value, max(ub, value), used, src, status


def _fill(rows: IntArray, more: IntArray, p: int) -> IntArray:
    """``rows`` topped up to ``p`` rows from ``more`` (in its order)."""
    extra = more[~np.isin(more, rows)][: max(0, p - len(rows))]
    return np.concatenate([rows, extra]).astype(np.int64)


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
    neg = (-gain0).tolist()
    heap = [(neg[i], neg[i], i) for i in range(A.shape[0]) if i not in taken]
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


def _lp_bound(
    A: sparse.csr_array, w: FloatArray, p: int, pins: IntArray, start: IntArray, *, deadline: float
) -> tuple[float, FloatArray | None]:
    """The LP relaxation's bound on max coverage, and each row's Lagrangian score at its duals.

    For column multipliers ``mu ≥ 0`` (``s = A mu``), ``L(mu) = Σ max(0, w_e − mu_e) + Σ_pinned s_c
    + the p' largest other s_c`` bounds the optimum (``y_e ≤ Σ_c∋e x_c`` relaxed) and equals the
    LP relaxation at its optimal duals. HiGHS solves the LP on a core of rows (the best by
    demand, ``start``, the pins); its duals are priced over all rows, and rows outside the core
    that would enter the top p' join it until none would, when L is the LP's value. Every
    round's L is a valid bound. Returns (inf, None) when HiGHS fails at once.
    """
    k = A.shape[0]
    B = sparse.csr_array(A, dtype=np.float64)
    free = np.ones(k, dtype=bool)
    free[pins] = False
    n_free = p - len(pins)
    order = np.argsort(-(B @ w), kind="stable")
    core = np.union1d(order[: max(60, 5 * p)], np.union1d(start, pins)).astype(np.int64)
    bound, best = math.inf, None
    for _ in range(20):
        mu = _core_duals(B[core], w, p, np.searchsorted(core, pins), deadline=deadline)
        if mu is None:
            break
        score = B @ mu
        top = np.argpartition(np.where(free, -score, np.inf), n_free - 1)[:n_free] if n_free else pins[:0]
        value = float(np.maximum(w - mu, 0.0).sum() + score[pins].sum() + score[top].sum())
        if value < bound:
            bound, best = value, score
        least = float(score[top].min()) if n_free else math.inf
        outside = free.copy()
        outside[core] = False
        enter = np.flatnonzero(outside & (score > least + 1e-9 * abs(least)))
        if len(enter) == 0 or clock.perf_counter() > deadline:
            break
        core = np.union1d(core, enter[np.argsort(-score[enter], kind="stable")[: max(100, p)]])
    return bound, best


def _core_duals(
    C: sparse.csr_array, w: FloatArray, p: int, pins: IntArray, *, deadline: float
) -> FloatArray | None:
    """Duals of the coverage constraints of the LP relaxation on rows ``C`` (None if HiGHS fails)."""
    cols = np.unique(C.indices)
    k, n = C.shape[0], len(cols)
    lb = np.zeros(k + n)
    lb[pins] = 1.0
    res = linprog(
        np.concatenate([np.zeros(k), -w[cols]]),
        A_ub=sparse.hstack([-C[:, cols].T, sparse.eye_array(n)], format="csr"),
        b_ub=np.zeros(n),
        A_eq=np.concatenate([np.ones(k), np.zeros(n)])[None, :],
        b_eq=[float(min(p, k))],
        bounds=np.column_stack([lb, np.ones(k + n)]),
        method="highs",
        options={"time_limit": max(0.1, deadline - clock.perf_counter())},
    )
    if res.status != 0:
        return None
    mu = w.copy()  # an edge no core row sees keeps all its demand in the multiplier
    mu[cols] = np.clip(-np.asarray(res.ineqlin.marginals, dtype=np.float64), 0.0, w[cols])
    return mu


def _unfixed(score: FloatArray, p: int, pins: IntArray, *, bound: float, best: float) -> IntArray:
    """Rows that may belong to a solution better than ``best`` (reduced-cost fixing).

    Forcing a row outside the top p' into the Lagrangian bound swaps it for the p'-th best free
    row, so a row scoring ``s_c`` caps every solution holding it at ``bound − t + s_c`` (``t``
    the p'-th best free score): rows with ``s_c < t − (bound − best)`` cannot beat ``best``.
    """
    k, n_free = len(score), p - len(pins)
    if n_free == 0:
        return np.sort(pins)
    free = np.ones(k, dtype=bool)
    free[pins] = False
    t = float(np.partition(np.where(free, score, -np.inf), k - n_free)[k - n_free])
    return np.flatnonzero(~free | (score >= t - (bound - best) - 1e-9 * max(abs(bound), 1.0)))


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
    p = min(p, k)
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
    text += f" ({n_g:,} edge groups, {took:.1f} s)"
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
        The coverage the plan was chosen on, or one over more edges (restricted as in
        :func:`choose_posts`); its candidates are the backups.
    threshold
        Flag posts whose loss drops the covered share by more than this.
    """
    if not 0 <= threshold <= 1:
        raise InputError(f"resilience threshold={threshold!r}; accepted: a share in [0, 1]")
    d = _check_demand(streets, demand)
    cov = _fit(coverage, streets, d, plan.radius_m, keep=())
    total = float(d.sum())
    count = np.zeros(streets.n_edges, dtype=np.int64)
    for p in plan.posts:
        count[p.covered_edges] += 1
    out_nodes = [p.node for p in plan.posts] + list(plan.forbidden_nodes)
    backup_rows = np.flatnonzero(~np.isin(cov.candidates, out_nodes))
    B = sparse.csr_array(cov.matrix[backup_rows], dtype=np.float64)
    w = d[cov.edges]
    found: list[tuple[float, float, int | None]] = []
    for p in plan.posts:
        only = p.covered_edges[count[p.covered_edges] == 1]
        # demand the other posts leave uncovered once this one is gone
        open_w = np.where((count[cov.edges] == 0) | np.isin(cov.edges, only), w, 0.0)
        recovered = B @ open_w if len(backup_rows) else np.zeros(1)
        j = int(np.argmax(recovered))
        node = int(cov.candidates[backup_rows[j]]) if recovered[j] > 0 else None
        found.append((float(d[only].sum()), float(recovered[j]) if node is not None else 0.0, node))
    names = iter(post_names(streets, [n for _, _, n in found if n is not None]))

    def share(x: float) -> float:
        return x / total if total > 0 else 0.0

    return [
        PostResilience(
            post_id=p.post_id, node=p.node, name=p.name, demand_lost=lost, share_lost=share(lost),
            backup_node=node, backup_name=next(names) if node is not None else "",
            backup_share=share(gain), flagged=share(lost) > threshold,
        )
        for p, (lost, gain, node) in zip(plan.posts, found, strict=True)
    ]  # fmt: skip
