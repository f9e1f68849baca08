"""What the web map and the print pages share: classes, symbols, geometry and words.

An officer may read the phone map on the way and the printed page at roll call; both must say the
same thing in the same way. So the risk classes, the corridor width classes, the destination
symbols, the window and schedule text, the facts about a post, the data attribution and the
legend words are defined here, once, and :mod:`passages.webmap` and :mod:`passages.printmap` only
lay them out (HTML and PDF). So is the geometry both draw, prepared once (:class:`MapGeometry`).
This module draws nothing and imports neither of them.

Privacy lives here too: :func:`risk_classes` is the one place where an edge's risk is suppressed
when fewer than ``scenario.risk.min_support`` incidents support it, and :func:`incident_points`
the one place that leaves sensitive incidents out; both maps go through them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = [
    "FOOT_M",
    "HIGH_RISK_CLASS",
    "KIND_SYMBOLS",
    "OSM_ATTRIBUTION",
    "RISK_BREAKS",
    "RISK_COLOURS",
    "MapGeometry",
    "View",
    "attribution",
    "clock",
    "corridor_width_labels",
    "data_period",
    "focus_extent",
    "incident_points",
    "incident_source",
    "kind_key",
    "main_route_edges",
    "meets",
    "places_of",
    "post_facts",
    "post_number",
    "post_schedule_rows",
    "risk_class",
    "risk_classes",
    "shows_incident_points",
    "traffic_breaks",
    "traffic_class",
    "window_text",
]

#: upper bounds of the risk classes (risk is in [0, 1]); five classes
RISK_BREAKS = (0.2, 0.4, 0.6, 0.8)
#: sequential colours of the risk classes (ColorBrewer YlOrRd)
RISK_COLOURS = ("#fed976", "#feb24c", "#fd8d3c", "#e31a1c", "#800026")
#: the lowest class called "high risk" where only high risk is drawn (print pages): risk above 0.6
HIGH_RISK_CLASS = len(RISK_BREAKS) - 1
#: destination symbol by kind: (shape, fill colour, legend label)
KIND_SYMBOLS: dict[str, tuple[str, str, str]] = {
    "school": ("square", "#c51b7d", "School"),
    "park": ("triangle", "#1b7837", "Park"),
    "transit": ("circle", "#01665e", "Transit stop"),
    "other": ("diamond", "#8c510a", "Other destination"),
}
#: metres per foot
FOOT_M = 0.3048
OSM_ATTRIBUTION = "Street data © OpenStreetMap contributors (ODbL)"
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
View = tuple[float, float, float, float]  # x0, y0, x1, y1 in the network CRS (metres)
_ADAPTER_SOURCES = {"cobra": "Atlanta Police Department (COBRA)", "lapd": "Los Angeles Police Department"}


# --------------------------------------------------------------------------------------
# classes


def risk_class(risk: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Class 0..4 of each risk value (see :data:`RISK_BREAKS`)."""
    return np.searchsorted(np.asarray(RISK_BREAKS), np.asarray(risk, dtype=float), side="left").astype(
        np.int64
    )


def traffic_breaks(plan: Any) -> tuple[float, float]:
    """Foot-traffic thresholds between the three corridor widths, shared by all windows: the median
    and the 85th percentile of the traffic on corridor edges."""
    values = [
        np.asarray(wp.corridors.traffic, dtype=float)[np.asarray(c.edges, dtype=np.int64)]
        for wp in plan.windows
        for c in wp.corridors.corridors
    ]
    t = np.concatenate(values) if values else np.zeros(0)
    t = t[t > 0]
    if t.size == 0:
        return (1.0, 2.0)
    lo, hi = np.percentile(t, [50, 85])
    return (float(lo), float(max(hi, lo)))


def traffic_class(traffic: npt.ArrayLike, breaks: tuple[float, float]) -> npt.NDArray[np.int64]:
    """Corridor width class of each traffic value: 0 below ``breaks[0]``, 2 from ``breaks[1]`` up."""
    return np.searchsorted(np.asarray(breaks), np.asarray(traffic, dtype=float), side="right").astype(
        np.int64
    )


def kind_key(kind: object) -> str:
    """The symbol class of a destination kind (school, park, transit or other)."""
    k = str(kind)
    return k if k in KIND_SYMBOLS else "other"


# --------------------------------------------------------------------------------------
# privacy: what may be shown


def risk_classes(plan: Any, wp: Any) -> npt.NDArray[np.int64]:
    """Risk class 0..4 of every edge in one window, or -1 where it must not be shown.

    An edge is rated only where at least ``scenario.risk.min_support`` incidents support its
    density (``wp.risk.support``); below that a single incident could be read off the map, so
    the edge is drawn as an ordinary street on every map.
    """
    r = wp.risk
    cls = risk_class(r.risk)
    shown = np.asarray(r.support, dtype=float) >= int(plan.scenario.risk.min_support)
    return np.where(shown, cls, -1).astype(np.int64)


def shows_incident_points(plan: Any) -> bool:
    """Whether incident points may be drawn at all: only when ``incidents.show_points`` is set (off
    by default), and never on paper (:mod:`passages.printmap` does not call this)."""
    spec = getattr(plan.scenario, "incidents", None)
    return bool(spec is not None and spec.show_points and plan.incidents is not None)


def incident_points(plan: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(lon, lat) of the incidents that may be drawn: sensitive categories are always left out."""
    from passages.incidents import is_sensitive

    inc = plan.incidents
    if inc is None or len(inc) == 0:
        return np.zeros(0), np.zeros(0)
    keep = ~np.asarray(inc["sensitive"], dtype=bool) if "sensitive" in inc else np.ones(len(inc), dtype=bool)
    if "category" in inc:
        extra = getattr(plan.scenario.incidents, "sensitive", ())
        keep &= ~np.asarray(is_sensitive(inc["category"].astype(str), sensitive=extra), dtype=bool)
    pts = inc.geometry[keep]
    return pts.x.to_numpy(dtype=float), pts.y.to_numpy(dtype=float)


# --------------------------------------------------------------------------------------
# what a window shows


def places_of(plan: Any, wp: Any) -> Any:
    """The destinations served in one window (the window's own table, else by kind)."""
    d = wp.destinations if wp.destinations is not None else plan.destinations
    kinds = tuple(getattr(wp.window, "kinds", ()) or ())
    if wp.destinations is None and kinds:
        d = d[d["kind"].isin(kinds)]
    return d.sort_values("place_id", kind="stable")


def main_route_edges(wp: Any) -> dict[str, npt.NDArray[np.int64]]:
    """The main route edges to each destination of a window, by ``place_id``."""
    from passages.corridors import main_routes

    return {str(d.place_id): main_routes(d) for d in wp.corridors.destinations}


def focus_extent(streets: Any, windows: Iterable[Any]) -> View | None:
    """The extent of the windows' corridors and posts (what a map opens on), or None."""
    wps = list(windows)
    edges = [np.asarray(c.edges, dtype=np.int64) for wp in wps for c in wp.corridors.corridors]
    e = np.concatenate([np.zeros(0, dtype=np.int64), *edges])
    x = np.concatenate(
        [streets.x[streets.u[e]], streets.x[streets.v[e]], [p.x for wp in wps for p in wp.posts.posts]]
    )
    y = np.concatenate(
        [streets.y[streets.u[e]], streets.y[streets.v[e]], [p.y for wp in wps for p in wp.posts.posts]]
    )
    if x.size == 0:
        return None
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


# --------------------------------------------------------------------------------------
# geometry, in the network's metric CRS


class MapGeometry:
    """The streets prepared once for drawing: each edge's bounding box, and the edges simplified
    per tolerance, each at most once and only when first asked for (print pages need little more
    than their posts' neighbourhoods)."""

    def __init__(self, streets: Any) -> None:
        self.streets = streets
        self.bounds: FloatArray = shapely.bounds(np.asarray(streets.geometry)).reshape(-1, 4)
        self._simple: dict[float, npt.NDArray[np.object_]] = {}

    def in_view(self, edges: npt.ArrayLike | None, view: View) -> IntArray:
        """The edges (all when None) whose bounding box meets ``view``."""
        idx = np.arange(len(self.bounds)) if edges is None else np.asarray(edges, dtype=np.int64)
        return idx[meets(self.bounds[idx], view)]

    def simplified(self, edges: IntArray, tol_m: float) -> npt.NDArray[np.object_]:
        """The geometry of ``edges`` simplified to ``tol_m`` metres."""
        done = self._simple.setdefault(tol_m, np.full(len(self.bounds), None, dtype=object))
        todo = edges[shapely.is_missing(done[edges])]
        if todo.size:
            done[todo] = shapely.simplify(np.asarray(self.streets.geometry)[todo], tol_m)
        out: npt.NDArray[np.object_] = done[edges]
        return out

    def places(self, places: Any, tol_m: float) -> tuple[npt.NDArray[np.object_], FloatArray]:
        """Destinations (EPSG:4326) in the network CRS, simplified to ``tol_m``, and the point
        inside each where its symbol goes."""
        import geopandas as gpd

        geoms = gpd.GeoSeries(places.geometry.to_numpy(), crs=places.crs).to_crs(self.streets.crs)
        pts = geoms.representative_point()
        xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()]).reshape(-1, 2)
        return np.asarray(shapely.simplify(geoms.to_numpy(), tol_m), dtype=object), xy


def meets(bounds: FloatArray, view: View) -> npt.NDArray[np.bool_]:
    """Which (x0, y0, x1, y1) rows of ``bounds`` meet ``view``."""
    x0, y0, x1, y1 = view
    return (bounds[:, 0] <= x1) & (bounds[:, 2] >= x0) & (bounds[:, 1] <= y1) & (bounds[:, 3] >= y0)


# --------------------------------------------------------------------------------------
# words


def clock(t: time) -> str:
    """``HH:MM``."""
    return f"{t.hour:02d}:{t.minute:02d}"


def window_text(window: Any) -> str:
    """``"Mon–Fri 06:30–09:00"`` (``"(next day)"`` when the window crosses midnight)."""
    from passages.schedule import format_days

    cross = " (next day)" if window.end < window.start else ""
    return f"{format_days(window.days)} {clock(window.start)}–{clock(window.end)}{cross}"


def corridor_width_labels(breaks: tuple[float, float]) -> tuple[str, str, str]:
    """The legend words of the three corridor widths, thinnest first."""
    lo, hi = breaks
    return (f"under {lo:,.0f} walkers", f"{lo:,.0f}–{hi:,.0f} walkers", f"{hi:,.0f} walkers or more")


def incident_source(plan: Any, *, short: bool = False) -> str:
    """Who recorded the incidents, which file, and the period they cover (``short``: who only)."""
    spec = getattr(plan.scenario, "incidents", None)
    if spec is None:
        return "no incident data"
    adapter = str(getattr(spec, "adapter", ""))
    name = Path(str(spec.path)).name
    if short:
        return _ADAPTER_SOURCES.get(adapter, name)
    who = f"{_ADAPTER_SOURCES[adapter]}, {name}" if adapter in _ADAPTER_SOURCES else name
    return f"{who}{data_period(plan)}"


def data_period(plan: Any) -> str:
    """``", 2021-01-01 to 2021-08-26 (6,334 incidents)"``, or ``""`` without incident dates."""
    inc = plan.incidents
    if inc is None or len(inc) == 0 or "occurred_at" not in inc:
        return ""
    when = inc["occurred_at"].dropna()
    if when.empty:
        return ""
    return f", {when.min():%Y-%m-%d} to {when.max():%Y-%m-%d} ({len(inc):,} incidents)"


def attribution(plan: Any) -> str:
    """The data attribution line printed on every map."""
    return f"{OSM_ATTRIBUTION}; incidents: {incident_source(plan)}"


def post_facts(post: Any, *, radius_m: float) -> list[tuple[str, str]]:
    """What both maps say about a post, as (label, value) rows."""
    rows = [
        (
            "Corridor in sight",
            f"{post.corridor_m:,.0f} m ({post.corridor_m / FOOT_M:,.0f} ft) within {radius_m:,.0f} m",
        ),
        ("Share of risk-weighted foot traffic", f"{100 * post.share:.0f} %"),
    ]
    if getattr(post, "pinned", False):
        rows.append(("Pinned", "yes (kept by the scenario)"))
    return rows


def post_number(post_id: str) -> str:
    """The short label drawn on a post: ``"P03"`` → ``"3"``; other ids unchanged."""
    m = re.fullmatch(r"[A-Za-z]*0*(\d+)", str(post_id))
    return m[1] if m else str(post_id)


def post_schedule_rows(schedule: Iterable[Any], post_id: str) -> list[tuple[str, str, str]]:
    """One (times, officers, how) row per officer at a post; rotation visits are merged.

    Fixed posts give ``("06:30–09:00", "2", "whole window")``; an officer on a rotation gives
    ``("06:30–06:45, 07:20–07:35, …", "1", "officer 2: beat P02 → P05, …")``.
    """
    rows: list[tuple[str, str, str]] = []
    visits: dict[int, list[Any]] = {}
    for e in schedule:
        if e.post_id != post_id:
            continue
        if e.mode == "rotation":
            visits.setdefault(int(getattr(e, "beat", 1)), []).append(e)
        else:
            note = e.note or "whole window"
            rows.append((f"{clock(e.start)}–{clock(e.end)}", str(e.officers), note))
    for beat, es in sorted(visits.items()):
        times = ", ".join(f"{clock(e.start)}–{clock(e.end)}" for e in es)
        note = str(es[0].note).split(";")[0] if es[0].note else f"officer {beat} (rotation)"
        rows.append((times, str(es[0].officers), note))
    return rows
