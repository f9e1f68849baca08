"""Destinations (schools, parks, transit, …) and where they meet the walk network.

:func:`load_places` reads OpenStreetMap, CSV, vector and GTFS files (``stops.txt``, or a feed's
``.zip``) into one schema, EPSG:4326, sorted by ``place_id``: ``place_id`` (str, unique),
``kind`` (``[a-z_]+``: school, park, transit, recreation, library, …), ``subkind`` (``rail`` /
``bus`` for transit, else ``""``), ``name``, ``line`` (1-based physical line of a CSV record,
else the feature number) and ``geometry`` (Point, or Polygon / MultiPolygon as read).
:func:`snap_places` ties each place to a network node. Trip origins live in
:mod:`passages.origins`.

Decisions worth knowing:

- Tables are read by :mod:`passages._tables` (encodings, delimiters ``, ; tab |``, physical
  line numbers, a decimal comma in coordinates of a table not delimited by commas).
- Names: a CSV / vector / GTFS row with an empty name is skipped and counted with its line; an
  OSM feature without ``name`` is kept as e.g. "unnamed park (OSM way 123)" and counted in a
  note; a table without any name column names places by kind and line (noted).
- Transit merging, within :data:`MERGE_RADIUS_M`: rail places with the same name are one place
  (a station, its platforms, duplicate GTFS rows), and so are a stop and its same-named
  platform. Unnamed OSM platforms that touch join as one, then the nearest named stop of their
  subkind. Same-named bus stops (two sides of a street) stay apart. A station, else a stop,
  else the first line represents a group. GTFS platforms and entrances whose
  ``parent_station`` is in the file are folded into it; without ``location_type`` a stop
  named "… station" is rail, the rest bus — except a name with "@" ("BROAD ST @ ALABAMA ST
  (FIVE POINTS STATION)"), which is a bus bay at a station.
- Ids: source ids are kept; repeats across kinds get a ``kind:`` prefix, other repeats ``#2``,
  ``#3``, … (noted); exact copies of a row (same id, kind, name, geometry) are skipped. Without
  an id column the id is ``kind:line``; OSM ids read ``way/123``.
- OSM ``line`` is the position among the file's objects carrying amenity, leisure, highway,
  railway or public_transport.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from passages._errors import CRSError, InputError
from passages._tables import Table, read_layer, read_table
from passages._validate import Loaded, LoadReport, existing_file
from passages.network import Streets

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "COLUMNS",
    "FORMATS",
    "ID_NAMES",
    "LAT_NAMES",
    "LON_NAMES",
    "MERGE_RADIUS_M",
    "NAME_NAMES",
    "load_places",
    "snap_places",
]

logger = logging.getLogger(__name__)

FORMATS = ("osm", "csv", "vector", "gtfs")
#: metres within which a station / stop and its platforms (or duplicates) are one place
MERGE_RADIUS_M = 50.0
LAT_NAMES = ("lat", "latitude", "y", "stop_lat")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "stop_lon")
NAME_NAMES = ("name", "stop_name", "school_name", "park_name", "place_name", "facility_name")
ID_NAMES = ("place_id", "id", "stop_id")
COLUMNS = ("place_id", "kind", "subkind", "name", "line", "geometry")
_KIND = re.compile(r"[a-z_]+")
_OSM_KEYS = ("amenity", "leisure", "highway", "railway", "public_transport")
_RAIL_KEYS = ("railway", "train", "subway", "light_rail", "tram")
_STATION, _STOP, _PLATFORM = 0, 1, 2  # rank: who represents a merged transit group

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]
_Geoms = npt.NDArray[np.object_]


class _Columns(NamedTuple):
    name: str | None
    id: str | None
    lat: str | None
    lon: str | None


class _Place(NamedTuple):
    place_id: str
    kind: str
    subkind: str
    name: str
    line: int
    geometry: Any
    rank: int = _STOP
    named: bool = True


# --------------------------------------------------------------------------------------
# tables: CSV, GTFS stops, vector attributes

_CSV_ADVICE = (
    "export the places as CSV, or load GeoJSON / GeoPackage / Shapefile with fmt='vector' "
    "and a GTFS feed (.zip or stops.txt) with fmt='gtfs'"
)
_ENCODINGS = {"cp1252": "Windows-1252 (cp1252)", "latin-1": "Latin-1 (ISO-8859-1)"}


def _read_csv(path: Path, report: LoadReport, *, member: str | None = None) -> Table:
    """A delimited text table (``member`` of a ZIP archive); rows longer than the header skipped."""
    t = read_table(path, report, advice=_CSV_ADVICE, member=member)
    if t.encoding in _ENCODINGS:
        report.note(f"{t.path.name} is not UTF-8; read it as {_ENCODINGS[t.encoding]}")
    if not t.rows:
        raise InputError(f"{t.path}: has a header ({', '.join(t.header)}) but no data rows")
    fits = [len(r) <= len(t.header) for r in t.rows]
    for line, ok in zip(t.lines, fits, strict=True):
        if not ok:
            report.drop(f"more fields than the header's {len(t.header)}", line)
    return t.subset(fits)


def _read_vector(path: Path, report: LoadReport) -> Table:
    """Read GeoJSON / GeoPackage / Shapefile in EPSG:4326, repairing or skipping bad geometries."""
    t = read_layer(path, report, expected="vector file", assume_lonlat=False)
    geoms: list[Any] = []
    repaired: list[int] = []
    for i, raw in enumerate(t.geoms or [], start=1):
        g = None if raw is None or raw.is_empty else shapely.force_2d(raw)
        if g is not None and not g.is_valid:
            g = _polygonal(shapely.make_valid(g))
            repaired.append(i)
        reason = "empty or missing geometry" if g is None else _geometry_problem(g)
        if reason is not None:
            report.drop(reason, i)
        geoms.append(None if reason else g)
    if repaired:
        shown = ", ".join(map(str, repaired[:5]))
        report.note(f"{len(repaired)} invalid geometries repaired with shapely.make_valid (feature {shown})")
    return replace(t, geoms=geoms)


def _polygonal(g: Any) -> Any:
    """The polygon parts of a repaired geometry (make_valid may add stray lines or points)."""
    if g.geom_type != "GeometryCollection":
        return g
    polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else g


def _geometry_problem(g: Any) -> str | None:
    if g.geom_type not in ("Point", "Polygon", "MultiPolygon"):
        return f"geometry type {g.geom_type} is not a point or polygon"
    west, south, east, north = g.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        return "coordinates out of range (lat -90..90, lon -180..180)"
    return None


def _table_geoms(t: Table, report: LoadReport, lat: str | None, lon: str | None, *, gtfs: bool) -> list[Any]:
    """One geometry per row; None where the row was dropped (counted with its line)."""
    if t.geoms is not None:
        return t.geoms
    ilat = t.col(lat, ("stop_lat",) if gtfs else LAT_NAMES, "lat_column", "latitude")
    ilon = t.col(lon, ("stop_lon",) if gtfs else LON_NAMES, "lon_column", "longitude")
    assert ilat is not None and ilon is not None
    return t.points(report, ilat, ilon)


def _table_places(
    t: Table, report: LoadReport, kind: str | None, kind_column: str | None, cols: _Columns
) -> list[_Place]:
    geoms = _table_geoms(t, report, cols.lat, cols.lon, gtfs=False)
    if kind is not None and kind_column is not None:
        raise InputError(f"{t.path}: give kind= or kind_column=, not both")
    ikind = (
        None
        if kind is not None
        else t.col(kind_column, ("kind",), "kind= (e.g. 'school') or kind_column", "kind")
    )
    iname = t.col(cols.name, NAME_NAMES, "name_column")
    kinds, names = t.values(ikind, str(kind)), t.values(iname)
    ids = t.values(t.col(cols.id, ID_NAMES, "id_column"))
    if iname is None:
        report.note(f"no name column (looked for {', '.join(NAME_NAMES)}); places named by kind and {t.unit}")
    out = []
    for g, line, raw_kind, name, pid in zip(geoms, t.lines, kinds, names, ids, strict=True):
        k = raw_kind.lower().replace(" ", "_")
        if g is None:
            continue
        if not _KIND.fullmatch(k):
            report.drop(f"`{t.header[ikind or 0]}` (kind) is empty or not [a-z_]+", line)
        elif iname is not None and not name:
            report.drop(f"`{t.header[iname]}` (name) is empty", line)
        else:
            out.append(_Place(pid or f"{k}:{line}", k, "", name or f"{k} ({t.unit} {line})", line, g))
    return out


def _gtfs_places(t: Table, report: LoadReport, cols: _Columns) -> list[_Place]:
    ids = t.values(t.col(cols.id, ("stop_id",), "id_column", "stop id"))
    iname = t.col(cols.name, ("stop_name",), "name_column", "stop name")
    itype = t.col(None, ("location_type",), "")
    names, types, parents = t.values(iname), t.values(itype), t.values(t.col(None, ("parent_station",), ""))
    stations = {i for i, lt in zip(ids, types, strict=True) if lt == "1"}
    keep: list[int] = []
    folded = orphans = 0
    for j, (lt, parent) in enumerate(zip(types, parents, strict=True)):
        if parent and lt != "1" and parent in stations:
            folded += 1
        elif lt in ("2", "3", "4"):
            report.drop("entrance or node (location_type 2-4) without a known parent_station", t.lines[j])
        else:
            orphans += bool(parent)
            keep.append(j)
    if folded:
        report.note(f"{folded:,} platforms / entrances folded into their parent stations")
    if orphans:
        report.note(f"{orphans:,} stops name a parent_station that is not in the file; kept as stops")
    kept = set(keep)
    sub = t.subset([j in kept for j in range(len(t.rows))])
    out = []
    for j, g in zip(keep, _table_geoms(sub, report, cols.lat, cols.lon, gtfs=True), strict=True):
        if g is not None and not names[j]:
            report.drop(f"`{t.header[iname or 0]}` (name) is empty", t.lines[j])
        elif g is not None:
            station = types[j] == "1"
            kind = "rail" if station or _station_name(names[j]) else "bus"
            out.append(
                _Place(ids[j], "transit", kind, names[j], t.lines[j], g, _STATION if station else _STOP)
            )
    rail = sum(p.subkind == "rail" for p in out)
    how = (
        "location_type=1 stations, else 'station' in the name"
        if itype is not None
        else "'station' in the name"
    )
    report.note(f"classified {rail:,} rail and {len(out) - rail:,} bus stops ({how})")
    return out


# --------------------------------------------------------------------------------------
# OpenStreetMap


def _osm_class(tags: Any) -> tuple[str, str, int] | None:
    """(kind, subkind, rank) of an OSM object, or None when it is not a place."""
    amenity, leisure, railway = tags.get("amenity"), tags.get("leisure"), tags.get("railway")
    if amenity in ("school", "library"):
        return amenity, "", _STOP
    if leisure == "park":
        return "park", "", _STOP
    if leisure in ("playground", "recreation_ground", "sports_centre"):
        return "recreation", "", _STOP
    rail = any(tags.get(k) not in (None, "no") for k in _RAIL_KEYS)
    if railway in ("station", "halt", "tram_stop"):
        return "transit", "rail", _STOP if railway == "tram_stop" else _STATION
    if tags.get("public_transport") == "station":
        return "transit", "bus" if tags.get("bus") == "yes" and not rail else "rail", _STATION
    if tags.get("highway") == "bus_stop":
        return "transit", "bus", _STOP
    if tags.get("public_transport") == "platform":
        return "transit", "rail" if rail else "bus", _PLATFORM
    return None


def _way_geometry(way: Any) -> Any:
    """Polygon for a closed way, the middle point of an open one."""
    coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
    if way.is_closed() and len(coords) >= 4:
        poly = shapely.Polygon(coords)
        return poly if poly.is_valid else _polygonal(shapely.make_valid(poly))
    if len(coords) >= 2:
        return shapely.LineString(coords).interpolate(0.5, normalized=True)
    return shapely.Point(coords[0]) if coords else None


def _read_osm(path: Path, report: LoadReport, kind: str | None) -> list[_Place]:
    import osmium

    found: list[tuple[str, int, int, tuple[str, str, int], str, Any]] = []
    areas: dict[int, Any] = {}
    wkb = osmium.geom.WKBFactory()
    keys = osmium.filter.KeyFilter(*_OSM_KEYS)
    objects: Any = osmium.FileProcessor(str(path)).with_areas(keys).with_filter(keys)
    n = 0
    try:
        for obj in objects:
            if obj.is_area():
                if not obj.from_way() and _osm_class(obj.tags) is not None:
                    with contextlib.suppress(RuntimeError):  # unbuildable: its relation is counted below
                        areas[obj.orig_id()] = shapely.from_wkb(wkb.create_multipolygon(obj))
                continue
            n += 1
            cls = _osm_class(obj.tags)
            if cls is None or (kind is not None and cls[0] != kind):
                continue
            if obj.is_node():
                otype, geom = "node", shapely.Point(obj.lon, obj.lat) if obj.location.valid() else None
            else:
                otype, geom = ("way", _way_geometry(obj)) if obj.is_way() else ("relation", None)
            found.append((otype, obj.id, n, cls, " ".join(str(obj.tags.get("name", "")).split()), geom))
    except RuntimeError as exc:  # osmium's error for corrupt / truncated files
        raise InputError(f"{path}: not a readable OSM file ({exc})") from exc
    out = []
    for otype, oid, line, (k, sub, rank), name, shape in found:
        geom = _polygonal(areas[oid]) if otype == "relation" and oid in areas else shape
        if geom is None:
            report.drop(f"OSM {otype} without a usable geometry (no located nodes, not a multipolygon)", line)
            continue
        label = f"{sub} stop" if k == "transit" else k
        shown = name or f"unnamed {label} (OSM {otype} {oid})"
        out.append(_Place(f"{otype}/{oid}", k, sub, shown, line, geom, rank, bool(name)))
    report.rows_read = len(found)
    return out


# --------------------------------------------------------------------------------------
# places


def load_places(
    path: str | os.PathLike[str],
    *,
    fmt: str,
    kind: str | None = None,
    kind_column: str | None = None,
    name_column: str | None = None,
    id_column: str | None = None,
    lat_column: str | None = None,
    lon_column: str | None = None,
    include: Sequence[str] = (),
) -> Loaded[gpd.GeoDataFrame]:
    """Load destinations (schools, parks, transit stops, …) into one schema (module doc).

    Parameters
    ----------
    path
        OSM XML / PBF; CSV (delimited by ``, ; tab |``); GeoJSON / GeoPackage / Shapefile;
        GTFS ``stops.txt``, or a GTFS feed ``.zip`` (its ``stops.txt`` is read).
    fmt
        ``"osm"``, ``"csv"``, ``"vector"`` or ``"gtfs"``.
    kind
        CSV / vector: the kind of every row, e.g. ``"school"``; OSM: keep only this kind;
        GTFS: ``"transit"`` or None.
    kind_column
        CSV / vector: the column holding each row's kind (default: a ``kind`` column).
    name_column, id_column
        Default: the first of :data:`NAME_NAMES` / :data:`ID_NAMES` present, case-insensitively
        (GTFS: ``stop_name`` / ``stop_id``).
    lat_column, lon_column
        CSV / GTFS coordinates; default the first of :data:`LAT_NAMES` / :data:`LON_NAMES`
        present, case-insensitively (GTFS: ``stop_lat`` / ``stop_lon``).
    include
        Keep only places whose kind or subkind is listed, e.g. ``("rail",)``; empty keeps all.

    Returns
    -------
    Loaded
        Places with :data:`COLUMNS` in EPSG:4326 sorted by ``place_id``, and a report: rows
        read, kept, skipped by reason with line numbers, merges and repairs.

    Raises
    ------
    InputError
        Unknown format or kind, missing columns (the message lists those found), an unreadable
        or empty file, or no usable place left.
    CRSError
        A vector file without a coordinate reference system.
    """
    p = existing_file(Path(path), "places")
    if fmt not in FORMATS:
        raise InputError(f"places file {p}: unknown fmt {fmt!r}; accepted: {', '.join(FORMATS)}")
    wanted = (include,) if isinstance(include, str) else tuple(include)
    for k in (*wanted, *([kind] if kind is not None else [])):
        if not _KIND.fullmatch(k):
            raise InputError(f"places file {p}: kind {k!r} is not lower-case letters and _ (e.g. 'park')")
    report = LoadReport(source=str(p), kind="places")
    cols = _Columns(name_column, id_column, lat_column, lon_column)
    if fmt == "osm":
        places = _read_osm(p, report, kind)
    elif fmt == "gtfs":
        if kind not in (None, "transit"):
            raise InputError(f"places file {p}: GTFS stops are kind 'transit', not {kind!r}")
        places = _gtfs_places(_read_csv(p, report, member="stops.txt"), report, cols)
    else:
        table = _read_csv(p, report) if fmt == "csv" else _read_vector(p, report)
        places = _table_places(table, report, kind, kind_column, cols)
    if wanted:
        kept = [q for q in places if q.kind in wanted or q.subkind in wanted]
        report.note(f"{len(places) - len(kept):,} places left out by include={list(wanted)}")
        places = kept
    return Loaded(_finish(places, report), report)


def _finish(places: list[_Place], report: LoadReport) -> gpd.GeoDataFrame:
    """Merge transit, make ids unique, sort, count; raise when nothing usable is left."""
    import geopandas as gpd
    import pandas as pd

    if not places:
        why = "; ".join(f"{n:,} {r}" for r, n in sorted(report.dropped.items())) or "none found"
        raise InputError(f"{report.source}: no usable places left ({why})")
    gdf = gpd.GeoDataFrame(pd.DataFrame(places, columns=_Place._fields), geometry="geometry", crs=4326)
    key = pd.DataFrame({"i": gdf["place_id"], "k": gdf["kind"], "n": gdf["name"], "g": gdf.to_wkb().geometry})
    copies = key.duplicated().to_numpy()
    report.drop_many("exact copy of an earlier row", gdf["line"][copies].tolist())
    gdf = _merge_transit(gdf[~copies], report)
    gdf["place_id"] = _unique_ids(list(gdf["place_id"]), list(gdf["kind"]), report)
    if unnamed := int((~gdf["named"].astype(bool)).sum()):
        report.note(f"{unnamed:,} places had no name and are named after their OSM id")
    gdf = gdf.sort_values("place_id", kind="stable").reset_index(drop=True)[list(COLUMNS)]
    gdf["line"] = gdf["line"].astype(np.int64)
    gdf.attrs["source"] = report.source
    report.kept = len(gdf)
    counts = Counter(zip(gdf["kind"], gdf["subkind"], strict=True))
    summary = ", ".join(f"{k}{'/' * bool(s)}{s} {n:,}" for (k, s), n in sorted(counts.items()))
    report.note(f"kept: {summary}")
    logger.info(
        "loaded places: %s of %s read (%s), %s skipped, from %s",
        f"{len(gdf):,}",
        f"{report.rows_read:,}",
        summary,
        f"{report.dropped_total:,}",
        report.source,
    )
    return gdf


def _merge_transit(gdf: gpd.GeoDataFrame, report: LoadReport) -> gpd.GeoDataFrame:
    """Merge a station / stop with its platforms and duplicates (see the module doc)."""
    idx = np.flatnonzero((gdf["kind"] == "transit").to_numpy())
    n = len(idx)
    if n < 2:
        return gdf
    sub = gdf.iloc[idx]
    geoms = np.asarray(sub.geometry.to_crs(sub.geometry.estimate_utm_crs()).to_numpy(), dtype=object)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=MERGE_RADIUS_M)
    kinds, named = sub["subkind"].to_numpy(dtype=object), sub["named"].to_numpy(dtype=bool)
    keys = np.array([s.casefold() for s in sub["name"]], dtype=object)
    rank, line = sub["rank"].to_numpy(dtype=np.int64), sub["line"].to_numpy(dtype=np.int64)
    alike = (kinds[a] == kinds[b]) & (a != b)
    platform = (rank[a] == _PLATFORM) | (rank[b] == _PLATFORM)
    same = alike & named[a] & named[b] & (keys[a] == keys[b]) & ((kinds[a] == "rail") | platform)
    loose = ~named & (rank == _PLATFORM)
    chain = alike & loose[a] & loose[b]
    pa, pb = [a[same], a[chain]], [b[same], b[chain]]
    lone = alike & loose[a] & named[b]
    if lone.any():  # each cluster of unnamed platforms joins its nearest named stop
        cluster = _components(a[chain], b[chain], n)[1]
        la, lb = a[lone], b[lone]
        order = np.lexsort((line[lb], np.asarray(shapely.distance(geoms[la], geoms[lb])), cluster[la]))
        first = order[np.r_[True, cluster[la][order][1:] != cluster[la][order][:-1]]]
        pa.append(la[first])
        pb.append(lb[first])
    ncomp, labels = _components(np.concatenate(pa), np.concatenate(pb), n)
    if ncomp == n:
        return gdf
    order = np.lexsort((line, ~named, rank, labels))
    gone = np.setdiff1d(np.arange(n), order[np.r_[True, labels[order][1:] != labels[order][:-1]]])
    report.note(
        f"merged {len(gone):,} transit features into {int((np.bincount(labels) > 1).sum()):,} others "
        f"of the same subkind and name within {MERGE_RADIUS_M:g} m (a station or stop with its "
        f"platforms or duplicates; e.g. line {', '.join(map(str, sorted(line[gone])[:5]))})"
    )
    return gdf.drop(index=gdf.index[idx[gone]])


def _components(a: _Ints, b: _Ints, n: int) -> tuple[int, _Ints]:
    """Connected components of ``n`` items joined by the pairs (a, b)."""
    ncomp, labels = connected_components(sparse.coo_array((np.ones(len(a)), (a, b)), shape=(n, n)))
    return int(ncomp), np.asarray(labels, dtype=np.int64)


def _unique_ids(ids: list[str], kinds: list[str], report: LoadReport) -> list[str]:
    """Keep ids; prefix them with their kind when that makes them unique, else number repeats."""
    if len(set(ids)) == len(ids):
        return ids
    prefixed = [f"{k}:{i}" for k, i in zip(kinds, ids, strict=True)]
    if len(set(prefixed)) == len(prefixed):
        report.note("place ids repeat across kinds; every id was prefixed with its kind")
        return prefixed
    seen, count, out = set(ids), Counter[str](), []
    for i in ids:
        count[i] += 1
        new, n = i, count[i]
        while n > 1 and new in seen:
            new, n = f"{i}#{n}", n + 1
        seen.add(new)
        out.append(new)
    changed = sum(a != b for a, b in zip(ids, out, strict=True))
    report.note(f"{changed:,} repeated place ids made unique by adding #2, #3, …")
    return out


# --------------------------------------------------------------------------------------
# snapping


def _metric(gdf: Any, streets: Streets, what: str) -> _Geoms:
    if getattr(gdf, "crs", None) is None:
        raise CRSError(f"{what} have no coordinate reference system; load them with passages.places")
    return np.asarray(gdf.geometry.to_crs(streets.crs).to_numpy(), dtype=object)


def _snap(geoms: _Geoms, streets: Streets, max_snap_m: float) -> tuple[_Ints, _Floats, _Floats, _Floats]:
    """Node, distance and snapped-from point (metric) per geometry; -1 / inf when out of reach."""
    n = len(geoms)
    node, dist = np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    sx, sy = np.full(n, np.nan), np.full(n, np.nan)
    is_pt = shapely.get_type_id(geoms) == 0
    if is_pt.any():
        sx[is_pt], sy[is_pt] = shapely.get_x(geoms[is_pt]), shapely.get_y(geoms[is_pt])
        node[is_pt], dist[is_pt] = streets.nearest_node(sx[is_pt], sy[is_pt])
    other = np.flatnonzero(~is_pt)
    if len(other) == 0:
        return node, dist, sx, sy
    pts = np.asarray(shapely.points(streets.x, streets.y), dtype=object)
    gi, ni = shapely.STRtree(pts).query(geoms[other], predicate="dwithin", distance=max_snap_m)
    if len(gi):  # polygons: the nearest node (0 m inside), ties to the one nearest the boundary
        g = geoms[other][gi]
        d = np.asarray(shapely.distance(g, pts[ni]))
        order = np.lexsort((ni, np.asarray(shapely.distance(shapely.boundary(g), pts[ni])), d, gi))
        first = order[np.r_[True, gi[order][1:] != gi[order][:-1]]]
        target, best = other[gi[first]], ni[first]
        node[target], dist[target] = best, d[first]
        near = shapely.get_point(shapely.shortest_line(geoms[target], pts[best]), 0)
        sx[target], sy[target] = shapely.get_x(near), shapely.get_y(near)
    return node, dist, sx, sy


def snap_places(
    places: gpd.GeoDataFrame, streets: Streets, *, max_snap_m: float = 250.0
) -> Loaded[gpd.GeoDataFrame]:
    """Attach each place to a network node; places out of reach are dropped and reported.

    Points snap to the nearest node. A polygon snaps to the nearest node within ``max_snap_m``
    of it; nodes inside count as 0 m, ties going to the node nearest the boundary (an entrance).

    Parameters
    ----------
    places
        From :func:`load_places` (any CRS; all columns are kept).
    streets
        The walk network's array view.
    max_snap_m
        Places farther than this from every node are dropped and reported, never moved.

    Returns
    -------
    Loaded
        ``places`` plus ``node`` (Streets index), ``snap_m``, and ``x``, ``y``: the place's point
        nearest that node in ``streets.crs``; the report gives the lines of dropped places.
    """
    if not max_snap_m > 0:
        raise InputError(f"max_snap_m must be > 0 metres, got {max_snap_m}")
    node, dist, sx, sy = _snap(_metric(places, streets, "places"), streets, max_snap_m)
    report = LoadReport(source=str(places.attrs.get("source", "places")), kind="snapped places")
    report.rows_read = len(places)
    far = ~(dist <= max_snap_m)
    lines = places["line"].to_numpy() if "line" in places else np.arange(1, len(places) + 1)
    report.drop_many(f"farther than {max_snap_m:g} m from the walk network", sorted(lines[far].tolist()))
    out = places.loc[~far].copy()
    out["node"], out["snap_m"], out["x"], out["y"] = node[~far], dist[~far], sx[~far], sy[~far]
    out = out.reset_index(drop=True)
    report.kept = len(out)
    if report.kept == 0 and len(places):
        raise InputError(
            f"{report.source}: none of the {len(places):,} places is within {max_snap_m:g} m of the "
            "walk network; do the places and the network cover the same area?"
        )
    logger.info("snapped places: %s of %s within %g m", f"{len(out):,}", f"{len(places):,}", max_snap_m)
    return Loaded(out, report)


def _station_name(name: str) -> bool:
    """A GTFS stop name that names a station, not a bus bay at one ("X ST @ Y ST (Z STATION)")."""
    low = name.lower()
    return "station" in low and "@" not in low
