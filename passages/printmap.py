"""Print-ready PDF pages of a plan, for roll call (matplotlib, no tiles, no pyplot state).

What an officer needs on paper, and so what each window gets:

``overview-<window>.pdf``
    The sergeant's page: the whole area of the window's corridors, the destinations they lead
    to, every post numbered, and a table of the posts with location, hours and officers — to
    hand out assignments and see how the posts relate. Portrait or landscape, whichever shows
    the area at the larger scale.
``post-<window>-<post_id>.pdf``, one per post (portrait)
    The officer's page: 1 km square around the post with street names; the blocks in sight of
    the post drawn as an outlined band (what to watch); the corridors and main walking routes
    passing by (where people come from and go to); the nearest destinations with names and
    distances; and the post's schedule (times, officers, rotation beat).

Every page has a title, the window with days and times, the plan's date taken from the data
(scenario name and incident period, never the clock), a legend, a scale bar in metres and feet,
a north arrow turned to true north, and the data attribution. Pages must read in greyscale
(photocopies, black-and-white printers): line width, dashes, casing, hatching and marker shape
carry the meaning, colour only helps. Drawing is vector only, simplified to 1–3 m; the PDF
metadata carries no date, so the same plan gives the same bytes. Incident points are never
printed, and risk only where :func:`passages.mapstyle.risk_classes` rates it.

This module decides what the pages show; :mod:`passages.printpage` puts a page together (layout,
text, tables, legend, scale bars, north arrow). Speed (matplotlib's cost is in laying out text
and in artists):

* Text is set in PDF's built-in Helvetica (see :mod:`passages.printpage`). Names on the map sit
  on a white mask rather than a halo, which would turn them into outlines.
* Streets are simplified once per tolerance, and only where a page needs them; a page draws each
  layer as one path of the edges whose box meets its view. Street names are merged into lines once
  per plan and clipped to each view.
* No Axes: map layers are figure artists with a metres → page transform, clipped to the map frame.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from passages._errors import InputError
from passages.mapstyle import (
    HIGH_RISK_CLASS,
    KIND_SYMBOLS,
    RISK_BREAKS,
    MapGeometry,
    View,
    attribution,
    corridor_width_labels,
    data_period,
    focus_extent,
    kind_key,
    main_route_edges,
    meets,
    places_of,
    post_facts,
    post_number,
    post_schedule_rows,
    risk_classes,
    traffic_breaks,
    traffic_class,
    window_text,
)
from passages.printpage import (
    BOTTOM,
    MARGIN,
    MASK,
    PAPER_SIZES,
    TOP,
    MapFrame,
    Page,
    fit,
    footer,
    header,
    legend,
    north_arrow,
    overview_layout,
    pdf_settings,
    save_pdf,
    scale_bars,
    table,
    width_pt,
    wrap,
)

__all__ = ["PAPER_SIZES", "abbreviate", "write_print_pages"]

logger = logging.getLogger(__name__)

#: half the side of a post page's map, metres
POST_VIEW_M = 500.0
_ROADS = ("primary", "secondary", "tertiary", "trunk")
MAJOR = frozenset((*_ROADS, *(f"{r}_link" for r in _ROADS)))
MINOR = frozenset({"residential", "unclassified", "living_street", "pedestrian", "road"})
#: colours that stay apart in greyscale: light band (risk), mid dashes (routes), dark lines (corridors)
RISK_BAND = "#f2a0a0"
CORRIDOR = "#1a2a6c"
ROUTE = "#3c6fd0"
PARK = KIND_SYMBOLS["park"][1]
MARKER = {"square": "s", "triangle": "^", "circle": "o", "diamond": "D"}
_LONG = (
    "Street Avenue Boulevard Drive Road Place Lane Court Parkway Circle Terrace Highway Square Junior "
    "Northeast Northwest Southeast Southwest"
)
_SHORT = "St Ave Blvd Dr Rd Pl Ln Ct Pkwy Cir Ter Hwy Sq Jr NE NW SE SW"
_ABBREV = dict(zip(_LONG.split(), _SHORT.split(), strict=True))
_RISK = {"edgecolor": RISK_BAND, "zorder": 0.9}
_ROUTE = {"edgecolor": ROUTE, "linestyle": (0, (3, 2)), "zorder": 4}
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def write_print_pages(plan: Any, folder: str | os.PathLike[str], *, paper: str | None = None) -> list[Path]:
    """Write the overview and post pages of every window as PDF files.

    Parameters
    ----------
    plan
        A :class:`passages.plan.Plan`.
    folder
        Where the PDFs go (created if needed).
    paper
        ``"letter"`` (8.5 × 11 in) or ``"a4"``; default ``plan.scenario.maps.paper``.

    Returns
    -------
    list of Path
        Per window: ``overview-<window>.pdf``, then ``post-<window>-<post_id>.pdf`` per post.
        The same plan always gives the same bytes.
    """
    size = str(paper if paper is not None else plan.scenario.maps.paper).lower()
    if size not in PAPER_SIZES:
        raise InputError(f"maps.paper = {size!r} is not a paper size; accepted: 'letter', 'a4'")
    out = Path(folder)
    written: list[Path] = []
    with pdf_settings():
        net = _Streets(plan.streets)
        for wp in plan.windows:
            ctx = _Window.of(plan, wp, net)
            written.append(save_pdf(_overview(ctx, size), out / f"overview-{_safe(wp.window.name)}.pdf"))
            for post in wp.posts.posts:
                name = f"post-{_safe(wp.window.name)}-{_safe(post.post_id)}.pdf"
                written.append(save_pdf(_post_page(ctx, post, size), out / name))
    logger.info("wrote %d print pages (%s) to %s", len(written), size, out)
    return written


def abbreviate(name: str) -> str:
    """Street words shortened as on signs: ``"Peachtree Street Northeast"`` → ``"Peachtree St NE"``."""
    return re.sub(r"\b(" + "|".join(_ABBREV) + r")\b", lambda m: _ABBREV[m[1]], name)


# --------------------------------------------------------------------------------------
# what the pages draw, prepared once: per plan (streets) and per window (layers)


class _Streets(MapGeometry):
    """The streets with their print class (0 path/service, 1 minor, 2 major) and named lines."""

    def __init__(self, streets: Any) -> None:
        super().__init__(streets)
        self.street_class = np.array([2 if h in MAJOR else 1 if h in MINOR else 0 for h in streets.highway])
        self._named: dict[bool, tuple[list[str], Any, FloatArray]] = {}

    def path(self, edges: IntArray | None, view: View, tol_m: float) -> Any:
        """The edges (all when None) meeting ``view`` as one matplotlib path, or None."""
        xy, part = shapely.get_coordinates(
            self.simplified(self.in_view(edges, view), tol_m), return_index=True
        )
        if len(xy) == 0:
            return None
        codes = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
        codes[np.r_[True, part[1:] != part[:-1]]] = MplPath.MOVETO
        return MplPath(xy, codes)

    def names(self, view: View, *, major: bool) -> list[tuple[str, Any]]:
        """(name, line): the longest stretch inside ``view`` of every named street (major streets
        only if ``major``), longest first."""
        if major not in self._named:
            s = self.streets
            idx = np.flatnonzero((s.name != "") & ((self.street_class == 2) if major else True))
            key = np.array([str(n).split("; ")[0] for n in s.name[idx]], dtype=object)
            unique, group = np.unique(key, return_inverse=True)
            order = np.argsort(group, kind="stable")
            lines = shapely.line_merge(
                shapely.multilinestrings(np.asarray(s.geometry)[idx[order]], indices=group[order])
            )
            self._named[major] = ([str(n) for n in unique], lines, shapely.bounds(lines).reshape(-1, 4))
        names, lines, bounds = self._named[major]
        sel = np.flatnonzero(meets(bounds, view))
        clipped = shapely.line_merge(shapely.clip_by_rect(lines[sel], *view))
        parts, which = shapely.get_parts(clipped, return_index=True)
        keep = shapely.get_type_id(parts) == 1  # LineString
        parts, which, length = parts[keep], which[keep], shapely.length(parts[keep])
        best: dict[int, int] = {}
        for i in np.lexsort((-length, which)).tolist():  # each street's longest part first
            best.setdefault(int(which[i]), i)
        found = sorted((-round(float(length[i]), 3), names[sel[w]], i) for w, i in best.items())
        return [(name, parts[i]) for _, name, i in found]

    def north(self, x: float, y: float) -> float:
        """Angle of true north from grid north at (x, y), radians clockwise."""
        lon, lat = self.streets.to_lonlat([x], [y])
        nx_, ny_ = self.streets.from_lonlat([lon[0], lon[0]], [lat[0], lat[0] + 0.01])
        return math.atan2(nx_[1] - nx_[0], ny_[1] - ny_[0])


@dataclass(frozen=True, eq=False)
class _Window:
    plan: Any
    wp: Any
    net: _Streets
    high_risk: IntArray
    routes: IntArray
    corridor: list[IntArray]  # edges by width class (foot traffic)
    place_kind: npt.NDArray[np.object_]  # symbol class of each destination
    place_name: list[str]
    place_xy: FloatArray  # symbol positions, network CRS
    parks: list[tuple[FloatArray, Any]]  # (bounds, outline path) of every park area
    period: str  # the incident data's period, for the header

    @classmethod
    def of(cls, plan: Any, wp: Any, net: _Streets) -> _Window:
        edges = [np.asarray(c.edges, dtype=np.int64) for c in wp.corridors.corridors]
        corridor = np.concatenate([np.zeros(0, dtype=np.int64), *edges])
        width = traffic_class(np.asarray(wp.corridors.traffic, dtype=float)[corridor], traffic_breaks(plan))
        places = places_of(plan, wp)
        geoms, xy = net.places(places, 1.0)
        kind = np.array([kind_key(k) for k in places["kind"]], dtype=object)
        parks = [(shapely.bounds(g), _area_path(g)) for g in geoms[kind == "park"]]
        return cls(
            plan=plan,
            wp=wp,
            net=net,
            high_risk=np.flatnonzero(risk_classes(plan, wp) >= HIGH_RISK_CLASS),
            routes=np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *main_route_edges(wp).values()])),
            corridor=[np.unique(corridor[width == k]) for k in range(3)],
            place_kind=kind,
            place_name=[str(n) or str(i) for n, i in zip(places["name"], places["place_id"], strict=True)],
            place_xy=xy,
            parks=[(b, p) for b, p in parks if p is not None],
            period=data_period(plan).lstrip(", "),
        )


def _area_path(geom: Any) -> Any:
    """A polygon's rings as one matplotlib path; None for points and lines."""
    polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    rings = [np.asarray(r.coords) for p in polys for r in (p.exterior, *p.interiors)]
    return MplPath.make_compound_path(*map(MplPath, rings)) if rings else None


@dataclass(frozen=True)
class _Map(MapFrame):
    """A page's map frame over the plan's streets ``net``, lines simplified to ``tol_m``
    (``_Map.of(page, rect, view, net=..., tol_m=...)``)."""

    net: _Streets
    tol_m: float  # lines simplified to

    def lines(self, edges: IntArray | None, **style: Any) -> None:
        """Stroke the edges (all when None) as one path."""
        path = self.net.path(edges, self.view, self.tol_m)
        if path is not None:
            self.stroke(path, **style)


# --------------------------------------------------------------------------------------
# pages


def _overview(ctx: _Window, paper: str) -> Any:
    plan, wp = ctx.plan, ctx.wp
    view = _overview_view(ctx)
    w_in, h_in, map_rect, box_rect, beside = overview_layout(view, paper)
    page = Page(w_in, h_in)
    _header(
        page,
        ctx,
        f"{plan.scenario.title or plan.scenario.name} — {wp.window.label or wp.window.name}",
        what="corridors and posts",
    )
    m = _Map.of(page, map_rect, view, net=ctx.net, tol_m=3.0)
    _draw_streets(m, scale=0.7, paths=False)  # sidewalks and alleys would only blur this scale
    m.lines(ctx.high_risk, **_RISK, lw=4.0)
    m.lines(ctx.routes, **_ROUTE, lw=1.0)
    _draw_corridors(m, ctx, widths=(1.3, 2.3, 3.4))
    avoid: list[Any] = []
    _draw_posts(m, wp.posts.posts, size=12, font=7.5, avoid=avoid)
    _draw_places(m, ctx, size=5.5, avoid=avoid)
    _label_streets(m, ctx.net.names(m.inner(12), major=True), size=6.5, most=16, avoid=avoid)
    _map_furniture(m)
    x, top, width = box_rect[0], box_rect[1] + box_rect[3], box_rect[2]
    line_h = 7.5 * 1.35 / 72
    if beside:
        y = _legend(page, ctx, x, top, post=False) - 0.15
        _posts_table(page, wp, x, y, width, max_lines=int((y - BOTTOM) / line_h))
    else:
        _legend(page, ctx, x, top, post=False)
        _posts_table(page, wp, x + 2.7, top, width - 2.7, max_lines=int((box_rect[3] - 0.3) / line_h))
    footer(page, attribution(plan))
    return page.fig


def _post_page(ctx: _Window, post: Any, paper: str) -> Any:
    wp, r, info_h = ctx.wp, POST_VIEW_M, 2.25
    w_in, h_in = PAPER_SIZES[paper]
    page = Page(w_in, h_in)
    _header(
        page,
        ctx,
        f"Post {post_number(post.post_id)} · {abbreviate(str(post.name))}",
        what=f"post {post.post_id}",
    )
    map_rect = (MARGIN, BOTTOM + info_h + 0.1, w_in - 2 * MARGIN, h_in - TOP - BOTTOM - info_h - 0.1)
    m = _Map.of(page, map_rect, (post.x - r, post.y - r, post.x + r, post.y + r), net=ctx.net, tol_m=1.0)
    covered = np.unique(np.asarray(post.covered_edges, dtype=np.int64))  # a white band cased in black,
    m.lines(covered, edgecolor="black", lw=14, zorder=0.7)  # under the risk band and the streets
    m.lines(covered, edgecolor="white", lw=10.5, zorder=0.8)
    m.lines(ctx.high_risk, **_RISK, lw=10.5)
    _draw_streets(m, scale=1.6, paths=True)
    m.lines(ctx.routes, **_ROUTE, lw=1.8)
    _draw_corridors(m, ctx, widths=(2.2, 3.6, 5.0))
    avoid: list[Any] = []
    _draw_posts(m, [post], size=22, font=12, avoid=avoid)
    x0, y0, x1, y1 = m.view
    others = [p for p in wp.posts.posts if p.post_id != post.post_id and x0 <= p.x <= x1 and y0 <= p.y <= y1]
    _draw_posts(m, others, size=15, font=8.5, avoid=avoid, alpha=0.8)
    near = _draw_places(m, ctx, size=9, avoid=avoid, centre=(post.x, post.y), names=5)
    _label_streets(m, ctx.net.names(m.inner(12), major=False), size=8, most=16, avoid=avoid)
    _map_furniture(m)
    _post_facts(page, wp, post, near, x=MARGIN, top=BOTTOM + info_h, width=w_in - 2 * MARGIN - 2.6)
    _legend(page, ctx, w_in - MARGIN - 2.4, BOTTOM + info_h, post=True)
    footer(page, attribution(ctx.plan))
    return page.fig


def _overview_view(ctx: _Window) -> View:
    """The extent of the window's corridors and posts (else its destinations), padded."""
    s = ctx.plan.streets
    extent = focus_extent(s, [ctx.wp])
    if extent is None:
        pts = ctx.place_xy if len(ctx.place_xy) else np.column_stack([s.x, s.y])
        (ex0, ey0), (ex1, ey1) = pts.min(axis=0), pts.max(axis=0)
        extent = (float(ex0), float(ey0), float(ex1), float(ey1))
    x0, y0, x1, y1 = extent
    pad = 0.04 * max(x1 - x0, y1 - y0, 500.0)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)) or "post"


def _header(page: Page, ctx: _Window, title: str, *, what: str) -> None:
    wp = ctx.wp
    sub = f"{window_text(wp.window)} · {wp.posts.officers} officers on duty · {what}"
    when = f"incident data {ctx.period}" if ctx.period else "no incident data"
    header(page, title, sub, f"Plan “{ctx.plan.scenario.name}” · {when}")


# --------------------------------------------------------------------------------------
# map layers (1 map unit = 1 m); ``avoid`` collects footprints that names keep clear of


def _draw_streets(m: _Map, *, scale: float, paths: bool) -> None:
    """The street network in greys by class; footways and service roads only if ``paths``."""
    for c, (lw, colour) in enumerate(((0.35, "#b9b9b9"), (0.8, "#9a9a9a"), (1.6, "#7a7a7a"))):
        if c > 0 or paths:
            m.lines(
                np.flatnonzero(m.net.street_class == c), edgecolor=colour, lw=lw * scale, zorder=1 + c / 10
            )


def _draw_corridors(m: _Map, ctx: _Window, *, widths: Sequence[float]) -> None:
    for k, lw in enumerate(widths):
        m.lines(ctx.corridor[k], edgecolor=CORRIDOR, lw=lw, zorder=5 + k / 10)


def _clear(shape: Any, avoid: list[Any]) -> bool:
    return not avoid or not bool(shapely.intersects(shape, avoid).any())


def _draw_posts(
    m: _Map, posts: Sequence[Any], *, size: float, font: float, avoid: list[Any], alpha: float = 1.0
) -> None:
    """Numbered black discs."""
    if not posts:
        return
    x, y = np.array([p.x for p in posts]), np.array([p.y for p in posts])
    m.add(
        Line2D(x, y, ls="none", marker="o", ms=size, mfc="black", mec="white", mew=1.6, alpha=alpha, zorder=9)
    )
    for p in posts:
        m.text(
            p.x,
            p.y,
            post_number(p.post_id),
            size=font,
            weight="bold",
            color="white",
            ha="center",
            va="center_baseline",
            zorder=10,
        )
    avoid.extend(shapely.get_parts(shapely.buffer(shapely.points(x, y), size * m.per_pt * 0.6)))


def _draw_places(
    m: _Map,
    ctx: _Window,
    *,
    size: float,
    avoid: list[Any],
    centre: tuple[float, float] | None = None,
    names: int = 0,
) -> list[tuple[str, float, str]]:
    """Destination symbols and hatched park areas; name the ``names`` nearest to ``centre``.

    Returns (name, distance_m, direction) of the nearest destinations, one per name.
    """
    parks = [path for bounds, path in ctx.parks if meets(bounds.reshape(1, 4), m.view)[0]]
    if parks:
        area = {"facecolor": "none", "edgecolor": PARK, "hatch": "////", "lw": 0.6, "alpha": 0.6}
        m.add(PathPatch(MplPath.make_compound_path(*parks), zorder=0.8, **area))
    x0, y0, x1, y1 = m.inner(2)
    xy = ctx.place_xy
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    for key, (shape, colour, _) in KIND_SYMBOLS.items():
        if (sel := inside & (ctx.place_kind == key)).any():
            m.add(
                Line2D(
                    xy[sel, 0],
                    xy[sel, 1],
                    ls="none",
                    marker=MARKER[shape],
                    ms=size,
                    mfc=colour,
                    mec="black",
                    mew=0.7,
                    zorder=8,
                )
            )
    avoid.extend(shapely.get_parts(shapely.buffer(shapely.points(xy[inside]), size * m.per_pt * 0.6)))
    out: list[tuple[str, float, str]] = []
    if centre is None:
        return out
    d, frame, pt = np.hypot(xy[:, 0] - centre[0], xy[:, 1] - centre[1]), shapely.box(*m.inner(4)), m.per_pt
    for i in np.argsort(d, kind="stable").tolist():
        name = ctx.place_name[i]
        if not inside[i] or len(out) >= names or any(name == n for n, _, _ in out):
            continue
        x, y = xy[i]
        out.append((name, float(d[i]), _direction(x - centre[0], y - centre[1])))
        label = fit(abbreviate(name), 2.0, 7.5)
        w, h = width_pt(label, 7.5) * pt, 7.5 * 1.3 * pt
        for dx in (7 * pt, -7 * pt - w):
            box = shapely.box(x + dx, y - h / 2, x + dx + w, y + h / 2)
            if shapely.within(box, frame) and _clear(box, avoid):
                m.text(x + dx, y, label, size=7.5, va="center", zorder=11, bbox=MASK)
                avoid.append(box)
                break
    return out


def _label_streets(
    m: _Map, candidates: list[tuple[str, Any]], *, size: float, most: int, avoid: list[Any]
) -> None:
    """Name streets along their line, longest first, at most ``most``, keeping clear of ``avoid``."""
    pt, h, placed = m.per_pt, size * 1.2 * m.per_pt, 0
    for name, line in candidates:
        text, length = abbreviate(name), line.length
        w = width_pt(text, size) * pt
        if placed >= most or length < 1.15 * w:
            continue
        for frac in (0.5, 0.3, 0.7, 0.15, 0.85):
            mid = min(max(length * frac, w / 2), length - w / 2)
            ends = shapely.line_interpolate_point(line, [mid - w / 2, mid + w / 2, mid])
            (ax, ay), (bx, by), (cx, cy) = shapely.get_coordinates(ends)
            chord = math.hypot(bx - ax, by - ay)
            if chord == 0 or abs((bx - ax) * (cy - ay) - (by - ay) * (cx - ax)) / chord > h / 2:
                continue  # too curved here to read along a straight line
            angle = math.degrees(math.atan2(by - ay, bx - ax))
            angle = angle - 180 if angle > 90 else angle + 180 if angle <= -90 else angle
            if _clear(_rotated_box(cx, cy, w, h, angle), avoid):
                m.text(
                    cx,
                    cy,
                    text,
                    size=size,
                    rotation=angle,
                    rotation_mode="anchor",
                    ha="center",
                    va="center",
                    color="#111111",
                    zorder=7,
                    bbox=MASK,
                )
                avoid.append(_rotated_box(cx, cy, w + 4 * pt, h + 4 * pt, angle))
                placed += 1
                break


def _rotated_box(x: float, y: float, w: float, h: float, angle_deg: float) -> Any:
    """The ``w`` × ``h`` rectangle centred on (x, y), turned by ``angle_deg``."""
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    half = ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
    return shapely.Polygon([(x + dx * c - dy * s, y + dx * s + dy * c) for dx, dy in half])


def _direction(dx: float, dy: float) -> str:
    """Compass direction of a vector (grid north, within a degree of true north in UTM)."""
    return ("E", "NE", "N", "NW", "W", "SW", "S", "SE")[round(math.degrees(math.atan2(dy, dx)) / 45) % 8]


def _map_furniture(m: _Map) -> None:
    """Scale bars in metres and feet (lower left) and a north arrow turned to true north (upper right)."""
    x0, y0, x1, y1 = m.view
    scale_bars(m)
    north_arrow(m, m.net.north((x0 + x1) / 2, (y0 + y1) / 2))


# --------------------------------------------------------------------------------------
# legend and tables (inches)


def _legend(page: Page, ctx: _Window, x: float, top: float, *, post: bool) -> float:
    """Draw the legend from ``(x, top)`` downwards; return the y under it."""
    widths = corridor_width_labels(traffic_breaks(ctx.plan))
    k, above = int(ctx.plan.scenario.risk.min_support), RISK_BREAKS[HIGH_RISK_CLASS - 1]
    entries: list[tuple[str, dict[str, Any], str]] = [
        *(
            ("line", {"color": CORRIDOR, "lw": lw}, f"Corridor: {t}")
            for lw, t in zip((1.3, 2.5, 3.8), widths, strict=True)
        ),
        ("line", {"color": ROUTE, "lw": 1.4, "linestyle": (0, (3, 2))}, "Main walking route"),
        *([("cased", {}, "Block in sight of this post")] if post else []),
        ("line", {"color": RISK_BAND, "lw": 6}, f"High risk (above {above:.1f}; {k}+ incidents)"),
        *(
            ("marker", {"marker": MARKER[shape], "mfc": colour}, label)
            for key, (shape, colour, label) in KIND_SYMBOLS.items()
            if key in set(ctx.place_kind.tolist())
        ),
        *([("area", {"ec": PARK}, "Park area")] if ctx.parks else []),
        (
            "marker",
            {"marker": "o", "ms": 10, "mfc": "black", "mec": "white", "mew": 1.2},
            "Officer post (number)",
        ),
    ]
    return legend(page, entries, x, top)


def _posts_table(page: Page, wp: Any, x: float, top: float, width: float, *, max_lines: int) -> float:
    page.text(x, top - 0.13, "Posts", size=9, weight="bold")
    rows = [["#", "Location", "Times", "Officers"]]
    for p in wp.posts.posts:
        for i, (times, n, _) in enumerate(
            post_schedule_rows(wp.schedule, p.post_id) or [("not staffed", "0", "")]
        ):
            spans = times.split(", ")
            when = times if len(spans) == 1 else f"{len(spans)} visits {spans[0][:5]}–{spans[-1][-5:]}"
            rows.append(
                [*([post_number(p.post_id), abbreviate(str(p.name))] if i == 0 else ["", ""]), when, n]
            )
    widths = (0.3, width - 0.3 - 1.7 - 0.65, 1.7, 0.65)
    return table(page, x, top - 0.2, widths=widths, rows=rows, size=7.5, max_lines=max_lines - 2)


def _post_facts(
    page: Page, wp: Any, post: Any, near: list[tuple[str, float, str]], *, x: float, top: float, width: float
) -> None:
    """The post's schedule table and what it watches, from ``(x, top)`` down to the footer."""
    page.text(x, top - 0.14, "Schedule", size=10, weight="bold")
    rows = [["Times", "Officers", "Notes"]]
    rows += [list(r) for r in post_schedule_rows(wp.schedule, post.post_id)] or [["—", "0", "not staffed"]]
    y = table(page, x, top - 0.22, widths=(2.15, 0.7, width - 2.85), rows=rows, max_lines=7)
    facts = [f"{label}: {value}." for label, value in post_facts(post, radius_m=float(wp.posts.radius_m))]
    if near:
        nearest = "; ".join(f"{abbreviate(n)} {d:,.0f} m {c}" for n, d, c in near[:4])
        facts.append(f"Nearest (straight line): {nearest}.")
    lines = [line for f in facts for line in wrap(f, width, 8)]
    page.lines(x, y - 0.06, lines[: max(int((y - BOTTOM - 0.05) / (8 * 1.3 / 72)), 1)], size=8)
