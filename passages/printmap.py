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
carry the meaning, colour only helps. Drawing is vector only, simplified to 1–4 m, so a page
stays well under 1 MB; the PDF metadata carries no date, so the same plan gives the same bytes.
Incident points are never printed.
"""

from __future__ import annotations

import functools
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

from passages import __version__
from passages._errors import InputError
from passages._io import atomic_path
from passages.corridors import main_routes
from passages.webmap import (
    KIND_SYMBOLS,
    RISK_BREAKS,
    attribution,
    data_period,
    kind_key,
    places_of,
    post_number,
    post_schedule_rows,
    risk_class,
    traffic_breaks,
    traffic_class,
    window_text,
)

__all__ = ["PAPER_SIZES", "abbreviate", "write_print_pages"]

logger = logging.getLogger(__name__)

#: page sizes, inches (portrait)
PAPER_SIZES = {"letter": (8.5, 11.0), "a4": (210 / 25.4, 297 / 25.4)}
#: half the side of a post page's map, metres
POST_VIEW_M = 500.0
#: metres per foot
FOOT_M = 0.3048
_ROADS = ("primary", "secondary", "tertiary", "trunk")
MAJOR = frozenset((*_ROADS, *(f"{r}_link" for r in _ROADS)))
MINOR = frozenset({"residential", "unclassified", "living_street", "pedestrian", "road"})
#: colours that stay apart in greyscale: light band (risk), mid dashes (routes), dark lines (corridors)
RISK_BAND = "#f2a0a0"
CORRIDOR = "#1a2a6c"
ROUTE = "#3c6fd0"
PARK = "#1b7837"
MARKER = {"square": "s", "triangle": "^", "circle": "o", "diamond": "D"}
_LONG = (
    "Street Avenue Boulevard Drive Road Place Lane Court Parkway Circle Terrace Highway Square Junior "
    "Northeast Northwest Southeast Southwest"
)
_SHORT = "St Ave Blvd Dr Rd Pl Ln Ct Pkwy Cir Ter Hwy Sq Jr NE NW SE SW"
_ABBREV = dict(zip(_LONG.split(), _SHORT.split(), strict=True))
_PDF_META = {
    "Creator": f"passages {__version__}",
    "Producer": "passages",
    "CreationDate": None,
    "ModDate": None,
}
_CENTRE = {"ha": "center", "va": "center_baseline"}
_RISK_STYLE = {"edgecolor": RISK_BAND, "zorder": 0.9, "capstyle": "butt"}
_ROUTE_STYLE = {"edgecolor": ROUTE, "linestyle": (0, (3, 2)), "zorder": 4}
_TOP, _BOTTOM, _MARGIN = 1.05, 0.75, 0.5  # inches above the map (header), below (footer), sides

Rect = tuple[float, float, float, float]
View = tuple[float, float, float, float]


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
    from matplotlib import rc_context

    out = Path(folder)
    written: list[Path] = []
    with rc_context({"text.parse_math": False}):  # names from data are text, even with "$"
        for wp in plan.windows:
            ctx = _Window.of(plan, wp)
            written.append(_save(_overview(ctx, size), out / f"overview-{_safe(wp.window.name)}.pdf"))
            for post in wp.posts.posts:
                name = f"post-{_safe(wp.window.name)}-{_safe(post.post_id)}.pdf"
                written.append(_save(_post_page(ctx, post, size), out / name))
    logger.info("wrote %d print pages (%s) to %s", len(written), size, out)
    return written


def abbreviate(name: str) -> str:
    """Street words shortened as on signs: ``"Peachtree Street Northeast"`` → ``"Peachtree St NE"``."""
    return re.sub(r"\b(" + "|".join(_ABBREV) + r")\b", lambda m: _ABBREV[m[1]], name)


# --------------------------------------------------------------------------------------
# what one window draws, computed once for all its pages


@dataclass(frozen=True)
class _Window:
    plan: Any
    wp: Any
    street_class: npt.NDArray[np.int64]  # 0 path/service, 1 minor, 2 major
    high_risk: npt.NDArray[np.int64]
    routes: npt.NDArray[np.int64]
    corridor: npt.NDArray[np.int64]
    corridor_width: npt.NDArray[np.int64]  # 0..2 by foot traffic
    places: Any  # the window's destinations (EPSG:4326)
    place_geoms: npt.NDArray[np.object_]  # in the network CRS
    place_xy: npt.NDArray[np.float64]  # marker positions, network CRS
    place_kind: npt.NDArray[np.object_]  # symbol class

    @classmethod
    def of(cls, plan: Any, wp: Any) -> _Window:
        import geopandas as gpd

        s = plan.streets
        r = wp.risk
        high = (risk_class(r.risk) >= len(RISK_BREAKS) - 1) & (
            np.asarray(r.support, dtype=float) >= int(plan.scenario.risk.min_support)
        )
        routes = [main_routes(d) for d in wp.corridors.destinations]
        corridor = np.concatenate(
            [np.zeros(0, dtype=np.int64)]
            + [np.asarray(c.edges, dtype=np.int64) for c in wp.corridors.corridors]
        )
        traffic = np.asarray(wp.corridors.traffic, dtype=float)[corridor]
        places = places_of(plan, wp)
        geoms = gpd.GeoSeries(places.geometry.to_numpy(), crs=places.crs).to_crs(s.crs)
        pts = geoms.representative_point()
        return cls(
            plan=plan,
            wp=wp,
            street_class=np.array(
                [2 if h in MAJOR else 1 if h in MINOR else 0 for h in s.highway], dtype=np.int64
            ),
            high_risk=np.flatnonzero(high),
            routes=np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *routes])),
            corridor=corridor,
            corridor_width=traffic_class(traffic, traffic_breaks(plan)),
            places=places,
            place_geoms=np.asarray(shapely.simplify(geoms.to_numpy(), 1.0), dtype=object),
            place_xy=np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()]).reshape(-1, 2),
            place_kind=np.array([kind_key(k) for k in places["kind"]], dtype=object),
        )


# --------------------------------------------------------------------------------------
# pages


def _overview(ctx: _Window, paper: str) -> Any:
    plan, wp, streets = ctx.plan, ctx.wp, ctx.plan.streets
    w_in, h_in, map_rect, box_rect, beside = _overview_layout(_overview_view(ctx), paper)
    fig = _figure(w_in, h_in)
    title = f"{plan.scenario.title or plan.scenario.name} — {wp.window.label or wp.window.name}"
    _header(fig, ctx, title, what="corridors and posts", w_in=w_in, h_in=h_in)
    ax, view = _map_axes(fig, map_rect, _overview_view(ctx), w_in, h_in)
    _draw_streets(ax, ctx, view, tol_m=4.0, scale=0.7)
    _lines(ax, streets, ctx.high_risk, view, 3.0, **_RISK_STYLE, lw=4.0)
    _lines(ax, streets, ctx.routes, view, 3.0, **_ROUTE_STYLE, lw=1.0)
    _draw_corridors(ax, ctx, view, widths=(1.3, 2.3, 3.4))
    placed = _draw_posts(ax, wp.posts.posts, size=12, font=7.5)
    _draw_places(ax, ctx, view, size=5.5, avoid=placed)
    major = np.flatnonzero(ctx.street_class == 2)
    _label_streets(ax, streets, major, view, size=6.5, most=16, avoid=placed)
    _map_furniture(ax, streets, view)
    box = _text_axes(fig, box_rect, w_in, h_in)
    line_h = 7.5 * 1.35 / 72
    if beside:
        y = _legend(box, ctx, 0.0, box_rect[3], post=False)
        _posts_table(box, wp, 0.0, y - 0.15, box_rect[2], max_lines=int((y - 0.5) / line_h))
    else:
        _legend(box, ctx, 0.0, box_rect[3], post=False)
        _posts_table(
            box, wp, 2.7, box_rect[3], box_rect[2] - 2.7, max_lines=int((box_rect[3] - 0.3) / line_h)
        )
    _footer(fig, plan, w_in, h_in)
    return fig


def _post_page(ctx: _Window, post: Any, paper: str) -> Any:
    plan, wp, streets = ctx.plan, ctx.wp, ctx.plan.streets
    w_in, h_in = PAPER_SIZES[paper]
    fig = _figure(w_in, h_in)
    title = f"Post {post_number(post.post_id)} · {abbreviate(str(post.name))}"
    _header(fig, ctx, title, what=f"post {post.post_id}", w_in=w_in, h_in=h_in)
    info_h = 2.25
    map_rect = (_MARGIN, _BOTTOM + info_h + 0.1, w_in - 2 * _MARGIN, h_in - _TOP - _BOTTOM - info_h - 0.1)
    r = POST_VIEW_M
    ax, view = _map_axes(fig, map_rect, (post.x - r, post.y - r, post.x + r, post.y + r), w_in, h_in)
    _draw_streets(ax, ctx, view, tol_m=1.0, scale=1.6)
    _lines(ax, streets, ctx.high_risk, view, 1.0, **_RISK_STYLE, lw=11)
    covered = np.asarray(post.covered_edges, dtype=np.int64)  # drawn as a white band cased in black
    _lines(ax, streets, covered, view, 1.0, edgecolor="black", lw=14, zorder=3.0, capstyle="butt")
    _lines(ax, streets, covered, view, 1.0, edgecolor="white", lw=10.5, zorder=3.1, capstyle="butt")
    _lines(ax, streets, ctx.routes, view, 1.0, **_ROUTE_STYLE, lw=1.8)
    _draw_corridors(ax, ctx, view, widths=(2.2, 3.6, 5.0))
    others = [p for p in wp.posts.posts if p.post_id != post.post_id]
    placed = _draw_posts(ax, [post], size=22, font=12) + _draw_posts(ax, others, size=15, font=8.5, alpha=0.8)
    near = _draw_places(ax, ctx, view, size=9, avoid=placed, centre=(post.x, post.y), names=5)
    _label_streets(ax, streets, None, view, size=8, most=16, avoid=placed)
    _map_furniture(ax, streets, view)
    info = _text_axes(fig, (_MARGIN, _BOTTOM, w_in - 2 * _MARGIN, info_h), w_in, h_in)
    _post_facts(info, wp, post, near, w_in - 2 * _MARGIN - 2.6)
    _legend(info, ctx, w_in - 2 * _MARGIN - 2.4, info_h, post=True)
    _footer(fig, plan, w_in, h_in)
    return fig


def _overview_view(ctx: _Window) -> View:
    """The extent of the window's corridors and posts (else its destinations), padded."""
    s = ctx.plan.streets
    xy = [
        np.column_stack([s.x[s.u[ctx.corridor]], s.y[s.u[ctx.corridor]]]),
        np.column_stack([s.x[s.v[ctx.corridor]], s.y[s.v[ctx.corridor]]]),
        np.array([[p.x, p.y] for p in ctx.wp.posts.posts]).reshape(-1, 2),
    ]
    pts = np.vstack(xy)
    if len(pts) == 0:
        pts = ctx.place_xy if len(ctx.place_xy) else np.column_stack([s.x, s.y])
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    pad = 0.04 * max(x1 - x0, y1 - y0, 500.0)
    return float(x0 - pad), float(y0 - pad), float(x1 + pad), float(y1 + pad)


def _overview_layout(view: View, paper: str) -> tuple[float, float, Rect, Rect, bool]:
    """Page size, map and text rectangles (inches), and whether the text is beside the map:
    of portrait with text under the map, landscape with text beside it and landscape with text
    under it, the one showing ``view`` at the largest scale."""
    pw, ph = PAPER_SIZES[paper]
    t, b, m = _TOP, _BOTTOM, _MARGIN
    layouts = [
        (pw, ph, (m, b + 2.2, pw - 2 * m, ph - t - b - 2.2), (m, b, pw - 2 * m, 2.05), False),
        (ph, pw, (m, b, ph - 2 * m - 3.1, pw - t - b), (ph - m - 2.9, b, 2.9, pw - t - b), True),
        (ph, pw, (m, b + 2.1, ph - 2 * m, pw - t - b - 2.1), (m, b, ph - 2 * m, 1.95), False),
    ]
    w, h = view[2] - view[0], view[3] - view[1]
    return min(layouts, key=lambda lay: max(w / lay[2][2], h / lay[2][3]))


# --------------------------------------------------------------------------------------
# figure plumbing


def _figure(w_in: float, h_in: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(w_in, h_in), dpi=100)


def _frac(rect: Rect, w_in: float, h_in: float) -> Rect:
    """A rectangle (left, bottom, width, height) in inches as figure fractions."""
    return (rect[0] / w_in, rect[1] / h_in, rect[2] / w_in, rect[3] / h_in)


def _text_axes(fig: Any, rect: Rect, w_in: float, h_in: float) -> Any:
    """An invisible axes over ``rect`` whose data units are inches from its lower-left corner."""
    ax = fig.add_axes(_frac(rect, w_in, h_in))
    ax.set_xlim(0, rect[2])
    ax.set_ylim(0, rect[3])
    ax.set_axis_off()
    return ax


def _map_axes(fig: Any, rect: Rect, view: Sequence[float], w_in: float, h_in: float) -> tuple[Any, View]:
    """A map axes filling ``rect`` (inches), ``view`` grown to the same aspect at 1:1."""
    x0, y0, x1, y1 = view
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    per_in = max((x1 - x0) / rect[2], (y1 - y0) / rect[3])
    hw, hh = per_in * rect[2] / 2, per_in * rect[3] / 2
    ax = fig.add_axes(_frac(rect, w_in, h_in))
    ax.set_xlim(cx - hw, cx + hw)
    ax.set_ylim(cy - hh, cy + hh)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    return ax, (cx - hw, cy - hh, cx + hw, cy + hh)


def _save(fig: Any, target: Path) -> Path:
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="pdf", metadata=_PDF_META)
    return target


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)) or "post"


@functools.lru_cache(maxsize=4096)
def _text_width_pt(text: str, size: float) -> float:
    """Width of ``text`` set in the default font at ``size`` points."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    if not text.strip():
        return 0.0
    width, _, _ = text_to_path.get_text_width_height_descent(text, FontProperties(size=size), ismath=False)
    return float(width)


def _fit(text: str, width_in: float, fontsize: float) -> str:
    """``text`` cut with an ellipsis so that it fits ``width_in``."""
    if _text_width_pt(text, fontsize) <= width_in * 72:
        return text
    while len(text) > 1 and _text_width_pt(text + "…", fontsize) > width_in * 72:
        text = text[: int(len(text) * 0.95)].rstrip()
    return text + "…"


def _wrap(text: str, width_in: float, fontsize: float) -> list[str]:
    """Lines of ``text`` that fit ``width_in``."""
    lines: list[str] = []
    for word in text.split():
        if lines and _text_width_pt(f"{lines[-1]} {word}", fontsize) <= width_in * 72:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(_fit(word, width_in, fontsize))
    return lines or [""]


def _header(fig: Any, ctx: _Window, title: str, *, what: str, w_in: float, h_in: float) -> None:
    sc, wp, width = ctx.plan.scenario, ctx.wp, w_in - 2 * _MARGIN
    x = _MARGIN / w_in
    fig.text(x, 1 - 0.45 / h_in, _fit(title, width, 15), fontsize=15, weight="bold", va="baseline")
    sub = f"{window_text(wp.window)} · {wp.posts.officers} officers on duty · {what}"
    fig.text(x, 1 - 0.68 / h_in, _fit(sub, width, 10), fontsize=10, va="baseline")
    period = data_period(ctx.plan).lstrip(", ")
    line = f"Plan “{sc.name}” · " + (f"incident data {period}" if period else "no incident data")
    fig.text(x, 1 - 0.88 / h_in, _fit(line, width, 8), fontsize=8, color="#333333", va="baseline")


def _footer(fig: Any, plan: Any, w_in: float, h_in: float) -> None:
    text = "\n".join(_wrap(attribution(plan), w_in - 2 * _MARGIN, 7)[:3])
    fig.text(_MARGIN / w_in, 0.3 / h_in, text, fontsize=7, color="#333333", va="bottom", linespacing=1.3)


# --------------------------------------------------------------------------------------
# map layers (network CRS: 1 data unit = 1 m)


def _in_view(streets: Any, edges: npt.ArrayLike | None, view: Sequence[float]) -> npt.NDArray[np.int64]:
    idx = np.arange(streets.n_edges) if edges is None else np.unique(np.asarray(edges, dtype=np.int64))
    hit = shapely.intersects(streets.geometry[idx], _box(view))
    return np.asarray(idx[hit], dtype=np.int64)


def _lines(ax: Any, streets: Any, edges: Any, view: Sequence[float], tol_m: float, **style: Any) -> None:
    """Draw the edges (all when None) touching ``view`` as one compound path: one PDF path, not many.

    ``style``: PathPatch keywords (edgecolor, lw, zorder, capstyle, linestyle).
    """
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    idx = _in_view(streets, edges, view)
    if idx.size == 0:
        return
    xy, part = shapely.get_coordinates(shapely.simplify(streets.geometry[idx], tol_m), return_index=True)
    codes = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
    codes[np.r_[True, part[1:] != part[:-1]]] = MplPath.MOVETO
    ax.add_artist(
        PathPatch(MplPath(xy, codes), fill=False, **{"joinstyle": "round", "capstyle": "round"} | style)
    )


def _draw_streets(ax: Any, ctx: _Window, view: Sequence[float], *, tol_m: float, scale: float) -> None:
    for c, (lw, colour) in enumerate(((0.35, "#b9b9b9"), (0.8, "#9a9a9a"), (1.6, "#7a7a7a"))):
        edges = np.flatnonzero(ctx.street_class == c)
        _lines(ax, ctx.plan.streets, edges, view, tol_m, edgecolor=colour, lw=lw * scale, zorder=1 + c / 10)


def _draw_corridors(ax: Any, ctx: _Window, view: Sequence[float], *, widths: Sequence[float]) -> None:
    for k, lw in enumerate(widths):
        edges = ctx.corridor[ctx.corridor_width == k]
        _lines(ax, ctx.plan.streets, edges, view, 2.0, edgecolor=CORRIDOR, lw=lw, zorder=5 + k / 10)


def _draw_posts(ax: Any, posts: Sequence[Any], *, size: float, font: float, alpha: float = 1.0) -> list[Any]:
    """Numbered black discs; returns their footprints, which labels keep clear of."""
    per_pt = _metres_per_point(ax)
    number = {"color": "white", "fontsize": font, "weight": "bold", "zorder": 10} | _CENTRE
    for p in posts:
        ax.plot([p.x], [p.y], marker="o", ms=size, mfc="black", mec="white", mew=1.6, zorder=9, alpha=alpha)
        ax.text(p.x, p.y, post_number(p.post_id), **number)
    return [shapely.Point(p.x, p.y).buffer(size * per_pt * 0.6) for p in posts]


def _draw_places(
    ax: Any,
    ctx: _Window,
    view: Sequence[float],
    *,
    size: float,
    avoid: list[Any],
    centre: Any = None,
    names: int = 0,
) -> list[tuple[str, float, str]]:
    """Destination symbols (parks also as hatched areas); name the ``names`` nearest to ``centre``.

    Returns (name, distance_m, direction) of the nearest destinations, one per name.
    """
    from matplotlib import patheffects
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    vbox = _box(view)
    area = {"facecolor": "none", "edgecolor": PARK, "hatch": "////", "lw": 0.6, "alpha": 0.6, "zorder": 0.8}
    for geom in ctx.place_geoms[shapely.intersects(ctx.place_geoms, vbox)]:
        for poly in getattr(geom, "geoms", [geom]):
            if poly.geom_type == "Polygon" and not poly.is_empty:
                rings = [np.asarray(poly.exterior.coords), *(np.asarray(i.coords) for i in poly.interiors)]
                ax.add_artist(PathPatch(MplPath.make_compound_path(*map(MplPath, rings)), **area))
    xy = ctx.place_xy
    inside = shapely.contains_xy(vbox, xy[:, 0], xy[:, 1])
    per_pt = _metres_per_point(ax)
    markers: list[Any] = [shapely.Point(x, y).buffer(size * per_pt * 0.6) for x, y in xy[inside]]
    for key, (shape, colour, _) in KIND_SYMBOLS.items():
        sel = inside & (ctx.place_kind == key)
        style = {"ls": "none", "marker": MARKER[shape], "ms": size, "mfc": colour, "mec": "black", "mew": 0.7}
        if sel.any():
            ax.plot(xy[sel, 0], xy[sel, 1], zorder=8, **style)
    out: list[tuple[str, float, str]] = []
    d = np.hypot(xy[:, 0] - centre[0], xy[:, 1] - centre[1]) if centre else np.zeros(len(xy))
    halo = {"path_effects": [patheffects.withStroke(linewidth=2.5, foreground="white")], "zorder": 11}
    for i in np.argsort(d, kind="stable").tolist() if centre else []:
        name = str(ctx.places["name"].iloc[i]) or str(ctx.places["place_id"].iloc[i])
        if not inside[i] or len(out) >= names or any(name == n for n, _, _ in out):
            continue
        x, y = xy[i]
        out.append((name, float(d[i]), _direction(x - centre[0], y - centre[1])))
        label = _fit(abbreviate(name), 2.0, 7.5)
        w, h = _text_width_pt(label, 7.5) * per_pt, 7.5 * 1.3 * per_pt
        for dx in (6 * per_pt, -6 * per_pt - w):
            box = shapely.box(x + dx, y - h / 2, x + dx + w, y + h / 2)
            if shapely.within(box, vbox) and not any(box.intersects(a) for a in avoid):
                ax.text(x + dx, y, label, fontsize=7.5, style="italic", va="center", **halo)
                avoid.append(box)
                break
    avoid.extend(markers)
    return out


def _label_streets(
    ax: Any, streets: Any, among: Any, view: Sequence[float], *, size: float, most: int, avoid: list[Any]
) -> None:
    """Name the longest named streets (of ``among``; all when None) along their line, at most ``most``,
    skipping labels that would collide with ``avoid`` or each other."""
    from matplotlib import patheffects

    per_pt = _metres_per_point(ax)
    x0, y0, x1, y1 = view
    inner = shapely.box(x0 + 12 * per_pt, y0 + 12 * per_pt, x1 - 12 * per_pt, y1 - 12 * per_pt)
    named = np.flatnonzero(streets.name != "")
    if among is not None:
        named = np.intersect1d(named, np.asarray(among, dtype=np.int64))
    groups: dict[str, list[Any]] = {}
    for e in _in_view(streets, named, view).tolist():
        groups.setdefault(str(streets.name[e]).split("; ")[0], []).append(streets.geometry[e])
    candidates = []
    for name, geoms in groups.items():
        merged = shapely.line_merge(shapely.intersection(shapely.union_all(geoms), inner))
        parts = [g for g in getattr(merged, "geoms", [merged]) if g.geom_type == "LineString"]
        if parts:
            best = max(parts, key=lambda g: (g.length, g.wkb))
            candidates.append((-round(best.length, 3), name, best))
    style = {
        "fontsize": size,
        "rotation_mode": "anchor",
        "ha": "center",
        "va": "center",
        "color": "#111111",
        "zorder": 7,
        "path_effects": [patheffects.withStroke(linewidth=2.4, foreground="white")],
    }
    placed = 0
    for _, name, line in sorted(candidates, key=lambda c: (c[0], c[1])):
        text = abbreviate(name)
        w, h = _text_width_pt(text, size) * per_pt, size * 1.2 * per_pt
        if line.length < 1.15 * w or placed >= most:
            continue
        for frac in (0.5, 0.3, 0.7, 0.15, 0.85):
            mid = min(max(line.length * frac, w / 2), line.length - w / 2)
            a, b, c = (line.interpolate(t) for t in (mid - w / 2, mid + w / 2, mid))
            if c.distance(shapely.LineString([a, b])) > h / 2:  # too curved here to read along a line
                continue
            angle = math.degrees(math.atan2(b.y - a.y, b.x - a.x))
            angle = angle - 180 if angle > 90 else angle + 180 if angle <= -90 else angle
            box = shapely.box(c.x - w / 2, c.y - h / 2, c.x + w / 2, c.y + h / 2)
            box = shapely.affinity.rotate(box, angle, origin=(c.x, c.y))
            if not any(box.intersects(o) for o in avoid):
                ax.text(c.x, c.y, text, rotation=angle, **style)
                avoid.append(box.buffer(2 * per_pt))
                placed += 1
                break


def _box(view: Sequence[float]) -> shapely.Polygon:
    x0, y0, x1, y1 = (float(v) for v in view)
    return shapely.box(x0, y0, x1, y1)


def _metres_per_point(ax: Any) -> float:
    """Map metres per typographic point, from the axes' width on the page."""
    x0, x1 = ax.get_xlim()
    width_in = ax.get_position().width * ax.get_figure().get_figwidth()
    return float((x1 - x0) / (width_in * 72))


def _direction(dx: float, dy: float) -> str:
    """Compass direction of a vector (grid north, within a degree of true north in UTM)."""
    names = ("E", "NE", "N", "NW", "W", "SW", "S", "SE")
    return names[round(math.degrees(math.atan2(dy, dx)) / 45) % 8]


def _map_furniture(ax: Any, streets: Any, view: Sequence[float]) -> None:
    """Scale bars in metres and feet (lower left) and a north arrow turned to true north (upper right)."""
    from matplotlib.patches import FancyArrow, Rectangle

    x0, y0, x1, y1 = view
    pt = _metres_per_point(ax)
    target = (x1 - x0) / 5
    nice_m = max((v for v in (25, 50, 100, 200, 250, 500, 1000, 2000, 5000) if v <= target), default=25)
    feet = (50, 100, 200, 250, 500, 1000, 2000, 5000, 10000)
    nice_ft = max((v for v in feet if v * FOOT_M <= target), default=50)
    bars = ((nice_m, f"{nice_m:,} m"), (nice_ft * FOOT_M, f"{nice_ft:,} ft"))
    label_w = max(_text_width_pt(u, 7) for _, u in bars) * pt
    bx, by = x0 + 14 * pt, y0 + 10 * pt
    panel: dict[str, Any] = {"facecolor": "white", "edgecolor": "#555555", "lw": 0.5, "zorder": 20}
    width = max(bars[0][0], bars[1][0]) + label_w + 22 * pt
    ax.add_patch(Rectangle((x0 + 5 * pt, y0 + 5 * pt), width, 31 * pt, **panel))
    text = {"fontsize": 7, "va": "center", "zorder": 21}
    for row, (length, unit) in enumerate(bars):
        yy = by + (1 - row) * 13 * pt
        for k in range(4):
            fill = "black" if k % 2 == 0 else "white"
            cell = Rectangle(
                (bx + k * length / 4, yy), length / 4, 4 * pt, lw=0.6, ec="black", fc=fill, zorder=21
            )
            ax.add_patch(cell)
        ax.text(bx - 3 * pt, yy + 2 * pt, "0", ha="right", **text)
        ax.text(bx + length + 3 * pt, yy + 2 * pt, unit, ha="left", **text)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2  # true north: where latitude grows, at the map centre
    lon, lat = streets.to_lonlat([cx], [cy])
    nx_, ny_ = streets.from_lonlat([lon[0], lon[0]], [lat[0], lat[0] + 0.01])
    theta = math.atan2(nx_[1] - nx_[0], ny_[1] - ny_[0])
    ox, oy, length = x1 - 20 * pt, y1 - 40 * pt, 22 * pt
    dx, dy = length * math.sin(theta), length * math.cos(theta)
    ax.add_patch(Rectangle((x1 - 34 * pt, y1 - 46 * pt), 28 * pt, 41 * pt, **panel))
    head: dict[str, Any] = {
        "width": 3.5 * pt,
        "head_width": 10 * pt,
        "head_length": 10 * pt,
        "length_includes_head": True,
    }
    ax.add_patch(FancyArrow(ox, oy, dx, dy, color="black", zorder=21, **head))
    ax.text(
        ox + dx * 1.05, oy + dy * 1.05, "N", fontsize=10, weight="bold", ha="center", va="bottom", zorder=21
    )


# --------------------------------------------------------------------------------------
# legend and tables (text axes whose units are inches)


def _legend(ax: Any, ctx: _Window, x: float, top: float, *, post: bool) -> float:
    """Draw the legend from ``(x, top)`` downwards; return the y under it."""
    from matplotlib import patheffects
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    def line(label: str, **style: Any) -> tuple[Any, str]:
        base: dict[str, Any] = {"solid_capstyle": "butt"}
        return Line2D([], [], **base | style), label

    def mark(label: str, **style: Any) -> tuple[Any, str]:
        base: dict[str, Any] = {"ls": "none", "mec": "black", "mew": 0.7, "ms": 7}
        return Line2D([], [], **base | style), label

    k = int(ctx.plan.scenario.risk.min_support)
    lo, hi = traffic_breaks(ctx.plan)
    items = [
        line(f"Corridor: under {lo:,.0f} walkers", color=CORRIDOR, lw=1.3),
        line(f"Corridor: {lo:,.0f}–{hi:,.0f} walkers", color=CORRIDOR, lw=2.5),
        line(f"Corridor: {hi:,.0f} walkers or more", color=CORRIDOR, lw=3.8),
        line("Main walking route", color=ROUTE, lw=1.4, linestyle=(0, (3, 2))),
    ]
    if post:
        casing = [patheffects.Stroke(linewidth=8, foreground="black"), patheffects.Normal()]
        items.append(line("Block in sight of this post", color="white", lw=5, path_effects=casing))
    items.append(line(f"High risk (≥ {RISK_BREAKS[-2]:.1f}; {k}+ incidents)", color=RISK_BAND, lw=6))
    present = set(ctx.place_kind.tolist())
    items += [mark(label, marker=MARKER[shape], mfc=colour)
              for key, (shape, colour, label) in KIND_SYMBOLS.items() if key in present]  # fmt: skip
    if "park" in present:
        items.append((Patch(facecolor="none", edgecolor=PARK, hatch="////", lw=0.6), "Park area"))
    items.append(mark("Officer post (number)", marker="o", ms=10, mfc="black", mec="white", mew=1.2))
    handles, labels = zip(*items, strict=True)
    where = {"loc": "upper left", "bbox_to_anchor": (x, top), "bbox_transform": ax.transData}
    look = {"frameon": False, "alignment": "left", "handlelength": 2.6, "borderaxespad": 0, "borderpad": 0}
    ax.legend(
        handles, labels, **where, **look, fontsize=7.5, title="Legend", title_fontsize=9, labelspacing=0.42
    )
    return top - (len(items) * 1.42 + 2.0) * 7.5 / 72


def _table(
    ax: Any,
    x: float,
    top: float,
    *,
    widths: Sequence[float],
    rows: Sequence[Sequence[str]],
    size: float = 8,
    max_lines: int = 60,
) -> float:
    """A text table (first row: header) with wrapped cells, from ``(x, top)`` down, in inches;
    returns the y under it."""
    line_h = size * 1.3 / 72
    y, used = top, 0
    for i, row in enumerate(rows):
        cells = [_wrap(str(c), w - 0.08, size) for c, w in zip(row, widths, strict=True)]
        n = max(len(c) for c in cells)
        if used + n + 1 > max_lines and i < len(rows) - 1:
            ax.text(x, y - 0.04, f"… and {len(rows) - i} more rows", fontsize=size, style="italic", va="top")
            return y - line_h - 0.04
        for c, left in zip(cells, np.cumsum([0, *widths[:-1]]), strict=True):
            weight = "bold" if i == 0 else "normal"
            ax.text(
                x + left, y - 0.04, "\n".join(c), fontsize=size, va="top", linespacing=1.15, weight=weight
            )
        y -= n * line_h + 0.08
        used += n
        ax.plot([x, x + sum(widths)], [y + 0.02] * 2, color="black" if i == 0 else "#aaaaaa", lw=0.5)
    return y


def _posts_table(ax: Any, wp: Any, x: float, top: float, width: float, *, max_lines: int) -> float:
    ax.text(x, top, "Posts", fontsize=9, weight="bold", va="top")
    rows = [["#", "Location", "Times", "Officers"]]
    for p in wp.posts.posts:
        sched = post_schedule_rows(wp.schedule, p.post_id) or [("not staffed", "0", "")]
        for i, (times, n, _) in enumerate(sched):
            spans = times.split(", ")
            when = times if len(spans) == 1 else f"{len(spans)} visits {spans[0][:5]}–{spans[-1][-5:]}"
            where = [post_number(p.post_id), abbreviate(str(p.name))] if i == 0 else ["", ""]
            rows.append([*where, when, n])
    widths = (0.3, width - 0.3 - 1.7 - 0.65, 1.7, 0.65)
    return _table(ax, x, top - 0.2, widths=widths, rows=rows, size=7.5, max_lines=max_lines - 2)


def _post_facts(ax: Any, wp: Any, post: Any, near: list[tuple[str, float, str]], width: float) -> None:
    """The post's schedule table and what it watches, from the top of ``ax`` (2.25 in high)."""
    top = 2.25
    ax.text(0, top, "Schedule", fontsize=10, weight="bold", va="top")
    rows = [list(r) for r in post_schedule_rows(wp.schedule, post.post_id)] or [["—", "0", "not staffed"]]
    rows.insert(0, ["Times", "Officers", "Notes"])
    y = _table(ax, 0, top - 0.22, widths=(2.15, 0.7, width - 2.85), rows=rows, max_lines=7)
    radius = float(getattr(wp.posts, "radius_m", 150.0))
    facts = [
        f"In sight: {post.corridor_m:,.0f} m of corridor ({post.corridor_m / FOOT_M:,.0f} ft) within "
        f"{radius:,.0f} m; {100 * post.share:.0f} % of the window's risk-weighted foot traffic."
    ]
    if getattr(post, "pinned", False):
        facts.append("Pinned post: kept by the scenario.")
    if near:
        facts.append(
            "Nearest (straight line): "
            + "; ".join(f"{abbreviate(n)} {d:,.0f} m {c}" for n, d, c in near[:4])
            + "."
        )
    lines = [line for f in facts for line in _wrap(f, width, 8)]
    room = max(int((y - 0.05) / (8 * 1.3 / 72)), 1)
    ax.text(0, y - 0.06, "\n".join(lines[:room]), fontsize=8, va="top", linespacing=1.3)
