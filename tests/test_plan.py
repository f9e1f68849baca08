"""The main job end to end on the bundled sample: files, report schema, determinism, atomicity, CLI."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from passages import cli, export, plan
from passages.config import load_scenario
from tests.conftest import DATA, ROOT

SCENARIO = DATA / "atlanta.toml"
SCHEMA = ROOT / "docs" / "report.schema.json"


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "plan"
    assert cli.main(["-q", "demo", "--out", str(out)]) == 0
    return out


def test_demo_writes_every_output(demo: Path) -> None:
    for name in plan.PLAN_FILES:
        assert (demo / name).stat().st_size > 0, name
    pdfs = sorted(p.name for p in (demo / "print").glob("*.pdf"))
    for window in ("morning", "afternoon", "evening"):
        assert f"overview-{window}.pdf" in pdfs
        assert any(p.startswith(f"post-{window}-") for p in pdfs)
    leftovers = [p.name for p in demo.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == [], "no temporary folders are left behind"


def test_report_validates_against_its_schema(demo: Path) -> None:
    report = json.loads((demo / "report.json").read_text())
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    windows = {w["name"]: w for w in report["windows"]}
    assert list(windows) == ["morning", "afternoon", "evening"]
    morning = windows["morning"]
    # the recommended routes lower risk exposure, within the detour cap
    assert morning["routes"]["exposure_recommended"] < morning["routes"]["exposure_shortest"]
    assert morning["routes"]["risk_reduction_pct"] > 0
    assert 0 <= morning["routes"]["median_detour"] <= morning["routes"]["p90_detour"] <= 0.25
    assert morning["deployment"]["posts"] == morning["deployment"]["officers"] == 6
    assert 0 < morning["deployment"]["share_covered"] <= 1
    assert morning["deployment"]["gap"] >= 0
    counts = report["inputs"]
    assert 7_000 <= counts["network"]["nodes"] <= 8_500
    assert counts["incidents"]["kept"] > 5_000
    shares = report["risk_sources"]["category_share"]
    assert abs(sum(shares.values()) - 1) < 1e-3
    assert report["versions"]["passages"]


def test_schedule_csv_matches_report(demo: Path) -> None:
    with (demo / "schedule.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    report = json.loads((demo / "report.json").read_text())
    posts = {(w["name"], p["post_id"]) for w in report["windows"] for p in w["deployment"]["posts_list"]}
    assert {(r["window"], r["post_id"]) for r in rows} == posts
    ics = (demo / "schedule.ics").read_bytes()
    assert ics.count(b"BEGIN:VEVENT") >= len(posts)
    assert b"TZID=America/New_York" in ics


def test_gpkg_has_the_five_layers(demo: Path) -> None:
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(demo / "plan.gpkg")}
    assert layers == {"risk", "corridors", "routes", "destinations", "posts"}
    posts = pyogrio.read_dataframe(demo / "plan.gpkg", layer="posts")
    assert set(posts["window"]) == {"morning", "afternoon", "evening"}


def test_two_runs_are_byte_identical(demo: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert cli.main(["-q", "demo", "--out", str(again)]) == 0
    a, b = _digests(demo), _digests(again)
    a.pop("timings.json")
    b.pop("timings.json")
    assert a == b


def test_an_interrupted_run_leaves_the_previous_plan_intact(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plan"
    shutil.copytree(demo, target)
    before = _digests(target)

    def boom(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "write_schedule_ics", boom)
    assert cli.main(["-q", "demo", "--out", str(target)]) == 130
    assert _digests(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]


def test_refuses_to_overwrite_a_folder_that_is_not_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert cli.main(["-q", "demo", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not a passages plan" in err and "Traceback" not in err
    assert (tmp_path / "notes.txt").read_text() == "mine"


# ---- the other commands -----------------------------------------------------------------


def test_inspect_prints_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["inspect", str(SCENARIO)]) == 0
    out = capsys.readouterr().out
    assert "network: " in out and "UTM zone 16N" in out
    assert "read 6,336" in out  # every COBRA row is read and accounted for
    assert "read 987" in out  # MARTA stops
    assert "read 107" in out  # parks


def test_route_prints_recommended_and_shortest(capsys: pytest.CaptureFixture[str]) -> None:
    # from Centennial Olympic Park Drive to the Five Points rail station
    code = cli.main(["route", str(SCENARIO), "--from", "33.7603,-84.3937", "--to", "FIVE POINTS STATION"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "recommended:" in out and "shortest:" in out and "detour" in out


def test_compare_reports_what_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = SCENARIO.read_text().replace("officers = 6\n", "officers = 3\n", 1)
    other = tmp_path / "fewer.toml"
    other.write_text(text.replace('path = "', f'path = "{DATA}/'))
    assert cli.main(["-q", "compare", str(SCENARIO), str(other)]) == 0
    out = capsys.readouterr().out
    assert "windows[morning].officers: 6 → 3" in out
    lines = [line for line in out.splitlines() if line.startswith("morning")]
    assert lines[0].split()[2] == "6" and lines[1].split()[2] == "3"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "missing.toml"], "scenario file not found"),
        (["route", str(SCENARIO), "--from", "north,south", "--to", "x"], "expected LAT,LON"),
        (["route", str(SCENARIO), "--from", "33.76,-84.39", "--to", "Nowhere Park"], "no destination"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_a_typo_in_a_key_fails_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "typo.toml"
    bad.write_text(SCENARIO.read_text().replace("max_snap_m = 250.0", "max_snap = 250.0", 1))
    assert cli.main(["plan", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'destinations[1].max_snap'" in err and "max_snap_m" in err


def test_python_dash_m_runs_the_cli() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "passages", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ,
    )
    assert done.returncode == 0 and "demo" in done.stdout


def test_plan_from_a_scenario_object_is_the_library_entry_point() -> None:
    scenario = load_scenario(SCENARIO).replace(windows=load_scenario(SCENARIO).windows[:1])
    result = plan.plan(scenario)
    assert [wp.window.name for wp in result.windows] == ["morning"]
    wp = result.windows[0]
    assert len(wp.posts.posts) == 6
    # every post stands on a corridor or route edge that carries walkers
    for post in wp.posts.posts:
        assert (wp.corridors.traffic[post.covered_edges] > 0).any()


def test_inputs_are_never_written(demo: Path) -> None:
    # the module fixture ran the demo; run once more and compare every input's bytes and mtime
    files = sorted(p for p in DATA.iterdir() if p.is_file())
    before = {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in files}
    assert cli.main(["-q", "demo", "--out", str(demo)]) == 0
    after = {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in files}
    assert after == before


def test_gpkg_risk_is_suppressed_where_few_incidents_support_it(demo: Path) -> None:
    import pyogrio

    risk = pyogrio.read_dataframe(demo / "plan.gpkg", layer="risk")
    result = plan.plan(load_scenario(SCENARIO).replace(windows=load_scenario(SCENARIO).windows[:1]))
    support = result.windows[0].risk.support
    k = result.scenario.risk.min_support
    assert (support < k).any() and (support >= k).any()
    shown = risk["morning_risk"].notna().to_numpy()
    assert (shown == (support >= k)).all()


def _one_window(officers: int = 6) -> Any:
    scenario = load_scenario(SCENARIO)
    return scenario.replace(windows=(replace(scenario.windows[0], officers=officers),))


def test_a_plan_without_officers_is_written_without_a_posts_layer(tmp_path: Path) -> None:
    import pyogrio

    result = plan.plan(_one_window(officers=0))
    assert len(result.windows[0].posts.posts) == 0
    folder = plan.write_plan(result, tmp_path / "plan")
    layers = {name for name, _ in pyogrio.list_layers(folder / "plan.gpkg")}
    assert "posts" not in layers and {"risk", "corridors", "routes"} <= layers
    assert (folder / "schedule.csv").read_text().count("\n") == 1  # the header only


def test_a_failed_final_swap_puts_the_previous_plan_back(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plan"
    shutil.copytree(demo, target)
    before = _digests(target)
    result = plan.plan(_one_window())
    real_replace = Path.replace

    def fail_on_swap(self: Path, dest: Any) -> Path:
        if self.name.startswith(".plan.tmp-"):
            raise OSError(28, "No space left on device")
        return real_replace(self, dest)

    monkeypatch.setattr(Path, "replace", fail_on_swap)
    with pytest.raises(OSError, match="No space left"):
        plan.write_plan(result, target)
    monkeypatch.undo()
    assert _digests(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]


def test_route_weighs_incidents_as_the_plan_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from passages import risk

    scenario = _one_window()
    assert scenario.incidents is not None
    scenario = scenario.replace(
        incidents=replace(scenario.incidents, lookback_days=365, decay_half_life_days=90.0)
    )
    seen: list[dict[str, Any]] = []
    real = risk.window_risk

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(risk, "window_risk", spy)
    plan.route_lines(scenario, lat=33.7603, lon=-84.3937, dest="FIVE POINTS STATION", window=None)
    plan.plan(scenario)
    assert len(seen) == 2
    route_kwargs, plan_kwargs = seen
    assert route_kwargs == plan_kwargs
    assert route_kwargs["lookback_days"] == 365 and route_kwargs["decay_half_life_days"] == 90.0


def test_a_disk_error_while_writing_is_one_line_and_exit_2(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "plan"
    shutil.copytree(demo, target)
    before = _digests(target)

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "write_schedule_csv", full)
    assert cli.main(["-q", "demo", "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and "previous plan is unchanged" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert _digests(target) == before
