"""The schedule: fixed posts, rotation beats (dwell and revisit bounds), warnings, day text."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import time

import numpy as np
import pytest

from passages._errors import InputError
from passages.deployment import PostPlan, choose_posts
from passages.network import Streets
from passages.schedule import format_days, schedule
from tests.test_coverage import jittered_grid, two_star_clusters


@dataclass(frozen=True)
class Window:
    """Stands in for passages.config.TimeWindow (same attributes)."""

    name: str = "am"
    label: str = "Morning arrival"
    days: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    start: time = time(6, 30)
    end: time = time(9, 0)


def five_post_plan() -> tuple[Streets, PostPlan]:
    streets = jittered_grid(8, spacing_m=60.0, seed=11)
    rng = np.random.default_rng(11)
    demand = rng.lognormal(0, 1, streets.n_edges)
    return streets, choose_posts(streets, demand, officers=5, radius_m=100.0)


def minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def test_rotation_visits_every_post_within_dwell_and_revisit_bounds() -> None:
    streets, plan = five_post_plan()
    window = Window(start=time(14, 0), end=time(18, 0))
    sched = schedule(plan, window, officers=2, streets=streets)
    assert {e.post_id for e in sched} == {p.post_id for p in plan.posts}
    assert {e.beat for e in sched} == {1, 2}
    assert all(e.mode == "rotation" and e.days == "Mon–Fri" and e.weekdays == (0, 1, 2, 3, 4) for e in sched)
    for e in sched:
        assert 10 <= (minutes(e.end) - minutes(e.start)) <= 16
    for post in plan.posts:
        starts = [minutes(e.start) - 14 * 60 for e in sched if e.post_id == post.post_id]
        gaps = np.diff([0, *starts])
        assert gaps.max() <= 120 or sched.warnings
    assert sched.warnings == ()  # these posts are close enough for two officers
    # one officer is never in two places: their visits do not overlap
    for beat in (1, 2):
        visits = sorted((minutes(e.start), minutes(e.end)) for e in sched if e.beat == beat)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(visits))
    assert schedule(plan, window, officers=2, streets=streets) == sched


def test_rotation_that_cannot_meet_the_revisit_limit_says_so() -> None:
    _, plan = five_post_plan()
    sched = schedule(plan, Window(start=time(7, 0), end=time(11, 0)), officers=1, revisit_max_min=30)
    assert len(sched.warnings) == 1 and "the 30 min revisit limit is not met" in sched.warnings[0]
    assert all("NOT met" in e.note for e in sched)
    assert {e.post_id for e in sched} == {p.post_id for p in plan.posts}


def test_fixed_posts_when_officers_suffice_and_extras_go_to_the_busiest() -> None:
    _, plan = five_post_plan()
    sched = schedule(plan, Window(start=time(22, 0), end=time(1, 0), days=frozenset({4, 5})), officers=7)
    assert [e.officers for e in sched] == [2, 2, 1, 1, 1]
    assert all(e.mode == "fixed" and e.start == time(22, 0) and e.end == time(1, 0) for e in sched)
    assert sched.entries[0].days == "Fri, Sat"


def test_schedule_edge_cases() -> None:
    streets, demand = two_star_clusters()
    empty = choose_posts(streets, demand, officers=0)
    assert len(schedule(empty, Window(), officers=3)) == 0
    _, plan = five_post_plan()
    none = schedule(plan, Window(), officers=0)
    assert len(none) == 0 and "0 officers" in none.warnings[0]
    with pytest.raises(InputError, match="dwell_min"):
        schedule(plan, Window(), officers=2, dwell_min=(20, 10))
    for bad in ((10,), 15, ("ten", "sixteen")):  # one message, not an unpacking traceback
        with pytest.raises(InputError, match="dwell_min"):
            schedule(plan, Window(), officers=2, dwell_min=bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="window is empty"):
        schedule(plan, Window(start=time(7, 0), end=time(7, 0)), officers=2)


def test_format_days() -> None:
    assert format_days(frozenset(range(5))) == "Mon–Fri"
    assert format_days([0, 2, 3, 4]) == "Mon, Wed–Fri"
    assert format_days(range(7)) == "Daily"
    assert format_days([5, 6]) == "Sat, Sun"


def test_posts_never_reached_in_a_short_window_are_warned_about() -> None:
    _, plan = five_post_plan()
    sched = schedule(plan, Window(start=time(7, 0), end=time(7, 20)), officers=1)
    assert len(sched) == 1 and sched.entries[0].post_id == "P01"
    assert "never visited" in sched.warnings[0] and "P02" in sched.warnings[0]
