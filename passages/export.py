"""Write plan outputs to files, atomically (``passages._io``).

Plan files: ``report.json`` / ``timings.json`` (:func:`write_json`) and the GeoPackage with the
layers risk, corridors, routes, destinations and posts (:func:`write_plan_gpkg`).

Schedule writers: a CSV table and an RFC 5545 calendar (``.ics``) that Google Calendar, Outlook
and Apple Calendar import. The calendar has one weekly-recurring event per post and window: the
whole window for a fixed post; for a rotation, from the officer's first to last visit there, with
the visit times in the description (a coordinator sees one entry per post, not dozens of
15-minute events). Outputs are byte-identical for identical inputs: no wall-clock stamps, UIDs
hashed from window, post and start time.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import shapely

from passages import __version__
from passages._errors import InputError
from passages._io import atomic_path, write_bytes, write_text
from passages.corridors import main_routes
from passages.schedule import ScheduleEntry

__all__ = [
    "SCHEDULE_COLUMNS",
    "plan_layers",
    "write_json",
    "write_plan_gpkg",
    "write_schedule_csv",
    "write_schedule_ics",
]

#: column order of the schedule CSV
SCHEDULE_COLUMNS = (
    "window",
    "post_id",
    "location",
    "lon",
    "lat",
    "officers",
    "beat",
    "start",
    "end",
    "days",
    "mode",
    "covered_m",
    "share",
    "note",
)
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


# --------------------------------------------------------------------------------------
# CSV


def write_schedule_csv(entries: Iterable[ScheduleEntry], path: str | os.PathLike[str]) -> Path:
    """Write schedule entries as UTF-8 CSV with a header and ``\\n`` line ends.

    Columns are ``SCHEDULE_COLUMNS``: times as ``HH:MM``, lon/lat with 6 decimals, ``covered_m``
    with 1, ``share`` (of the window's demand) with 4.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SCHEDULE_COLUMNS)
    for e in entries:
        writer.writerow(
            [
                e.window,
                e.post_id,
                e.location,
                f"{e.lon:.6f}",
                f"{e.lat:.6f}",
                e.officers,
                e.beat,
                e.start.strftime("%H:%M"),
                e.end.strftime("%H:%M"),
                e.days,
                e.mode,
                f"{e.covered_m:.1f}",
                f"{e.share:.4f}",
                e.note,
            ]
        )
    return write_text(path, buf.getvalue())


# --------------------------------------------------------------------------------------
# iCalendar


def write_schedule_ics(
    entries: Iterable[ScheduleEntry],
    path: str | os.PathLike[str],
    *,
    timezone: str = "America/New_York",
    first_date: date | None = None,
    calendar_name: str = "",
) -> Path:
    """Write schedule entries as an RFC 5545 calendar of weekly-recurring events.

    Parameters
    ----------
    entries
        Schedule entries in :func:`passages.schedule.schedule` order (a rotation's visits in
        time order); one event is written per (window, post).
    path
        The ``.ics`` file to write.
    timezone
        IANA time zone of the window times; a VTIMEZONE block for it is generated from zoneinfo.
    first_date
        The plan's first day: each event starts on the first of its weekdays on or after it, and
        ``DTSTAMP`` is this date at midnight UTC. Default today (pass it for reproducible files).
    calendar_name
        Calendar display name (``X-WR-CALNAME``).
    """
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            f"calendar timezone={timezone!r} is not an IANA time zone, e.g. 'America/New_York'"
        ) from exc
    first = first_date if first_date is not None else date.today()
    groups: dict[tuple[str, str], list[ScheduleEntry]] = {}
    for e in entries:
        groups.setdefault((e.window, e.post_id), []).append(e)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//passages//passages {__version__}//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    if calendar_name:
        lines.append(f"X-WR-CALNAME:{_text(calendar_name)}")
    lines.append(f"X-WR-TIMEZONE:{timezone}")
    lines += _vtimezone(tz, timezone, first.year)
    stamp = f"{first:%Y%m%d}T000000Z"
    for group in groups.values():
        lines += _vevent(group, tzid=timezone, first=first, stamp=stamp)
    lines.append("END:VCALENDAR")
    return write_bytes(path, "".join(_fold(line) + "\r\n" for line in lines).encode("utf-8"))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _vevent(group: list[ScheduleEntry], *, tzid: str, first: date, stamp: str) -> list[str]:
    """One weekly VEVENT for a post in a window (all visits of a rotation in its description)."""
    e0 = group[0]
    if not e0.weekdays:
        raise InputError(f"schedule entry {e0.window}/{e0.post_id}: no weekdays; cannot build a weekly event")
    days = sorted(set(e0.weekdays))
    day = first + timedelta(days=min((d - first.weekday()) % 7 for d in days))
    start = datetime.combine(day, e0.start)
    base = _minutes(e0.start)
    span = max((_minutes(e.end) - base) % 1440 for e in group) or 1440
    end = start + timedelta(minutes=span)
    uid = hashlib.sha256(f"{e0.window}|{e0.post_id}|{e0.start:%H:%M}".encode()).hexdigest()[:32]
    officers = f" ({e0.officers} officers)" if e0.officers > 1 else ""
    summary = f"{e0.post_id} {e0.location}{officers}"
    where = f"Window {e0.window}, {e0.days}: {e0.location}."
    cover = f"Covers {e0.covered_m:,.0f} m of corridor, {100 * e0.share:.1f}% of the window's demand."
    if e0.mode == "rotation":
        summary += f" (officer {e0.beat}, rotation)"
        visits = ", ".join(f"{e.start:%H:%M}–{e.end:%H:%M}" for e in group)
        body = f"{where}\nOfficer {e0.beat} visits: {visits}.\n{cover}"
    else:
        body = f"{where}\nStaffed for the whole window.\n{cover}"
    if e0.note:
        body += f"\n{e0.note}"
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}@passages",
        f"DTSTAMP:{stamp}",
        f"DTSTART;TZID={tzid}:{start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID={tzid}:{end:%Y%m%dT%H%M%S}",
        f"RRULE:FREQ=WEEKLY;BYDAY={','.join(_BYDAY[d] for d in days)}",
        f"SUMMARY:{_text(summary)}",
        f"LOCATION:{_text(e0.location)}",
        f"GEO:{e0.lat:.6f};{e0.lon:.6f}",
        f"DESCRIPTION:{_text(body)}",
        "END:VEVENT",
    ]


def _text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 §3.3.11); other control characters become spaces."""
    out = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    out = out.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return "".join(" " if (ord(c) < 32 and c != "\t") or ord(c) == 127 else c for c in out)


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (continuations start with a space), never inside a character."""
    if len(line.encode("utf-8")) <= 75:
        return line
    parts: list[str] = []
    cur, size = "", 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > (75 if not parts else 74):
            parts.append(cur)
            cur, size = "", 0
        cur += ch
        size += n
    parts.append(cur)
    return "\r\n ".join(parts)


# ---- VTIMEZONE ---------------------------------------------------------------------------


def _offset(td: timedelta) -> str:
    secs = int(td.total_seconds())
    sign, secs = ("-" if secs < 0 else "+"), abs(secs)
    hh, mm, ss = secs // 3600, secs // 60 % 60, secs % 60
    return f"{sign}{hh:02d}{mm:02d}" + (f"{ss:02d}" if ss else "")


def _transitions(tz: tzinfo, year: int) -> list[tuple[datetime, timedelta, timedelta, str, bool]]:
    """UTC offset changes in ``year``: (local wall time before, offset before, after, name, is DST)."""

    def offset(secs: int) -> timedelta | None:
        return datetime.fromtimestamp(secs, UTC).astimezone(tz).utcoffset()

    out = []
    t = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    stop = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    prev = offset(t)
    while t < stop:
        nxt = t + 12 * 3600
        if offset(nxt) != prev:
            lo, hi = t, nxt  # the first second with the new offset is in (lo, hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == prev else (lo, mid)
            local = datetime.fromtimestamp(hi, UTC).astimezone(tz)
            after = local.utcoffset()
            assert prev is not None and after is not None
            wall = (datetime.fromtimestamp(hi, UTC) + prev).replace(tzinfo=None)
            out.append((wall, prev, after, local.tzname() or "", bool(local.dst())))
            prev = after
        t = nxt
    return out


def _rule(wall: datetime) -> tuple[int, int, int, int]:
    """(month, weekday, nth (−1 = last), minute of day) of a transition's local date."""
    last = wall.day + 7 > calendar.monthrange(wall.year, wall.month)[1]
    return wall.month, wall.weekday(), -1 if last else (wall.day - 1) // 7 + 1, wall.hour * 60 + wall.minute


def _vtimezone(tz: tzinfo, tzid: str, year: int) -> list[str]:
    """A VTIMEZONE for ``tzid``: yearly RRULEs when the zone's rule is the same in year−1..year+1,
    else the explicit transitions of year−1..year+3; one STANDARD block when there is no DST."""
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    years = {y: _transitions(tz, y) for y in range(year - 1, year + 4)}
    if not any(years.values()):
        noon = datetime(year, 1, 1, 12, tzinfo=UTC).astimezone(tz)
        off = _offset(noon.utcoffset() or timedelta())
        return [
            *lines,
            "BEGIN:STANDARD",
            "DTSTART:19700101T000000",
            f"TZOFFSETFROM:{off}",
            f"TZOFFSETTO:{off}",
            f"TZNAME:{_text(noon.tzname() or tzid)}",
            "END:STANDARD",
            "END:VTIMEZONE",
        ]
    sig = {y: [(_rule(w), b, a, n, d) for w, b, a, n, d in years[y]] for y in (year - 1, year, year + 1)}
    steady = sig[year - 1] == sig[year] == sig[year + 1]
    blocks = years[year - 1] if steady else [t for y in sorted(years) for t in years[y]]
    for wall, before, after, name, dst in blocks:
        kind = "DAYLIGHT" if dst else "STANDARD"
        lines += [
            f"BEGIN:{kind}",
            f"DTSTART:{wall:%Y%m%dT%H%M%S}",
            f"TZOFFSETFROM:{_offset(before)}",
            f"TZOFFSETTO:{_offset(after)}",
            f"TZNAME:{_text(name)}",
        ]
        if steady:
            month, weekday, nth, _ = _rule(wall)
            lines.append(f"RRULE:FREQ=YEARLY;BYMONTH={month};BYDAY={nth}{_BYDAY[weekday]}")
        lines.append(f"END:{kind}")
    return [*lines, "END:VTIMEZONE"]


# --------------------------------------------------------------------------------------
# plan files: JSON and the GeoPackage

#: GeoPackage files carry a last-change time; a fixed one keeps two runs byte-identical
_GPKG_FIXED_DATE = "2000-01-01T00:00:00Z"


def write_json(data: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``data`` as indented UTF-8 JSON, keys in the order given, atomically."""
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return write_text(path, text)


def plan_layers(plan: Any) -> dict[str, Any]:
    """The GeoPackage layers of a plan, as GeoDataFrames in the network CRS.

    ``risk``: one row per street segment with, per window, the density per km and the risk
    score — left empty (null) where fewer than ``risk.min_support`` incidents support it, as on
    the maps. ``corridors``: one row per corridor and window. ``routes``: the main recommended
    routes of each destination and window (edges carrying ≥ 2 % of its busiest edge's walkers).
    ``destinations`` and ``posts`` (one row per post and window, with its schedule summary).
    """
    import geopandas as gpd

    s = plan.streets
    k = plan.scenario.risk.min_support
    risk = s.edges_gdf()[["edge", "name", "highway", "length_m", "geometry"]].copy()
    for wp in plan.windows:
        name = wp.window.name
        shown = wp.risk.support >= k
        risk[f"{name}_density_per_km"] = np.where(shown, np.round(wp.risk.density_per_km, 4), np.nan)
        risk[f"{name}_risk"] = np.where(shown, np.round(wp.risk.risk, 4), np.nan)
        risk[f"{name}_traffic"] = np.round(wp.corridors.traffic, 4)
    corridor_rows: list[dict[str, Any]] = []
    route_rows: list[dict[str, Any]] = []
    post_rows: list[dict[str, Any]] = []
    for wp in plan.windows:
        name = wp.window.name
        corridor_rows.extend(
            {
                "window": name,
                "corridor_id": c.corridor_id,
                "streets": "; ".join(c.streets),
                "length_m": round(float(c.length_m), 2),
                "traffic_m": round(float(c.traffic_m), 2),
                "risk_mean": round(float(c.risk_mean), 4),
                "geometry": shapely.line_merge(shapely.multilinestrings(list(s.geometry[c.edges]))),
            }
            for c in wp.corridors.corridors
        )
        for d in wp.corridors.destinations:
            mains = main_routes(d)
            if len(mains) == 0:
                continue
            route_rows.append(
                {
                    "window": name,
                    "place_id": d.place_id,
                    "name": d.name,
                    "kind": d.kind,
                    "origins_served": int(d.origins_served),
                    "median_detour": float(d.median_detour),
                    "reduction_pct": round(float(d.reduction_pct), 3),
                    "geometry": shapely.line_merge(shapely.multilinestrings(list(s.geometry[mains]))),
                }
            )
        entries_by_post: dict[str, list[Any]] = {}
        for e in wp.schedule:
            entries_by_post.setdefault(e.post_id, []).append(e)
        for p in wp.posts.posts:
            times = ", ".join(f"{e.start:%H:%M}-{e.end:%H:%M}" for e in entries_by_post.get(p.post_id, []))
            post_rows.append(
                {
                    "window": name,
                    "post_id": p.post_id,
                    "name": p.name,
                    "share": round(float(p.share), 4),
                    "corridor_m": round(float(p.corridor_m), 2),
                    "pinned": bool(p.pinned),
                    "times": times,
                    "geometry": shapely.Point(p.x, p.y),
                }
            )
    dests = plan.destinations.to_crs(s.crs)
    keep = [c for c in ("place_id", "kind", "subkind", "name", "node", "snap_m") if c in dests.columns]
    layers = {
        "risk": risk,
        "corridors": _layer(corridor_rows, s.crs),
        "routes": _layer(route_rows, s.crs),
        "destinations": gpd.GeoDataFrame(dests[[*keep, "geometry"]], geometry="geometry", crs=s.crs),
        "posts": _layer(post_rows, s.crs),
    }
    return layers


def _layer(rows: list[dict[str, Any]], crs: Any) -> Any:
    """Rows (each with a ``geometry``) as a GeoDataFrame; an empty one when there are none."""
    import geopandas as gpd

    if not rows:
        return gpd.GeoDataFrame(geometry=[], crs=crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def write_plan_gpkg(plan: Any, path: str | os.PathLike[str]) -> Path:
    """Write :func:`plan_layers` to one GeoPackage, atomically and byte-for-byte reproducibly."""
    import pyogrio

    layers = plan_layers(plan)
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _GPKG_FIXED_DATE})
    try:
        with atomic_path(path) as tmp:
            tmp.unlink()
            for name, gdf in layers.items():
                if gdf.empty:
                    continue
                gdf.to_file(tmp, layer=name, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
    return Path(path)
