"""Incident density on network edges, per time window.

Each incident gets a weight per time window (:func:`window_weights`: inside the window, near its
edges, recent), then a kernel density estimate spreads the weights over the streets
(:func:`edge_risk`). :func:`window_risk` does both for every window at once, sharing the work.

Both methods use the quartic (biweight) kernel ``K(d) = 15/16 · (1 − (d/h)²)² / h`` for ``d < h``
(0 beyond), in 1/m: ``Σ w·K`` is weighted incidents per metre of street, reported per km.

``network`` (default)
    Distance is walked along streets. Each incident is snapped to its nearest edge at position
    ``t`` and its weight is split between the edge's end nodes as ``(1 − t, t)`` ("node masses");
    a node's density is ``Σ mass · K(d_network(source, node))`` and an edge's density is the mean
    of its end nodes' densities. Edges longer than ``segment_m`` (default ``h/4``) are first cut
    into equal pieces, so the mean is taken per piece and length-weighted over the edge: the
    result approximates the edge's average density. Distances come from bounded Dijkstra
    searches (``limit = h``), tile by tile: the source nodes are grouped into squares of side
    ``3·h`` and each tile searches only the subgraph within ``h`` (+1 %) of its sources — a path
    no longer than ``h`` cannot leave it, so every distance below ``h`` is exact while work and
    memory stay proportional to the tile, not the city.
``planar``
    Straight-line distance from each piece's midpoint to each incident (a KD-tree). It needs no
    routing but leaks across whatever separates streets that are close in the plane — blocks
    without a through path, rivers, rail lines, freeways — while the network method spreads risk
    only along walkable paths, which is what a pedestrian is exposed to. Its cost grows with
    (incidents × incidents within ``h``): with a million incidents it is slower than ``network``.

Error of the network approximation. Averaging the two end nodes instead of evaluating at the
midpoint of an edge of length ``L`` differs by ``−(L²/8)·K''`` (Taylor), at most ``L²/(2h²)`` of
the kernel's peak, and the node-mass split moves an incident by up to ``L/2``: both grow fast with
``L``, hence the cutting. Against the exact average density along each edge (2 m pieces), on the
Atlanta sample with the 2021 COBRA incidents (``h = 200 m``, edges with density > 1 % of the
scale): whole edges are off by 24 % (median; 90th percentile 160 %, since incidents snap mostly
to long arterial edges — median 136 m); pieces of ``h/4`` by 3.1 % (p90 15 %; ``risk`` off by
< 0.04 on 99 % of those edges); pieces of ``h/8`` by 1.2 % (p90 5 %) at ~30 % more time.

``risk`` is the density divided by the 99th percentile of the positive edge densities, capped at
1, so that a handful of extreme edges does not flatten the scale.
"""

from __future__ import annotations

import logging
import math
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from passages._errors import CRSError, InputError
from passages.config import TimeWindow
from passages.streets import CutStreets, Streets

__all__ = [
    "ALL_DAY",
    "MAX_BANDWIDTH_M",
    "METHODS",
    "EdgeRisk",
    "edge_risk",
    "quartic_kernel",
    "recency_weights",
    "window_risk",
    "window_weights",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Moment = datetime | np.datetime64 | pd.Timestamp

#: density methods accepted by :func:`edge_risk`
METHODS = ("network", "planar")
#: largest accepted kernel bandwidth, metres
MAX_BANDWIDTH_M = 10_000.0
#: key of the layer in :func:`window_risk` that counts every incident at any time of day
ALL_DAY = "all_day"
#: tile side of the network method, in bandwidths
_TILE_BANDWIDTHS = 3.0
#: largest dense block (sources × subgraph nodes, or piece × incident pairs) held at once
_MAX_BLOCK = 2_000_000
_WEEK_MIN = 7 * 1440


@dataclass(frozen=True, eq=False)
class EdgeRisk:
    """Incident density on every edge of a network, for one layer (a time window or all day).

    Attributes
    ----------
    density_per_km
        Kernel density per edge (m,): weighted incidents per km of street.
    risk
        ``min(1, density / scale_per_km)`` per edge (m,); 0 everywhere without incidents.
    support
        Incidents (weight > 0, unweighted) whose kernel reaches each edge (m,): network method,
        an incident's node mass within ``h`` of one of the edge's nodes; planar, the incident
        within ``h`` of one of its piece midpoints. ``support == 0`` exactly where density is 0.
    total_weight
        Sum of the weights of the incidents used.
    category_share
        Share of the risk mass (density integrated over street length) that each category
        contributes, largest first; sums to 1 unless the density is 0 everywhere (then ``{}``,
        as when no categories were given).
    method, bandwidth_m, segment_m
        How the density was computed (``segment_m``: longest piece edges were cut into).
    scale_per_km
        The normalising density: 99th percentile of the positive edge densities (0 if none).
    n_used
        Incidents used: weight > 0, finite coordinates, within ``max_snap_m`` of a street.
    n_unsnapped
        Incidents with weight > 0 ignored because they are farther than ``max_snap_m`` from
        every street (counted over all layers).
    n_invalid
        Incidents ignored because a coordinate is NaN or infinite.
    """

    density_per_km: FloatArray
    risk: FloatArray
    support: IntArray
    total_weight: float
    category_share: dict[str, float]
    method: str
    bandwidth_m: float
    segment_m: float = math.inf
    scale_per_km: float = 0.0
    n_used: int = 0
    n_unsnapped: int = 0
    n_invalid: int = 0


# --------------------------------------------------------------------------------------
# time weights


def recency_weights(
    occurred_at: Any,
    *,
    lookback_days: float = 0,
    decay_half_life_days: float = 0.0,
    reference: Moment | None = None,
) -> FloatArray:
    """Weight in [0, 1] per incident from its age alone (the all-day layer's time weight).

    Parameters
    ----------
    occurred_at
        Naive local timestamps (array-like of datetime64); aware ones count in their local
        wall-clock time.
    lookback_days
        Incidents more than this many days before ``reference`` get 0; 0 keeps all.
    decay_half_life_days
        Weight ``0.5 ** (age_days / half_life)``; 0 turns decay off.
    reference
        "Now" for ages; default the newest incident. Later incidents count as age 0.

    Returns
    -------
    numpy.ndarray
        Weights. An incident without a timestamp (NaT) gets 0 when lookback or decay is on (its
        age is unknown), else 1.
    """
    for name, value in (("lookback_days", lookback_days), ("decay_half_life_days", decay_half_life_days)):
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"risk: {name}={value} is not accepted; accepted: a number ≥ 0 (0 = off)")
    secs, nat = _seconds(occurred_at)
    if not (lookback_days or decay_half_life_days):
        return np.ones(len(secs))
    out = np.where(nat, 0.0, 1.0)
    if nat.all():
        return out
    ref = np.nanmax(secs) if reference is None else _seconds([reference])[0][0]
    if np.isnan(ref):
        raise InputError("risk: reference time is missing (NaT); accepted: a timestamp or None")
    age_days = np.maximum(ref - np.where(nat, ref, secs), 0.0) / 86_400.0
    if lookback_days:
        out[age_days > lookback_days] = 0.0
    if decay_half_life_days:
        out *= np.exp2(-age_days / decay_half_life_days)
    return out


def window_weights(
    occurred_at: Any,
    time_known: Any,
    window: TimeWindow,
    *,
    lookback_days: float = 0,
    decay_half_life_days: float = 0.0,
    reference: Moment | None = None,
) -> FloatArray:
    """Weight in [0, 1] per incident for one time window.

    1 inside the window (on one of ``window.days``, between ``start`` and ``end``; a window with
    ``end < start`` crosses midnight and belongs to the day it starts), falling linearly to 0 over
    ``window.margin_min`` minutes before the start and after the end (a 09:05 incident weighs
    ``1 − 5/30`` for a 06:30–09:00 window with a 30 min margin), 0 elsewhere; then multiplied by
    :func:`recency_weights`. Incidents whose time of day is unknown (``time_known`` False) get 0:
    they cannot be placed in a window, but they count in the all-day layer.

    Parameters
    ----------
    occurred_at, lookback_days, decay_half_life_days, reference
        As for :func:`recency_weights`.
    time_known
        Whether each timestamp carries a real time of day.
    window
        The window, e.g. a :class:`passages.config.TimeWindow`.

    Returns
    -------
    numpy.ndarray
        Weights.
    """
    secs, nat = _seconds(occurred_at)
    known = np.asarray(time_known, dtype=bool)
    if known.shape != secs.shape:
        raise InputError(f"risk: time_known has {known.size} values for {secs.size} timestamps")
    margin = float(window.margin_min)
    if not (math.isfinite(margin) and margin >= 0):
        raise InputError(f"risk: window {window.name!r}: margin_min={margin} is not accepted; accepted: ≥ 0")
    start, end = ((c.hour * 60 + c.minute + c.second / 60) for c in (window.start, window.end))
    duration = (end - start) % 1440
    # minutes since Monday 00:00 (1970-01-01 was a Thursday, weekday 3)
    week_min = np.mod(np.where(nat, 0.0, secs) / 60.0 + 3 * 1440, _WEEK_MIN)
    out = np.zeros(len(secs))
    for day in sorted(int(d) for d in window.days):
        offset = np.mod(week_min - (day * 1440 + start), _WEEK_MIN)  # minutes since this start
        dist = np.where(offset <= duration, 0.0, np.minimum(offset - duration, _WEEK_MIN - offset))
        w = np.clip(1.0 - dist / margin, 0.0, 1.0) if margin > 0 else (dist <= 0).astype(float)
        np.maximum(out, w, out=out)
    out[~known | nat] = 0.0
    recency = {"lookback_days": lookback_days, "decay_half_life_days": decay_half_life_days}
    return out * recency_weights(occurred_at, reference=reference, **recency)


def _seconds(values: Any) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Seconds since 1970-01-01 (naive local wall clock; NaN for NaT) and a NaT mask."""
    try:
        idx = pd.DatetimeIndex(values)
    except (TypeError, ValueError) as exc:
        raise InputError(f"risk: occurred_at is not a list of timestamps ({exc})") from exc
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    nat = np.asarray(idx.isna(), dtype=bool)
    secs = idx.as_unit("s").asi8.astype(np.float64)
    secs[nat] = np.nan
    return secs, nat


# --------------------------------------------------------------------------------------
# density


def quartic_kernel(d_m: npt.ArrayLike, bandwidth_m: float) -> FloatArray:
    """Quartic (biweight) kernel ``15/16 · (1 − (d/h)²)² / h`` for ``d < h``, else 0 (1/m)."""
    return _kernel_inplace(np.abs(np.asarray(d_m, dtype=np.float64)), bandwidth_m)


def _kernel_inplace(d: FloatArray, h: float) -> FloatArray:
    """:func:`quartic_kernel` of distances ``d`` ≥ 0, overwriting them (no temporaries)."""
    np.minimum(d, h, out=d)
    d *= 1.0 / h
    np.square(d, out=d)
    np.subtract(1.0, d, out=d)
    np.square(d, out=d)
    d *= 15.0 / 16.0 / h
    return d


def edge_risk(
    streets: Streets,
    incident_xy: npt.ArrayLike,
    weights: npt.ArrayLike,
    *,
    categories: npt.ArrayLike | None = None,
    bandwidth_m: float = 200.0,
    method: str = "network",
    max_snap_m: float = 500.0,
    segment_m: float | None = None,
) -> EdgeRisk:
    """Kernel density of weighted incidents on every edge of ``streets``.

    Parameters
    ----------
    streets
        The walk network.
    incident_xy
        (k, 2) incident coordinates in metres, in ``streets.crs``; rows with NaN are ignored
        and counted (``n_invalid``).
    weights
        (k,) weights ≥ 0 (e.g. :func:`window_weights` × severity); 0 leaves an incident out.
    categories
        (k,) category names, for :attr:`EdgeRisk.category_share`.
    bandwidth_m
        Kernel bandwidth ``h``, metres, in (0, 10 000].
    method
        ``"network"`` (distance along streets) or ``"planar"`` (straight line); see the module
        notes for how they differ.
    max_snap_m
        Incidents farther than this from every street are ignored and counted (``n_unsnapped``).
    segment_m
        Edges longer than this are cut into equal pieces for the computation (default
        ``bandwidth_m / 4``; ``math.inf`` keeps edges whole); see the module notes.

    Returns
    -------
    EdgeRisk
        Per-edge density, risk and support.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1:
        raise InputError(f"risk: weights must be one value per incident; got shape {w.shape}")
    return _risk_layers(
        streets,
        incident_xy,
        w[:, None],
        categories,
        bandwidth_m=bandwidth_m,
        method=method,
        max_snap_m=max_snap_m,
        segment_m=segment_m,
    )[0]


def window_risk(
    streets: Streets,
    incidents: Any,
    windows: Sequence[TimeWindow],
    *,
    bandwidth_m: float = 200.0,
    method: str = "network",
    lookback_days: float = 0,
    decay_half_life_days: float = 0.0,
    max_snap_m: float = 500.0,
    segment_m: float | None = None,
) -> dict[str, EdgeRisk]:
    """Edge risk for each time window, plus :data:`ALL_DAY` (every incident, time weight 1).

    An incident's weight is its time weight (:func:`window_weights`; :func:`recency_weights`
    for all day) times its ``severity`` when that column is present. All layers share one
    snapping and one set of network distances, so extra windows cost little.

    Parameters
    ----------
    streets
        The walk network.
    incidents
        GeoDataFrame from :func:`passages.incidents.load_incidents`: points with a CRS and
        columns ``occurred_at``, ``time_known``, ``category`` and optionally ``severity``.
    windows
        Time windows, with unique names other than ``"all_day"``.
    bandwidth_m, method, max_snap_m, segment_m
        As for :func:`edge_risk`.
    lookback_days, decay_half_life_days
        As for :func:`recency_weights`; ages count back from the newest incident.

    Returns
    -------
    dict
        ``{window.name: EdgeRisk, ..., "all_day": EdgeRisk}`` in the order of ``windows``.
    """
    names = [w.name for w in windows]
    dupes = sorted({n for n in names if names.count(n) > 1 or n == ALL_DAY})
    if dupes:
        raise InputError(f"risk: window names must be unique and not {ALL_DAY!r}; got {dupes}")
    missing = [c for c in ("occurred_at", "time_known", "category") if c not in incidents.columns]
    if missing or getattr(incidents, "crs", None) is None:
        found = ", ".join(map(str, incidents.columns))
        raise InputError(f"risk: the incident table lacks {missing or 'a CRS'}; columns found: {found}")
    pts = incidents.geometry.to_numpy()  # points; anything else has no x, y and is counted invalid
    to_metres = pyproj.Transformer.from_crs(incidents.crs, streets.crs, always_xy=True)
    xy = np.column_stack(to_metres.transform(shapely.get_x(pts), shapely.get_y(pts))).reshape(-1, 2)
    occurred, known = incidents["occurred_at"], incidents["time_known"].to_numpy(dtype=bool)
    secs, nat = _seconds(occurred)
    reference = None if nat.all() else pd.Timestamp(int(np.nanmax(secs)), unit="s")
    recency = {"lookback_days": lookback_days, "decay_half_life_days": decay_half_life_days}
    cols = [window_weights(occurred, known, w, reference=reference, **recency) for w in windows]
    weights = np.column_stack([*cols, recency_weights(occurred, reference=reference, **recency)])
    if "severity" in incidents.columns:
        weights = weights * incidents["severity"].to_numpy(dtype=np.float64)[:, None]
    layers = _risk_layers(
        streets,
        xy,
        weights,
        incidents["category"],
        bandwidth_m=bandwidth_m,
        method=method,
        max_snap_m=max_snap_m,
        segment_m=segment_m,
    )
    return dict(zip([*names, ALL_DAY], layers, strict=True))


def _risk_layers(
    streets: Streets,
    incident_xy: npt.ArrayLike,
    weights: FloatArray,
    categories: Any,
    *,
    bandwidth_m: float,
    method: str,
    max_snap_m: float,
    segment_m: float | None,
) -> list[EdgeRisk]:
    """Density for each column of ``weights`` (k, W), sharing snapping and distances."""
    h = float(bandwidth_m)
    if not (math.isfinite(h) and 0 < h <= MAX_BANDWIDTH_M):
        raise InputError(
            f"risk: bandwidth_m={bandwidth_m} is not accepted; "
            f"accepted: 0 < bandwidth_m ≤ {MAX_BANDWIDTH_M:g} (metres)"
        )
    if method not in METHODS:
        raise InputError(f"risk: method={method!r} is not accepted; accepted: {', '.join(METHODS)}")
    seg = h / 4 if segment_m is None else float(segment_m)
    for name, value in (("max_snap_m", max_snap_m), ("segment_m", seg)):
        if not value > 0:
            raise InputError(f"risk: {name}={value} is not accepted; accepted: > 0 (metres; inf = off)")
    if pyproj.CRS.from_user_input(streets.crs).is_geographic:
        raise CRSError(f"risk: the network is in geographic coordinates ({streets.crs}); project it first")
    xy = np.asarray(incident_xy, dtype=np.float64)
    if xy.size == 0:
        xy = xy.reshape(0, 2)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InputError(
            f"risk: incident coordinates have shape {xy.shape}; expected (k, 2), one (x, y) per row"
        )
    k, n_layers = weights.shape
    if k != len(xy):
        raise InputError(f"risk: {k} weights for {len(xy)} incidents; give one weight per incident")
    if not np.all(np.isfinite(weights) & (weights >= 0)):
        raise InputError("risk: incident weights must be finite and ≥ 0")
    cats = pd.Series(categories if categories is not None else np.full(k, ""), dtype=object)
    codes, names = pd.factorize(cats.astype(str))
    if len(codes) != k:
        raise InputError(f"risk: {len(codes)} categories for {k} incidents; give one per incident")
    t0 = _time.perf_counter()
    valid = np.isfinite(xy).all(axis=1)
    live = valid & (weights > 0).any(axis=1)
    edge, dist, t = streets.nearest_edge(xy[live, 0], xy[live, 1], max_dist_m=max_snap_m)
    snapped = dist <= max_snap_m
    used = np.flatnonzero(live)[snapped]
    w = weights[used]
    cut = streets.cut(seg)
    if method == "network":
        dens, support, footprint = _network_density(cut, edge[snapped], t[snapped], w, h)
    else:
        dens, support, footprint = _planar_density(cut, xy[used], w, h)
    n_far, n_bad = int((~snapped).sum()), int((~valid).sum())
    out: list[EdgeRisk] = []
    for layer in range(n_layers):
        d = dens[:, layer] * 1000.0
        scale = float(np.percentile(d[d > 0], 99)) if (d > 0).any() else 0.0
        share = {} if categories is None else _shares(names, codes[used], w[:, layer] * footprint)
        stats = {"n_used": int((w[:, layer] > 0).sum()), "n_unsnapped": n_far, "n_invalid": n_bad}
        risk = np.minimum(1.0, d / scale) if scale > 0 else np.zeros(len(d))
        support_n = np.rint(support[:, layer]).astype(np.int64)
        total = float(w[:, layer].sum())
        out.append(EdgeRisk(d, risk, support_n, total, share, method, h, seg, scale, **stats))
    elapsed = _time.perf_counter() - t0
    logger.info(
        "edge risk (%s, h=%g m, %d layers): %s incidents used, %s too far from streets, %s without "
        "coordinates; %.1f s", method, h, n_layers, f"{len(used):,}", f"{n_far:,}", f"{n_bad:,}", elapsed
    )  # fmt: skip
    return out


def _shares(names: Any, code: IntArray, mass: FloatArray) -> dict[str, float]:
    """Share of ``mass`` per category, largest first (ties by name)."""
    by_cat = np.bincount(code, weights=mass, minlength=len(names))
    total = by_cat.sum()
    if not total > 0:
        return {}
    order = sorted(range(len(names)), key=lambda i: (-by_cat[i], str(names[i])))
    return {str(names[i]): float(by_cat[i] / total) for i in order if by_cat[i] > 0}


def _network_density(
    cut: CutStreets, edge: IntArray, t: FloatArray, w: FloatArray, h: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Edge densities (m, W) in 1/m, supports (m, W) and each incident's risk mass per weight (k,).

    Incidents become "pairs": the one or two nodes holding their mass (x, y; y == x when the
    incident is at a node). Pairs are tiled by the position of x; each tile runs one bounded
    Dijkstra from its pairs' nodes on the subgraph within ``h`` of them.
    """
    n, m, n_layers = len(cut.x), len(cut.first), w.shape[1]
    piece, t = cut.piece_of(edge, t)
    at_a, at_b = t <= 0.0, t >= 1.0
    x, y = np.where(at_b, cut.b[piece], cut.a[piece]), np.where(at_a, cut.a[piece], cut.b[piece])
    frac = np.where(at_a | at_b, 0.0, t)[:, None]
    key, inverse = np.unique(x * n + y, return_inverse=True)
    px, py = key // n, key % n
    pair_edge = np.maximum(cut.inner_edge[px], cut.inner_edge[py])  # the edge an inner node is on
    mass_x, mass_y, count = (np.zeros((len(key), n_layers)) for _ in range(3))
    np.add.at(mass_x, inverse, w * (1.0 - frac))
    np.add.at(mass_y, inverse, w * frac)
    np.add.at(count, inverse, (w > 0).astype(np.float64))

    # the cut graph as CSR arrays, keeping the cheapest of parallel pieces
    ends, other = np.concatenate([cut.a, cut.b]), np.concatenate([cut.b, cut.a])
    cost = np.concatenate([cut.length_m, cut.length_m])
    order = np.lexsort((cost, other, ends))
    keep = np.concatenate([[True], np.diff(ends[order] * n + other[order]) != 0])
    ends, other, cost = ends[order][keep], other[order][keep], cost[order][keep]
    indptr = _indptr(ends, n)
    half_len = 0.5 * np.bincount(ends, weights=cost, minlength=n)  # the street length a node stands for
    inc_indptr, inc_edges = cut.node_edges
    nodes_xy = np.column_stack([cut.x, cut.y])
    tree = cKDTree(nodes_xy)
    reach = h * 1.01 + 1.0  # paths ≤ h stay within h of their source; 1 % covers projection scale
    cell = np.floor((nodes_xy[px] - nodes_xy.min(axis=0)) / (_TILE_BANDWIDTHS * h)).astype(np.int64)
    tile = cell[:, 0] * (int(cell[:, 1].max(initial=0)) + 1) + cell[:, 1]
    order = np.lexsort((key, tile))

    node_dens, support, node_mass = np.zeros((n, n_layers)), np.zeros((m, n_layers)), np.zeros(n)
    local = np.full(n, -1, dtype=np.int64)
    for tile_pairs in np.split(order, np.flatnonzero(np.diff(tile[order])) + 1) if len(key) else []:
        ends_xy = nodes_xy[np.concatenate([px[tile_pairs], py[tile_pairs]])]
        lo, hi = ends_xy.min(axis=0) - reach, ends_xy.max(axis=0) + reach
        sub = np.asarray(tree.query_ball_point((lo + hi) / 2, max(hi - lo) / 2, p=np.inf), dtype=np.int64)
        sub.sort()
        local[sub] = np.arange(len(sub))
        pos, row = _row_entries(indptr, sub)
        col = local[other[pos]]
        inside = col >= 0
        A_sub = sparse.csr_array(
            (cost[pos[inside]], col[inside], _indptr(row[inside], len(sub))), shape=(len(sub), len(sub))
        )
        sub_edges = np.unique(inc_edges[_row_entries(inc_indptr, sub)[0]])
        a_loc, b_loc = local[cut.u[sub_edges]], local[cut.v[sub_edges]]
        per_chunk = max(1, _MAX_BLOCK // (2 * len(sub)))
        for chunk in np.array_split(tile_pairs, -(-len(tile_pairs) // per_chunk)):
            src = np.unique(np.concatenate([px[chunk], py[chunk]]))
            kern = _kernel_inplace(csgraph.dijkstra(A_sub, directed=True, indices=local[src], limit=h), h)
            xrow, yrow = np.searchsorted(src, px[chunk]), np.searchsorted(src, py[chunk])
            mass = np.zeros((len(src), n_layers))
            np.add.at(mass, xrow, mass_x[chunk])
            np.add.at(mass, yrow, mass_y[chunk])
            node_dens[sub] += kern.T @ mass
            node_mass[src] = kern @ half_len[sub]
            # a pair reaches an edge through its end nodes (column -1: an end outside the
            # subgraph, so beyond h) or by lying on it (inner nodes are reached no other way)
            near = np.zeros((len(src), len(sub) + 1), dtype=bool)
            np.greater(kern, 0.0, out=near[:, :-1])
            pair_near = (near[:, a_loc] | near[:, b_loc])[xrow] | (near[:, a_loc] | near[:, b_loc])[yrow]
            on = np.flatnonzero(pair_edge[chunk] >= 0)
            pair_near[on, np.searchsorted(sub_edges, pair_edge[chunk][on])] = True
            support[sub_edges] += (count[chunk].T @ pair_near).T
        local[sub] = -1
    dens = cut.to_edges(0.5 * (node_dens[cut.a] + node_dens[cut.b]))
    return dens, support, (1.0 - t) * node_mass[cut.a[piece]] + t * node_mass[cut.b[piece]]


def _indptr(rows: IntArray, n_rows: int) -> IntArray:
    """CSR row pointers for entries sorted by ``rows``."""
    return np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))]).astype(np.int64)


def _row_entries(indptr: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
    """Positions of the entries of ``rows`` in a CSR structure, and which of ``rows`` each is in."""
    start, length = indptr[rows], indptr[rows + 1] - indptr[rows]
    which = np.repeat(np.arange(len(rows)), length)
    return start[which] + np.arange(len(which)) - (np.cumsum(length) - length)[which], which


def _planar_density(
    cut: CutStreets, xy: FloatArray, w: FloatArray, h: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Edge densities (m, W), supports (m, W) and incident risk masses per weight (k,)."""
    m, n_layers = len(cut.first), w.shape[1]
    if len(xy) == 0:
        return np.zeros((m, n_layers)), np.zeros((m, n_layers)), np.zeros(0)
    # incidents at the same place (a geocoded address) become one point with summed weights
    uniq, inverse = np.unique(xy[:, 0] + 1j * xy[:, 1], return_inverse=True)
    n_pts = len(uniq)
    w_pt = np.column_stack([np.bincount(inverse, weights=c, minlength=n_pts) for c in w.T])
    n_pt = np.column_stack([np.bincount(inverse, weights=c > 0, minlength=n_pts) for c in w.T])
    tree = cKDTree(np.column_stack([uniq.real, uniq.imag]))
    mid = np.column_stack([cut.x[cut.a] + cut.x[cut.b], cut.y[cut.a] + cut.y[cut.b]]) / 2
    # chunks of whole edges with about _MAX_BLOCK (piece, point) pairs each, to bound memory
    per_edge = np.bincount(cut.edge, weights=tree.query_ball_point(mid, h, return_length=True), minlength=m)
    cuts = np.unique(np.searchsorted(np.cumsum(per_edge), np.arange(_MAX_BLOCK, per_edge.sum(), _MAX_BLOCK)))
    dens, support, pt_mass = np.zeros((len(cut.a), n_layers)), np.zeros((m, n_layers)), np.zeros(n_pts)
    for edges in np.split(np.arange(m), cuts):
        if len(edges) == 0:
            continue
        pieces = np.arange(cut.first[edges[0]], cut.first[edges[-1]] + cut.count[edges[-1]])
        pairs = cKDTree(mid[pieces]).sparse_distance_matrix(tree, h, output_type="ndarray")
        kern = _kernel_inplace(pairs["v"].copy(), h)
        i, j, kern = (
            pairs["i"][kern > 0].astype(np.int64),
            pairs["j"][kern > 0].astype(np.int64),
            kern[kern > 0],
        )
        for layer in range(n_layers):
            dens[pieces, layer] = np.bincount(i, weights=kern * w_pt[j, layer], minlength=len(pieces))
        pt_mass += np.bincount(j, weights=kern * cut.length_m[pieces[i]], minlength=n_pts)
        # a point supports an edge once however many of its pieces it reaches (duplicates summed)
        shape = (len(edges), n_pts)
        reach = sparse.csr_array((np.ones(len(i)), (cut.edge[pieces[i]] - edges[0], j)), shape=shape)
        reach.data[:] = 1.0
        support[edges] = reach @ n_pt
    return cut.to_edges(dens), support, pt_mass[inverse]
