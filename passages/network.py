"""Load a walk network and give it an array view for the hot loops.

Sources: OpenStreetMap XML (``.osm``, ``.osm.bz2``) and PBF (``.osm.pbf``) read with
pyosmium and a walk filter; GraphML (osmnx's or our cache); street centerline files
(GeoJSON, GeoPackage, Shapefile) noded at shared endpoints; and, only when asked, an
online place name or bounding box through osmnx.

Every graph comes out in osmnx conventions: a ``networkx.MultiDiGraph`` with both
directions of every walkable way, projected once to the local UTM zone
(``G.graph["crs"]``), reduced to its largest connected component, with edge
attributes ``length_m``, ``name`` (``""`` when unnamed), ``highway`` and a projected
``geometry`` oriented from ``u`` to ``v``.

pyosmium is used for OSM files rather than ``osmnx.graph_from_xml`` because it reads
PBF too, applies the walk filter before the graph is built, and is several times
faster on the sample; osmnx still does the simplification and projection.
"""

from __future__ import annotations

import bz2
import hashlib
import itertools
import logging
import os
import pickle
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from passages import __version__
from passages._errors import CRSError, InputError, NetworkError
from passages._validate import Loaded, LoadReport, existing_file

logger = logging.getLogger(__name__)

#: highway values never walked (motor roads, unbuilt ways)
EXCLUDED_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "construction",
        "proposed",
        "planned",
        "disused",
        "abandoned",
        "razed",
        "raceway",
        "bus_guideway",
        "busway",
        "escape",
        "services",
        "rest_area",
    }
)
#: foot / access values that close a way to pedestrians
_CLOSED = frozenset({"no", "private"})
#: foot values that reopen a way whose general access is closed
_FOOT_OPEN = frozenset({"yes", "designated", "permissive", "official"})
#: OSM way tags kept on edges
WAY_TAGS = ("highway", "name", "ref", "foot", "access", "footway", "sidewalk", "bridge", "tunnel")
#: bump when the cached graph's content changes
CACHE_FORMAT = 3
#: minimum edge length, so that zero-length edges stay edges in sparse matrices
MIN_LENGTH_M = 0.01
#: centerline ends closer than this are one node (cities publish shared vertices; 10 cm absorbs reprojection noise)
NODE_TOLERANCE_M = 0.1

OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.pbf", ".pbf", ".xml", ".osm.xml")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")


# --------------------------------------------------------------------------------------
# loading


def load_network(
    source: str | os.PathLike[str],
    *,
    drop_classes: Iterable[str] = (),
    class_column: str = "highway",
    name_column: str = "name",
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Loaded[nx.MultiDiGraph]:
    """Load a projected, cleaned walk network from a file.

    Parameters
    ----------
    source
        An OSM XML/PBF file, a GraphML file, or a street centerline file.
    drop_classes
        Extra ``highway`` (or ``class_column``) values to drop, e.g. ``("primary",)``.
    class_column, name_column
        For centerline files: the attributes holding the street class and name.
    cache
        Reuse (and write) a cleaned copy keyed by the file's content and these options.
    cache_dir
        Where cached graphs live; default ``$PASSAGES_CACHE_DIR`` or ``~/.cache/passages``.

    Returns
    -------
    Loaded
        The graph and a report of ways read, kept and dropped by reason.
    """
    path = existing_file(source, "network")
    drop = tuple(sorted({str(c) for c in drop_classes}))
    name = path.name.lower()
    options = f"{drop}|{class_column}|{name_column}"
    cache_file = _cache_path(path, options, cache_dir) if cache else None
    if cache_file is not None and cache_file.exists():
        cached = _read_cache(cache_file)
        if cached is not None:
            G, report = cached
            # not a report note: a plan must not depend on whether the cache was warm
            logger.info("loaded walk network from cache: %s", cache_file)
            return Loaded(G, report)

    if name.endswith(OSM_SUFFIXES):
        G, report = _graph_from_osm(path, drop)
    elif name.endswith(".graphml"):
        G, report = _graph_from_graphml(path)
    elif name.endswith(VECTOR_SUFFIXES):
        G, report = _graph_from_centerlines(path, drop, class_column, name_column)
    else:
        accepted = ", ".join((*OSM_SUFFIXES, ".graphml", *VECTOR_SUFFIXES))
        raise InputError(f"network file {path}: unknown kind {path.suffix!r}; accepted: {accepted}")

    G = _finish(G, report, str(path))
    if cache_file is not None:
        _write_cache(cache_file, G, report)
    return Loaded(G, report)


def load_network_online(
    *,
    place: str | None = None,
    bbox: Sequence[float] | None = None,
    drop_classes: Iterable[str] = (),
) -> Loaded[nx.MultiDiGraph]:
    """Download a walk network through osmnx (needs the internet; tests mock it).

    Parameters
    ----------
    place
        A place name osmnx can geocode, e.g. ``"Watts, Los Angeles, California"``.
    bbox
        ``(west, south, east, north)`` in degrees, instead of ``place``.
    drop_classes
        Extra ``highway`` values to drop.
    """
    import osmnx as ox

    if (place is None) == (bbox is None):
        raise InputError("online network: give exactly one of place or bbox")
    if place is not None:
        G = ox.graph_from_place(place, network_type="walk", simplify=True, retain_all=True)
        label = f"online place {place!r}"
    else:
        assert bbox is not None
        west, south, east, north = (float(b) for b in bbox)
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise InputError(f"online network: bbox {list(bbox)} is not west<east, south<north")
        G = ox.graph_from_bbox((west, south, east, north), network_type="walk", simplify=True)
        label = f"online bbox {list(bbox)}"
    report = LoadReport(source=label, kind="network")
    report.rows_read = G.number_of_edges()
    drop = set(drop_classes)
    G = G.copy()
    bad = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if _first(d.get("highway")) in drop]
    if bad:
        report.drop("dropped class", count=len(bad))
        G.remove_edges_from(bad)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    return Loaded(_finish(G, report, label), report)


def _graph_from_osm(path: Path, drop: tuple[str, ...]) -> tuple[nx.MultiDiGraph, LoadReport]:
    """Read walkable ways from an OSM XML or PBF file into an unprojected graph."""
    import osmium

    report = LoadReport(source=str(path), kind="network")
    excluded = EXCLUDED_HIGHWAYS | set(drop)
    nodes: dict[int, tuple[float, float]] = {}
    G = nx.MultiDiGraph(crs="epsg:4326")
    n_edges = 0
    try:
        processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        for way in processor:
            if not way.is_way():
                continue
            report.rows_read += 1
            tags = {k: way.tags.get(k) for k in WAY_TAGS}
            reason = _walk_reason(way.tags, tags, excluded)
            if reason is not None:
                report.drop(reason)
                continue
            refs: list[int] = []
            for n in way.nodes:
                if not n.location.valid():
                    continue
                nodes[n.ref] = (n.location.lon, n.location.lat)
                if not refs or refs[-1] != n.ref:
                    refs.append(n.ref)
            if len(refs) < 2:
                report.drop("way with fewer than two located nodes")
                continue
            report.kept += 1
            attrs = {k: v for k, v in tags.items() if v is not None}
            attrs.setdefault("highway", "platform")
            for a, b in itertools.pairwise(refs):
                G.add_edge(a, b, osmid=way.id, **attrs)
                G.add_edge(b, a, osmid=way.id, **attrs)
                n_edges += 2
    except RuntimeError as exc:  # osmium's error for corrupt / truncated files
        raise InputError(f"network file {path}: not a readable OSM file ({exc})") from exc
    if G.number_of_edges() == 0:
        raise NetworkError(
            f"network file {path}: no walkable ways found ({report.rows_read:,} ways read); "
            "is this an OpenStreetMap extract with highway=* ways?"
        )
    for osmid, (lon, lat) in nodes.items():
        if osmid in G:
            G.nodes[osmid].update(x=lon, y=lat)
    logger.debug("osm file %s: %d ways kept, %d directed edges", path, report.kept, n_edges)
    import osmnx as ox

    ox.distance.add_edge_lengths(G)
    G = ox.simplify_graph(
        G,
        edge_attrs_differ=["name", "highway"],
        edge_attr_aggs={"length": sum, "osmid": min},
    )
    return G, report


def _walk_reason(
    all_tags: Any, tags: dict[str, str | None], excluded: set[str] | frozenset[str]
) -> str | None:
    """Why a way is not walkable, or None when it is."""
    highway = tags["highway"]
    if highway is None:
        if all_tags.get("public_transport") == "platform" or all_tags.get("railway") == "platform":
            return None
        return "not a highway"
    if highway in excluded:
        return f"highway={highway} is not walkable"
    foot = tags["foot"]
    if foot in _CLOSED:
        return f"foot={foot}"
    access = tags["access"]
    if access in _CLOSED and foot not in _FOOT_OPEN:
        return f"access={access}"
    if all_tags.get("area") == "yes" and highway not in {"pedestrian", "footway", "platform"}:
        return "area, not a way"
    return None


def _graph_from_graphml(path: Path) -> tuple[nx.MultiDiGraph, LoadReport]:
    import osmnx as ox

    report = LoadReport(source=str(path), kind="network")
    try:
        G = ox.load_graphml(path)
    except Exception as exc:
        raise InputError(f"network file {path}: not a readable GraphML graph ({exc})") from exc
    if "crs" not in G.graph:
        raise CRSError(f"network file {path}: GraphML graph has no 'crs' attribute; accepted: osmnx GraphML")
    report.rows_read = report.kept = G.number_of_edges()
    return G, report


def _graph_from_centerlines(
    path: Path, drop: tuple[str, ...], class_column: str, name_column: str
) -> tuple[nx.MultiDiGraph, LoadReport]:
    """Node a street centerline layer at shared endpoints into a walk graph."""
    import geopandas as gpd

    report = LoadReport(source=str(path), kind="network")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        raise InputError(f"network file {path}: not a readable vector file ({exc})") from exc
    report.rows_read = len(gdf)
    if gdf.empty:
        raise NetworkError(f"network file {path}: has no features")
    if gdf.crs is None:
        raise CRSError(
            f"network file {path}: has no coordinate reference system; "
            "set one in the file (e.g. EPSG:4326 for lon/lat)"
        )
    geom_types = set(gdf.geometry.geom_type.dropna())
    if not geom_types & {"LineString", "MultiLineString"}:
        raise InputError(
            f"network file {path}: centerline files need LineString features; found {sorted(geom_types)}"
        )
    gdf = gdf.reset_index(drop=True)
    keep = np.ones(len(gdf), dtype=bool)
    for i, geom in enumerate(gdf.geometry):
        if geom is None or geom.is_empty or geom.geom_type not in {"LineString", "MultiLineString"}:
            report.drop("missing or non-line geometry", i + 1)
            keep[i] = False
    if class_column in gdf.columns:
        classes = gdf[class_column].astype("string").fillna("")
        excluded = set(EXCLUDED_HIGHWAYS) | set(drop)
        for i in np.flatnonzero(classes.isin(excluded).to_numpy() & keep):
            report.drop(f"{class_column}={classes.iloc[i]} is not walkable", int(i) + 1)
            keep[i] = False
    elif drop:
        raise InputError(
            f"network file {path}: drop_classes given but no column {class_column!r}; "
            f"columns found: {', '.join(map(str, gdf.columns))}"
        )
    gdf = gdf[keep]
    if gdf.empty:
        raise NetworkError(f"network file {path}: no walkable lines left after filtering")
    utm = gdf.to_crs(4326).estimate_utm_crs()
    lines = gdf.to_crs(utm).explode(index_parts=False)
    report.kept = int(keep.sum())
    names = (
        lines[name_column].astype("string").fillna("").to_numpy(dtype=object)
        if name_column in lines.columns
        else np.full(len(lines), "", dtype=object)
    )
    classes_out = (
        lines[class_column].astype("string").fillna("").to_numpy(dtype=object)
        if class_column in lines.columns
        else np.full(len(lines), "", dtype=object)
    )
    geoms = lines.geometry.to_numpy()
    starts = shapely.get_coordinates(shapely.get_point(geoms, 0))
    ends = shapely.get_coordinates(shapely.get_point(geoms, -1))
    ends_xy = np.vstack([starts, ends])
    node_of = _cluster_points(ends_xy, tolerance_m=NODE_TOLERANCE_M)
    k = len(geoms)
    nxy = np.zeros((int(node_of.max()) + 1, 2))
    nxy[node_of] = ends_xy
    to_ll = pyproj.Transformer.from_crs(utm, 4326, always_xy=True)
    lon, lat = to_ll.transform(nxy[:, 0], nxy[:, 1])
    G = nx.MultiDiGraph(crs=utm)
    for n in range(len(nxy)):
        G.add_node(n, x=float(nxy[n, 0]), y=float(nxy[n, 1]), lon=float(lon[n]), lat=float(lat[n]))
    for i in range(k):
        a, b = int(node_of[i]), int(node_of[k + i])
        g = geoms[i]
        attrs = {"name": names[i], "highway": classes_out[i], "feature": i + 1}
        G.add_edge(a, b, geometry=g, length=float(g.length), **attrs)
        G.add_edge(b, a, geometry=g.reverse(), length=float(g.length), **attrs)
    return G, report


def _cluster_points(xy: npt.NDArray[np.float64], *, tolerance_m: float) -> npt.NDArray[np.int64]:
    """Label points so that points closer than ``tolerance_m`` share a label (0..k-1, stable)."""
    from scipy.sparse.csgraph import connected_components

    pairs = cKDTree(xy).query_pairs(tolerance_m, output_type="ndarray")
    n = len(xy)
    adj = sparse.coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    # relabel by first appearance so node ids follow input order
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    return remap[labels].astype(np.int64)


def _finish(G: nx.MultiDiGraph, report: LoadReport, source: str) -> nx.MultiDiGraph:
    """Project to UTM, keep the largest component, normalise edge attributes."""
    import osmnx as ox

    if G.number_of_nodes() == 0 or G.number_of_edges() == 0:
        raise NetworkError(f"network {source}: the walk network is empty")
    crs = pyproj.CRS.from_user_input(G.graph["crs"])
    if crs.is_geographic:
        G = ox.project_graph(G)
        crs = pyproj.CRS.from_user_input(G.graph["crs"])
    G.graph["crs"] = crs.to_string()
    n0, e0 = G.number_of_nodes(), G.number_of_edges()
    comps = sorted(nx.weakly_connected_components(G), key=lambda c: (-len(c), min(c)))
    if len(comps) > 1:
        small = len(comps) - 1
        dropped_nodes = n0 - len(comps[0])
        G = G.subgraph(comps[0]).copy()
        report.note(
            f"kept the largest connected piece; dropped {small:,} smaller pieces "
            f"({dropped_nodes:,} nodes, {e0 - G.number_of_edges():,} directed edges)"
        )
    if G.number_of_nodes() < 2:
        raise NetworkError(f"network {source}: the walk network has a single node; nothing to route on")
    to_ll = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    for _, d in G.nodes(data=True):
        if "lon" not in d:
            d["lon"], d["lat"] = to_ll.transform(d["x"], d["y"])
    for u, v, d in G.edges(data=True):
        for key in list(d):
            if isinstance(d[key], list):
                if key == "osmid":
                    d[key] = min(_int_or(x, -1) for x in d[key])
                else:
                    d[key] = "; ".join(sorted({str(x) for x in d[key]}))
        geom = d.get("geometry")
        if geom is None:
            geom = shapely.LineString(
                [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
            )
            d["geometry"] = geom
        length = d.get("length")
        d["length_m"] = max(float(length if length is not None else geom.length), MIN_LENGTH_M)
        name = d.get("name")
        d["name"] = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
        d["highway"] = str(d.get("highway") or "")
    n_edges = G.number_of_edges()
    length_km = sum(d["length_m"] for _, _, d in G.edges(data=True)) / 2000.0
    report.note(
        f"{G.number_of_nodes():,} nodes, {n_edges:,} directed edges, {length_km:,.1f} km of walkway, "
        f"CRS {crs.name}"
    )
    logger.info(
        "loaded walk network: %s nodes, %s edges, %.1f km (%s)",
        f"{G.number_of_nodes():,}",
        f"{n_edges:,}",
        length_km,
        source,
    )
    return G


def _int_or(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


# --------------------------------------------------------------------------------------
# cache


def cache_dir_default() -> Path:
    """``$PASSAGES_CACHE_DIR`` or ``~/.cache/passages``."""
    env = os.environ.get("PASSAGES_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "passages"


def _cache_path(path: Path, options: str, cache_dir: str | os.PathLike[str] | None) -> Path:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    h.update(f"|{options}|{CACHE_FORMAT}|{__version__}".encode())
    folder = Path(cache_dir) if cache_dir is not None else cache_dir_default()
    stem = path.name.split(".")[0]
    return folder / f"{stem}-{h.hexdigest()[:16]}.graph.pickle.bz2"


def _read_cache(cache_file: Path) -> tuple[nx.MultiDiGraph, LoadReport] | None:
    """Read our own cache file; a damaged cache is ignored (and rebuilt)."""
    try:
        with bz2.open(cache_file, "rb") as f:
            payload = pickle.load(f)
        G, report = payload["graph"], payload["report"]
    except Exception:
        logger.warning("ignoring damaged network cache %s", cache_file)
        return None
    if not isinstance(G, nx.MultiDiGraph) or not isinstance(report, LoadReport):
        return None
    return G, report


def _write_cache(cache_file: Path, G: nx.MultiDiGraph, report: LoadReport) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, prefix=".tmp-", suffix=".pickle.bz2")
        with os.fdopen(fd, "wb") as raw, bz2.open(raw, "wb", compresslevel=1) as f:
            pickle.dump({"graph": G, "report": report}, f, protocol=pickle.HIGHEST_PROTOCOL)
        Path(tmp).replace(cache_file)
    except OSError as exc:
        logger.warning("could not write network cache %s: %s", cache_file, exc)


# --------------------------------------------------------------------------------------
# array view


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

    # ---- matrices ----------------------------------------------------------------------

    def _cheapest(self, cost: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int64], ...]:
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

    def csr(self, cost: npt.NDArray[np.float64] | None = None) -> sparse.csr_array:
        """Symmetric n×n matrix of edge costs (default ``length_m``), cheapest parallel edge kept.

        An edge whose cost is ``np.inf`` is left out (a closed street).
        """
        c = self.length_m if cost is None else np.asarray(cost, dtype=np.float64)
        if np.any(np.isnan(c)) or np.any(c <= 0):
            raise ValueError("edge costs must be > 0 (np.inf leaves an edge out)")
        a, b, e = self._cheapest(c)
        ok = np.isfinite(c[e])
        return sparse.csr_array((c[e][ok], (a[ok], b[ok])), shape=(self.n_nodes, self.n_nodes))

    def edge_lookup(self, cost: npt.NDArray[np.float64] | None = None) -> sparse.csr_array:
        """n×n matrix whose entry (a, b) is 1 + the index of the cheapest edge joining a and b."""
        c = self.length_m if cost is None else np.asarray(cost, dtype=np.float64)
        a, b, e = self._cheapest(c)
        return sparse.csr_array((e + 1, (a, b)), shape=(self.n_nodes, self.n_nodes))

    def edge_of(
        self,
        a: npt.ArrayLike,
        b: npt.ArrayLike,
        cost: npt.NDArray[np.float64] | None = None,
    ) -> npt.NDArray[np.int64]:
        """Index of the cheapest edge joining node arrays ``a`` and ``b`` (-1 where none)."""
        lookup = self.edge_lookup(cost)
        vals = np.asarray(lookup[np.asarray(a), np.asarray(b)]).ravel().astype(np.int64)
        return vals - 1

    # ---- spatial lookups --------------------------------------------------------------

    def _kdtree(self) -> cKDTree:
        tree = self._cache.get("kdtree")
        if tree is None:
            tree = cKDTree(np.column_stack([self.x, self.y]))
            self._cache["kdtree"] = tree
        return tree

    def nearest_node(
        self, x: npt.ArrayLike, y: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Nearest node index and its distance in metres for each point."""
        pts = np.column_stack(
            [np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))]
        )
        dist, idx = self._kdtree().query(pts)
        return idx.astype(np.int64), dist.astype(np.float64)

    def _strtree(self) -> shapely.STRtree:
        tree = self._cache.get("strtree")
        if tree is None:
            tree = shapely.STRtree(self.geometry)
            self._cache["strtree"] = tree
        return tree

    def nearest_edge(
        self, x: npt.ArrayLike, y: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Nearest edge, distance in metres, and position ``t`` ∈ [0, 1] along it from ``u``."""
        xs = np.atleast_1d(np.asarray(x, dtype=float))
        ys = np.atleast_1d(np.asarray(y, dtype=float))
        pts = shapely.points(xs, ys)
        (src, edge), dist = self._strtree().query_nearest(pts, return_distance=True, all_matches=False)
        out_e = np.full(len(xs), -1, dtype=np.int64)
        out_d = np.full(len(xs), np.inf)
        # with all_matches=False there is one match per point, in input order
        out_e[src] = edge
        out_d[src] = dist
        t = shapely.line_locate_point(self.geometry[out_e], pts, normalized=True)
        return out_e, out_d, np.nan_to_num(np.asarray(t, dtype=float))

    # ---- names and frames -------------------------------------------------------------

    def node_edges(self, node: int) -> npt.NDArray[np.int64]:
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

    def to_lonlat(
        self, x: npt.ArrayLike, y: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Convert metric coordinates to (lon, lat) degrees."""
        t = pyproj.Transformer.from_crs(self.crs, 4326, always_xy=True)
        lon, lat = t.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)

    def from_lonlat(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
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


def streets_from_arrays(
    *,
    x: Sequence[float],
    y: Sequence[float],
    edges: Sequence[tuple[int, int]],
    names: Sequence[str] | None = None,
    crs: str = "EPSG:32616",
) -> Streets:
    """Build a small Streets from node coordinates and straight edges (for synthetic tests).

    Edge lengths are the straight-line distances between the nodes.
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    uv = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    lo, hi = uv.min(axis=1), uv.max(axis=1)
    geoms = np.empty(len(uv), dtype=object)
    geoms[:] = [shapely.LineString([(xa[a], ya[a]), (xa[b], ya[b])]) for a, b in zip(lo, hi, strict=True)]
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
