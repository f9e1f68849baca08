"""Trip origins: where walks to the destinations start, weighted, on the walk network.

:func:`load_origins` reads homes or housing developments (CSV points, or vector points and
polygons) with optional weights; :func:`origin_nodes` turns them, or the street network itself
when there are none, into weighted network nodes. Tables are read and points snapped as in
:mod:`passages.places`.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import shapely

from passages._errors import InputError
from passages._tables import number
from passages._validate import Loaded, LoadReport, existing_file
from passages.network import Streets
from passages.places import _metric, _read_csv, _read_vector, _snap, _table_geoms

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["load_origins", "origin_nodes"]

logger = logging.getLogger(__name__)

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]


def load_origins(
    path: str | os.PathLike[str],
    *,
    fmt: str,
    weight_column: str | None = None,
    lat_column: str | None = None,
    lon_column: str | None = None,
) -> Loaded[gpd.GeoDataFrame]:
    """Load trip origins (homes, housing developments) as weighted points or polygons.

    Parameters
    ----------
    path
        A CSV with coordinates (``fmt="csv"``) or a vector file (``fmt="vector"``).
    weight_column
        Weights, e.g. households; default a ``weight`` column, else 1.0 per row. Rows with a
        missing, non-numeric or negative weight are skipped with their line.
    lat_column, lon_column
        CSV coordinates, auto-detected as in :func:`passages.places.load_places`.

    Returns
    -------
    Loaded
        Columns ``line``, ``weight``, ``geometry`` (EPSG:4326), sorted by ``line``.
    """
    import geopandas as gpd

    p = existing_file(Path(path), "origins")
    if fmt not in ("csv", "vector"):
        raise InputError(f"origins file {p}: unknown fmt {fmt!r}; accepted: csv, vector")
    report = LoadReport(source=str(p), kind="origins")
    t = _read_csv(p, report) if fmt == "csv" else _read_vector(p, report)
    geoms = _table_geoms(t, report, lat_column, lon_column, gtfs=False)
    iw = t.col(weight_column, ("weight",), "weight_column")
    kept: list[tuple[int, float, Any]] = []
    for g, line, text in zip(geoms, t.lines, t.values(iw, "1"), strict=True):
        w = number(text, decimal_comma=t.decimal_comma)
        if g is not None and not (math.isfinite(w) and w >= 0):
            bad = "negative" if w < 0 else "missing or not a number"
            report.drop(f"`{t.header[iw or 0]}` (weight) is {bad}", line)
        elif g is not None:
            kept.append((line, w, g))
    if not kept:
        raise InputError(f"{p}: no usable origins left ({report.dropped_total:,} rows skipped)")
    lines, weights, shapes = zip(*kept, strict=True)
    gdf = gpd.GeoDataFrame(
        {"line": np.array(lines, dtype=np.int64), "weight": np.array(weights)},
        geometry=list(shapes),
        crs=4326,
    )
    gdf.attrs["source"] = report.source
    report.kept = len(gdf)
    logger.info(
        "loaded origins: %s of %s rows, total weight %g",
        f"{len(gdf):,}",
        f"{report.rows_read:,}",
        sum(weights),
    )
    return Loaded(gdf, report)


def origin_nodes(
    origins: gpd.GeoDataFrame | None,
    streets: Streets,
    *,
    zone_nodes: npt.ArrayLike | None = None,
    spacing_m: float = 0.0,
    max_snap_m: float = 250.0,
) -> tuple[_Ints, _Floats]:
    """Network nodes where trips start, with their weights summed per node.

    Parameters
    ----------
    origins
        From :func:`load_origins`: a point goes to its nearest node within ``max_snap_m`` (else
        it is left out, logged); a polygon's weight is shared equally by the nodes inside it
        (else it goes to its nearest node). None: every node, weighted by half the length of
        its edges in km (street frontage standing in for where people live), so the weights
        sum to the network's length in km.
    zone_nodes
        Keep only these node indices (e.g. the study area).
    spacing_m
        When > 0, keep one node per ``spacing_m`` grid cell (the one nearest the cell's
        weighted centre), carrying the cell's total weight.
    max_snap_m
        Reach of point (and empty-polygon) origins, in metres.

    Returns
    -------
    tuple
        Node indices (sorted, int64) and their weights (all > 0).
    """
    if spacing_m < 0 or not max_snap_m > 0:
        raise InputError(f"need spacing_m >= 0 and max_snap_m > 0; got {spacing_m}, {max_snap_m}")
    if origins is None:
        n, length = streets.n_nodes, streets.length_m
        nodes = np.arange(n, dtype=np.int64)
        weights = (np.bincount(streets.u, length, n) + np.bincount(streets.v, length, n)) / 2000.0
    else:
        geoms = _metric(origins, streets, "origins")
        w = origins["weight"].to_numpy(dtype=float) if "weight" in origins else np.ones(len(geoms))
        poly = np.flatnonzero(np.isin(shapely.get_type_id(geoms), [3, 6]))
        pts = np.asarray(shapely.points(streets.x, streets.y), dtype=object)
        gi, ni = shapely.STRtree(pts).query(geoms[poly], predicate="intersects")
        inside = np.bincount(gi, minlength=len(poly))
        rest = np.setdiff1d(np.arange(len(geoms)), poly[inside > 0])
        snapped, dist, _, _ = _snap(geoms[rest], streets, max_snap_m)
        ok = dist <= max_snap_m
        if not ok.all():
            logger.info("origins: %d farther than %g m from the network left out", (~ok).sum(), max_snap_m)
        nodes = np.concatenate([ni, snapped[ok]]).astype(np.int64)
        weights = np.concatenate([w[poly[gi]] / inside[gi], w[rest][ok]])
    if zone_nodes is not None:
        mask = np.isin(nodes, np.asarray(zone_nodes, dtype=np.int64))
        nodes, weights = nodes[mask], weights[mask]
    if spacing_m > 0 and len(nodes):
        nodes = _thin(nodes, weights, streets, spacing_m)
    uniq, inv = np.unique(nodes, return_inverse=True)
    sums = np.bincount(inv.ravel(), weights, len(uniq))
    keep = sums > 0
    if not keep.any():
        raise InputError("no origins left on the walk network (check the area, zone and weights)")
    logger.info("origin nodes: %s, total weight %.3f", f"{int(keep.sum()):,}", float(sums[keep].sum()))
    return uniq[keep].astype(np.int64), sums[keep].astype(np.float64)


def _thin(nodes: _Ints, weights: _Floats, streets: Streets, spacing_m: float) -> _Ints:
    """Map each node to the kept node of its grid cell (the one nearest the weighted centre)."""
    x, y = streets.x[nodes], streets.y[nodes]
    _, cell = np.unique(np.floor(np.column_stack([x, y]) / spacing_m), axis=0, return_inverse=True)
    cell = cell.ravel()
    ww = np.where(np.bincount(cell, weights)[cell] > 0, weights, 1.0)
    total = np.bincount(cell, ww)
    cx, cy = np.bincount(cell, ww * x) / total, np.bincount(cell, ww * y) / total
    order = np.lexsort((nodes, np.hypot(x - cx[cell], y - cy[cell]), cell))
    first = order[np.r_[True, cell[order][1:] != cell[order][:-1]]]
    kept = np.empty(len(first), dtype=np.int64)
    kept[cell[first]] = nodes[first]
    return kept[cell]
