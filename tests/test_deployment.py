"""Officer posts: max-coverage choice (MILP vs greedy vs brute force), one coverage shared by
every window, resilience; the MILP against greedy on the pipeline's own demand for every window
of the sample scenario."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from passages import deployment
from passages._errors import InputError, PassagesError
from passages.config import load_scenario
from passages.coverage import Coverage, build_coverage, candidate_nodes
from passages.deployment import PostPlan, choose_posts, resilience
from passages.network import Streets, load_network
from passages.plan import Plan, plan
from passages.schedule import schedule
from tests.conftest import DATA
from tests.test_coverage import jittered_grid, two_star_clusters

SAMPLE = DATA / "central-atlanta-filtered.osm.pbf"
SCENARIO = DATA / "atlanta.toml"


def brute_force_best(
    cov: Coverage, w: npt.NDArray[np.float64], p: int, *, pins: tuple[int, ...] = ()
) -> float:
    """Best coverage of any ``p`` candidates holding the ``pins`` (row numbers)."""
    sets = [cov.matrix[[i]].indices for i in range(cov.matrix.shape[0])]
    return max(
        float(w[np.unique(np.concatenate([sets[i] for i in c]))].sum())
        for c in itertools.combinations(range(len(sets)), p)
        if set(pins) <= set(c)
    )


def covered_value(cov: Coverage, w: npt.NDArray[np.float64], nodes: list[int]) -> float:
    rows = np.searchsorted(cov.candidates, nodes)
    return float(w[np.unique(cov.matrix[rows].indices)].sum()) if len(rows) else 0.0


# ---- one coverage for every window ---------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_one_coverage_for_every_window_gives_each_window_its_own_plan(seed: int) -> None:
    streets = jittered_grid(8, spacing_m=55.0, seed=seed)
    rng = np.random.default_rng(seed)
    windows = [
        rng.lognormal(0, 1, streets.n_edges) * (rng.uniform(size=streets.n_edges) < 0.4) for _ in range(3)
    ]
    union = np.sum(windows, axis=0)
    shared = build_coverage(streets, union, radius_m=110.0)
    for demand in windows:
        own = build_coverage(streets, demand, radius_m=110.0)
        # a pinned post that touches none of this window's demand edges, only other windows'
        others = np.setdiff1d(candidate_nodes(streets, union), candidate_nodes(streets, demand))
        pin = int(others[others != 0][0])  # node 0 is forbidden
        plans = [
            choose_posts(
                streets, demand, officers=4, radius_m=110.0, pinned=[pin], forbidden=[0], coverage=cov
            )
            for cov in (own, shared)
        ]
        a, b = (
            [(p.node, p.pinned, p.demand_covered, p.covered_edges.tolist()) for p in x.posts] for x in plans
        )
        assert a == b and (pin, True) in {(p[0], p[1]) for p in a}
        assert plans[0].n_candidates == plans[1].n_candidates and plans[0].gap == plans[1].gap
        assert resilience(streets, plans[0], demand, own) == resilience(streets, plans[1], demand, shared)
    with pytest.raises(InputError, match="coverage holds no edge"):
        choose_posts(streets, union, officers=2, radius_m=110.0, coverage=own)


def test_coverage_names_are_still_importable_from_deployment() -> None:
    from passages import coverage

    assert {"Coverage", "build_coverage", "edge_demand", "resolve_posts"} <= set(coverage.__all__)
    assert set(coverage.__all__) <= set(deployment.__all__)
    assert all(getattr(deployment, name) is getattr(coverage, name) for name in coverage.__all__)


# ---- choosing posts ------------------------------------------------------------------


@pytest.mark.parametrize("method", ["milp", "greedy", "auto"])
def test_two_clusters_get_one_post_each(method: str) -> None:
    streets, demand = two_star_clusters()
    plan = choose_posts(streets, demand, officers=2, radius_m=150.0, method=method, window="am")
    cov = build_coverage(streets, demand, radius_m=150.0)
    assert brute_force_best(cov, demand[cov.edges], 2) == pytest.approx(60.0)
    assert [p.node for p in plan.posts] == [0, 5]
    assert [p.post_id for p in plan.posts] == ["P01", "P02"]
    assert plan.demand_covered == pytest.approx(60.0)
    assert plan.share_covered == pytest.approx(1.0)
    assert [p.demand_covered for p in plan.posts] == pytest.approx([40.0, 20.0])
    assert plan.posts[0].corridor_m == pytest.approx(400.0)
    assert plan.posts[0].name == "A East & A North"
    assert 0.0 <= plan.gap <= 0.01
    assert plan.window == "am"


@pytest.mark.parametrize("seed", range(6))
def test_milp_matches_brute_force_and_greedy_never_beats_it(seed: int) -> None:
    streets = jittered_grid(5, spacing_m=50.0, seed=seed)
    rng = np.random.default_rng(seed)
    demand = rng.lognormal(0, 1, streets.n_edges) * (rng.uniform(size=streets.n_edges) < 0.5)
    cov = build_coverage(streets, demand, radius_m=90.0)
    milp = choose_posts(streets, demand, officers=3, radius_m=90.0, method="milp", mip_gap=0.0, coverage=cov)
    greedy = choose_posts(streets, demand, officers=3, radius_m=90.0, method="greedy", coverage=cov)
    best = brute_force_best(cov, demand[cov.edges], 3)
    assert milp.demand_covered == pytest.approx(best)
    assert greedy.demand_covered <= milp.demand_covered + 1e-9
    assert greedy.gap >= 0.0 and milp.gap >= 0.0
    # the reported gap is a true bound: greedy is within it of the optimum
    assert greedy.demand_covered >= (1 - greedy.gap) * best - 1e-9
    assert sum(p.demand_covered for p in milp.posts) == pytest.approx(milp.demand_covered)
    assert milp.method == "milp" and greedy.method == "greedy"


@pytest.mark.parametrize(
    ("seed", "pinned"), [(1, False), (4, True), (8, False), (8, True), (13, True), (19, False)]
)
def test_when_the_lp_bound_is_loose_the_milp_closes_it_without_losing_the_optimum(
    seed: int, pinned: bool
) -> None:
    """Instances whose LP relaxation is fractional: the MILP runs on the candidates the LP bound
    leaves (reduced-cost fixing) and must still find the brute-force optimum."""
    streets = jittered_grid(5, spacing_m=50.0, seed=seed)
    rng = np.random.default_rng(seed)
    demand = rng.lognormal(0, 1, streets.n_edges) * (rng.uniform(size=streets.n_edges) < 0.5)
    cov = build_coverage(streets, demand, radius_m=90.0)
    pins = (len(cov.candidates) // 2,) if pinned else ()
    kw: dict[str, Any] = {"officers": 3, "radius_m": 90.0, "coverage": cov}
    kw["pinned"] = [int(streets.node_id[cov.candidates[i]]) for i in pins]
    greedy = choose_posts(streets, demand, method="greedy", **kw)
    milp = choose_posts(streets, demand, method="milp", mip_gap=0.0, **kw)
    best = brute_force_best(cov, demand[cov.edges], 3, pins=pins)
    assert milp.demand_covered == pytest.approx(best) and milp.gap <= 1e-6
    assert "the LP bound left" in milp.status and f"of {len(cov.candidates)} candidates" in milp.status
    assert greedy.bound_source == "LP relaxation bound"
    assert greedy.demand_covered <= best + 1e-9 and greedy.demand_covered >= (1 - greedy.gap) * best - 1e-9
    assert {p.node for p in milp.posts if p.pinned} == {int(cov.candidates[i]) for i in pins}


def test_without_the_lp_the_online_bound_and_the_full_milp_still_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    streets = jittered_grid(5, spacing_m=50.0, seed=8)
    rng = np.random.default_rng(8)
    demand = rng.lognormal(0, 1, streets.n_edges) * (rng.uniform(size=streets.n_edges) < 0.5)
    cov = build_coverage(streets, demand, radius_m=90.0)
    monkeypatch.setattr(deployment, "linprog", lambda *a, **k: SimpleNamespace(status=4, message="failed"))
    greedy = choose_posts(streets, demand, officers=3, radius_m=90.0, method="greedy", coverage=cov)
    assert greedy.bound_source == "online submodular bound" and 0 < greedy.gap < 1
    milp = choose_posts(streets, demand, officers=3, radius_m=90.0, method="milp", mip_gap=0.0, coverage=cov)
    assert milp.demand_covered == pytest.approx(brute_force_best(cov, demand[cov.edges], 3))
    assert f"left {len(cov.candidates)} of {len(cov.candidates)} candidates" in milp.status


def test_milp_with_every_officer_pinned_staffs_the_pins() -> None:
    streets, demand = two_star_clusters()
    plan = choose_posts(streets, demand, officers=2, radius_m=150.0, pinned=[1, 6], method="milp")
    assert sorted((p.node, p.pinned) for p in plan.posts) == [(1, True), (6, True)]
    assert plan.method == "milp" and plan.demand_covered == pytest.approx(15.0) and plan.gap == 0.0


def test_pinned_posts_are_kept_and_flagged() -> None:
    streets, demand = two_star_clusters()
    lon, lat = streets.to_lonlat([100.0], [0.0])
    for pin in (2, [float(lon[0]), float(lat[0])]):  # OSM node id, or [lon, lat]
        plan = choose_posts(streets, demand, officers=2, radius_m=150.0, pinned=[pin])
        nodes = {p.node: p.pinned for p in plan.posts}
        assert nodes == {2: True, 0: False}  # the other officer still goes to the best post


def test_forbidden_posts_are_avoided() -> None:
    streets, demand = two_star_clusters()
    plan = choose_posts(streets, demand, officers=2, radius_m=150.0, forbidden=[0])
    assert 0 not in {p.node for p in plan.posts}
    assert 5 in {p.node for p in plan.posts}
    assert plan.forbidden_nodes == (0,)


def test_pinned_and_forbidden_is_an_input_error_naming_the_post() -> None:
    streets, demand = two_star_clusters()
    with pytest.raises(InputError, match=r"pinned post 5 \(B East & B North\) is also forbidden"):
        choose_posts(streets, demand, officers=2, pinned=[5], forbidden=[5])


def test_unknown_pinned_posts_are_named() -> None:
    streets, demand = two_star_clusters()
    with pytest.raises(InputError, match="pinned post 999: no node with this OSM id"):
        choose_posts(streets, demand, officers=2, pinned=[999])
    lon, lat = streets.to_lonlat([1000.0], [900.0])  # 900 m from any node
    with pytest.raises(InputError, match=r"pinned post \[.*\] is .* m from the nearest street node"):
        choose_posts(streets, demand, officers=2, pinned=[[float(lon[0]), float(lat[0])]])
    with pytest.raises(PassagesError, match="forbidden post 'x'"):
        choose_posts(streets, demand, officers=2, forbidden=["x"])  # type: ignore[list-item]


def test_zero_officers_give_an_empty_plan() -> None:
    streets, demand = two_star_clusters()
    plan = choose_posts(streets, demand, officers=0)
    assert plan.posts == () and plan.demand_covered == 0.0
    assert "0 officers" in plan.status


def test_more_officers_than_candidates_staffs_every_candidate() -> None:
    streets, demand = two_star_clusters()
    plan = choose_posts(streets, demand, officers=5, radius_m=150.0, candidates=[0, 1, 5])
    assert sorted(p.node for p in plan.posts) == [0, 1, 5]
    assert "5 officers, only 3 candidate posts" in plan.status
    assert plan.share_covered == pytest.approx(1.0)


def test_no_demand_gives_an_empty_plan_with_a_status() -> None:
    streets, demand = two_star_clusters()
    plan = choose_posts(streets, np.zeros_like(demand), officers=3)
    assert plan.posts == () and "no demand" in plan.status
    assert plan.demand_total == 0.0 and plan.share_covered == 0.0


@pytest.mark.parametrize("radius", [0.0, -5.0, 2500.0, float("nan")])
def test_bad_radius_names_value_and_range(radius: float) -> None:
    streets, demand = two_star_clusters()
    with pytest.raises(InputError, match=r"radius_m=.* accepted range \(0, 2000\] m"):
        choose_posts(streets, demand, officers=2, radius_m=radius)


def test_too_many_pins_and_bad_arguments() -> None:
    streets, demand = two_star_clusters()
    with pytest.raises(InputError, match="2 pinned posts but only 1 officers"):
        choose_posts(streets, demand, officers=1, pinned=[0, 5])
    with pytest.raises(InputError, match="method='best'"):
        choose_posts(streets, demand, officers=1, method="best")
    with pytest.raises(InputError, match="officers=-1"):
        choose_posts(streets, demand, officers=-1)
    with pytest.raises(InputError, match="demand has shape"):
        choose_posts(streets, demand[:3], officers=1)


# ---- resilience ----------------------------------------------------------------------


def test_resilience_loses_exactly_the_demand_only_that_post_covers() -> None:
    streets = jittered_grid(8, spacing_m=60.0, seed=5)
    rng = np.random.default_rng(5)
    demand = rng.lognormal(0, 1, streets.n_edges) * (rng.uniform(size=streets.n_edges) < 0.6)
    cov = build_coverage(streets, demand, radius_m=100.0)
    plan = choose_posts(streets, demand, officers=4, radius_m=100.0, coverage=cov, forbidden=[9])
    w = demand[cov.edges]
    nodes = [p.node for p in plan.posts]
    report = resilience(streets, plan, demand, cov, threshold=0.05)
    assert [r.post_id for r in report] == [p.post_id for p in plan.posts]
    for r in report:
        rest = [n for n in nodes if n != r.node]
        lost = covered_value(cov, w, nodes) - covered_value(cov, w, rest)
        assert r.demand_lost == pytest.approx(lost)
        assert r.share_lost == pytest.approx(lost / demand.sum())
        assert r.flagged == (r.share_lost > 0.05)
        # the backup is the unchosen, unforbidden candidate recovering the most
        others = [int(c) for c in cov.candidates if int(c) not in nodes and int(c) != 9]
        recovered = {c: covered_value(cov, w, [*rest, c]) - covered_value(cov, w, rest) for c in others}
        best = max(recovered.values())
        if best > 0:
            assert r.backup_node is not None and recovered[r.backup_node] == pytest.approx(best)
            assert r.backup_share == pytest.approx(best / demand.sum())
        else:
            assert r.backup_node is None


# ---- the real Atlanta sample ---------------------------------------------------------


@pytest.fixture(scope="module")
def atlanta() -> Streets:
    return Streets.from_graph(load_network(SAMPLE, cache=False).data)


def test_atlanta_milp_covers_at_least_greedy_with_readable_post_names(atlanta: Streets) -> None:
    rng = np.random.default_rng(2021)
    mx = (atlanta.x[atlanta.u] + atlanta.x[atlanta.v]) / 2
    my = (atlanta.y[atlanta.u] + atlanta.y[atlanta.v]) / 2
    near = np.flatnonzero(np.hypot(mx - np.median(atlanta.x), my - np.median(atlanta.y)) < 900)
    pick = rng.choice(near, 400, replace=False)
    demand = np.zeros(atlanta.n_edges)
    demand[pick] = rng.lognormal(0, 1, len(pick)) * atlanta.length_m[pick]
    cov = build_coverage(atlanta, demand, radius_m=150.0)
    milp = choose_posts(atlanta, demand, officers=6, method="milp", coverage=cov)
    greedy = choose_posts(atlanta, demand, officers=6, method="greedy", coverage=cov)
    assert milp.demand_covered >= greedy.demand_covered - 1e-9
    assert milp.gap <= 0.01
    assert len(milp.posts) == 6
    for post in milp.posts:
        assert " & " in post.name and "unnamed" not in post.name, post.name
        assert -84.5 < post.lon < -84.3 and 33.7 < post.lat < 33.8
    report = resilience(atlanta, milp, demand, cov)
    assert sum(r.demand_lost for r in report) <= milp.demand_covered + 1e-6


def test_milp_with_only_single_covered_edges_and_prebuilt_coverage_checks() -> None:
    streets, demand = two_star_clusters()
    plan = choose_posts(streets, demand, officers=1, radius_m=150.0, candidates=[0, 5], method="milp")
    assert [p.node for p in plan.posts] == [0] and plan.method == "milp"
    cov = build_coverage(streets, demand, radius_m=150.0, candidates=[0, 5])
    with pytest.raises(InputError, match="coverage was built for radius_m=150"):
        choose_posts(streets, demand, officers=1, radius_m=120.0, coverage=cov)
    pinned = choose_posts(streets, demand, officers=2, radius_m=150.0, coverage=cov, pinned=[7])
    assert {p.node for p in pinned.posts} == {0, 7}  # coverage rebuilt to include the pinned post


def test_pinned_posts_are_kept_when_there_is_no_demand() -> None:
    streets, demand = two_star_clusters()
    plan = choose_posts(streets, np.zeros_like(demand), officers=2, pinned=[5])
    assert [(p.node, p.pinned, p.demand_covered) for p in plan.posts] == [(5, True, 0.0)]
    assert "pinned posts only" in plan.status


# ---- the pipeline on the sample scenario ---------------------------------------------


@pytest.fixture(scope="module")
def sample_plan() -> Plan:
    return plan(load_scenario(SCENARIO))


@pytest.mark.slow
def test_sample_milp_covers_at_least_greedy_on_every_window_and_reports_its_gap(sample_plan: Plan) -> None:
    dep, streets = sample_plan.scenario.deployment, sample_plan.streets
    windows = sample_plan.windows
    assert [wp.window.name for wp in windows] == ["morning", "afternoon", "evening"]
    coverage = build_coverage(streets, np.sum([wp.demand for wp in windows], axis=0), radius_m=dep.radius_m)

    def posts(demand: npt.NDArray[np.float64], officers: int, method: str) -> PostPlan:
        return choose_posts(
            streets, demand, officers=officers, radius_m=dep.radius_m, pinned=dep.pinned,
            forbidden=dep.forbidden, method=method, time_limit_s=dep.time_limit_s, mip_gap=dep.mip_gap,
            coverage=coverage,
        )  # fmt: skip

    for wp in windows:
        name = wp.window.name
        milp, greedy = (posts(wp.demand, wp.window.officers, m) for m in ("milp", "greedy"))
        assert milp.demand_covered >= greedy.demand_covered - 1e-9, name
        assert milp.demand_covered > 0 and len(milp.posts) == wp.window.officers, name
        for chosen in (milp, greedy, wp.posts):  # wp.posts: the pipeline's own ("auto")
            assert math.isfinite(chosen.gap) and chosen.gap >= 0, (name, chosen.status)
            assert chosen.bound_source and f"within {100 * chosen.gap:.2f}% of the" in chosen.status
        assert "MILP" in milp.status, milp.status
        assert milp.gap <= dep.mip_gap or "time limit" in milp.status, milp.status
        assert wp.posts.gap <= dep.mip_gap, wp.posts.status
        assert wp.posts.demand_covered >= greedy.demand_covered - 1e-9


@pytest.mark.slow
def test_sample_posts_staffed_by_fewer_officers_rotate(sample_plan: Plan) -> None:
    dep = sample_plan.scenario.deployment
    wp = sample_plan.windows[0]
    start = wp.window.start.hour * 60 + wp.window.start.minute
    length = (wp.window.end.hour * 60 + wp.window.end.minute - start) % 1440
    posts = wp.posts.posts
    assert len(posts) == 6
    sched = schedule(
        wp.posts, wp.window, officers=2, dwell_min=dep.dwell_min, revisit_max_min=dep.revisit_max_min,
        streets=sample_plan.streets,
    )  # fmt: skip
    assert {e.post_id for e in sched} == {p.post_id for p in posts}  # every post is visited
    assert {e.beat for e in sched} == {1, 2} and all(e.officers == 1 for e in sched)
    assert sum(e.mode == "rotation" for e in sched) > len(posts)  # posts are revisited, not held

    def at(t: Any) -> int:
        return int((t.hour * 60 + t.minute - start) % 1440)

    lo, hi = dep.dwell_min
    for beat in (1, 2):
        visits = [(at(e.start), at(e.end), e.post_id) for e in sched if e.beat == beat]
        assert visits == sorted(visits) and all(a < b <= length for a, b, _ in visits)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(visits))  # one place at a time
        assert all(lo <= b - a <= hi for a, b, _ in visits[:-1])  # the last may be cut by the window end
        if len({v[2] for v in visits}) > 1:
            assert all(a[2] != b[2] for a, b in itertools.pairwise(visits))  # walks on to the next post
    for post in posts:
        starts = [0] + [at(e.start) for e in sched if e.post_id == post.post_id]
        assert max(np.diff(starts)) <= dep.revisit_max_min or any(post.post_id in w for w in sched.warnings)
