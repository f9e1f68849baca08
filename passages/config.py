"""The scenario: one TOML file describing a plan, loaded into frozen, validated dataclasses.

Each dataclass field carries its check (``_m``/``_f`` below); ``docs/scenario.md`` lists every key with
unit, default and range, and a test keeps the page and these defaults in step. Checking collects every
problem, then raises one :class:`~passages._errors.ScenarioError` listing them all, each naming the
file, the key path, the bad value and what is accepted. Relative paths resolve against the scenario
file's folder.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import logging
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from passages._errors import ScenarioError
from passages._validate import existing_file

logger = logging.getLogger(__name__)

#: day names accepted in ``windows.days``; the index is the weekday (Mon = 0)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: file endings accepted for ``network.path``
NETWORK_SUFFIXES = (".osm", ".osm.bz2", ".osm.pbf", ".graphml", ".geojson", ".gpkg", ".shp")
#: keys accepted in ``[incidents.columns]`` (generic adapter column mapping)
INCIDENT_COLUMN_KEYS = (
    "id", "lat", "lon", "date", "time", "datetime", "category", "date_format", "time_format",
)  # fmt: skip
#: minutes before / after ``windows.bell`` when a window is given by its bell time
BELL_BEFORE_MIN = 90
BELL_AFTER_MIN = 30

LonLat = tuple[float, float]
#: a polygon ring as (lon, lat) pairs in degrees
Ring = tuple[LonLat, ...]
#: an officer post: a (lon, lat) pair in degrees or an OSM node id
Post = LonLat | int


@dataclass(frozen=True, slots=True)
class _Key:
    """How one TOML key is checked: the reader ``_Reader._r_<kind>`` and its limits."""

    kind: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()  # for "path": accepted file endings
    pattern: str = ""
    open_lo: bool = False  # lo itself is excluded
    required: bool = False  # must be given in the TOML


def _m(kind: str, lo: float | None = None, hi: float | None = None, **kw: Any) -> dict[str, _Key]:
    """Field metadata: how the TOML key of the same name is checked."""
    return {"key": _Key(kind, lo, hi, **kw)}


def _f(default: Any, kind: str, lo: float | None = None, hi: float | None = None, **kw: Any) -> Any:
    """A dataclass field with a default and its check."""
    return field(default=default, metadata=_m(kind, lo, hi, **kw))


_NAME, _KIND = r"[a-z0-9_]+", r"[a-z_]+"
_REQUIRED_PATH = _m("path", required=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSpec:
    """Where the walk network comes from (``[network]``): exactly one of path, place, bbox.

    Attributes
    ----------
    path
        Street file (.osm, .osm.bz2, .osm.pbf, .graphml, .geojson, .gpkg, .shp). Default None.
    place
        osmnx place name to download; needs ``online``. Default "" (not used).
    bbox
        (west, south, east, north) in degrees to download; needs ``online``. Default None.
    online
        Allow downloading from OpenStreetMap. Default False.
    drop_classes
        Street class values (e.g. "motorway") whose edges are removed. Default ().
    class_column, name_column
        Centerline files: attributes holding the street class / name. Default "highway" / "name".
    """

    path: Path | None = field(default=None, metadata=_m("path", choices=NETWORK_SUFFIXES))
    place: str = _f("", "str")
    bbox: tuple[float, float, float, float] | None = _f(None, "bbox")
    online: bool = _f(False, "bool")
    drop_classes: tuple[str, ...] = _f((), "strs")
    class_column: str = _f("highway", "str")
    name_column: str = _f("name", "str")


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceSource:
    """One source of destinations (a ``[[destinations]]`` table).

    Empty column names mean "the loader's default for this format".

    Attributes
    ----------
    path
        Destination file. Required.
    format
        "gtfs", "csv", "vector" or "osm". Required.
    kind
        Kind given to every row (e.g. "school", "park"); "" to use ``kind_column``. Default "".
    kind_column, name_column, id_column
        Attributes holding each row's kind, name and id. Default "".
    lat_column, lon_column
        CSV only: coordinate columns, degrees. Default "" (detected).
    include
        Keep only these kinds / subkinds (e.g. ("rail",) for GTFS). Default () = keep all.
    max_snap_m
        Places farther than this from the network are dropped, metres. Default 250.0.
    """

    path: Path = field(metadata=_REQUIRED_PATH)
    format: str = field(metadata=_m("str", choices=("gtfs", "csv", "vector", "osm"), required=True))
    kind: str = _f("", "str", pattern=r"[a-z_]*")
    kind_column: str = _f("", "str")
    name_column: str = _f("", "str")
    id_column: str = _f("", "str")
    lat_column: str = _f("", "str")
    lon_column: str = _f("", "str")
    include: tuple[str, ...] = _f((), "strs")
    max_snap_m: float = _f(250.0, "float", 0, 5000, open_lo=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class OriginSource:
    """Where trips start (``[origins]``); without it every network node in the walk zone is one.

    Attributes
    ----------
    path
        Points or polygons of origins. Required.
    format
        "vector" or "csv". Default "vector".
    weight_column
        Attribute giving each origin's weight (e.g. children). Default "" (weight 1).
    lat_column, lon_column
        CSV only: coordinate columns, degrees. Default "" (detected).
    """

    path: Path = field(metadata=_REQUIRED_PATH)
    format: str = _f("vector", "str", choices=("vector", "csv"))
    weight_column: str = _f("", "str")
    lat_column: str = _f("", "str")
    lon_column: str = _f("", "str")


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentSpec:
    """Incident records (``[incidents]``); without them every street has risk 0.

    Attributes
    ----------
    path
        Incident CSV. Required.
    adapter
        "auto", "cobra", "lapd" or "generic". Default "auto".
    include_sensitive
        Count incidents of sensitive categories (sexual offences, juveniles). Default False.
    show_points
        Draw raw incident points on maps. Default False (privacy).
    sensitive
        Extra category patterns treated as sensitive. Default ().
    lookback_days
        Only incidents this many days before the newest one or later, days; 0 = all. Default 0.
    decay_half_life_days
        Recency half-life, days; 0 = no decay. Default 0.0.
    columns
        Generic adapter mapping, (key, file column) pairs, keys from ``INCIDENT_COLUMN_KEYS``.
        Default ().
    severity
        (category pattern, weight) pairs, 0 < weight ≤ 100, overriding built-in weights. Default ().
    """

    path: Path = field(metadata=_REQUIRED_PATH)
    adapter: str = _f("auto", "str", choices=("auto", "cobra", "lapd", "generic"))
    include_sensitive: bool = _f(False, "bool")
    show_points: bool = _f(False, "bool")
    sensitive: tuple[str, ...] = _f((), "strs")
    lookback_days: int = _f(0, "int", 0, 36500)
    decay_half_life_days: float = _f(0.0, "float", 0, 3650)
    columns: tuple[tuple[str, str], ...] = _f((), "columns")
    severity: tuple[tuple[str, float], ...] = _f((), "severity", 0, 100, open_lo=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeWindow:
    """A recurring time of day when people walk (``[[windows]]``), in ``Scenario.timezone``.

    Attributes
    ----------
    name
        Identifier ``[a-z0-9_]+``, unique in the scenario. Required.
    label
        Display text. Default "" (the loader sets it to ``name``).
    days
        Weekdays, Mon = 0 … Sun = 6. Required, non-empty.
    start, end
        Local clock times (minutes); ``end < start`` crosses midnight. Required (the TOML may give
        ``bell`` with ``before_min`` / ``after_min`` instead).
    margin_min
        Soft margin around the window for counting incidents, minutes. Default 30.
    kinds
        Destination kinds served in this window. Default () = all kinds.
    officers
        Officers on duty. Required (the TOML default is ``deployment.officers``).
    """

    name: str = field(metadata=_m("str", pattern=_NAME, required=True))
    label: str = _f("", "str")
    days: frozenset[int] = field(metadata=_m("days", required=True))
    start: time = field(metadata=_m("time"))
    end: time = field(metadata=_m("time"))
    margin_min: int = _f(30, "int", 0, 180)
    kinds: tuple[str, ...] = _f((), "strs", pattern=_KIND)
    officers: int = field(metadata=_m("int", 0, 500))

    @property
    def crosses_midnight(self) -> bool:
        """True when the window ends on the next day (``end < start``)."""
        return self.end < self.start

    @property
    def duration_min(self) -> int:
        """Length of the window in minutes (1 to 1439)."""
        return (_minutes(self.end) - _minutes(self.start)) % 1440


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskSpec:
    """How incidents become street risk (``[risk]``).

    Attributes
    ----------
    bandwidth_m
        Kernel bandwidth, metres. Default 200.0.
    method
        "network" (distance along streets) or "planar" (straight line). Default "network".
    min_support
        Maps show density only where at least this many incidents support it. Default 3.
    """

    bandwidth_m: float = _f(200.0, "float", 10, 2000)
    method: str = _f("network", "str", choices=("network", "planar"))
    min_support: int = _f(3, "int", 1, 100)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingSpec:
    """Risk-weighted routing (``[routing]``).

    Attributes
    ----------
    walk_zone_m
        Origins within this walking distance of a destination are routed, metres. Default 1600.0.
    max_detour
        Longest accepted detour, fraction of the shortest route. Default 0.25.
    lambdas
        Risk weights swept (cost = length × (1 + λ·risk)); start at 0, strictly increasing.
        Default (0.0, 0.5, 1.0, 2.0, 4.0, 8.0).
    closed_streets
        Street names (case-insensitive exact match) or OSM way ids not to route on. Default ().
    avoid_areas
        Polygons of (lon, lat) pairs in degrees, or a GeoJSON file, not to route through.
        Default ().
    origin_spacing_m
        Thin origins to one per grid cell of this size, metres; 0 = every node. Default 0.0.
    corridor_percentile
        A corridor edge carries at least this percentile of the positive foot traffic. Default 80.
    corridor_min_share
        ... and at least this share of the busiest edge's traffic. Default 0.02.
    """

    walk_zone_m: float = _f(1600.0, "float", 100, 10000)
    max_detour: float = _f(0.25, "float", 0, 2)
    lambdas: tuple[float, ...] = _f((0.0, 0.5, 1.0, 2.0, 4.0, 8.0), "lambdas", 0, 1000)
    closed_streets: tuple[str | int, ...] = _f((), "streets")
    avoid_areas: tuple[Ring, ...] | Path = field(default=(), metadata=_m("areas"))
    origin_spacing_m: float = _f(0.0, "float", 0, 1000)
    corridor_percentile: float = _f(80.0, "float", 0, 100)
    corridor_min_share: float = _f(0.02, "float", 0, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentSpec:
    """Officer posts and their schedule (``[deployment]``).

    Attributes
    ----------
    officers
        Officers per window unless the window says otherwise. Default 4.
    radius_m
        An officer sees this far along the network, metres. Default 150.0.
    method
        "auto", "milp" or "greedy". Default "auto".
    time_limit_s
        Solver time limit per window, seconds. Default 10.0.
    mip_gap
        Accepted relative optimality gap of the MILP. Default 0.01.
    candidate_min_traffic
        Only nodes touching edges with at least this traffic share are candidates. Default 0.0.
    pinned, forbidden
        Posts ((lon, lat) in degrees, or OSM node ids) that must / must not be used. Default ().
    dwell_min
        Shortest and longest stay at a post in a rotation, minutes. Default (10, 16).
    revisit_max_min
        Longest gap between visits to a post, minutes. Default 120.
    resilience_threshold
        Flag posts whose loss drops the covered share by more than this fraction. Default 0.1.
    """

    officers: int = _f(4, "int", 0, 500)
    radius_m: float = _f(150.0, "float", 10, 1000)
    method: str = _f("auto", "str", choices=("auto", "milp", "greedy"))
    time_limit_s: float = _f(10.0, "float", 0.1, 600)
    mip_gap: float = _f(0.01, "float", 0, 0.5)
    candidate_min_traffic: float = _f(0.0, "float", 0, 1)
    pinned: tuple[Post, ...] = _f((), "posts")
    forbidden: tuple[Post, ...] = _f((), "posts")
    dwell_min: tuple[int, int] = _f((10, 16), "dwell", 1, 120)
    revisit_max_min: int = _f(120, "int", 10, 600)
    resilience_threshold: float = _f(0.1, "float", 0, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class MapSpec:
    """Map output (``[maps]``).

    Attributes
    ----------
    paper
        Print size, "letter" or "a4". Default "letter".
    tiles
        Online background tiles in the HTML map (else an offline vector basemap). Default False.
    """

    paper: str = _f("letter", "str", choices=("letter", "a4"))
    tiles: bool = _f(False, "bool")


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A whole plan, as read from one TOML file.

    Attributes
    ----------
    name
        Identifier ``[a-z0-9_-]+``; names the default output folder ``maps/<name>/``. Required.
    title
        Display title. Default "" (the loader sets it to ``name``).
    timezone
        IANA time zone of window and incident times. Default "UTC".
    output_dir
        Output folder; None = ``maps/<name>`` under the repository or working folder.
    starts
        First day of the plan (the calendar's events start on it); None = the Monday after the
        newest incident, so that a plan stays reproducible.
    network, destinations, origins, incidents, windows, risk, routing, deployment, maps
        The sections; ``origins`` and ``incidents`` are None when absent.
    source
        The TOML file read; None when built from a dict.
    base_dir
        Folder that relative paths were resolved against.
    """

    name: str = field(metadata=_m("str", pattern=r"[a-z0-9_-]+", required=True))
    title: str = _f("", "str")
    timezone: str = _f("UTC", "timezone")
    output_dir: Path | None = field(default=None, metadata=_m("path"))
    starts: date | None = field(default=None, metadata=_m("date"))
    network: NetworkSpec
    destinations: tuple[PlaceSource, ...]
    origins: OriginSource | None = None
    incidents: IncidentSpec | None = None
    windows: tuple[TimeWindow, ...]
    risk: RiskSpec = RiskSpec()
    routing: RoutingSpec = RoutingSpec()
    deployment: DeploymentSpec = DeploymentSpec()
    maps: MapSpec = MapSpec()
    source: Path | None = None
    base_dir: Path

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base_dir: str | Path, source: str = "<dict>") -> Scenario:
        """Check ``data`` (a parsed TOML document) and build a Scenario.

        Parameters
        ----------
        data
            The parsed TOML document.
        base_dir
            Folder that relative paths resolve against.
        source
            Name starting every problem line (usually the file name).

        Raises
        ------
        ScenarioError
            Listing every problem found, one per line.
        """
        reader = _Reader(source, Path(os.path.normpath(Path(base_dir).absolute())))
        scenario = reader.scenario(data)
        if scenario is None or reader.problems:
            problems = reader.problems or [f"{source}: the scenario could not be read"]
            if len(problems) > 1:
                problems = [f"{source}: {len(problems)} problems:", *(f"  {p}" for p in problems)]
            raise ScenarioError("\n".join(problems))
        return scenario

    def replace(self, **changes: Any) -> Scenario:
        """A copy with ``changes`` (field names) applied, checked like a loaded file."""
        new = dataclasses.replace(self, **changes)
        label = new.source.name if new.source else "<replace>"
        checked = Scenario.from_dict(scenario_to_dict(new), base_dir=new.base_dir, source=label)
        return dataclasses.replace(checked, source=new.source)


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario TOML file.

    Raises
    ------
    InputFileNotFoundError
        When ``path`` does not exist.
    ScenarioError
        On a TOML syntax error (with line and column), or listing every problem found.
    """
    p = existing_file(path, "scenario")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{p.name}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{p.name}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    s = Scenario.from_dict(data, base_dir=p.resolve().parent, source=p.name)
    logger.info("loaded scenario %s: %d destination sources, %d windows", s.name,
                len(s.destinations), len(s.windows))  # fmt: skip
    return dataclasses.replace(s, source=p.resolve())


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """A JSON-ready dict in the TOML layout (for report.json); ``Scenario.from_dict`` reads it back.

    Paths are strings relative to ``base_dir`` when inside it, else absolute; unset optional values
    are left out, and so are ``source`` and ``base_dir``.
    """
    out: dict[str, Any] = _plain(scenario, scenario.base_dir)
    return {k: v for k, v in out.items() if k not in ("source", "base_dir")}


def _plain(value: Any, base: Path) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        for table in ("columns", "severity"):  # (key, value) pairs → TOML tables
            if table in out:
                out[table] = dict(out[table])
        return {k: _plain(v, base) for k, v in out.items() if v is not None}
    if isinstance(value, Path):
        return value.relative_to(base).as_posix() if value.is_relative_to(base) else str(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):  # TimeWindow.days
        return [DAY_NAMES[d] for d in sorted(value)]
    if isinstance(value, tuple | list):
        return [_plain(v, base) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, base) for k, v in value.items()}
    return value


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


# ---- checking -----------------------------------------------------------------------------------


def _keys(cls: type[Any]) -> dict[str, _Key]:
    return {f.name: f.metadata["key"] for f in dataclasses.fields(cls) if "key" in f.metadata}


_CLASSES: dict[str, type[Any]] = {
    "network": NetworkSpec, "destinations": PlaceSource, "origins": OriginSource,
    "incidents": IncidentSpec, "windows": TimeWindow, "risk": RiskSpec, "routing": RoutingSpec,
    "deployment": DeploymentSpec, "maps": MapSpec,
}  # fmt: skip
#: key checks per table ("" is the top level); windows may give a bell time instead of start/end
_SCHEMA = {"": _keys(Scenario)} | {name: _keys(cls) for name, cls in _CLASSES.items()}
_SCHEMA["windows"] |= {
    "bell": _Key("time"),
    "before_min": _Key("int", 0, 720),
    "after_min": _Key("int", 0, 720),
}
_SCHEMA["incidents.columns"] = {c: _Key("str") for c in INCIDENT_COLUMN_KEYS}
_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class _Bad(Exception):  # noqa: N818 - internal signal, never escapes this module
    """A value failed its check; the text says what is accepted."""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _range(k: _Key) -> str:
    lo, hi = _num(k.lo or 0), _num(k.hi or 0)
    return f"more than {lo}, up to {hi}" if k.open_lo else f"{lo} to {hi}"


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _key(k: Any) -> str:
    s = str(k)
    return s if re.fullmatch(r"[A-Za-z0-9_-]+", s) else json.dumps(s, ensure_ascii=False)


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"accepted: {', '.join(known)}"


def _number(v: Any, k: _Key, *, whole: bool = False) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float) or (whole and isinstance(v, float)):
        raise _Bad("must be a whole number" if whole else "must be a number")
    if isinstance(v, float) and not math.isfinite(v):
        raise _Bad("must be a finite number")
    if k.lo is not None and k.hi is not None:
        too_low = v <= k.lo if k.open_lo else v < k.lo
        if too_low or v > k.hi:
            raise _Bad(f"is out of range ({_range(k)})")
    return v if whole else float(v)


def _items(v: Any, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise _Bad(f"must be a list of {what}")
    return v


def _lonlat(v: Any) -> LonLat:
    try:
        if isinstance(v, list) and len(v) == 2:
            return (_number(v[0], _Key("", -180, 180)), _number(v[1], _Key("", -90, 90)))
    except _Bad:
        pass
    raise _Bad("must hold [lon, lat] pairs in degrees (lon -180 to 180, lat -90 to 90)")


class _Reader:
    """Checks a parsed scenario, collecting problems instead of stopping at the first."""

    def __init__(self, label: str, base_dir: Path) -> None:
        self.label, self.base_dir = label, base_dir
        self.problems: list[str] = []

    def add(self, text: str) -> None:
        self.problems.append(f"{self.label}: {text}")

    def section(self, raw: Any, where: str, schema: str) -> dict[str, Any]:
        """Check every key of one table against ``_SCHEMA[schema]``; return the good values."""
        if not isinstance(raw, dict):
            self.add(f"{where} = {_show(raw)} must be a table ([{where}])")
            return {}
        keys, out = _SCHEMA[schema], {}
        sections = tuple(_CLASSES) if not where else ()
        for key, value in raw.items():
            path = f"{where}.{_key(key)}" if where else _key(key)
            if key in sections:
                continue
            if key not in keys:
                what = "section" if not where and isinstance(value, dict | list) else "key"
                self.add(f"unknown {what} '{path}' ({_suggest(str(key), [*keys, *sections])})")
                continue
            try:
                out[key] = getattr(self, f"_r_{keys[key].kind}")(value, keys[key], path)
            except _Bad as bad:
                self.add(f"{path} = {_show(value)} {bad}")
        for key, spec in keys.items():
            if spec.required and key not in raw:
                self.add(f"{where + ': ' if where else ''}missing required key '{key}'")
        return out

    def build(self, raw: Any, where: str) -> Any:
        """One optional table as its dataclass (defaults when absent), or None on problems."""
        n = len(self.problems)
        values = self.section(raw if raw is not None else {}, where, where)
        return _CLASSES[where](**values) if len(self.problems) == n else None

    def tables(self, raw: Any, name: str) -> list[tuple[str, dict[str, Any]]]:
        """An array of tables as (``name[i]``, table) pairs, numbered from 1."""
        if raw is None:
            self.add(f"missing required section [[{name}]]")
        elif not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
            self.add(f"{name} = {_show(raw)} must be an array of tables ([[{name}]])")
        elif not raw:
            self.add(f"[[{name}]] needs at least one entry")
        else:
            return [(f"{name}[{i}]", t) for i, t in enumerate(raw, 1)]
        return []

    # -- tables with cross-field checks -----------------------------------------------------------

    def scenario(self, data: Any) -> Scenario | None:
        if not isinstance(data, dict):
            self.add(f"the scenario must be a table of keys, not {_show(data)}")
            return None
        top = self.section(data, "", "")
        network = self.network(data.get("network"))
        dests = [self.destination(t, w) for w, t in self.tables(data.get("destinations"), "destinations")]
        opt: dict[str, Any] = {
            s: self.build(data[s], s) if s in data else None for s in ("origins", "incidents")
        }
        simple = {s: self.build(data.get(s), s) for s in ("risk", "routing", "maps")}
        simple["deployment"], dep = self.deployment(data.get("deployment"))
        officers = dep.get("officers", DeploymentSpec().officers)
        windows = [self.window(t, w, officers) for w, t in self.tables(data.get("windows"), "windows")]
        self.window_names(data.get("windows"))
        for w in windows:
            if w and 0 < w.officers < len(dep.get("pinned", ())):
                self.add(f"window '{w.name}' has {w.officers} officers but deployment.pinned "
                         f"keeps {len(dep['pinned'])} posts")  # fmt: skip
        if self.problems or network is None:
            return None
        top["title"] = top.get("title") or top["name"]
        return Scenario(**top, network=network, destinations=tuple(d for d in dests if d),
                        windows=tuple(w for w in windows if w), base_dir=self.base_dir,
                        **opt, **simple)  # fmt: skip

    def network(self, raw: Any) -> NetworkSpec | None:
        if raw is None:
            self.add("missing required section [network] (set network.path to a street file)")
            return None
        n = len(self.problems)
        v = self.section(raw, "network", "network")
        if isinstance(raw, dict):
            given = [f"network.{k}" for k in ("path", "place", "bbox") if raw.get(k) not in (None, "", [])]
            if len(given) != 1:
                found = " and ".join(given) or "none"
                self.add(f"network: give exactly one of path, place or bbox (found {found})")
            for k in given:
                if k != "network.path" and raw.get("online") is not True:
                    self.add(f"{k} downloads from OpenStreetMap and needs network.online = true")
        return NetworkSpec(**v) if len(self.problems) == n else None

    def destination(self, raw: dict[str, Any], where: str) -> PlaceSource | None:
        n = len(self.problems)
        v = self.section(raw, where, "destinations")
        if v.get("kind") and v.get("kind_column"):
            self.add(f"{where}: give kind or kind_column, not both")
        elif v.get("format") in ("csv", "vector") and not raw.get("kind") and not raw.get("kind_column"):
            self.add(f'{where}: format {_show(v["format"])} needs kind (e.g. "school") or kind_column')
        if bool(v.get("lat_column")) != bool(v.get("lon_column")):
            self.add(f"{where}: give both lat_column and lon_column, or neither")
        return PlaceSource(**v) if len(self.problems) == n else None

    def window(self, raw: dict[str, Any], where: str, officers: int) -> TimeWindow | None:
        n = len(self.problems)
        v = self.section(raw, where, "windows")
        bell = v.pop("bell", None)
        before, after = v.pop("before_min", BELL_BEFORE_MIN), v.pop("after_min", BELL_AFTER_MIN)
        if "bell" in raw and ("start" in raw or "end" in raw):
            self.add(f"{where}: give either bell (with before_min/after_min) or start and end, not both")
        elif bell is not None:
            v["start"] = time(*divmod((_minutes(bell) - before) % 1440, 60))
            v["end"] = time(*divmod((_minutes(bell) + after) % 1440, 60))
        elif "bell" not in raw:
            for k in ("before_min", "after_min"):
                if k in raw:
                    self.add(f"{where}.{k} is only used with {where}.bell")
            for k in ("start", "end"):
                if k not in raw:
                    self.add(f"{where}: missing required key '{k}' (or give bell instead of start/end)")
        if len(self.problems) > n:
            return None
        if v["start"] == v["end"]:
            self.add(f"{where}: start and end are both {v['start']:%H:%M}; a window needs a length")
            return None
        v.setdefault("officers", officers)
        v["label"] = v.get("label") or v["name"]
        return TimeWindow(**v)

    def window_names(self, raw: Any) -> None:
        seen: dict[str, int] = {}
        for i, t in enumerate(raw if isinstance(raw, list) else [], 1):
            name = t.get("name") if isinstance(t, dict) else None
            if isinstance(name, str) and name in seen:
                self.add(f"windows[{i}].name = {_show(name)} is already used by windows[{seen[name]}]")
            elif isinstance(name, str):
                seen[name] = i

    def deployment(self, raw: Any) -> tuple[DeploymentSpec | None, dict[str, Any]]:
        """The deployment table, and its good values for checks across tables."""
        n = len(self.problems)
        v = self.section(raw if raw is not None else {}, "deployment", "deployment")
        for post in v.get("pinned", ()):
            if post in v.get("forbidden", ()):
                shown = _show(_plain(post, self.base_dir))
                self.add(f"deployment.pinned post {shown} is also in deployment.forbidden")
        return (DeploymentSpec(**v) if len(self.problems) == n else None), v

    # -- value readers: _r_<kind>(value, key, path) -> checked value, or raise _Bad ---------------

    def _r_str(self, v: Any, k: _Key, path: str) -> str:
        if not isinstance(v, str):
            raise _Bad("must be a string")
        if k.choices and v not in k.choices:
            raise _Bad(f"must be one of {', '.join(map(_show, k.choices))}")
        if k.pattern and not re.fullmatch(k.pattern, v):
            raise _Bad(f"must match the pattern {k.pattern}")
        return v

    def _r_int(self, v: Any, k: _Key, path: str) -> int:
        return int(_number(v, k, whole=True))

    def _r_float(self, v: Any, k: _Key, path: str) -> float:
        return float(_number(v, k))

    def _r_bool(self, v: Any, k: _Key, path: str) -> bool:
        if not isinstance(v, bool):
            raise _Bad("must be true or false")
        return v

    def _r_path(self, v: Any, k: _Key, path: str) -> Path:
        if not isinstance(v, str) or not v.strip() or "\0" in v:
            raise _Bad("must be a file path (relative to the scenario's folder, or absolute)")
        if k.choices and not v.lower().endswith(k.choices):
            raise _Bad(f"must end in one of {', '.join(k.choices)}")
        return Path(os.path.normpath(self.base_dir / v))

    def _r_timezone(self, v: Any, k: _Key, path: str) -> str:
        try:
            return str(ZoneInfo(self._r_str(v, k, path)))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise _Bad('is not an IANA time zone name (e.g. "America/New_York", "UTC")') from None

    def _r_date(self, v: Any, k: _Key, path: str) -> date:
        if isinstance(v, datetime):
            raise _Bad("must be a date without a time, e.g. 2026-09-08")
        if isinstance(v, date):
            return v
        try:
            return date.fromisoformat(self._r_str(v, k, path))
        except ValueError:
            raise _Bad("must be a date YYYY-MM-DD, e.g. 2026-09-08") from None

    def _r_strs(self, v: Any, k: _Key, path: str) -> tuple[str, ...]:
        items = _items(v, "strings")
        if not all(isinstance(s, str) and s for s in items):
            raise _Bad("must be a list of non-empty strings")
        if k.pattern and not all(re.fullmatch(k.pattern, s) for s in items):
            raise _Bad(f"must be a list of names matching the pattern {k.pattern}")
        return tuple(items)

    def _r_time(self, v: Any, k: _Key, path: str) -> time:
        if isinstance(v, time):
            return time(v.hour, v.minute)
        m = _HHMM.fullmatch(v) if isinstance(v, str) else None
        if not m:
            raise _Bad('must be a time "HH:MM" from 00:00 to 23:59')
        return time(int(m[1]), int(m[2]))

    def _r_days(self, v: Any, k: _Key, path: str) -> frozenset[int]:
        items = _items(v, "day names")
        if not items or not all(isinstance(d, str) and d.lower() in DAY_NAMES for d in items):
            raise _Bad(f"must be a non-empty list of day names from {', '.join(DAY_NAMES)}")
        return frozenset(DAY_NAMES.index(d.lower()) for d in items)

    def _r_bbox(self, v: Any, k: _Key, path: str) -> tuple[float, float, float, float] | None:
        if v == []:
            return None
        if isinstance(v, list) and len(v) == 4:
            (w, s), (e, n) = _lonlat(v[:2]), _lonlat(v[2:])
            if w < e and s < n:
                return (w, s, e, n)
        raise _Bad("must be [west, south, east, north] in degrees, west < east, south < north")

    def _r_lambdas(self, v: Any, k: _Key, path: str) -> tuple[float, ...]:
        values = tuple(_number(x, k) for x in _items(v, "numbers"))
        if not 1 <= len(values) <= 20:
            raise _Bad("must hold 1 to 20 values")
        if values[0] != 0:
            raise _Bad("must start with 0 (the shortest-route baseline)")
        if any(b <= a for a, b in itertools.pairwise(values)):
            raise _Bad("must be strictly increasing")
        return values

    def _r_streets(self, v: Any, k: _Key, path: str) -> tuple[str | int, ...]:
        items = _items(v, "street names or OSM way ids")
        for s in items:
            name = isinstance(s, str) and bool(s.strip())
            if not name and (isinstance(s, bool) or not isinstance(s, int) or s <= 0):
                raise _Bad("must be a list of street names or positive OSM way ids")
        return tuple(items)

    def _r_posts(self, v: Any, k: _Key, path: str) -> tuple[Post, ...]:
        items = _items(v, "[lon, lat] pairs or OSM node ids")
        if any(isinstance(p, bool) or (isinstance(p, int) and p <= 0) for p in items):
            raise _Bad("must be a list of [lon, lat] pairs or positive OSM node ids")
        return tuple(p if isinstance(p, int) else _lonlat(p) for p in items)

    def _r_areas(self, v: Any, k: _Key, path: str) -> tuple[Ring, ...] | Path:
        if isinstance(v, str):
            return self._r_path(v, k, path)
        what = "a GeoJSON file path or a list of polygons, each a list of 3 or more [lon, lat] pairs"
        rings = _items(v, what)
        if not all(isinstance(r, list) and len(r) >= 3 for r in rings):
            raise _Bad(f"must be {what}")
        return tuple(tuple(_lonlat(p) for p in r) for r in rings)

    def _r_dwell(self, v: Any, k: _Key, path: str) -> tuple[int, int]:
        if not isinstance(v, list) or len(v) != 2:
            raise _Bad(f"must be [shortest, longest] in minutes ({_range(k)})")
        lo, hi = (int(_number(x, k, whole=True)) for x in v)
        if lo > hi:
            raise _Bad("must be [shortest, longest] with shortest ≤ longest")
        return (lo, hi)

    def _r_columns(self, v: Any, k: _Key, path: str) -> tuple[tuple[str, str], ...]:
        out = self.section(v, path, "incidents.columns")
        return tuple((c, out[c]) for c in INCIDENT_COLUMN_KEYS if c in out)

    def _r_severity(self, v: Any, k: _Key, path: str) -> tuple[tuple[str, float], ...]:
        if not isinstance(v, dict):
            raise _Bad(f"must be a table of category pattern = weight ({_range(k)})")
        out = []
        for pattern, weight in v.items():
            try:
                out.append((str(pattern), float(_number(weight, k))))
            except _Bad as bad:
                self.add(f"{path}.{_key(pattern)} = {_show(weight)} {bad}")
        return tuple(out)
