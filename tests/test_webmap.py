"""The interactive map: layers per window, legend, escaping, privacy, determinism, size.

Also home of the plan builders shared with test_printmap and test_browser: a hand-made plan on a
4 × 4 street grid (every number checkable by hand) and the real Atlanta sample plan.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from passages import mapstyle, webmap
from passages.config import TimeWindow
from passages.network import streets_from_arrays
from passages.plan import Plan, WindowPlan

NS = SimpleNamespace
ROOT = Path(__file__).resolve().parents[1]
XSS = "<script>alert(1)</script>"
#: a name that is TeX math to matplotlib, markup to HTML and a template to Jinja: must stay text
TRICKY = "$x^2$ <b>{{ 7*7 }}</b>"
#: a non-sensitive incident drawn only with show_points, and a sensitive one never drawn
KNOWN_INCIDENT = (-84.38911, 33.75123)
SENSITIVE_INCIDENT = (-84.38733, 33.75244)


# --------------------------------------------------------------------------------------
# plan builders (shared)


def synthetic_plan(
    *,
    show_points: bool = False,
    place_name: str = XSS,
    label: str = "Morning <b>bell</b>",
    street_name: str = "1st Street",
) -> Any:
    """A plan on a 4 × 4 grid of 100 m blocks in central Atlanta (UTM 16N), two windows.

    Edges 0..11 run east-west (row r: 3r..3r+2), 12..23 north-south; the west column (edges 12, 16,
    20, named ``street_name``) is the corridor. Edge 1 ("Main Street", middle of the south row) has
    support 1, below min_support = 3, so it is never shaded.
    """
    x0, y0 = 741_500.0, 3_737_800.0
    xs = [x0 + 100 * (i % 4) for i in range(16)]
    ys = [y0 + 100 * (i // 4) for i in range(16)]
    edges = [(4 * r + c, 4 * r + c + 1) for r in range(4) for c in range(3)]
    edges += [(4 * r + c, 4 * (r + 1) + c) for r in range(3) for c in range(4)]
    rows = ["Main Street", "Oak Avenue", "Elm Street", "Pine Street"]
    names = [rows[r] for r in range(4) for _ in range(3)] + [
        street_name if c == 0 else f"{c + 1}st Street" for _ in range(3) for c in range(4)
    ]
    streets = streets_from_arrays(x=xs, y=ys, edges=edges, names=names, crs="EPSG:32616")
    lon, lat = streets.to_lonlat(streets.x, streets.y)

    def lonlat(node: int, dx: float = 0.0, dy: float = 0.0) -> shapely.Point:
        a, b = streets.to_lonlat([streets.x[node] + dx], [streets.y[node] + dy])
        return shapely.Point(float(a[0]), float(b[0]))

    park = shapely.Polygon(
        [lonlat(10, 10, 10), lonlat(11, -10, 10), lonlat(15, -10, -10), lonlat(14, 10, -10)]
    )
    dests = gpd.GeoDataFrame(
        {
            "place_id": ["s1", "p1", "t1"],
            "kind": ["school", "park", "transit"],
            "subkind": ["", "", "rail"],
            "name": [place_name, "Grid Park", "Five & Dime $1 $2 Station"],
            "node": [5, 10, 3],
            "snap_m": [5.0, 10.0, 3.0],
        },
        geometry=[lonlat(5, 5, 5), park, lonlat(3, 0, -8)],
        crs=4326,
    )
    incidents = gpd.GeoDataFrame(
        {
            "incident_id": ["a", "b"],
            "occurred_at": pd.to_datetime(["2021-03-01 07:30", "2021-04-02 18:00"]),
            "time_known": [True, True],
            "category": ["ROBBERY", "RAPE"],
            "severity": [5.0, 8.0],
            "sensitive": [False, True],
        },
        geometry=[shapely.Point(*KNOWN_INCIDENT), shapely.Point(*SENSITIVE_INCIDENT)],
        crs=4326,
    )
    scenario: Any = NS(
        name="grid",
        title="Grid {{ 7*7 }} passages",
        timezone="America/New_York",
        maps=NS(paper="letter", tiles=False),
        incidents=NS(path=Path("apd.csv"), adapter="cobra", show_points=show_points, sensitive=()),
        risk=NS(min_support=3),
    )
    m = streets.n_edges
    risk = np.linspace(0.0, 1.0, m)
    support = np.full(m, 5)
    support[1] = 1
    traffic = np.zeros(m)
    traffic[[12, 16, 20, 4, 5]] = [300.0, 200.0, 100.0, 50.0, 40.0]
    corridor = NS(
        corridor_id="C01",
        edges=np.array([12, 16, 20]),
        length_m=300.0,
        traffic_m=60_000.0,
        streets=(street_name,),
        risk_mean=0.6,
    )

    def result(pid: str, name: str, kind: str, node: int, *, edges: list[int], flow: list[float]) -> Any:
        return NS(
            place_id=pid,
            name=name,
            kind=kind,
            node=node,
            status="ok",
            origins_in_zone=9,
            origins_served=9,
            weight_served=9.0,
            median_detour=0.04,
            p90_detour=0.12,
            exposure_recommended=1.0,
            exposure_shortest=2.0,
            reduction_pct=50.0,
            edges=np.array(edges),
            traffic=np.array(flow),
        )

    results = (
        result("s1", place_name, "school", 5, edges=[4, 5, 13], flow=[100.0, 1.0, 50.0]),
        result("p1", "Grid Park", "park", 10, edges=[12, 16], flow=[30.0, 20.0]),
        result("t1", "Five & Dime $1 $2 Station", "transit", 3, edges=[], flow=[]),
    )
    x, y = float(streets.x[5]), float(streets.y[5])
    post = NS(
        post_id="P01",
        node=5,
        x=x,
        y=y,
        lon=float(lon[5]),
        lat=float(lat[5]),
        name="Oak Avenue & 2nd Street",
        covered_edges=np.array([4, 5, 13, 17]),
        demand_covered=1.0,
        corridor_m=400.0,
        share=0.4,
        pinned=False,
    )
    post2 = replace_ns(
        post,
        post_id="P02",
        node=14,
        x=float(streets.x[14]),
        y=float(streets.y[14]),
        lon=float(lon[14]),
        lat=float(lat[14]),
        name="Pine Street & 3rd Street",
        covered_edges=np.array([10, 11, 22]),
    )
    windows = []
    for i, (name, start, end) in enumerate((("morning", time(7), time(9)), ("evening", time(18), time(21)))):
        tw = TimeWindow(
            name=name,
            label=label if i == 0 else "{{ 7*7 }} evening",
            days=frozenset(range(5)),
            start=start,
            end=end,
            officers=2,
        )
        entry = NS(
            window=name,
            post_id="P01",
            location=post.name,
            lon=post.lon,
            lat=post.lat,
            officers=1,
            start=start,
            end=end,
            days="Mon–Fri",
            mode="fixed",
            covered_m=400.0,
            share=0.4,
            note="",
            beat=1,
        )
        visits = [
            replace_ns(
                entry,
                post_id="P02",
                mode="rotation",
                beat=2,
                start=a,
                end=b,
                note="officer 2 of 2: beat P02 → P01; more",
            )
            for a, b in ((start, time(start.hour, 15)), (time(start.hour, 40), time(start.hour, 55)))
        ]
        windows.append(
            WindowPlan(
                window=tw,
                risk=NS(density_per_km=risk * 10, risk=risk, support=support, category_share={}),
                corridors=NS(window=name, traffic=traffic, destinations=results, corridors=(corridor,)),
                demand=traffic,
                posts=NS(
                    window=name,
                    officers=2,
                    posts=(post, post2),
                    share_covered=0.5,
                    gap=0.0,
                    method="greedy",
                    radius_m=150.0,
                ),
                schedule=[entry, *visits],
                resilience=[],
                destinations=dests,
            )
        )
    return Plan(
        scenario=scenario,
        streets=streets,
        destinations=dests,
        incidents=incidents,
        windows=tuple(windows),
        all_day=None,
        reports=(),
    )


def replace_ns(ns: Any, **changes: Any) -> Any:
    """A copy of a SimpleNamespace with ``changes``."""
    return NS(**(vars(ns) | changes))


def with_edge_risk(plan: Any, edge: int, *, risk: float, support: float) -> Any:
    """``plan`` with one edge's risk and incident support set in every window."""
    windows = []
    for wp in plan.windows:
        r, s = np.array(wp.risk.risk, dtype=float), np.array(wp.risk.support, dtype=float)
        r[edge], s[edge] = risk, support
        windows.append(replace(wp, risk=replace_ns(wp.risk, risk=r, support=s)))
    return replace(plan, windows=tuple(windows))


@functools.cache
def sample_plan() -> Any:
    """The bundled Atlanta sample, planned by the real pipeline (cached for the session)."""
    from passages.config import load_scenario
    from passages.plan import plan

    return plan(load_scenario(ROOT / "data" / "atlanta.toml"))


def page_data(page: str) -> dict[str, Any]:
    """The JSON block a page embeds."""
    m = re.search(r'<script type="application/json" id="passages-data">(.*?)</script>', page, re.S)
    assert m, "no data block"
    data: dict[str, Any] = json.loads(m[1])
    return data


def decode(ids: list[int]) -> list[int]:
    """Undo the delta encoding of edge indices."""
    return np.cumsum(ids).tolist() if ids else []


@pytest.fixture
def grid() -> Any:
    return synthetic_plan()


@pytest.fixture
def page(grid: Any, tmp_path: Path) -> str:
    return webmap.write_webmap(grid, tmp_path / "map.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------
# content


def test_window_radio_buttons_and_layer_check_boxes(page: str) -> None:
    control = re.search(r"base_layers : \{(.*?)\},\s*overlays :  \{(.*?)\},", page, re.S)
    assert control
    bases = [json.loads(n) for n in re.findall(r'("[^"]+") : feature_group_\d+', control[1])]
    overlays = [json.loads(n) for n in re.findall(r'("[^"]+") : feature_group_\d+', control[2])]
    assert bases == ["Morning &lt;b&gt;bell&lt;/b&gt;", "&#123;&#123; 7*7 &#125;&#125; evening"]
    assert overlays == [
        "Streets (offline basemap)",
        "Street risk (where ≥ 3 incidents)",
        "Recommended routes",
        "Corridors (width = foot traffic)",
        "Destinations",
        "Officer posts",
    ]
    assert "Incident points" not in page


def test_each_window_carries_its_own_layers(page: str, grid: Any) -> None:
    data = page_data(page)
    assert len(data["edges"]) == grid.streets.n_edges
    assert [w["label"] for w in data["windows"]] == ["Morning &lt;b&gt;bell&lt;/b&gt;", "{{ 7*7 }} evening"]
    w = data["windows"][0]
    assert w["when"] == "Mon–Fri 07:00–09:00 · 2 officers"
    assert mapstyle.traffic_breaks(grid) == (200.0, 300.0)  # median and 85th percentile of 100, 200, 300
    assert [decode(e) for e in w["corridors"][0]["e"]] == [[20], [16], [12]]  # width by traffic class
    assert [p["n"] for p in w["posts"]] == ["1", "2"]
    assert decode(w["posts"][0]["c"]) == [4, 5, 13, 17]
    school = next(p for p in w["places"] if p["k"] == "school")
    assert decode(school["r"]) == [4, 13]  # edge 5 carries 1 % of the busiest flow: not a main route
    park = next(p for p in w["places"] if p["k"] == "park")
    assert park["a"] == 0 and len(data["areas"][0][0][0]) >= 4


def test_risk_is_shaded_only_where_enough_incidents_support_it(page: str) -> None:
    classes = page_data(page)["windows"][0]["risk"]
    shaded = sorted(e for c in classes for e in decode(c))
    assert 1 not in shaded  # support 1 < min_support 3
    assert shaded == [e for e in range(24) if e != 1]
    assert decode(classes[4])[-1] == 23  # risk 1.0 is in the top class


def test_an_edge_below_min_support_is_drawn_as_if_it_had_no_risk(tmp_path: Path) -> None:
    # edge 1 at the top risk with 1 incident (min_support 3): the page cannot tell it from risk 0
    hot = webmap.write_webmap(with_edge_risk(synthetic_plan(), 1, risk=1.0, support=1), tmp_path / "a.html")
    cold = webmap.write_webmap(with_edge_risk(synthetic_plan(), 1, risk=0.0, support=1), tmp_path / "b.html")
    assert hot.read_bytes() == cold.read_bytes()
    layers = [w["risk"] for w in page_data(hot.read_text(encoding="utf-8"))["windows"]]
    assert all(1 not in decode(c) for classes in layers for c in classes)
    # the control: with 3 incidents the same edge is rated, in the top class of every window
    rated = with_edge_risk(synthetic_plan(), 1, risk=1.0, support=3)
    data = page_data(webmap.write_webmap(rated, tmp_path / "c.html").read_text(encoding="utf-8"))
    assert all(1 in decode(w["risk"][4]) for w in data["windows"])
    assert mapstyle.risk_classes(rated, rated.windows[0])[1] == 4
    assert mapstyle.risk_classes(synthetic_plan(), synthetic_plan().windows[0])[1] == -1


def test_legend_scale_bar_title_and_attribution(page: str) -> None:
    assert "L.control.scale()" in page
    legend = re.search(r'<div id="pp-legend-src".*?</details></div>', page, re.S)
    assert legend
    for text in (
        "Street risk (0–1)",
        "fewer than 3 incidents",
        "Corridors, by walkers",
        "School",
        "Park",
        "Transit stop",
        "Officer post",
        *mapstyle.RISK_COLOURS,
    ):
        assert text in legend[0]
    assert "Other destination" not in legend[0]  # no such kind in this plan
    assert "Grid &#123;&#123; 7*7 &#125;&#125; passages" in page or "Grid {{ 7*7 }} passages" in page
    assert "© OpenStreetMap contributors" in page
    assert "Atlanta Police Department (COBRA)" in page
    assert "2021-03-01 to 2021-04-02" in page


def test_text_from_data_is_escaped_everywhere(page: str) -> None:
    assert XSS not in page
    assert "<b>bell</b>" not in page
    assert "49 evening" not in page and "Grid 49" not in page  # no Jinja evaluation of data
    popup = next(p["p"] for p in page_data(page)["windows"][0]["places"] if p["k"] == "school")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in popup
    assert "Five &amp; Dime $1 $2 Station" in page_data(page)["windows"][0]["places"][2]["p"]
    # the JSON block cannot close its <script>: no "</" inside it
    block = re.search(r'id="passages-data">(.*?)</script>', page, re.S)
    assert block and "</" not in block[1]


def test_names_that_look_like_math_markup_or_templates_stay_text(tmp_path: Path) -> None:
    plan = synthetic_plan(place_name=f"{TRICKY} School", street_name=f"{TRICKY} Street")
    page = webmap.write_webmap(plan, tmp_path / "m.html").read_text(encoding="utf-8")
    escaped = "$x^2$ &lt;b&gt;{{ 7*7 }}&lt;/b&gt;"
    w = page_data(page)["windows"][0]
    school = next(p["p"] for p in w["places"] if p["k"] == "school")
    assert f"<b>{escaped} School</b>" in school  # the popup's title, HTML-escaped once
    assert f"<td>{escaped} Street</td>" in w["corridors"][0]["p"]  # the corridor's streets
    assert TRICKY not in page and "&lt;b&gt;49" not in page and "$x^2$ &lt;b&gt;{{ 7*7 }}" in page


def test_incident_points_only_when_asked_and_never_sensitive(tmp_path: Path) -> None:
    def coords(lon_lat: tuple[float, float]) -> str:
        return f"[{lon_lat[1]},{lon_lat[0]}]"

    hidden = webmap.write_webmap(synthetic_plan(), tmp_path / "a.html").read_text(encoding="utf-8")
    assert coords(KNOWN_INCIDENT) not in hidden and str(KNOWN_INCIDENT[1]) not in hidden
    shown = webmap.write_webmap(synthetic_plan(show_points=True), tmp_path / "b.html").read_text(
        encoding="utf-8"
    )
    assert coords(KNOWN_INCIDENT) in shown
    assert '"Incident points" : feature_group' in shown
    assert str(SENSITIVE_INCIDENT[1]) not in shown and str(SENSITIVE_INCIDENT[0]) not in shown
    assert page_data(shown)["incidents"] == [[KNOWN_INCIDENT[1], KNOWN_INCIDENT[0]]]


def test_post_popup_holds_its_schedule(page: str) -> None:
    posts = page_data(page)["windows"][0]["posts"]
    assert "<td>07:00–09:00</td><td>1</td><td>whole window</td>" in posts[0]["p"]
    # the same words as the printed page (mapstyle.post_facts)
    assert "<th>Corridor in sight</th><td>400 m (1,312 ft) within 150 m</td>" in posts[0]["p"]
    assert "07:00–07:15, 07:40–07:55" in posts[1]["p"]
    assert "officer 2 of 2: beat P02 → P01" in posts[1]["p"] and "more" not in posts[1]["p"]


def test_tiles_only_when_asked(grid: Any) -> None:
    offline = webmap.build_webmap(grid).get_root().render()
    online = webmap.build_webmap(grid, tiles=True).get_root().render()
    assert "tile.openstreetmap.org" not in offline
    assert "tile.openstreetmap.org" in online
    assert '"OpenStreetMap tiles (online)" : tile_layer' in online


def test_leaflet_inlined_from_a_local_copy_else_cdn_with_a_visible_notice(
    grid: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = tmp_path / "leaflet"
    (lib / "images").mkdir(parents=True)
    (lib / "leaflet.js").write_text("window.L = {version: 'x'}; /* {{ not jinja }} </script> */")
    (lib / "leaflet.css").write_text(".a{background:url(images/layers.png)}")
    (lib / "images" / "layers.png").write_bytes(b"\x89PNG")
    monkeypatch.setenv(webmap.LEAFLET_ENV, str(lib))
    inlined = webmap.build_webmap(grid).get_root().render()
    assert "cdn.jsdelivr.net" not in inlined
    assert "{{ not jinja }} <\\/script> */" in inlined
    assert "url(data:image/png;base64,iVBORw==)" in inlined
    monkeypatch.delenv(webmap.LEAFLET_ENV)
    monkeypatch.setattr(webmap, "LEAFLET_DIRS", ())
    linked = webmap.build_webmap(grid).get_root().render()
    assert webmap.LEAFLET_CDN[0] in linked and webmap.LEAFLET_CDN[1] in linked
    assert 'id="passages-offline"' in linked and "could not be loaded" in linked


def test_no_jquery_bootstrap_or_other_cdn_assets(page: str) -> None:
    for asset in ("jquery", "bootstrap", "awesome-markers", "fontawesome"):
        assert asset not in page


# --------------------------------------------------------------------------------------
# determinism


def test_byte_identical_across_builds(grid: Any, tmp_path: Path) -> None:
    a = webmap.write_webmap(grid, tmp_path / "a.html").read_bytes()
    b = webmap.write_webmap(synthetic_plan(), tmp_path / "b.html").read_bytes()
    assert a == b
    assert webmap.build_webmap(grid).get_root().render() == webmap.build_webmap(grid).get_root().render()
    assert not re.search(r"[0-9a-f]{32}", a.decode())  # no random folium ids left


def test_writes_atomically_and_returns_the_path(grid: Any, tmp_path: Path) -> None:
    out = webmap.write_webmap(grid, tmp_path / "sub" / "map.html")
    assert out == tmp_path / "sub" / "map.html" and out.read_text(encoding="utf-8").startswith(
        "<!DOCTYPE html>"
    )
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["map.html"]


# --------------------------------------------------------------------------------------
# the real sample


@pytest.mark.slow
def test_sample_map_is_small_and_complete(tmp_path: Path) -> None:
    plan = sample_plan()
    out = webmap.write_webmap(plan, tmp_path / "map.html")
    size = out.stat().st_size
    print(f"sample web map: {size / 1e6:.2f} MB")
    assert size < 5e6
    page = out.read_text(encoding="utf-8")
    data = page_data(page)
    assert len(data["edges"]) == plan.streets.n_edges > 10_000
    assert [w["label"] for w in data["windows"]] == [webmap.esc(wp.window.label) for wp in plan.windows]
    for w, wp in zip(data["windows"], plan.windows, strict=True):
        assert len(w["posts"]) == len(wp.posts.posts)
        assert len(w["corridors"]) == len(wp.corridors.corridors)
        k = plan.scenario.risk.min_support
        shaded = {e for c in w["risk"] for e in decode(c)}
        assert shaded == set(np.flatnonzero(np.asarray(wp.risk.support) >= k).tolist())
    # show_points is off in the sample: no incident's coordinates anywhere in the page
    inc = plan.incidents.geometry.iloc[0]
    assert f"[{round(inc.y, 5)},{round(inc.x, 5)}]" not in page
    assert "incidents" not in data


def test_sample_scenario_stays_private() -> None:
    from passages.config import load_scenario

    scenario = load_scenario(ROOT / "data" / "atlanta.toml")
    assert scenario.incidents is not None and scenario.incidents.show_points is False
    assert replace(scenario.maps).tiles is False


def test_window_without_posts_or_corridors(grid: Any, tmp_path: Path) -> None:
    w = grid.windows[0]
    nothing = NS(window="morning", traffic=np.zeros(grid.streets.n_edges), destinations=(), corridors=())
    idle = replace(w, posts=NS(officers=0, posts=(), radius_m=150.0), schedule=[], corridors=nothing)
    page = webmap.write_webmap(replace(grid, windows=(idle,)), tmp_path / "m.html").read_text(
        encoding="utf-8"
    )
    w0 = page_data(page)["windows"][0]
    assert w0["posts"] == [] and w0["corridors"] == [] and w0["routes"] == []
    assert all(p["r"] == [] for p in w0["places"])
    assert "Not staffed" not in page  # no posts, no popups


def fresh_python_digest(code: str, seed: str) -> str:
    """Run ``code`` (which prints a digest) in a new interpreter with PYTHONHASHSEED=seed."""
    env = os.environ | {"PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_byte_identical_across_processes(tmp_path: Path) -> None:
    code = (
        "import hashlib, sys, tempfile; from pathlib import Path\n"
        "from tests.test_webmap import synthetic_plan\nfrom passages import webmap\n"
        "p = webmap.write_webmap(synthetic_plan(), Path(tempfile.mkdtemp()) / 'm.html')\n"
        "print(hashlib.sha256(p.read_bytes()).hexdigest())"
    )
    digests = {fresh_python_digest(code, seed) for seed in ("1", "2")}
    here = webmap.write_webmap(synthetic_plan(), tmp_path / "m.html").read_bytes()
    assert digests == {hashlib.sha256(here).hexdigest()}
