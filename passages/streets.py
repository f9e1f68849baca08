"""The array view of a walk network that every hot loop runs on.

:class:`Streets` holds nodes ``0..n-1`` and undirected edges ``0..m-1`` as numpy arrays, built
once from a graph of :func:`passages.network.load_network` (or loaded straight from its cache with
:func:`passages.network.load_streets`). On top of the arrays it gives the CSR matrices that
``scipy.sparse.csgraph`` routes on, nearest node and nearest edge lookups, edges cut into equal
pieces (:meth:`Streets.cut`), intersection names, and GeoDataFrames.

Nearest edge. shapely's ``STRtree.query_nearest`` takes ~18 s for a million points on the
Atlanta sample; :meth:`Streets.nearest_edge` gives the same answer several times faster. The edge
geometries are cut into straight pieces no longer than 40 m and a KD-tree holds the pieces'
midpoints. A point's ``k`` nearest midpoints give candidate pieces, and the distance to each is
exact (projection on a segment). Any other piece is at least (``k``-th midpoint distance − half a
piece) away, so when that bound is not below the best candidate the answer is proven; otherwise
the point is tried again with four times as many candidates.

This module imports nothing from the loaders: ``network`` builds on it, not the reverse.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from passages._errors import CRSError, NetworkError

__all__ = ["MIN_LENGTH_M", "CutStreets", "Streets", "graph_from_streets", "streets_from_arrays"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: minimum edge length, so that zero-length edges stay edges in sparse matrices
MIN_LENGTH_M = 0.01
#: nearest-edge lookups cut edge geometries into straight pieces at most this long, metres
_PIECE_M = 40.0
#: points looked up at once by nearest_edge (bounds the candidate arrays to a few tens of MB)
_SNAP_CHUNK = 50_000
#: Streets fields pickled as they are (crs too; geometry goes as one WKB array, the lookup caches not at all)
_ARRAY_FIELDS = ("node_id", "x", "y", "u", "v", "length_m", "name", "highway", "osmid")


@dataclass(frozen=True, eq=False)
class Streets:
    """Array view of a walk network: nodes ``0..n-1``, undirected edges ``0..m-1``.

    Attributes
    ----------
    crs
        The projected CRS of ``x``, ``y`` and ``geometry`` (metres).
    node_id
        Graph node id (OSM node id) of each node.
    x, y
        Node coordinates in metres.
    u, v
        Node indices of each edge's ends; ``geometry`` runs from ``u`` to ``v``.
    length_m
        Edge length in metres (≥ 0.01).
    name, highway
        Street name (``""`` when unnamed) and class of each edge.
    geometry
        Object array of shapely LineStrings.
    osmid
        OSM way id of each edge (the lowest, for simplified edges), or None when the source
        has no OSM ids.
    """

    crs: pyproj.CRS
    node_id: npt.NDArray[np.int64]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    u: npt.NDArray[np.int32]
    v: npt.NDArray[np.int32]
    length_m: npt.NDArray[np.float64]
    name: npt.NDArray[np.object_]
    highway: npt.NDArray[np.object_]
    geometry: npt.NDArray[np.object_]
    osmid: npt.NDArray[np.int64] | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_nodes(self) -> int:
        return len(self.x)

    @property
    def n_edges(self) -> int:
        return len(self.u)

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph) -> Streets:
        """Build the array view of a graph from :func:`load_network` (self-loops are left out)."""
        if "crs" not in G.graph:
            raise CRSError("graph has no 'crs' attribute; load it with passages.network.load_network")
        crs = pyproj.CRS.from_user_input(G.graph["crs"])
        if crs.is_geographic:
            raise CRSError(f"graph is in geographic coordinates ({crs.name}); project it to metres first")
        ids = np.array(sorted(G.nodes), dtype=np.int64)
        index = {int(n): i for i, n in enumerate(ids)}
        x = np.array([G.nodes[n]["x"] for n in ids.tolist()], dtype=np.float64)
        y = np.array([G.nodes[n]["y"] for n in ids.tolist()], dtype=np.float64)
        seen: set[tuple[int, int, str, float]] = set()
        us: list[int] = []
        vs: list[int] = []
        lengths: list[float] = []
        names: list[str] = []
        highways: list[str] = []
        geoms: list[Any] = []
        way_ids: list[int] = []
        for a, b, d in sorted(
            G.edges(data=True), key=lambda e: (index[e[0]], index[e[1]], e[2].get("length_m", 0.0))
        ):
            ia, ib = index[a], index[b]
            if ia == ib:
                continue
            length = float(d.get("length_m", d.get("length", 0.0)))
            lo, hi = (ia, ib) if ia < ib else (ib, ia)
            key = (lo, hi, str(d.get("osmid", d.get("feature", ""))), round(length, 3))
            if key in seen:
                continue
            seen.add(key)
            geom = d.get("geometry")
            if geom is None:
                geom = shapely.LineString([(x[ia], y[ia]), (x[ib], y[ib])])
            if ia > ib:
                geom = geom.reverse()
            us.append(lo)
            vs.append(hi)
            lengths.append(max(length, MIN_LENGTH_M))
            names.append(str(d.get("name") or ""))
            highways.append(str(d.get("highway") or ""))
            geoms.append(geom)
            way_ids.append(_int_or(d.get("osmid"), -1))
        if not us:
            raise NetworkError("the walk network has no edges")
        geometry = np.empty(len(geoms), dtype=object)
        geometry[:] = geoms
        return cls(
            crs=crs,
            node_id=ids,
            x=x,
            y=y,
            u=np.array(us, dtype=np.int32),
            v=np.array(vs, dtype=np.int32),
            length_m=np.array(lengths, dtype=np.float64),
            name=np.array(names, dtype=object),
            highway=np.array(highways, dtype=object),
            geometry=geometry,
            osmid=np.array(way_ids, dtype=np.int64) if any(w >= 0 for w in way_ids) else None,
        )

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickle as arrays: geometry as one WKB array (~5× faster to read back), no lookup caches."""
        state = {name: getattr(self, name) for name in _ARRAY_FIELDS}
        state["crs"] = self.crs  # pickles as the text it was made from
        state["geometry"] = shapely.to_wkb(self.geometry)
        return _unpickle_streets, (state,)

    # ---- matrices ----------------------------------------------------------------------

    def _cheapest(self, cost: FloatArray) -> tuple[IntArray, ...]:
        """Rows, cols and edge index of the cheapest edge for each ordered node pair."""
        if cost.shape != self.length_m.shape:
            raise ValueError(f"cost has shape {cost.shape}; expected {self.length_m.shape}")
        a = np.concatenate([self.u, self.v]).astype(np.int64)
        b = np.concatenate([self.v, self.u]).astype(np.int64)
        e = np.concatenate([np.arange(self.n_edges), np.arange(self.n_edges)])
        c = np.concatenate([cost, cost])
        order = np.lexsort((e, c, b, a))
        a, b, e = a[order], b[order], e[order]
        first = np.ones(len(a), dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        return a[first], b[first], e[first]

    def csr(self, cost: FloatArray | None = None) -> sparse.csr_array:
        """Symmetric n×n matrix of edge costs (default ``length_m``), cheapest parallel edge kept.

        An edge whose cost is ``np.inf`` is left out (a closed street).
        """
        c = self.length_m if cost is None else np.asarray(cost, dtype=np.float64)
        if np.any(np.isnan(c)) or np.any(c <= 0):
            raise ValueError("edge costs must be > 0 (np.inf leaves an edge out)")
        a, b, e = self._cheapest(c)
        ok = np.isfinite(c[e])
        return sparse.csr_array((c[e][ok], (a[ok], b[ok])), shape=(self.n_nodes, self.n_nodes))

    def edge_lookup(self, cost: FloatArray | None = None) -> sparse.csr_array:
        """n×n matrix whose entry (a, b) is 1 + the index of the cheapest edge joining a and b."""
        c = self.length_m if cost is None else np.asarray(cost, dtype=np.float64)
        a, b, e = self._cheapest(c)
        return sparse.csr_array((e + 1, (a, b)), shape=(self.n_nodes, self.n_nodes))

    def edge_of(self, a: npt.ArrayLike, b: npt.ArrayLike, cost: FloatArray | None = None) -> IntArray:
        """Index of the cheapest edge joining node arrays ``a`` and ``b`` (-1 where none)."""
        lookup = self.edge_lookup(cost)
        vals = np.asarray(lookup[np.asarray(a), np.asarray(b)]).ravel().astype(np.int64)
        return vals - 1

    def cut(self, segment_m: float) -> CutStreets:
        """The network with every edge cut into equal pieces no longer than ``segment_m``.

        ``math.inf`` keeps every edge whole (one piece per edge).
        """
        if not segment_m > 0:
            raise ValueError(f"segment_m={segment_m} must be > 0 (math.inf keeps edges whole)")
        n, m, length = self.n_nodes, self.n_edges, self.length_m
        count = np.ones(m, dtype=np.int64)
        if segment_m < math.inf:
            count = np.maximum(1, np.ceil(length / segment_m - 1e-9)).astype(np.int64)
        inner_first = np.cumsum(count - 1) - (count - 1)
        inner_edge = np.repeat(np.arange(m), count - 1)
        j = np.arange(len(inner_edge)) - inner_first[inner_edge] + 1
        points = shapely.line_interpolate_point(
            self.geometry[inner_edge], j / count[inner_edge], normalized=True
        )
        edge = np.repeat(np.arange(m), count)
        first = np.cumsum(count) - count
        i = np.arange(len(edge)) - first[edge]
        owner = np.concatenate([self.u, self.v, n + np.arange(len(inner_edge))]).astype(np.int64)
        owned = np.concatenate([np.arange(m), np.arange(m), inner_edge])
        n_owners = n + len(inner_edge)
        return CutStreets(
            x=np.concatenate([self.x, shapely.get_x(points)]),
            y=np.concatenate([self.y, shapely.get_y(points)]),
            inner_edge=np.concatenate([np.full(n, -1), inner_edge]).astype(np.int64),
            node_edges=(_indptr(owner, n_owners), owned[np.argsort(owner, kind="stable")]),
            a=np.where(i == 0, self.u[edge], n + inner_first[edge] + i - 1).astype(np.int64),
            b=np.where(i == count[edge] - 1, self.v[edge], n + inner_first[edge] + i).astype(np.int64),
            length_m=length[edge] / count[edge],
            edge=edge,
            u=self.u.astype(np.int64),
            v=self.v.astype(np.int64),
            first=first,
            count=count,
            edge_length_m=length,
        )

    # ---- spatial lookups --------------------------------------------------------------

    def _kdtree(self) -> cKDTree:
        tree = self._cache.get("kdtree")
        if tree is None:
            tree = cKDTree(np.column_stack([self.x, self.y]))
            self._cache["kdtree"] = tree
        return tree

    def nearest_node(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[IntArray, FloatArray]:
        """Nearest node index and its distance in metres for each point."""
        pts = np.column_stack(
            [np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))]
        )
        dist, idx = self._kdtree().query(pts)
        return idx.astype(np.int64), dist.astype(np.float64)

    def nearest_edge(
        self, x: npt.ArrayLike, y: npt.ArrayLike, *, max_dist_m: float = math.inf
    ) -> tuple[IntArray, FloatArray, FloatArray]:
        """Nearest edge, distance in metres, and position ``t`` ∈ [0, 1] along it from ``u``.

        Exact (see the module notes for how it is fast). A point equally near two edges, e.g.
        nearest to a node they share, gets one of them.

        Parameters
        ----------
        x, y
            Point coordinates in metres, in ``crs``.
        max_dist_m
            Points farther than this from every edge get edge -1, distance ``inf`` and ``t`` 0;
            a finite limit also makes the lookup of such points cheap.

        Returns
        -------
        tuple
            ``(edge, dist_m, t)``, one value per point. A point with a NaN or infinite
            coordinate gets edge -1, distance ``inf`` and ``t`` 0.
        """
        xs = np.atleast_1d(np.asarray(x, dtype=np.float64)).ravel()
        ys = np.atleast_1d(np.asarray(y, dtype=np.float64)).ravel()
        if xs.shape != ys.shape:
            raise ValueError(f"nearest_edge: {len(xs)} x values but {len(ys)} y values")
        edge, dist, t = np.full(len(xs), -1, dtype=np.int64), np.full(len(xs), np.inf), np.zeros(len(xs))
        ok = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))
        if len(ok) == 0 or self.n_edges == 0:
            return edge, dist, t
        pieces = self._cache.get("snap_pieces")
        if pieces is None:
            pieces = self._cache["snap_pieces"] = _snap_pieces(self)
        # repeated points (geocoded addresses) are looked up once
        uniq, inverse = np.unique(xs[ok] + 1j * ys[ok], return_inverse=True)
        pts = np.column_stack([uniq.real, uniq.imag])
        u_edge, u_dist, u_t = (
            np.full(len(pts), -1, dtype=np.int64),
            np.full(len(pts), np.inf),
            np.zeros(len(pts)),
        )
        for lo in range(0, len(pts), _SNAP_CHUNK):
            todo, k = np.arange(lo, min(lo + _SNAP_CHUNK, len(pts))), 8
            while len(todo):
                done, e, d, tt = _snap_candidates(pieces, pts[todo], k, float(max_dist_m))
                u_edge[todo[done]], u_dist[todo[done]], u_t[todo[done]] = e, d, tt
                todo, k = todo[~done], k * 4
        edge[ok], dist[ok], t[ok] = u_edge[inverse], u_dist[inverse], u_t[inverse]
        return edge, dist, t

    # ---- names and frames -------------------------------------------------------------

    def node_edges(self, node: int) -> IntArray:
        """Indices of the edges touching ``node``."""
        inc = self._cache.get("incidence")
        if inc is None:
            rows = np.concatenate([self.u, self.v])
            cols = np.concatenate([np.arange(self.n_edges), np.arange(self.n_edges)])
            inc = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(self.n_nodes, self.n_edges))
            self._cache["incidence"] = inc
        return np.asarray(inc[[node], :].indices, dtype=np.int64)

    def intersection_name(self, node: int) -> str:
        """Name a node by the streets that meet there, e.g. ``"Peachtree St NE & Ellis St NE"``."""
        counts: Counter[str] = Counter()
        for e in self.node_edges(node).tolist():
            for part in str(self.name[e]).split("; "):
                if part:
                    counts[part] += 1
        names = [n for n, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        if len(names) >= 2:
            return f"{names[0]} & {names[1]}"
        if names:
            return f"{names[0]} (mid-block)"
        return f"unnamed path (node {int(self.node_id[node])})"

    def to_lonlat(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Convert metric coordinates to (lon, lat) degrees."""
        t = pyproj.Transformer.from_crs(self.crs, 4326, always_xy=True)
        lon, lat = t.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)

    def from_lonlat(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Convert (lon, lat) degrees to metric coordinates in ``crs``."""
        t = pyproj.Transformer.from_crs(4326, self.crs, always_xy=True)
        x, y = t.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def bounds_lonlat(self, *, pad_m: float = 0.0) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the network in degrees, padded by ``pad_m``."""
        xs = [self.x.min() - pad_m, self.x.max() + pad_m]
        ys = [self.y.min() - pad_m, self.y.max() + pad_m]
        gx, gy = np.meshgrid(xs, ys)
        lon, lat = self.to_lonlat(gx.ravel(), gy.ravel())
        return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())

    def edges_gdf(self) -> Any:
        """Edges as a GeoDataFrame (columns edge, u, v, length_m, name, highway)."""
        import geopandas as gpd

        return gpd.GeoDataFrame(
            {
                "edge": np.arange(self.n_edges),
                "u": self.u,
                "v": self.v,
                "length_m": self.length_m,
                "name": self.name,
                "highway": self.highway,
            },
            geometry=list(self.geometry),
            crs=self.crs,
        )

    def nodes_gdf(self) -> Any:
        """Nodes as a GeoDataFrame (columns node, node_id)."""
        import geopandas as gpd

        return gpd.GeoDataFrame(
            {"node": np.arange(self.n_nodes), "node_id": self.node_id},
            geometry=shapely.points(self.x, self.y),
            crs=self.crs,
        )


def _unpickle_streets(state: dict[str, Any]) -> Streets:
    geometry = np.empty(len(state["geometry"]), dtype=object)
    geometry[:] = shapely.from_wkb(state["geometry"])
    fields = {name: state[name] for name in _ARRAY_FIELDS}
    return Streets(crs=state["crs"], geometry=geometry, **fields)


@dataclass(frozen=True)
class CutStreets:
    """A network with each edge cut into ``count`` equal pieces no longer than ``segment_m``.

    Nodes ``0..n-1`` are the network's, then come the cut points (on the edge geometry), edge by
    edge; ``inner_edge`` is the edge of each node (-1 for the network's own). Pieces run from
    ``a`` to ``b``; those of edge ``e`` are ``first[e]`` onwards, from ``u`` to ``v``.
    ``node_edges`` (CSR ``indptr``, ``edges``) lists the edges each node is on.
    """

    x: FloatArray
    y: FloatArray
    inner_edge: IntArray
    node_edges: tuple[IntArray, IntArray]
    a: IntArray
    b: IntArray
    length_m: FloatArray
    edge: IntArray
    u: IntArray
    v: IntArray
    first: IntArray
    count: IntArray
    edge_length_m: FloatArray

    def piece_of(self, edge: IntArray, t: FloatArray) -> tuple[IntArray, FloatArray]:
        """The piece holding position ``t`` of ``edge``, and the position along that piece."""
        scaled = t * self.count[edge]
        i = np.minimum(np.floor(scaled), self.count[edge] - 1)
        return self.first[edge] + i.astype(np.int64), np.clip(scaled - i, 0.0, 1.0)

    def to_edges(self, values: FloatArray) -> FloatArray:
        """Length-weighted mean over each edge's pieces of per-piece ``values`` (p, W)."""
        total = np.zeros((len(self.first), values.shape[1]))
        np.add.at(total, self.edge, values * self.length_m[:, None])
        return total / self.edge_length_m[:, None]


def streets_from_arrays(
    *,
    x: Sequence[float],
    y: Sequence[float],
    edges: Sequence[tuple[int, int]],
    names: Sequence[str] | None = None,
    crs: str = "EPSG:32616",
) -> Streets:
    """Build a Streets from node coordinates and straight edges (synthetic tests and benchmarks).

    Edge lengths are the straight-line distances between the nodes; the geometry is built in one
    vectorised call, so this serves networks of hundreds of thousands of edges too.
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    uv = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    lo, hi = uv.min(axis=1), uv.max(axis=1)
    ends = np.stack([np.column_stack([xa[lo], ya[lo]]), np.column_stack([xa[hi], ya[hi]])], axis=1)
    geoms = np.asarray(shapely.linestrings(ends), dtype=object) if len(uv) else np.empty(0, dtype=object)
    return Streets(
        crs=pyproj.CRS.from_user_input(crs),
        node_id=np.arange(len(xa), dtype=np.int64),
        x=xa,
        y=ya,
        u=lo.astype(np.int32),
        v=hi.astype(np.int32),
        length_m=np.maximum(np.hypot(xa[hi] - xa[lo], ya[hi] - ya[lo]), MIN_LENGTH_M),
        name=np.array(list(names) if names is not None else [""] * len(uv), dtype=object),
        highway=np.array(["residential"] * len(uv), dtype=object),
        geometry=geoms,
    )


def graph_from_streets(streets: Streets) -> nx.MultiDiGraph:
    """A MultiDiGraph (both directions) equivalent to ``streets``, e.g. to compare with networkx."""
    G = nx.MultiDiGraph(crs=streets.crs.to_string())
    for i in range(streets.n_nodes):
        G.add_node(i, x=float(streets.x[i]), y=float(streets.y[i]))
    for e in range(streets.n_edges):
        a, b = int(streets.u[e]), int(streets.v[e])
        attrs = {"length_m": float(streets.length_m[e]), "name": streets.name[e], "edge": e}
        G.add_edge(a, b, **attrs)
        G.add_edge(b, a, **attrs)
    return G


# --------------------------------------------------------------------------------------
# helpers


def _int_or(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _indptr(rows: IntArray, n_rows: int) -> IntArray:
    """CSR row pointers for entries sorted by ``rows``."""
    return np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))]).astype(np.int64)


def _snap_pieces(streets: Streets) -> tuple[Any, ...]:
    """Pieces (≤ ``_PIECE_M`` long) of the edge geometries: start, direction, edge, offset; a KD-tree."""
    coords, owner = shapely.get_coordinates(streets.geometry, return_index=True)
    same = owner[1:] == owner[:-1]
    a, b, seg_edge = coords[:-1][same], coords[1:][same], owner[:-1][same].astype(np.int64)
    seg_len = np.hypot(*(b - a).T)
    edge_len = np.bincount(seg_edge, weights=seg_len, minlength=streets.n_edges)
    first = np.concatenate([[True], seg_edge[1:] != seg_edge[:-1]])
    cum = np.cumsum(seg_len) - seg_len
    seg_start = cum - cum[first][np.cumsum(first) - 1]  # offset of each segment along its edge
    n_pieces = np.maximum(1, np.ceil(seg_len / _PIECE_M)).astype(np.int64)
    seg = np.repeat(np.arange(len(seg_len)), n_pieces)
    j = np.arange(len(seg)) - np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
    ab = (b - a)[seg] / n_pieces[seg][:, None]
    p0 = a[seg] + j[:, None] * ab
    piece_len = seg_len[seg] / n_pieces[seg]
    inv_len2 = np.divide(1.0, piece_len**2, out=np.zeros_like(piece_len), where=piece_len > 0)
    offset = seg_start[seg] + j * piece_len
    return (*p0.T, *ab.T, inv_len2, seg_edge[seg], offset, piece_len, edge_len, cKDTree(p0 + ab / 2))


def _snap_candidates(
    pieces: tuple[Any, ...], q: FloatArray, k: int, max_dist_m: float
) -> tuple[npt.NDArray[np.bool_], IntArray, FloatArray, FloatArray]:
    """Best of the ``k`` nearest pieces for each point, for the points where that is provably best."""
    ax, ay, dx, dy, inv_len2, piece_edge, piece_start, piece_len, edge_len, tree = pieces
    k, half = min(k, len(ax)), _PIECE_M / 2
    dk, ik = tree.query(q, k=k, distance_upper_bound=max_dist_m + half)
    dk, ik = dk.reshape(len(q), k), ik.reshape(len(q), k)
    ok = ik < len(ax)
    ik[~ok] = 0
    qx, qy = q[:, :1], q[:, 1:]
    px, py, vx, vy = ax[ik], ay[ik], dx[ik], dy[ik]
    s = np.clip(((qx - px) * vx + (qy - py) * vy) * inv_len2[ik], 0.0, 1.0)
    d2 = np.where(ok, (qx - px - s * vx) ** 2 + (qy - py - s * vy) ** 2, np.inf)
    rows, pick = np.arange(len(q)), np.argmin(d2, axis=1)
    best = np.sqrt(d2[rows, pick])
    done = (k == len(ax)) | ~np.isfinite(dk[:, -1]) | (dk[:, -1] - half >= best)
    best, piece, s = best[done], ik[rows, pick][done], s[rows, pick][done]
    found = best <= max_dist_m
    length = edge_len[piece_edge[piece]]
    t = np.clip((piece_start[piece] + s * piece_len[piece]) / np.where(length > 0, length, 1.0), 0.0, 1.0)
    return (
        done,
        np.where(found, piece_edge[piece], -1),
        np.where(found, best, np.inf),
        np.where(found, t, 0.0),
    )
