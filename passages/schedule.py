"""The schedule: who stands at which post, when, in one time window.

:func:`schedule` turns the posts of :func:`passages.deployment.choose_posts` into
:class:`ScheduleEntry` rows: fixed posts when there are officers enough, rotation beats when there
are fewer officers than posts. ``passages.export`` writes them as CSV and ICS. Kept apart from
``deployment`` (where posts go) because it is about time and walking, not coverage; the names
are re-exported there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import time

import numpy as np
from scipy.sparse.csgraph import dijkstra

from passages._errors import InputError
from passages.config import TimeWindow
from passages.deployment import IntArray, Post, PostPlan
from passages.network import Streets

__all__ = ["Schedule", "ScheduleEntry", "format_days", "schedule"]

#: walking speed between posts, metres per minute
WALK_M_PER_MIN = 80.0
#: network / straight-line distance ratio used when no network is given to ``schedule``
CIRCUITY = 1.3
#: preferred stay at a post in a rotation (Koper curve), minutes
PREFERRED_DWELL_MIN = 15
_DAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ScheduleEntry:
    """One staffed slot at one post: the whole window (``mode="fixed"``) or one rotation visit.

    ``start`` / ``end`` are local clock times (``end < start`` crosses midnight); ``days`` is the
    display text of ``weekdays`` (Mon = 0); ``beat`` numbers the officer (or beat) from 1.
    """

    window: str
    post_id: str
    location: str
    lon: float
    lat: float
    officers: int
    start: time
    end: time
    days: str
    mode: str
    covered_m: float
    share: float
    note: str
    beat: int
    weekdays: tuple[int, ...]


@dataclass(frozen=True)
class Schedule:
    """A window's schedule entries (officer by officer, in time order) and its warnings."""

    window: str
    entries: tuple[ScheduleEntry, ...]
    warnings: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[ScheduleEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def format_days(days: frozenset[int] | Sequence[int]) -> str:
    """Weekdays (Mon = 0) as text: ``"Mon–Fri"``, ``"Mon, Wed–Fri"``, ``"Daily"``."""
    ds = sorted({int(d) for d in days})
    if len(ds) == 7:
        return "Daily"
    runs: list[list[int]] = []
    for d in ds:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    ends = [(_DAY[r[0]], _DAY[r[-1]], len(r)) for r in runs]
    return ", ".join(a if n == 1 else f"{a}, {b}" if n == 2 else f"{a}–{b}" for a, b, n in ends)


def schedule(
    plan: PostPlan,
    window: TimeWindow,
    *,
    officers: int,
    dwell_min: tuple[int, int] = (10, 16),
    revisit_max_min: int = 120,
    streets: Streets | None = None,
) -> Schedule:
    """Who stands where, when, in one window.

    With at least as many officers as posts every post is staffed for the whole window (extra
    officers go to the busiest posts). With fewer, the posts are cut into ``officers`` beats along
    a nearest-neighbour tour (cuts chosen to make the longest beat cycle as short as possible);
    each officer cycles their beat, staying 15 min (clamped to ``dwell_min``, shortened towards
    its minimum when needed to keep each post's revisit interval, start to start, within
    ``revisit_max_min``) and walking between posts at 80 m/min. A beat that still cannot meet
    the interval is named in ``Schedule.warnings`` and in its entries' notes.

    Parameters
    ----------
    plan
        Posts from :func:`passages.deployment.choose_posts`.
    window
        The window (name, label, days, start, end), e.g. ``passages.config.TimeWindow``.
    officers
        Officers on duty.
    dwell_min
        Shortest and longest stay at a post in a rotation, minutes.
    revisit_max_min
        Longest interval between visit starts at a post, minutes.
    streets
        The network, for walking times along streets; without it straight lines × 1.3.
    """
    try:
        lo, hi = (int(x) for x in dwell_min)
    except (TypeError, ValueError):
        lo, hi = 0, 0
    if not 0 < lo <= hi:
        raise InputError(
            f"dwell_min={dwell_min!r}; accepted: (shortest, longest) minutes, 0 < shortest ≤ longest"
        )
    if revisit_max_min <= 0:
        raise InputError(f"revisit_max_min={revisit_max_min!r}; accepted: minutes > 0")
    if isinstance(officers, bool) or not isinstance(officers, int | np.integer) or officers < 0:
        raise InputError(f"window {window.name!r}: officers={officers!r}; accepted: a whole number ≥ 0")
    t0 = window.start.hour * 60 + window.start.minute
    dur = (window.end.hour * 60 + window.end.minute - t0) % 1440
    if dur == 0:
        raise InputError(
            f"window {window.name!r}: start and end are both {window.start}; the window is empty"
        )
    posts, name, days, weekdays = (
        plan.posts,
        window.name,
        format_days(window.days),
        tuple(sorted(window.days)),
    )
    if not posts:
        return Schedule(name, (), (f"window {name}: no posts to staff ({plan.status})",))
    if officers == 0:
        return Schedule(name, (), (f"window {name}: 0 officers on duty; {len(posts)} posts unstaffed",))

    def at(t: int) -> time:
        m = (t0 + t) % 1440
        return time(m // 60, m % 60)

    def entry(
        p: Post, span: tuple[int, int], *, mode: str, beat: int, note: str, n: int = 1
    ) -> ScheduleEntry:
        return ScheduleEntry(
            window=name, post_id=p.post_id, location=p.name, lon=p.lon, lat=p.lat, officers=n,
            start=at(span[0]), end=at(span[1]), days=days, mode=mode, covered_m=p.corridor_m,
            share=p.share, note=note, beat=beat, weekdays=weekdays,
        )  # fmt: skip

    if officers >= len(posts):
        base, extra = divmod(officers, len(posts))
        out = []
        for i, p in enumerate(posts):
            n = base + (i < extra)
            note = f"{n} officers (more officers than posts; extras at the busiest posts)" if n > 1 else ""
            out.append(entry(p, (0, dur), mode="fixed", beat=i + 1, note=note, n=n))
        return Schedule(name, tuple(out))

    walk = _walk_minutes(posts, streets)
    pref = min(max(PREFERRED_DWELL_MIN, lo), hi)
    entries: list[ScheduleEntry] = []
    warnings: list[str] = []
    for b, beat in enumerate(_beats(walk, officers, pref), 1):
        if len(beat) == 1:
            note = f"officer {b} of {officers}: stays here"
            entries.append(entry(posts[beat[0]], (0, dur), mode="fixed", beat=b, note=note))
            continue
        loop = sum(int(walk[beat[i], beat[(i + 1) % len(beat)]]) for i in range(len(beat)))
        dwell = pref
        if len(beat) * pref + loop > revisit_max_min:
            dwell = max(lo, min(pref, (revisit_max_min - loop) // len(beat)))
        visits: list[tuple[int, int, int]] = []
        t, i = 0, 0
        while t < dur and (t + lo <= dur or not visits):
            here, nxt = beat[i % len(beat)], beat[(i + 1) % len(beat)]
            visits.append((here, t, min(t + dwell, dur)))
            t = visits[-1][2] + int(walk[here, nxt])
            i += 1
        # longest wait at a post: from the window start to its first visit, then start to start
        starts = {q: [0] + [a for v, a, _ in visits if v == q] for q in beat}
        worst = max(int(max(np.diff(s), default=0)) for s in starts.values())
        unseen = [posts[q].post_id for q in beat if len(starts[q]) == 1]
        ids = " → ".join(posts[q].post_id for q in beat)
        cycle = len(beat) * dwell + loop
        note = f"officer {b} of {officers}: beat {ids}, {dwell} min per post, {loop} min walking"
        note += f", cycle {cycle} min"
        if worst > revisit_max_min or unseen:
            why = f"{', '.join(unseen)} never visited" if unseen else f"a post waits up to {worst} min"
            warnings.append(
                f"window {name}, officer {b} (beat {ids}): {why}; the {revisit_max_min} min revisit limit "
                "is not met; add an officer or drop a post"
            )
            note += f"; revisit limit {revisit_max_min} min NOT met ({why})"
        entries.extend(entry(posts[q], (a, e), mode="rotation", beat=b, note=note) for q, a, e in visits)
    return Schedule(name, tuple(entries), tuple(warnings))


def _walk_minutes(posts: Sequence[Post], streets: Streets | None) -> IntArray:
    """Whole minutes of walking between posts (network distance when ``streets`` is given)."""
    xy = np.array([[p.x, p.y] for p in posts])
    metres = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * CIRCUITY
    if streets is not None:
        nodes = np.array([p.node for p in posts])
        net = dijkstra(streets.csr(), directed=False, indices=nodes)[:, nodes]
        metres = np.where(np.isfinite(net), net, metres)
    minutes: IntArray = np.ceil(metres / WALK_M_PER_MIN - 1e-9).astype(np.int64)
    return minutes


def _beats(walk: IntArray, officers: int, dwell: int) -> list[list[int]]:
    """Cut a nearest-neighbour + 2-opt open tour into ``officers`` runs minimising the longest cycle."""
    n = len(walk)
    tour, left = [0], set(range(1, n))
    while left:
        nxt = min(left, key=lambda j: (walk[tour[-1], j], j))
        tour.append(nxt)
        left.remove(nxt)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            for j in range(i + 1, n):
                old = walk[tour[i - 1], tour[i]] + (walk[tour[j], tour[j + 1]] if j + 1 < n else 0)
                new = walk[tour[i - 1], tour[j]] + (walk[tour[i], tour[j + 1]] if j + 1 < n else 0)
                if new < old:
                    tour[i : j + 1] = tour[i : j + 1][::-1]
                    improved = True
    step = np.concatenate([[0], np.cumsum([walk[tour[i], tour[i + 1]] for i in range(n - 1)])])

    def cycle(i: int, j: int) -> int:  # posts tour[i:j]
        return int((j - i) * dwell + step[j - 1] - step[i] + walk[tour[j - 1], tour[i]])

    best = [[math.inf] * (n + 1) for _ in range(officers + 1)]
    cut = [[0] * (n + 1) for _ in range(officers + 1)]
    best[0][0] = 0
    for b in range(1, officers + 1):
        for j in range(b, n - (officers - b) + 1):
            for i in range(b - 1, j):
                c = max(best[b - 1][i], cycle(i, j))
                if c < best[b][j]:
                    best[b][j], cut[b][j] = c, i
    runs, j = [], n
    for b in range(officers, 0, -1):
        runs.append(tour[cut[b][j] : j])
        j = cut[b][j]
    return runs[::-1]
