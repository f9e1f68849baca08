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

The array view of a graph, :class:`~passages.streets.Streets`, lives in
:mod:`passages.streets` and is re-exported here with ``streets_from_arrays`` and
``graph_from_streets``. :func:`load_streets` loads a file straight into it.

Cache. A cleaned network is kept in one file per source content, options and
:data:`CACHE_FORMAT`, holding the graph and the Streets arrays packed apart, so that
:func:`load_streets` reads the arrays alone: on the Atlanta sample ~12 ms, against ~0.1 s
to read the graph and ~0.08 s more for :meth:`Streets.from_graph` (benchmarks/README.md).
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import logging
import os
import pickle
import tempfile
import zlib
from collections.abc import Iterable, Sequence
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
from passages.streets import MIN_LENGTH_M, Streets, _int_or, graph_from_streets, streets_from_arrays

__all__ = [
    "CACHE_FORMAT",
    "EXCLUDED_HIGHWAYS",
    "MIN_LENGTH_M",
    "NODE_TOLERANCE_M",
    "OSM_SUFFIXES",
    "VECTOR_SUFFIXES",
    "WAY_TAGS",
    "Streets",
    "cache_dir_default",
    "graph_from_streets",
    "load_network",
    "load_network_online",
    "load_streets",
    "streets_from_arrays",
]

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
#: bump when the cache file's content changes (4: zlib, and the Streets arrays beside the graph)
CACHE_FORMAT = 4
#: centerline ends closer than this are one node
#: (cities publish shared vertices; 10 cm absorbs reprojection noise)
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

    See Also
    --------
    load_streets : the same network as :class:`Streets` arrays, faster from the cache.
    """
    path, options, cache_file = _source(
        source,
        drop=drop_classes,
        class_column=class_column,
        name_column=name_column,
        cache=cache,
        cache_dir=cache_dir,
    )
    if cache_file is not None:
        cached = _read_cache(cache_file, "graph")
        if cached is not None and isinstance(cached[0], nx.MultiDiGraph):
            return Loaded(cached[0], cached[1])
    G, report = _build(path, options)
    if cache_file is not None:
        _write_cache(cache_file, G, Streets.from_graph(G), report)
    return Loaded(G, report)


def load_streets(
    source: str | os.PathLike[str],
    *,
    drop_classes: Iterable[str] = (),
    class_column: str = "highway",
    name_column: str = "name",
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Loaded[Streets]:
    """Load a walk network from a file straight into its array view.

    Equal to ``Streets.from_graph(load_network(source, ...).data)`` with the same report, but a
    warm cache holds the arrays themselves, so neither the graph nor :meth:`Streets.from_graph`
    is needed then (~15× faster than both on the Atlanta sample).

    Parameters
    ----------
    source, drop_classes, class_column, name_column, cache, cache_dir
        As for :func:`load_network`; both share one cache file.

    Returns
    -------
    Loaded
        The Streets and the report of :func:`load_network`.
    """
    path, options, cache_file = _source(
        source,
        drop=drop_classes,
        class_column=class_column,
        name_column=name_column,
        cache=cache,
        cache_dir=cache_dir,
    )
    if cache_file is not None:
        cached = _read_cache(cache_file, "streets")
        if cached is not None and isinstance(cached[0], Streets):
            return Loaded(cached[0], cached[1])
    G, report = _build(path, options)
    streets = Streets.from_graph(G)
    if cache_file is not None:
        _write_cache(cache_file, G, streets, report)
    return Loaded(streets, report)


def _source(
    source: str | os.PathLike[str],
    *,
    drop: Iterable[str],
    class_column: str,
    name_column: str,
    cache: bool,
    cache_dir: str | os.PathLike[str] | None,
) -> tuple[Path, tuple[tuple[str, ...], str, str], Path | None]:
    """The checked path, the normalised options, and the cache file (None when not caching)."""
    path = existing_file(Path(source), "network")
    options = (tuple(sorted({str(c) for c in drop})), class_column, name_column)
    return path, options, (_cache_path(path, str(options), cache_dir) if cache else None)


def _build(path: Path, options: tuple[tuple[str, ...], str, str]) -> tuple[nx.MultiDiGraph, LoadReport]:
    """Read and clean a network file (the work a warm cache saves)."""
    drop, class_column, name_column = options
    name = path.name.lower()
    if name.endswith(OSM_SUFFIXES):
        G, report = _graph_from_osm(path, drop)
    elif name.endswith(".graphml"):
        G, report = _graph_from_graphml(path)
    elif name.endswith(VECTOR_SUFFIXES):
        G, report = _graph_from_centerlines(path, drop, class_column, name_column)
    else:
        accepted = ", ".join((*OSM_SUFFIXES, ".graphml", *VECTOR_SUFFIXES))
        raise InputError(f"network file {path}: unknown kind {path.suffix!r}; accepted: {accepted}")
    return _finish(G, report, str(path)), report


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
            if not isinstance(way, osmium.osm.Way):
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
        for row in np.flatnonzero(classes.isin(excluded).to_numpy() & keep).tolist():
            report.drop(f"{class_column}={classes.iloc[row]} is not walkable", row + 1)
            keep[row] = False
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
    return np.asarray(remap[labels], dtype=np.int64)


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
    return folder / f"{stem}-{h.hexdigest()[:16]}.network.pickle"


def _read_cache(cache_file: Path, part: str) -> tuple[object, LoadReport] | None:
    """Read one part (``"graph"`` or ``"streets"``) of our own cache file, and its report.

    None when there is no cache yet; a damaged cache is ignored (and rebuilt).
    """
    if not cache_file.exists():
        return None
    try:
        with cache_file.open("rb") as f:
            payload = pickle.load(f)
        data, report = _unpack(payload[part]), payload["report"]
    except Exception:
        logger.warning("ignoring damaged network cache %s", cache_file)
        return None
    if not isinstance(report, LoadReport):
        return None
    # not a report note: a plan must not depend on whether the cache was warm
    logger.info("loaded walk network from cache: %s", cache_file)
    return data, report


def _write_cache(cache_file: Path, G: nx.MultiDiGraph, streets: Streets, report: LoadReport) -> None:
    """Write the graph and the Streets arrays, each packed apart so that either is read alone."""
    payload = {"report": report, "graph": _pack(G), "streets": _pack(streets)}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
        Path(tmp).replace(cache_file)
    except OSError as exc:
        logger.warning("could not write network cache %s: %s", cache_file, exc)


def _pack(obj: object) -> bytes:
    """Pickle and compress; zlib level 1 decompresses ~7× faster than bz2 for ~4 % more bytes."""
    return zlib.compress(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), 1)


def _unpack(blob: bytes) -> object:
    """Undo :func:`_pack` with the garbage collector paused.

    A graph is ~10⁵ new objects and none of them garbage: the collector's passes over them
    would only slow the read (~2.7×).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(zlib.decompress(blob))
    finally:
        if enabled:
            gc.enable()
