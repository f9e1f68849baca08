"""The λ sweep: every origin's route to each destination node of one window, and the foot traffic.

With edge cost ``length_m × (1 + λ·risk)`` and a sweep ``0 = λ0 < λ1 < … < λk``, per destination
node (the trees come from :mod:`passages.routing`):

1. the λ = 0 tree, bounded by the walk zone, gives the origins in reach and their shortest route
   length ``L0``; it does not depend on risk, so windows share it (:class:`Zone`), each
   (:class:`Sweep`) summing its exposure ``E0`` (Σ risk × length_m along the route) on it;
2. each λ > 0 tree, bounded by the largest ``L0 + λ·E0`` among those origins (the λ cost of the
   shortest route, so every origin's cheapest route lies inside), gives each origin's route;
3. each origin takes the route of the largest λ that keeps the detour cap
   ``length ≤ (1 + max_detour)·L0`` and lowers the exposure (a detour with no gain is no
   recommendation), else the shortest route;
4. origin weights flow along the chosen routes: subtree sums give every edge's foot traffic.

Each step runs on all trees of one λ at once. :mod:`passages.corridors` turns a sweep into the
per-destination results and corridors of a window; :func:`passages.routes.compare_route` makes
the same choice for one origin.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from passages.routing import CHUNK_BYTES, CHUNK_ROWS, RTOL, Router, RoutingParams, accepted, ranges

__all__ = ["Sweep", "SweepRow", "Zone", "pareto", "wsum", "zone_counts"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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


def pareto(rows: list[SweepRow]) -> tuple[SweepRow, ...]:
    """Mark the rows no other row beats on both length and exposure."""

    def beaten(r: SweepRow) -> bool:
        return any(
            o.length_m <= r.length_m
            and o.exposure <= r.exposure
            and (o.length_m, o.exposure) != (r.length_m, r.exposure)
            for o in rows
        )

    return tuple(replace(r, pareto=not beaten(r)) for r in rows)


def wsum(w: FloatArray, x: FloatArray) -> float:
    """Σ w·x, summed pairwise by numpy: the same on every machine, unlike a multi-threaded BLAS dot."""
    return float(np.sum(w * x))


# --------------------------------------------------------------------------------------
# walk zones and λ trees


def zone_counts(
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


def _zone_rows(router: Router) -> int:
    """Trees per λ = 0 search: the (trees × nodes) zone test stays under CHUNK_BYTES too."""
    return min(CHUNK_ROWS, CHUNK_BYTES // (28 * router.streets.n_nodes))


class Zone:
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


class Sweep:
    """The routing of one window over the distinct destination nodes ``zone.dests[which]``.

    Its origin–destination pairs are the zone's pairs of those nodes, in the same order:
    shortest length ``L0`` and this window's exposure ``E0``, chosen λ index ``choice`` and the
    chosen route's ``rec_len`` / ``rec_exp``; ``flows`` collects (node, edge, traffic) parts.
    """

    def __init__(self, zone: Zone, which: IntArray, risk: FloatArray) -> None:
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
        total_len, total_exp = wsum(w, length_m), wsum(w, exposure)
        return SweepRow(
            label, lam, total_len, total_exp, float(med), float(p90), float(over.mean()) if over.size else 0.0
        )

    def metrics(self, u: int) -> dict[str, Any]:
        """:class:`passages.corridors.DestinationResult` fields of destination node ``u``, from its pairs."""
        s = slice(int(self.starts[u]), int(self.starts[u] + self.counts[u]))
        w, L0 = self.p_weight[s], self.L0[s]
        med, p90 = np.percentile(self.rec_len[s] / L0 - 1.0, [50, 90]) if L0.size else (np.nan, np.nan)
        exp_rec, exp_short = wsum(w, self.rec_exp[s]), wsum(w, self.E0[s])
        counts = np.bincount(self.choice[s], minlength=len(self.params.lambdas))
        return {
            "origins_served": int(self.counts[u]),
            "weight_served": float(w.sum()),
            "median_detour": float(med),
            "p90_detour": float(p90),
            "length_recommended_m": wsum(w, self.rec_len[s]),
            "length_shortest_m": wsum(w, L0),
            "exposure_recommended": exp_rec,
            "exposure_shortest": exp_short,
            "reduction_pct": 100.0 * (1.0 - exp_rec / exp_short) if exp_short > 0 else 0.0,
            "lambda_counts": dict(zip(self.params.lambdas, counts.tolist(), strict=True)),
        }
