"""Scenario loading: the bundled sample, defaults kept in step with docs/scenario.md, bad files."""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passages._errors import InputFileNotFoundError, PassagesError, ScenarioError
from passages.config import (
    BELL_AFTER_MIN,
    BELL_BEFORE_MIN,
    INCIDENT_COLUMN_KEYS,
    DeploymentSpec,
    IncidentSpec,
    MapSpec,
    NetworkSpec,
    OriginSource,
    PlaceSource,
    RiskSpec,
    RoutingSpec,
    Scenario,
    TimeWindow,
    load_scenario,
    scenario_to_dict,
)
from tests.conftest import BAD, DATA, ROOT

SCENARIOS = Path(__file__).resolve().parent / "data" / "scenarios"
BAD_SCENARIOS = sorted((BAD / "scenario").glob("*.toml"))
DOCS = ROOT / "docs" / "scenario.md"

#: docs/scenario.md table (by TOML table name, "" = top level) → dataclass it documents
SECTIONS: dict[str, type[Any]] = {
    "": Scenario, "network": NetworkSpec, "destinations": PlaceSource, "origins": OriginSource,
    "incidents": IncidentSpec, "windows": TimeWindow, "risk": RiskSpec, "routing": RoutingSpec,
    "deployment": DeploymentSpec, "maps": MapSpec,
}  # fmt: skip
#: keys documented in their own table rather than as a row
OWN_TABLE = {("incidents", "columns"), ("incidents", "severity")}
#: window keys that exist only in the TOML (they compute start and end)
BELL_KEYS = {"bell": None, "before_min": BELL_BEFORE_MIN, "after_min": BELL_AFTER_MIN}


def minimal() -> dict[str, Any]:
    with (SCENARIOS / "minimal.toml").open("rb") as f:
        return tomllib.load(f)


def checked_keys(cls: type[Any]) -> dict[str, dataclasses.Field[Any]]:
    """The fields of ``cls`` that are TOML keys (they carry a check in their metadata)."""
    return {f.name: f for f in dataclasses.fields(cls) if "key" in f.metadata}


def plain(value: Any) -> Any:
    """A Python default in TOML terms (tuples become lists)."""
    return [plain(v) for v in value] if isinstance(value, tuple | list) else value


def doc_tables() -> dict[str, dict[str, dict[str, str]]]:
    """Rows of every key table in docs/scenario.md: {table: {key: {column: cell}}}."""
    tables: dict[str, dict[str, dict[str, str]]] = {}
    section: str | None = None
    header: list[str] = []
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            m = re.fullmatch(r"## `\[{1,2}([a-z.]+)\]{1,2}`", line)
            section = m[1] if m else "" if line == "## Top-level keys" else None
        elif section is not None and line.startswith("| key |"):
            header = [c.strip() for c in line.strip("|").split("|")]
        elif section is not None and line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            assert len(cells) == len(header) == 6, f"docs row has {len(cells)} cells: {line}"
            tables.setdefault(section, {})[cells[0].strip("`")] = dict(zip(header, cells, strict=True))
    return tables


# ---- the bundled sample ------------------------------------------------------------------------


def test_bundled_atlanta_loads_and_its_files_exist() -> None:
    s = load_scenario(DATA / "atlanta.toml")
    assert s.name == "atlanta"
    assert s.source == (DATA / "atlanta.toml").resolve()
    assert s.timezone == "America/New_York"
    assert s.network.path is not None
    paths = [s.network.path, *(d.path for d in s.destinations)]
    assert s.incidents is not None
    paths.append(s.incidents.path)
    for p in paths:
        assert p.is_absolute()
        assert p.is_file(), p
    assert {d.kind for d in s.destinations} == {"transit", "park"}
    assert s.incidents.adapter == "cobra"
    assert not s.incidents.show_points


def test_bundled_atlanta_windows() -> None:
    s = load_scenario(DATA / "atlanta.toml")
    by_name = {w.name: w for w in s.windows}
    assert list(by_name) == ["morning", "afternoon", "evening"]
    weekdays, daily = frozenset(range(5)), frozenset(range(7))
    assert (by_name["morning"].days, by_name["morning"].start, by_name["morning"].end) == (
        weekdays,
        time(6, 30),
        time(9, 0),
    )
    assert (by_name["afternoon"].days, by_name["afternoon"].duration_min) == (weekdays, 240)
    assert (by_name["evening"].days, by_name["evening"].end) == (daily, time(21, 30))
    assert [w.officers for w in s.windows] == [6, 6, 4]
    assert all(set(w.kinds) == {"transit", "park"} for w in s.windows)


def test_bundled_atlanta_school_example_is_valid_once_uncommented() -> None:
    """The commented-out school source is what users copy: it must load as written."""
    text = (DATA / "atlanta.toml").read_text(encoding="utf-8")
    block = re.search(r"^# \[\[destinations\]\]\n((?:# \w.*\n)+)", text, flags=re.MULTILINE)
    assert block, "commented school example not found"
    school = "[[destinations]]\n" + re.sub(r"^# ", "", block[1], flags=re.MULTILINE)
    data = tomllib.loads(text) | {"destinations": tomllib.loads(school)["destinations"]}
    s = Scenario.from_dict(data, base_dir=DATA)
    assert s.destinations[0].kind == "school"
    assert s.destinations[0].lat_column == "latitude"


# ---- docs/scenario.md is the reference: keys, defaults and ranges must match -------------------


def test_docs_list_exactly_the_accepted_keys() -> None:
    tables = doc_tables()
    for section, cls in SECTIONS.items():
        keys = set(checked_keys(cls)) - {k for s, k in OWN_TABLE if s == section}
        if cls is TimeWindow:
            keys |= set(BELL_KEYS)
        assert set(tables[section]) == keys, f"docs table [{section}]"
    assert tuple(tables["incidents.columns"]) == INCIDENT_COLUMN_KEYS
    assert "## `[incidents.severity]`" in DOCS.read_text(encoding="utf-8")


def doc_default_matches(cell: str, f: dataclasses.Field[Any] | None, default: Any) -> bool:
    if cell == "required":
        return f is not None and f.metadata["key"].required and f.default is dataclasses.MISSING
    if cell == "—":
        return default is None
    if cell.startswith("*"):  # filled in from another key when loading
        return f is not None and not f.metadata["key"].required and f.default in ("", dataclasses.MISSING)
    value = tomllib.loads(f"v = {cell.strip('`')}")["v"]
    return bool(value == plain(default) and type(value) is type(plain(default)))


def test_docs_defaults_match_the_dataclasses() -> None:
    tables = doc_tables()
    for section, cls in SECTIONS.items():
        for key, row in tables[section].items():
            f = checked_keys(cls).get(key)
            default = BELL_KEYS[key] if f is None else f.default
            assert doc_default_matches(row["default"], f, default), (
                f"docs/scenario.md [{section}] {key}: default {row['default']} but the code has "
                f"{'required' if default is dataclasses.MISSING else repr(default)}"
            )
    assert all(row["default"] == "—" for row in tables["incidents.columns"].values())


def test_docs_ranges_and_choices_match_the_checks() -> None:
    tables = doc_tables()
    for section, cls in SECTIONS.items():
        for key, f in checked_keys(cls).items():
            if (section, key) in OWN_TABLE:
                continue
            spec, accepted = f.metadata["key"], tables[section][key]["accepted"]
            if spec.hi is not None:
                lo, hi = (f"{x:g}" for x in (spec.lo, spec.hi))
                expected = f"more than {lo}, up to {hi}" if spec.open_lo else f"{lo} to {hi}"
                assert expected in accepted, f"[{section}] {key}: {accepted!r} lacks {expected!r}"
            for choice in spec.choices:
                assert choice in accepted, f"[{section}] {key}: {accepted!r} lacks {choice!r}"
            assert spec.pattern in accepted, f"[{section}] {key}: {accepted!r} lacks {spec.pattern!r}"


def test_minimal_scenario_takes_every_default() -> None:
    s = load_scenario(SCENARIOS / "minimal.toml")
    assert (s.risk, s.routing, s.deployment, s.maps) == (
        RiskSpec(), RoutingSpec(), DeploymentSpec(), MapSpec()
    )  # fmt: skip
    assert (s.title, s.timezone, s.output_dir, s.origins, s.incidents) == (
        "minimal", "UTC", None, None, None
    )  # fmt: skip
    w = s.windows[0]
    assert (w.label, w.margin_min, w.kinds, w.officers) == ("morning", 30, (), DeploymentSpec().officers)
    assert s.network == NetworkSpec(path=SCENARIOS / "streets.osm.pbf")


# ---- values are read as documented ------------------------------------------------------------


def test_full_scenario_reads_every_key() -> None:
    s = load_scenario(SCENARIOS / "full.toml")
    assert s.output_dir == SCENARIOS / "out" / "full"
    assert s.network.path == SCENARIOS.parent / "streets" / "city.osm.pbf"  # "../" normalised
    assert s.network.drop_classes == ("motorway", "trunk")
    schools, gtfs, parks = s.destinations
    assert (schools.kind, schools.max_snap_m, gtfs.include, parks.kind_column) == (
        "school", 100.0, ("rail", "bus"), "park_type"
    )  # fmt: skip
    assert isinstance(schools.max_snap_m, float)
    assert s.origins == OriginSource(
        path=SCENARIOS / "blocks.csv", format="csv", weight_column="children",
        lat_column="lat", lon_column="lon",
    )  # fmt: skip
    inc = s.incidents
    assert inc is not None
    assert inc.path == Path("/data/incidents.csv")
    assert dict(inc.columns)["datetime"] == "occurred"
    assert inc.severity == (("ASSAULT*", 6.0), ("THEFT", 1.5))
    am, late = s.windows
    assert (am.start, am.end, am.officers, am.label) == (time(7, 0), time(8, 15), 10, "School arrival")
    assert (late.start, late.end, late.crosses_midnight, late.duration_min) == (
        time(22, 30), time(1, 30), True, 180
    )  # fmt: skip
    assert late.officers == 8  # from deployment.officers
    assert late.days == frozenset({4, 5})
    assert s.routing.lambdas == (0.0, 1.0, 3.0, 9.0)
    assert s.routing.closed_streets == ("Main St", 123456)
    assert s.routing.avoid_areas == (
        ((-118.25, 34.05), (-118.24, 34.05), (-118.24, 34.06), (-118.25, 34.06)),
    )
    assert s.deployment.pinned == ((-118.2437, 34.0522), 1234567)
    assert s.deployment.dwell_min == (5, 20)
    assert s.maps == MapSpec(paper="a4", tiles=True)


def test_online_place_bell_across_midnight_and_avoid_file() -> None:
    s = load_scenario(SCENARIOS / "online.toml")
    assert s.network.path is None
    assert s.network.place.startswith("Westlake")
    night = s.windows[0]
    assert (night.start, night.end, night.crosses_midnight) == (time(22, 45), time(0, 45), True)
    assert night.duration_min == BELL_BEFORE_MIN + BELL_AFTER_MIN
    assert s.routing.avoid_areas == SCENARIOS / "closed_areas.geojson"


def test_window_properties() -> None:
    w = TimeWindow(name="w", days=frozenset({0}), start=time(7), end=time(9, 30), officers=1)
    assert (w.crosses_midnight, w.duration_min) == (False, 150)
    late = dataclasses.replace(w, start=time(23, 50), end=time(0, 10))
    assert (late.crosses_midnight, late.duration_min) == (True, 20)


@pytest.mark.parametrize("name", ["minimal.toml", "full.toml", "online.toml"])
def test_scenario_to_dict_round_trips(name: str) -> None:
    s = load_scenario(SCENARIOS / name)
    d = scenario_to_dict(s)
    assert "source" not in d and "base_dir" not in d
    again = Scenario.from_dict(d, base_dir=s.base_dir)
    assert dataclasses.replace(again, source=s.source) == s


def test_scenario_to_dict_is_json_ready_with_relative_paths() -> None:
    d = scenario_to_dict(load_scenario(SCENARIOS / "full.toml"))
    assert d["destinations"][1]["path"] == "gtfs/stops.txt"
    assert d["network"]["path"] == str(SCENARIOS.parent / "streets" / "city.osm.pbf")  # outside base
    assert d["incidents"]["path"] == "/data/incidents.csv"
    assert d["windows"][0]["days"] == ["mon", "tue", "wed", "thu", "fri"]
    assert (d["windows"][1]["start"], d["windows"][1]["end"]) == ("22:30", "01:30")
    assert d["incidents"]["severity"] == {"ASSAULT*": 6.0, "THEFT": 1.5}
    assert "origins" in d and "bbox" not in d["network"]


def test_relative_paths_resolve_against_the_scenario_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "p.toml").write_text((SCENARIOS / "minimal.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    s = load_scenario("plans/p.toml")
    assert s.network.path == folder.resolve() / "streets.osm.pbf"
    assert s.base_dir == folder.resolve()


def test_replace_checks_the_new_values() -> None:
    s = load_scenario(SCENARIOS / "minimal.toml")
    wider = s.replace(routing=RoutingSpec(max_detour=0.5))
    assert wider.routing.max_detour == 0.5
    assert wider.source == s.source
    assert wider.windows == s.windows
    with pytest.raises(ScenarioError, match=r"routing.max_detour = 5.0 is out of range \(0 to 2\)"):
        s.replace(routing=RoutingSpec(max_detour=5.0))


# ---- bad input -------------------------------------------------------------------------------


def test_typo_key_names_the_key_and_suggests_the_right_one() -> None:
    data = minimal() | {"routing": {"max_detuor": 0.3}}
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data, base_dir=SCENARIOS, source="atlanta.toml")
    assert str(err.value) == "atlanta.toml: unknown key 'routing.max_detuor' (did you mean 'max_detour'?)"


def test_unknown_key_without_a_close_match_lists_the_accepted_keys() -> None:
    data = minimal() | {"maps": {"colour": "red"}}
    with pytest.raises(ScenarioError, match=r"unknown key 'maps.colour' \(accepted: paper, tiles\)"):
        Scenario.from_dict(data, base_dir=SCENARIOS)


def test_expected_messages_cover_at_least_15_bad_files() -> None:
    assert len(BAD_SCENARIOS) >= 15


@pytest.mark.parametrize("path", BAD_SCENARIOS, ids=lambda p: p.stem)
def test_bad_scenario(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: <message part>'"
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert first.removeprefix("# expect: ") in message
    assert all(line.strip().startswith(f"{path.name}: ") for line in message.splitlines())


def test_every_problem_is_reported_at_once() -> None:
    data = copy.deepcopy(minimal())
    data["routing"] = {"max_detour": 3.0, "lambdas": [0, 2, 1]}
    data["deployment"] = {"radius_m": "150", "pinned": [7], "forbidden": [7]}
    data["windows"][0]["start"] = "25:00"
    data["timezone"] = "Mars/Olympus"
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data, base_dir=SCENARIOS, source="x.toml")
    lines = str(err.value).splitlines()
    assert lines[0] == "x.toml: 6 problems:"
    assert any("deployment.pinned post 7 is also in deployment.forbidden" in s for s in lines)


def test_errors_are_value_errors_and_passages_errors() -> None:
    with pytest.raises(ValueError, match="missing required section"):
        Scenario.from_dict({"name": "x"}, base_dir=".")
    with pytest.raises(PassagesError):
        Scenario.from_dict({"name": "x"}, base_dir=".")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFoundError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.toml")


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "latin1.toml"
    p.write_bytes('title = "Café"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin1\.toml: not UTF-8 text"):
        load_scenario(p)


# ---- anything thrown at routing / deployment loads or raises ScenarioError --------------------

_ROUTING = checked_keys(RoutingSpec)
_DEPLOYMENT = checked_keys(DeploymentSpec)
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
_lonlat = st.tuples(st.floats(-181, 181), st.floats(-91, 91)).map(list)
_junk = st.recursive(
    _scalars | _lonlat | st.lists(st.floats(0, 20), max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


def _near_valid(spec: Any) -> st.SearchStrategy[Any]:
    """Values of the right shape, a little past the limits now and then."""
    lo, hi = spec.lo or 0, spec.hi or 0
    shapes: dict[str, st.SearchStrategy[Any]] = {
        "float": st.floats(lo - 1, hi + 1) | st.integers(int(lo) - 1, int(hi) + 1),
        "int": st.integers(int(lo) - 1, int(hi) + 1),
        "str": st.sampled_from((*spec.choices, "other")),
        "lambdas": st.lists(st.floats(0, 1001), max_size=21).map(lambda xs: [0, *sorted(xs)]),
        "streets": st.lists(st.text(max_size=8) | st.integers(-1, 99), max_size=3),
        "areas": st.text(max_size=8) | st.lists(st.lists(_lonlat, min_size=2, max_size=4), max_size=2),
        "posts": st.lists(st.integers(-1, 9) | _lonlat, max_size=3),
        "dwell": st.lists(st.integers(0, 121), min_size=1, max_size=3),
    }
    return shapes[spec.kind]


def _table(fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    near = st.fixed_dictionaries({}, optional={k: _near_valid(f.metadata["key"]) for k, f in fields.items()})
    junk = st.dictionaries(st.sampled_from(sorted(fields)) | st.text(max_size=6), _junk, max_size=4)
    return near | junk


@settings(max_examples=300, deadline=None)
@given(routing=_table(_ROUTING), deployment=_table(_DEPLOYMENT))
def test_random_routing_and_deployment_load_or_raise_scenario_error(
    routing: dict[str, Any], deployment: dict[str, Any]
) -> None:
    data = minimal() | {"routing": routing, "deployment": deployment}
    try:
        s = Scenario.from_dict(data, base_dir="/plans")
    except ScenarioError as exc:
        assert str(exc).startswith("<dict>: ")
        return
    assert Scenario.from_dict(scenario_to_dict(s), base_dir="/plans") == s
