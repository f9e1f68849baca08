"""The interactive map: one self-contained HTML file per plan (folium / Leaflet).

This is the only module that speaks (lat, lon) order and HTML. What the map shows and says (risk
and width classes, symbols, words, what privacy allows) comes from :mod:`passages.mapstyle`, as
on the print pages. Folium builds the page skeleton (map, scale bar, layer control, optional
tiles); the plan's data is embedded **once** as a JSON block and drawn by a small script, which
works around folium's known gaps:

* **Size.** Every street is simplified (~2 m, in the metric CRS), reprojected and rounded to
  5 decimals (~1 m) and stored once; risk classes, corridors, routes and post coverage refer to
  streets by index (delta-encoded), so three windows cost little more than one. Lines are drawn
  on a canvas, not as thousands of SVG elements or markers.
* **Offline.** Without tiles the street network itself is the basemap. Leaflet 1.9.4 ships with
  passages (``passages/static/leaflet``, BSD-2, images inlined) and is inlined into the page, so
  the map works with no connection; ``$PASSAGES_LEAFLET_DIR`` may name another copy. Were none
  found, the page would link the CDN and show a visible notice when the library cannot load.
* **Time windows.** The layer control's radio buttons pick the window; the check boxes pick the
  layer types (risk, routes, corridors, destinations, posts), which then show that window only.
* **Legend, title, attribution.** Custom controls; Leaflet's metric/imperial scale bar.
* **Safety.** All text from data is HTML-escaped once, where it is put into HTML; the JSON block
  escapes ``</`` so that it cannot close its script. Incident points are drawn only when the
  scenario sets ``incidents.show_points`` (off by default) and never for sensitive categories.
* **Determinism.** Folium gives every element a random id; they come from a counter while the
  map is built and rendered, so the same plan gives a byte-identical file.

The page's own script and style sheet are ``passages/static/webmap.js`` and ``webmap.css``, inlined
as they are; the script's ``__MAP__``, ``__CONTROL__``, ``__BASES__`` and ``__GROUPS__`` are replaced
by the names folium gives the map, the layer control and the layer groups.
"""

from __future__ import annotations

import base64
import functools
import html
import itertools
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from branca.element import Element, MacroElement

from passages._io import write_text
from passages.mapstyle import (
    KIND_SYMBOLS,
    RISK_BREAKS,
    RISK_COLOURS,
    MapGeometry,
    corridor_width_labels,
    focus_extent,
    incident_points,
    incident_source,
    kind_key,
    main_route_edges,
    places_of,
    post_facts,
    post_number,
    post_schedule_rows,
    risk_classes,
    shows_incident_points,
    traffic_breaks,
    traffic_class,
    window_text,
)

__all__ = ["build_webmap", "write_webmap"]

logger = logging.getLogger(__name__)

#: geometry simplification tolerance before reprojecting, metres
SIMPLIFY_M = 2.0
#: decimals kept on longitude / latitude (5 ≈ 1 m)
DECIMALS = 5
#: corridor line widths in pixels by foot-traffic class (quiet, busy, busiest)
CORRIDOR_WIDTHS = (2, 4, 7)
CORRIDOR_COLOUR = "#253494"
ROUTE_COLOUR = "#4a7bd0"
#: folders searched for leaflet.js / leaflet.css (after $PASSAGES_LEAFLET_DIR)
LEAFLET_ENV = "PASSAGES_LEAFLET_DIR"
LEAFLET_DIRS = (Path(__file__).parent / "static" / "leaflet",)
LEAFLET_CDN = (
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css",
)
_ID_LOCK = threading.RLock()
_ID_STATE: dict[str, Any] = {"depth": 0}


# --------------------------------------------------------------------------------------
# text into HTML


def esc(value: object) -> str:
    """HTML-escape any value's text (quotes too)."""
    return html.escape(str(value), quote=True)


def _label(value: object) -> str:
    """Escape text that passes through folium's templates: HTML, and Jinja's ``{{`` (branca
    renders some macro output as a template a second time)."""
    return esc(value).replace("{", "&#123;").replace("}", "&#125;")


# --------------------------------------------------------------------------------------
# public API


def write_webmap(plan: Any, path: str | os.PathLike[str], *, tiles: bool | None = None) -> Path:
    """Write the plan's interactive map as one HTML file (atomically).

    Parameters
    ----------
    plan
        A :class:`passages.plan.Plan`.
    path
        The HTML file to write.
    tiles
        Draw OpenStreetMap tiles (needs the internet when viewed); default
        ``plan.scenario.maps.tiles``. Without tiles the streets are the basemap.

    Returns
    -------
    Path
        ``path``. The same plan always gives the same bytes.
    """
    with _stable_ids():
        page = build_webmap(plan, tiles=tiles).get_root().render()
    out = write_text(path, page)
    logger.info("wrote web map %s (%.2f MB)", out, len(page.encode()) / 1e6)
    return out


def build_webmap(plan: Any, *, tiles: bool | None = None) -> Any:
    """Build the plan's folium map (see the module docstring for what it shows).

    Parameters
    ----------
    plan
        A :class:`passages.plan.Plan`.
    tiles
        Draw OpenStreetMap tiles; default ``plan.scenario.maps.tiles``.

    Returns
    -------
    folium.Map
        Element ids are stable, so ``m.get_root().render()`` is the same for the same plan.
    """
    import folium

    use_tiles = bool(plan.scenario.maps.tiles if tiles is None else tiles)
    with _stable_ids():
        west, south, east, north = plan.streets.bounds_lonlat()
        m = folium.Map(
            location=[(south + north) / 2, (west + east) / 2],
            tiles=None,
            control_scale=True,
            prefer_canvas=True,
            zoom_start=14,
            maxZoom=19,
            minZoom=10,
            zoomSnap=0.25,
        )
        page: Any = m.get_root()
        js, css = _leaflet_assets()
        if js is not None and css is not None:
            m.default_js, m.default_css = [], []
            page.header.add_child(_Raw(f"<style>{css}</style>\n<script>{js}</script>"), name="leaflet")
        else:
            m.default_js, m.default_css = [("leaflet", LEAFLET_CDN[0])], [("leaflet_css", LEAFLET_CDN[1])]
        page.header.add_child(_Raw(f"<style>\n{_static('webmap.css')}</style>"), name="passages_css")
        page.html.add_child(_Raw(_OFFLINE_NOTICE), name="passages_offline")
        page.html.add_child(_Raw(_data_block(plan)), name="passages_data")
        m.fit_bounds(_focus_bounds(plan) or [[south, west], [north, east]])

        bases = [
            folium.FeatureGroup(name=_label(wp.window.label or wp.window.name), overlay=False, show=i == 0)
            for i, wp in enumerate(plan.windows)
        ]
        for g in bases:
            g.add_to(m)
        if use_tiles:
            folium.TileLayer("OpenStreetMap", name="OpenStreetMap tiles (online)", overlay=True).add_to(m)
        k = int(plan.scenario.risk.min_support)
        names = {
            "base": "Streets (offline basemap)",
            "risk": f"Street risk (where ≥ {k} incidents)",
            "routes": "Recommended routes",
            "corridors": "Corridors (width = foot traffic)",
            "places": "Destinations",
            "posts": "Officer posts",
            "incidents": "Incident points",
        }
        groups = {
            key: folium.FeatureGroup(
                name=_label(label),
                show=key not in ("routes", "incidents") and not (key == "base" and use_tiles),
            )
            for key, label in names.items()
            if key != "incidents" or shows_incident_points(plan)
        }
        for g in groups.values():
            g.add_to(m)
        control = folium.LayerControl(collapsed=False, position="topright")
        control.add_to(m)

        script = "\n" + _static("webmap.js")  # on a line of its own after folium's script
        for key, value in {
            "__MAP__": m.get_name(),
            "__CONTROL__": control.get_name(),
            "__BASES__": ", ".join(b.get_name() for b in bases),
            "__GROUPS__": ", ".join(f"{key}: {g.get_name()}" for key, g in groups.items()),
        }.items():
            script = script.replace(key, value)
        m.add_child(_Script(script), name="passages_script")
        page.html.add_child(_Raw(_controls_html(plan)), name="passages_controls")
    return m


# --------------------------------------------------------------------------------------
# data embedded in the page


def _data_block(plan: Any) -> str:
    text = json.dumps(_map_data(plan), separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    text = text.replace("</", "<\\/").replace("<!--", "\\u003c!--")
    return f'<script type="application/json" id="passages-data">{text}</script>'


def _map_data(plan: Any) -> dict[str, Any]:
    """Everything the page draws, as JSON-ready values; text already HTML-escaped."""
    streets = plan.streets
    geo = MapGeometry(streets)
    breaks = traffic_breaks(plan)
    areas: list[Any] = []
    windows = []
    for wp in plan.windows:
        cls = risk_classes(plan, wp)  # -1 where too few incidents: not drawn
        risk = [_ids(np.flatnonzero(cls == c)) for c in range(len(RISK_COLOURS))]
        traffic = np.asarray(wp.corridors.traffic, dtype=float)
        corridors = []
        for c in wp.corridors.corridors:
            e = np.asarray(c.edges, dtype=np.int64)
            width = traffic_class(traffic[e], breaks)
            corridors.append(
                {
                    "e": [_ids(e[width == w]) for w in range(len(CORRIDOR_WIDTHS))],
                    "p": _corridor_popup(c, traffic[e]),
                }
            )
        results = {str(d.place_id): d for d in wp.corridors.destinations}
        mains = main_route_edges(wp)
        routes = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *mains.values()]))
        places = []
        table = places_of(plan, wp)
        metric, xy = geo.places(table, SIMPLIFY_M)
        for row, shape, at in zip(table.itertuples(index=False), metric, xy, strict=True):
            res = results.get(str(row.place_id))
            ll, area = _place_geometry(streets, shape, at, areas)
            places.append(
                {
                    "k": kind_key(row.kind),
                    "ll": ll,
                    "a": area,
                    "p": _place_popup(row, res),
                    "r": _ids(mains[str(row.place_id)]) if res is not None else [],
                }
            )
        posts = []
        for p in wp.posts.posts:
            lat, lon = _round(p.lat), _round(p.lon)
            posts.append(
                {
                    "n": esc(post_number(p.post_id)),
                    "ll": [lat, lon],
                    "p": _post_popup(p, wp.schedule, float(getattr(wp.posts, "radius_m", 150.0))),
                    "c": _ids(p.covered_edges),
                }
            )
        windows.append(
            {
                "label": esc(wp.window.label or wp.window.name),
                "when": esc(f"{window_text(wp.window)} · {wp.posts.officers} officers"),
                "risk": risk,
                "routes": _ids(routes),
                "corridors": corridors,
                "places": places,
                "posts": posts,
            }
        )
    data: dict[str, Any] = {
        "edges": _edge_lines(geo),
        "areas": areas,
        "windows": windows,
        "style": {
            "risk": list(RISK_COLOURS),
            "widths": list(CORRIDOR_WIDTHS),
            "corridor": CORRIDOR_COLOUR,
            "route": ROUTE_COLOUR,
            "kinds": {
                key: [shape, colour, _symbol_svg(shape, colour)]
                for key, (shape, colour, _) in KIND_SYMBOLS.items()
            },
        },
        "attribution": esc(f"© OpenStreetMap contributors; incidents: {incident_source(plan, short=True)}"),
    }
    if shows_incident_points(plan):
        x, y = incident_points(plan)
        data["incidents"] = np.column_stack([np.round(y, DECIMALS), np.round(x, DECIMALS)]).tolist()
    return data


def _focus_bounds(plan: Any, *, pad_m: float = 300.0) -> list[list[float]] | None:
    """[[south, west], [north, east]] around every window's corridors and posts, or None."""
    extent = focus_extent(plan.streets, plan.windows)
    if extent is None:
        return None
    x0, y0, x1, y1 = extent
    lon, lat = plan.streets.to_lonlat(
        [x0 - pad_m, x1 + pad_m, x0 - pad_m, x1 + pad_m], [y0 - pad_m, y0 - pad_m, y1 + pad_m, y1 + pad_m]
    )
    return [[_round(lat.min()), _round(lon.min())], [_round(lat.max()), _round(lon.max())]]


def _ids(edges: npt.ArrayLike) -> list[int]:
    """Sorted, unique edge indices, delta-encoded (the page decodes with a running sum)."""
    e = np.unique(np.asarray(edges, dtype=np.int64))
    return np.diff(e, prepend=0).tolist() if e.size else []


def _round(value: float) -> float:
    return round(float(value), DECIMALS)


def _latlon(xy: npt.NDArray[np.float64], streets: Any) -> list[list[float]]:
    """Metric (x, y) rows → rounded [lat, lon] pairs, repeated points dropped."""
    lon, lat = streets.to_lonlat(xy[:, 0], xy[:, 1])
    ll = np.column_stack([np.round(lat, DECIMALS), np.round(lon, DECIMALS)])
    keep = np.ones(len(ll), dtype=bool)
    keep[1:] = np.any(ll[1:] != ll[:-1], axis=1)
    out: list[list[float]] = ll[keep].tolist()
    return out


def _edge_lines(geo: MapGeometry) -> list[list[list[float]]]:
    """Every street as a simplified [[lat, lon], ...] line, indexed like the edges."""
    geoms = geo.simplified(np.arange(len(geo.bounds)), SIMPLIFY_M)
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    lon, lat = geo.streets.to_lonlat(xy[:, 0], xy[:, 1])
    pairs = np.column_stack([np.round(lat, DECIMALS), np.round(lon, DECIMALS)]).tolist()
    bounds = np.searchsorted(idx, np.arange(len(geoms) + 1))
    return [pairs[a:b] for a, b in itertools.pairwise(bounds.tolist())]


def _place_geometry(
    streets: Any, metric: Any, xy: npt.NDArray[np.float64], areas: list[Any]
) -> tuple[list[float], int]:
    """A place's marker position and, for polygons, the index of its outline in ``areas``."""
    if metric is None or shapely.is_empty(metric) or not np.isfinite(xy).all():
        return [0.0, 0.0], -1
    lon, lat = streets.to_lonlat([xy[0]], [xy[1]])
    ll = [_round(lat[0]), _round(lon[0])]
    rings = [
        [_latlon(shapely.get_coordinates(r), streets) for r in (p.exterior, *p.interiors)]
        for p in shapely.get_parts(metric)
        if p.geom_type == "Polygon" and not p.is_empty
    ]
    if not rings:
        return ll, -1
    areas.append(rings)
    return ll, len(areas) - 1


# --------------------------------------------------------------------------------------
# popups (every piece of data text passes esc() here)


def _table(title: str, rows: Sequence[tuple[str, str]], extra: str = "") -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<div class="pp-pop"><b>{esc(title)}</b><table>{body}</table>{extra}</div>'


def _pct(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{100 * x:+.0f} %"


def _corridor_popup(c: Any, traffic: npt.NDArray[np.float64]) -> str:
    streets = ", ".join(c.streets[:4]) if c.streets else "unnamed paths"
    rows = [
        ("Streets", streets),
        ("Length", f"{c.length_m / 1000:.2f} km"),
        ("Walkers (busiest block)", f"{traffic.max() if traffic.size else 0:,.0f}"),
        ("Mean risk", f"{c.risk_mean:.2f}"),
    ]
    return _table(f"Corridor {c.corridor_id}", rows)


def _place_popup(row: Any, res: Any) -> str:
    kind = str(row.kind) + (f" ({row.subkind})" if getattr(row, "subkind", "") else "")
    rows = [("Kind", kind)]
    if res is not None:
        if str(res.status) != "ok":
            rows.append(("Status", str(res.status)))
        rows += [
            ("Start points served", f"{res.origins_served:,}"),
            ("Detour, median / 90th pct", f"{_pct(res.median_detour)} / {_pct(res.p90_detour)}"),
            ("Risk exposure cut", f"{res.reduction_pct:.0f} %" if np.isfinite(res.reduction_pct) else "–"),
        ]
    hint = '<p class="pp-hint">Recommended routes are outlined while this is open.</p>' if res else ""
    return _table(str(row.name) or str(row.place_id), rows, hint)


def _post_popup(p: Any, schedule: Iterable[Any], radius_m: float) -> str:
    rows = [("Location", str(p.name)), *post_facts(p, radius_m=radius_m)]
    times = post_schedule_rows(schedule, p.post_id)
    sched = "".join(f"<tr><td>{esc(t)}</td><td>{esc(n)}</td><td>{esc(w)}</td></tr>" for t, n, w in times)
    extra = (
        f'<table class="pp-sched"><tr><th>Times</th><th>Officers</th><th></th></tr>{sched}</table>'
        if times
        else "<p>Not staffed in this window.</p>"
    )
    return _table(f"Post {p.post_id}", rows, extra)


def _controls_html(plan: Any) -> str:
    """Hidden templates for the title box and legend, moved into Leaflet controls by the script."""
    k = int(plan.scenario.risk.min_support)
    title = esc(plan.scenario.title or plan.scenario.name)
    risk_rows = "".join(
        f'<div><i class="pp-sw" style="background:{c}"></i>{lo:.1f}–{hi:.1f}</div>'
        for c, lo, hi in zip(RISK_COLOURS, (0, *RISK_BREAKS), (*RISK_BREAKS, 1.0), strict=True)
    )
    width_labels = corridor_width_labels(traffic_breaks(plan))
    widths = "".join(
        f'<div><i class="pp-line" style="height:{w}px;background:{CORRIDOR_COLOUR}"></i>{esc(t)}</div>'
        for w, t in zip(CORRIDOR_WIDTHS, width_labels, strict=True)
    )
    present = {kind_key(k) for wp in plan.windows for k in places_of(plan, wp)["kind"]}
    symbols = "".join(
        f'<div><span class="pp-sym">{_symbol_svg(shape, colour)}</span>{esc(label)}</div>'
        for key, (shape, colour, label) in KIND_SYMBOLS.items()
        if key in present
    )
    show = shows_incident_points(plan)
    incidents = '<div><i class="pp-dot"></i>Incident (not sensitive)</div>' if show else ""
    return f"""<div id="pp-title-src" class="pp-box pp-title" hidden><b>{title}</b>
<div id="pp-when"></div><div class="pp-small">Plan {esc(plan.scenario.name)} ·
Streets © OpenStreetMap contributors · Incidents: {esc(incident_source(plan))}</div></div>
<div id="pp-legend-src" class="pp-box pp-legend" hidden><details open><summary>Legend</summary>
<div class="pp-h">Street risk (0–1)</div>{risk_rows}
<div class="pp-small">Grey streets: fewer than {k} incidents nearby, not rated.</div>
<div class="pp-h">Corridors, by walkers</div>{widths}
<div><i class="pp-line pp-dash"></i>Main recommended routes</div>
<div class="pp-h">Places</div>{symbols}
<div><span class="pp-post">1</span>Officer post (number)</div>{incidents}
</details></div>"""


def _symbol_svg(shape: str, colour: str, size: int = 16) -> str:
    s, h = size, size / 2
    body = {
        "square": f'<rect x="2" y="2" width="{s - 4}" height="{s - 4}"/>',
        "triangle": f'<polygon points="{h},1 {s - 1},{s - 2} 1,{s - 2}"/>',
        "circle": f'<circle cx="{h}" cy="{h}" r="{h - 2}"/>',
        "diamond": f'<polygon points="{h},1 {s - 1},{h} {h},{s - 1} 1,{h}"/>',
    }[shape]
    return (
        f'<svg width="{s}" height="{s}" viewBox="0 0 {s} {s}" fill="{colour}" stroke="#fff" '
        f'stroke-width="1.5">{body}</svg>'
    )


# --------------------------------------------------------------------------------------
# page assets and folium plumbing


@functools.cache
def _static(name: str) -> str:
    """The text of ``passages/static/<name>`` (the page's own script and style sheet)."""
    return resources.files("passages").joinpath("static").joinpath(name).read_text(encoding="utf-8")


def _leaflet_assets() -> tuple[str | None, str | None]:
    """Leaflet's JS and CSS (images inlined) from a local copy, or (None, None)."""
    env = os.environ.get(LEAFLET_ENV)
    for folder in ((Path(env),) if env else ()) + LEAFLET_DIRS:
        js_file = next((folder / n for n in ("leaflet.min.js", "leaflet.js") if (folder / n).is_file()), None)
        css_file = folder / "leaflet.css"
        if js_file is None or not css_file.is_file():
            continue
        js = re.sub(r"//# sourceMappingURL=\S+", "", js_file.read_text(encoding="utf-8"))
        css = re.sub(r"/\*# sourceMappingURL=.*?\*/", "", css_file.read_text(encoding="utf-8"))

        def inline(match: re.Match[str], folder: Path = folder) -> str:
            img = folder / match[1]
            if not img.is_file():
                return match[0]
            return f"url(data:image/png;base64,{base64.b64encode(img.read_bytes()).decode()})"

        css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)
        logger.debug("inlining Leaflet from %s", folder)
        return js.replace("</script", "<\\/script"), css
    logger.info("no local Leaflet copy found; the web map links %s (needs the internet)", LEAFLET_CDN[0])
    return None, None


@contextmanager
def _stable_ids() -> Iterator[None]:
    """Give folium/branca elements counter-based ids instead of random ones.

    Re-entrant in one thread (nested uses share the counter); other threads wait.
    """
    with _ID_LOCK:
        if _ID_STATE["depth"] == 0:
            counter = itertools.count(1)
            _ID_STATE["original"] = Element.__dict__["_generate_id"]
            setattr(Element, "_generate_id", classmethod(lambda cls: f"{next(counter):06d}"))  # noqa: B010
        _ID_STATE["depth"] += 1
        try:
            yield
        finally:
            _ID_STATE["depth"] -= 1
            if _ID_STATE["depth"] == 0:
                setattr(Element, "_generate_id", _ID_STATE.pop("original"))  # noqa: B010


class _Raw(Element):
    """Verbatim text. Bypasses Jinja on purpose: branca renders macro output as a template a second
    time, so text holding ``{{`` (inlined Leaflet, a name from data) would be evaluated."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _Script(MacroElement):
    """Verbatim JavaScript added to the page's script after the elements added before it."""

    def __init__(self, text: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "PassagesScript"
        self._text = text

    def render(self, **kwargs: Any) -> str:
        root: Any = self.get_root()
        root.script.add_child(_Raw(self._text), name=self.get_name())
        return ""


_OFFLINE_NOTICE = """<div id="passages-offline" class="pp-offline">This map needs the Leaflet
library, which could not be loaded: this device seems to be offline. Open the map again with an
internet connection, or use the printed pages (PDF) of this plan.</div>
<noscript><div class="pp-offline">This map needs JavaScript. Use the printed pages (PDF) of this
plan instead.</div></noscript>"""
