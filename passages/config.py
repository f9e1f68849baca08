"""The scenario: one TOML file describing a plan, loaded into frozen, validated dataclasses.

Each dataclass field carries its check (``_m``/``_f`` below); ``docs/scenario.md`` lists every key with
unit, default and range, and a test keeps the page and these defaults in step. Checking (in the private
``passages._scenario_check``, which reads those checks) collects every problem, then raises one
:class:`~passages._errors.ScenarioError` listing them all, each naming the file, the key path, the bad
value and what is accepted. Relative paths resolve against the scenario file's folder.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

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
    """How one TOML key is checked: the reader ``_scenario_check._Reader._r_<kind>`` and its limits."""

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
    corridor_min_length_m
        Runs shorter than this are not corridors (their walkers still count), metres. Default 100.
    """

    walk_zone_m: float = _f(1600.0, "float", 100, 10000)
    max_detour: float = _f(0.25, "float", 0, 2)
    lambdas: tuple[float, ...] = _f((0.0, 0.5, 1.0, 2.0, 4.0, 8.0), "lambdas", 0, 1000)
    closed_streets: tuple[str | int, ...] = _f((), "streets")
    avoid_areas: tuple[Ring, ...] | Path = field(default=(), metadata=_m("areas"))
    origin_spacing_m: float = _f(0.0, "float", 0, 1000)
    corridor_percentile: float = _f(80.0, "float", 0, 100)
    corridor_min_share: float = _f(0.02, "float", 0, 1)
    corridor_min_length_m: float = _f(100.0, "float", 0, 5000)


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
        from passages._scenario_check import _Reader  # it imports this module's classes

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
