"""``plan(scenario) -> Plan``: the one function that runs the whole pipeline.

network → places → incidents → risk → corridors → deployment; :func:`write_plan` then
writes the maps and files of a :class:`Plan` into one folder, all at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from passages._errors import InputError
from passages._validate import LoadReport
from passages.config import Scenario, TimeWindow

logger = logging.getLogger(__name__)

#: called as progress(stage, index, total) after each stage
Progress = Callable[[str, int, int], None]

PLAN_STAGES = ("network", "destinations", "origins", "incidents", "risk", "corridors", "posts")


@dataclass(frozen=True, eq=False)
class WindowPlan:
    """Everything computed for one time window.

    Attributes
    ----------
    window
        The scenario's window.
    risk
        ``passages.risk.EdgeRisk``: per-edge density, risk, support.
    corridors
        ``passages.corridors.WindowCorridors``: traffic per edge, corridors, per-destination
        metrics and route trees, the λ sweep.
    demand
        Per-edge demand the posts were chosen for (traffic × length × risk).
    posts
        ``passages.deployment.PostPlan``: the chosen posts, coverage, gap.
    schedule
        ``passages.schedule.Schedule``: entries and warnings.
    resilience
        ``list[passages.deployment.PostResilience]``.
    destinations
        Snapped destinations served in this window (GeoDataFrame, EPSG:4326, with ``node``).
    """

    window: TimeWindow
    risk: Any
    corridors: Any
    demand: Any
    posts: Any
    schedule: Any
    resilience: list[Any]
    destinations: Any


@dataclass(frozen=True, eq=False)
class Plan:
    """A complete plan: inputs as loaded, and per-window results.

    Attributes
    ----------
    scenario
        The scenario that produced it.
    streets
        ``passages.network.Streets``, the array view of the walk network.
    destinations
        All snapped destinations (GeoDataFrame, EPSG:4326: place_id, kind, subkind, name,
        node, snap_m, geometry).
    incidents
        The cleaned incidents (GeoDataFrame, EPSG:4326) — for risk and, only when the scenario
        asks, for drawing.
    windows
        One :class:`WindowPlan` per scenario window, in scenario order.
    all_day
        ``passages.risk.EdgeRisk`` over every incident regardless of time.
    reports
        Load reports of every input, in load order.
    timings
        Seconds per stage (the one non-deterministic part; written to timings.json only).
    """

    scenario: Scenario
    streets: Any
    destinations: Any
    incidents: Any
    windows: tuple[WindowPlan, ...]
    all_day: Any
    reports: tuple[LoadReport, ...]
    timings: dict[str, float] = field(default_factory=dict)


class _Stages:
    """Times stages and reports progress."""

    def __init__(self, progress: Progress | None, names: tuple[str, ...]) -> None:
        self.progress = progress
        self.names = names
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t0, 4)
        if self.progress is not None:
            self.progress(name, self.names.index(name) + 1, len(self.names))


# --------------------------------------------------------------------------------------
# loading inputs (shared by plan, inspect and route)


@dataclass(frozen=True, eq=False)
class Inputs:
    """The loaded and snapped inputs of a scenario."""

    streets: Any
    destinations: Any
    origins: tuple[np.ndarray, np.ndarray]
    incidents: Any
    reports: tuple[LoadReport, ...]


def load_inputs(scenario: Scenario, *, cache: bool = True, stages: _Stages | None = None) -> Inputs:
    """Load the network, destinations, origins and incidents of ``scenario``."""
    import geopandas as gpd
    import pandas as pd

    from passages import incidents as incmod
    from passages import network, origins, places

    st = stages or _Stages(None, PLAN_STAGES)
    reports: list[LoadReport] = []
    spec = scenario.network
    with st.stage("network"):
        if spec.path is not None:
            got_streets = network.load_streets(
                spec.path,
                drop_classes=spec.drop_classes,
                class_column=spec.class_column,
                name_column=spec.name_column,
                cache=cache,
            )
            reports.append(got_streets.report)
            streets = got_streets.data
        else:
            online = network.load_network_online(
                place=spec.place or None, bbox=spec.bbox, drop_classes=spec.drop_classes
            )
            reports.append(online.report)
            streets = network.Streets.from_graph(online.data)

    with st.stage("destinations"):
        frames = []
        for source in scenario.destinations:
            got = places.load_places(
                source.path,
                fmt=source.format,
                kind=source.kind or None,
                kind_column=source.kind_column or None,
                name_column=source.name_column or None,
                id_column=source.id_column or None,
                lat_column=source.lat_column or None,
                lon_column=source.lon_column or None,
                include=source.include,
            )
            reports.append(got.report)
            snapped = places.snap_places(got.data, streets, max_snap_m=source.max_snap_m)
            reports.append(snapped.report)
            frames.append(snapped.data.to_crs(4326))
        dests = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)
        dests = _unique_ids(dests).sort_values("place_id", kind="stable").reset_index(drop=True)
        if dests.empty:
            raise InputError(f"{scenario.name}: no destination is within reach of the walk network")

    with st.stage("origins"):
        origin_gdf = None
        if scenario.origins is not None:
            o = scenario.origins
            got = origins.load_origins(
                o.path,
                fmt=o.format,
                weight_column=o.weight_column or None,
                lat_column=o.lat_column or None,
                lon_column=o.lon_column or None,
            )
            reports.append(got.report)
            origin_gdf = got.data
        spacing = scenario.routing.origin_spacing_m
        origin_weights = origins.origin_nodes(origin_gdf, streets, spacing_m=spacing)

    with st.stage("incidents"):
        if scenario.incidents is not None:
            spec_i = scenario.incidents
            got = incmod.load_incidents(
                spec_i.path,
                adapter=spec_i.adapter,
                mapping=dict(spec_i.columns) or None,
                severity=dict(spec_i.severity) or None,
                sensitive=list(spec_i.sensitive) or None,
                area=streets.bounds_lonlat(pad_m=250.0),
                include_sensitive=spec_i.include_sensitive,
            )
            reports.append(got.report)
            incidents = got.data
        else:
            incidents = gpd.GeoDataFrame(
                {"incident_id": [], "occurred_at": pd.to_datetime([]), "time_known": [], "category": []},
                geometry=[],
                crs=4326,
            )
    return Inputs(streets, dests, origin_weights, incidents, tuple(reports))


def _unique_ids(dests: Any) -> Any:
    """Make place ids unique across sources by suffixing repeats (stable)."""
    ids = dests["place_id"].astype(str)
    dup = ids.duplicated(keep="first")
    if dup.any():
        counts: dict[str, int] = {}
        new = []
        for pid, is_dup in zip(ids, dup, strict=True):
            counts[pid] = counts.get(pid, 0) + 1
            new.append(f"{pid}#{counts[pid]}" if is_dup else pid)
        dests = dests.assign(place_id=new)
    return dests


def routing_params(scenario: Scenario, streets: Any) -> Any:
    """The scenario's routing section as ``passages.corridors.RoutingParams``."""
    from passages.corridors import RoutingParams

    spec = scenario.routing
    areas: list[Any] = []
    if isinstance(spec.avoid_areas, Path):
        import geopandas as gpd

        try:
            gdf = gpd.read_file(spec.avoid_areas)
        except Exception as exc:
            raise InputError(
                f"routing.avoid_areas {spec.avoid_areas}: not a readable vector file ({exc})"
            ) from exc
        if gdf.crs is None:
            raise InputError(f"routing.avoid_areas {spec.avoid_areas}: the file has no CRS")
        areas = [g for g in gdf.to_crs(streets.crs).geometry if g is not None and not g.is_empty]
    else:
        for ring in spec.avoid_areas:
            lon, lat = zip(*ring, strict=True)
            x, y = streets.from_lonlat(lon, lat)
            areas.append(shapely.Polygon(np.column_stack([x, y])))
    return RoutingParams(
        walk_zone_m=spec.walk_zone_m,
        max_detour=spec.max_detour,
        lambdas=spec.lambdas,
        closed_streets=spec.closed_streets,
        avoid_areas=tuple(areas),
        corridor_percentile=spec.corridor_percentile,
        corridor_min_share=spec.corridor_min_share,
        corridor_min_length_m=spec.corridor_min_length_m,
    )


def window_risk(scenario: Scenario, streets: Any, incidents: Any, windows: Sequence[TimeWindow]) -> Any:
    """``passages.risk.window_risk`` with the scenario's risk and incident settings."""
    from passages import risk

    spec = scenario.incidents
    return risk.window_risk(
        streets,
        incidents,
        windows,
        bandwidth_m=scenario.risk.bandwidth_m,
        method=scenario.risk.method,
        lookback_days=spec.lookback_days if spec else 0,
        decay_half_life_days=spec.decay_half_life_days if spec else 0.0,
    )


def served_destinations(dests: Any, window: TimeWindow) -> Any:
    """The destinations whose kind the window serves (all when ``window.kinds`` is empty)."""
    if not window.kinds:
        return dests
    return dests[dests["kind"].isin(window.kinds)].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# the pipeline


def plan(scenario: Scenario, *, progress: Progress | None = None, cache: bool = True) -> Plan:
    """Run the whole pipeline for ``scenario``.

    Parameters
    ----------
    scenario
        From :func:`passages.config.load_scenario`.
    progress
        Called as ``progress(stage, index, total)`` after each stage.
    cache
        Reuse the cached walk network when the file has not changed.
    """
    from passages import corridors, deployment, schedule

    st = _Stages(progress, PLAN_STAGES)
    inputs = load_inputs(scenario, cache=cache, stages=st)
    streets = inputs.streets
    with st.stage("risk"):
        layers = window_risk(scenario, streets, inputs.incidents, scenario.windows)
    params = routing_params(scenario, streets)
    with st.stage("corridors"):
        results = corridors.plan_corridors_windows(
            streets,
            {w.name: layers[w.name].risk for w in scenario.windows},
            {w.name: served_destinations(inputs.destinations, w) for w in scenario.windows},
            inputs.origins,
            params,
        )
    dep = scenario.deployment
    windows: list[WindowPlan] = []
    with st.stage("posts"):
        demands = {
            w.name: deployment.edge_demand(results[w.name].traffic, layers[w.name].risk, streets.length_m)
            for w in scenario.windows
        }
        # coverage is geometry only: one build over every window's demand edges serves them all
        # (choose_posts and resilience restrict it to each window's edges and candidates)
        union = np.sum(list(demands.values()), axis=0)
        coverage = deployment.build_coverage(streets, union, radius_m=dep.radius_m)
        for w in scenario.windows:
            wc, wr, demand = results[w.name], layers[w.name], demands[w.name]
            candidates = None
            if dep.candidate_min_traffic > 0:
                candidates = deployment.candidate_nodes(
                    streets, demand, traffic=wc.traffic, min_traffic_share=dep.candidate_min_traffic
                )
            posts = deployment.choose_posts(
                streets,
                demand,
                officers=w.officers,
                candidates=candidates,
                radius_m=dep.radius_m,
                pinned=dep.pinned,
                forbidden=dep.forbidden,
                method=dep.method,
                time_limit_s=dep.time_limit_s,
                mip_gap=dep.mip_gap,
                window=w.name,
                coverage=coverage,
            )
            sched = schedule.schedule(
                posts,
                w,
                officers=w.officers,
                dwell_min=dep.dwell_min,
                revisit_max_min=dep.revisit_max_min,
                streets=streets,
            )
            res = deployment.resilience(streets, posts, demand, coverage, threshold=dep.resilience_threshold)
            windows.append(
                WindowPlan(
                    window=w,
                    risk=wr,
                    corridors=wc,
                    demand=demand,
                    posts=posts,
                    schedule=sched,
                    resilience=res,
                    destinations=served_destinations(inputs.destinations, w),
                )
            )
            logger.info(
                "window %s: %d corridors, %d posts covering %.0f%% of demand",
                w.name,
                len(wc.corridors),
                len(posts.posts),
                100 * posts.share_covered,
            )
    return Plan(
        scenario=scenario,
        streets=streets,
        destinations=inputs.destinations,
        incidents=inputs.incidents,
        windows=tuple(windows),
        all_day=layers.get("all_day"),
        reports=inputs.reports,
        timings=st.timings,
    )


# --------------------------------------------------------------------------------------
# command helpers: inspect and route


def inspect_lines(scenario: Scenario) -> list[str]:
    """What ``passages inspect`` prints: every input's report, CRS, bbox and counts."""
    inputs = load_inputs(scenario)
    s = inputs.streets
    west, south, east, north = s.bounds_lonlat()
    lines = [
        f"scenario {scenario.name}: {scenario.title}",
        f"network: {s.n_nodes:,} nodes, {s.n_edges:,} street segments, {s.length_m.sum() / 1000:,.1f} km; "
        f"CRS {s.crs.name}",
        f"  bbox (lon/lat): {west:.5f}, {south:.5f}, {east:.5f}, {north:.5f}",
    ]
    for report in inputs.reports:
        lines.extend(report.lines())
    kinds = inputs.destinations.groupby(["kind", "subkind"]).size()
    lines.append(f"destinations: {len(inputs.destinations):,} snapped")
    lines.extend(f"  {k}{'/' + sk if sk else ''}: {n:,}" for (k, sk), n in kinds.items())
    nodes, weights = inputs.origins
    lines.append(f"origins: {len(nodes):,} network nodes, total weight {weights.sum():,.1f}")
    inc = inputs.incidents
    if len(inc):
        period = f"{inc['occurred_at'].min():%Y-%m-%d} .. {inc['occurred_at'].max():%Y-%m-%d}"
        lines.append(f"incidents: {len(inc):,} kept, {period}")
        for cat, n in inc["category"].value_counts().sort_index().items():
            lines.append(f"  {cat}: {n:,}")
    else:
        lines.append("incidents: none (risk is 0 everywhere)")
    lines.append(f"windows: {', '.join(w.name for w in scenario.windows)}")
    return lines


def route_lines(scenario: Scenario, *, lat: float, lon: float, dest: str, window: str | None) -> list[str]:
    """What ``passages route`` prints: the recommended and the shortest route, with metrics."""
    from passages import routes
    from passages.coverage import post_names

    inputs = load_inputs(scenario)
    s = inputs.streets
    w = _window(scenario, window)
    d = inputs.destinations
    match = d[(d["place_id"].astype(str) == dest) | (d["name"].str.casefold() == dest.casefold())]
    if match.empty:
        close = d[d["name"].str.casefold().str.contains(dest.casefold(), regex=False)]
        hint = f"; did you mean: {', '.join(close['name'].head(5))}" if len(close) else ""
        raise InputError(f"--to {dest!r}: no destination with that id or name{hint}")
    target = match.iloc[0]
    x, y = s.from_lonlat([lon], [lat])
    node, dist = s.nearest_node(x, y)
    if dist[0] > 500:
        raise InputError(
            f"--from {lat},{lon}: {dist[0]:,.0f} m from the nearest walkable street (at most 500 m)"
        )
    layers = window_risk(scenario, s, inputs.incidents, [w])
    params = routing_params(scenario, s)
    cmp = routes.compare_route(s, layers[w.name].risk, int(node[0]), int(target["node"]), params)
    rec, sh = cmp.recommended, cmp.shortest
    lines = [
        f"from {lat:.5f},{lon:.5f} ({post_names(s, node[:1])[0]}) to {target['name']} "
        f"[{target['kind']}], window {w.name} ({w.label})",
        f"recommended: {rec.length_m:,.0f} m, risk exposure {rec.exposure:,.1f} (λ={cmp.lambda_used:g})",
        f"  {rec.directions}",
        f"shortest:    {sh.length_m:,.0f} m, risk exposure {sh.exposure:,.1f}",
        f"  {sh.directions}",
        f"detour {100 * cmp.detour:.1f}% (cap {100 * params.max_detour:.0f}%), "
        f"risk exposure {cmp.reduction_pct:.1f}% lower",
    ]
    if not cmp.within_walk_zone:
        lines.append(f"note: the shortest route is longer than the walk zone ({params.walk_zone_m:,.0f} m)")
    return lines


def _window(scenario: Scenario, name: str | None) -> TimeWindow:
    if name is None:
        return scenario.windows[0]
    for w in scenario.windows:
        if w.name == name:
            return w
    known = ", ".join(w.name for w in scenario.windows)
    raise InputError(f"--window {name!r}: no such window in {scenario.name}; windows: {known}")


# --------------------------------------------------------------------------------------
# writing a plan folder


#: the files every plan folder holds (print/ holds the PDFs)
PLAN_FILES = ("map.html", "plan.gpkg", "schedule.csv", "schedule.ics", "report.json", "timings.json")


def default_output(scenario: Scenario) -> Path:
    """``scenario.output_dir``, else ``maps/<name>`` under the working folder."""
    return scenario.output_dir if scenario.output_dir is not None else Path.cwd() / "maps" / scenario.name


def write_plan(result: Plan, out: str | Path | None = None, *, progress: Progress | None = None) -> Path:
    """Write every output of ``result`` into ``out``, replacing a previous plan there all at once.

    The files are first written into a temporary folder beside ``out``; only when all of them
    are complete is it swapped in for the previous plan, so an interrupted run leaves the
    previous plan intact and a plan never half-overwrites another. A folder that exists and
    is not a passages plan (no report.json) and not empty is refused.

    Parameters
    ----------
    result
        From :func:`plan`.
    out
        The plan folder; default :func:`default_output`.
    progress
        Called as ``progress(stage, index, total)`` after each group of files.

    Returns
    -------
    Path
        The plan folder.
    """
    import shutil
    import tempfile

    from passages import export, printmap, report, webmap
    from passages._errors import OutputError
    from passages._io import public_mode

    folder = Path(out) if out is not None else default_output(result.scenario)
    folder = folder.absolute()
    if folder.exists() and (
        not folder.is_dir() or (any(folder.iterdir()) and not (folder / "report.json").exists())
    ):
        raise OutputError(
            f"output folder {folder} exists and is not a passages plan (no report.json); "
            "choose another --out or empty it"
        )
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
        public_mode(tmp, folder=True)
    except OSError as exc:
        raise OutputError(f"cannot write to {folder.parent}: {exc.strerror or exc}") from exc
    t0 = time.perf_counter()
    timings = dict(result.timings)
    old: Path | None = None
    try:
        with _timed(timings, "write_map", progress, 1):
            webmap.write_webmap(result, tmp / "map.html", tiles=result.scenario.maps.tiles)
        with _timed(timings, "write_print", progress, 2):
            printmap.write_print_pages(result, tmp / "print", paper=result.scenario.maps.paper)
        with _timed(timings, "write_files", progress, 3):
            export.write_plan_gpkg(result, tmp / "plan.gpkg")
            entries = [e for wp in result.windows for e in wp.schedule]
            export.write_schedule_csv(entries, tmp / "schedule.csv")
            export.write_schedule_ics(
                entries,
                tmp / "schedule.ics",
                timezone=result.scenario.timezone,
                first_date=plan_start(result),
                calendar_name=result.scenario.title or result.scenario.name,
            )
            data = report.report_dict(result)
            export.write_json(data, tmp / "report.json")
        timings["write_total"] = round(time.perf_counter() - t0, 4)
        export.write_json({"seconds": timings}, tmp / "timings.json")
        if folder.exists():
            old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
            folder.replace(old / folder.name)
        try:
            tmp.replace(folder)
        except BaseException:
            if old is not None:  # put the previous plan back
                (old / folder.name).replace(folder)
            raise
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not (old / folder.name).exists():
            old.rmdir()  # empty: the previous plan is back in place
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            # a full disk or a folder made read-only mid-run: the user's to fix, not a bug
            raise OutputError(
                f"cannot write the plan to {folder}: {exc.strerror or exc}; the previous plan is unchanged"
            ) from exc
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    logger.info("wrote plan %s to %s", result.scenario.name, folder)
    return folder


def plan_start(result: Plan) -> date:
    """The plan's first day: ``scenario.starts``, else the Monday after the newest incident.

    Derived from the data (never from today's date) so that the same inputs give the same
    calendar.
    """
    if result.scenario.starts is not None:
        return result.scenario.starts
    inc = result.incidents
    newest = inc["occurred_at"].max() if len(inc) else None
    day = newest.date() if newest is not None and not _isnat(newest) else date(2000, 1, 1)
    return day + timedelta(days=7 - day.weekday())


def _isnat(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


@contextmanager
def _timed(
    timings: dict[str, float], name: str, progress: Progress | None = None, index: int = 0
) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 4)
    if progress is not None:
        progress(name.replace("_", " "), index, 3)
