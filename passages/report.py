"""The plan's numbers: ``report.json``, the summary the CLI prints, and scenario comparison.

Everything here is a pure function of a :class:`passages.plan.Plan`, with floats rounded so
that the same inputs give byte-identical JSON.
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from passages import __version__
from passages.config import Scenario, TimeWindow, scenario_to_dict
from passages.mapstyle import clock

#: packages whose versions go into report.json
DEPENDENCIES = (
    "numpy",
    "scipy",
    "pandas",
    "networkx",
    "osmnx",
    "geopandas",
    "shapely",
    "pyproj",
    "pyogrio",
    "osmium",
    "folium",
    "matplotlib",
)
#: report.json schema version; bump on incompatible changes
REPORT_VERSION = 1


def num(value: Any, digits: int = 6) -> Any:
    """A JSON-ready number: numpy to Python, NaN/inf to None, floats to ``digits`` significant digits."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    x = float(value)
    if not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    return float(f"{x:.{digits}g}")


def versions() -> dict[str, str]:
    """passages, Python and the main dependencies' versions."""
    out = {"passages": __version__, "python": platform.python_version()}
    for name in DEPENDENCIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def window_hours(w: TimeWindow) -> float:
    return w.duration_min / 60.0


def window_summary(wp: Any, streets: Any) -> dict[str, Any]:
    """The per-window block of report.json."""
    w: TimeWindow = wp.window
    wc, posts, risk = wp.corridors, wp.posts, wp.risk
    dests = list(wc.destinations)
    served = [d for d in dests if d.origins_served > 0]
    exp_short = sum(d.exposure_shortest for d in served)
    exp_rec = sum(d.exposure_recommended for d in served)
    reduction = 100.0 * (exp_short - exp_rec) / exp_short if exp_short > 0 else 0.0
    rec_row = next((r for r in wc.sweep if r.lam is None), None)
    corridor_len = sum(c.length_m for c in wc.corridors)
    covered = (
        np.unique(np.concatenate([p.covered_edges for p in posts.posts]))
        if posts.posts
        else np.array([], int)
    )
    route_edges = np.flatnonzero(wc.traffic > 0)
    covered_route_m = float(streets.length_m[np.intersect1d(covered, route_edges)].sum())
    corridor_edges = (
        np.unique(np.concatenate([c.edges for c in wc.corridors])) if wc.corridors else np.array([], int)
    )
    covered_corridor_m = float(streets.length_m[np.intersect1d(covered, corridor_edges)].sum())
    officer_hours = posts.officers * window_hours(w)
    return {
        "name": w.name,
        "label": w.label,
        "days": sorted(w.days),
        "start": clock(w.start),
        "end": clock(w.end),
        "risk": {
            "incidents_weight": num(risk.total_weight),
            "incidents_used": int(risk.n_used),
            "scale_per_km": num(risk.scale_per_km),
            "category_share": {k: num(v, 4) for k, v in risk.category_share.items()},
        },
        "routes": {
            "destinations": len(dests),
            "destinations_unreachable": [
                {"place_id": d.place_id, "name": d.name, "status": d.status}
                for d in dests
                if d.origins_served == 0
            ],
            "origins_served": int(sum(d.origins_served for d in dests)),
            "median_detour": num(rec_row.median_detour if rec_row else None, 4),
            "p90_detour": num(rec_row.p90_detour if rec_row else None, 4),
            "exposure_shortest": num(exp_short),
            "exposure_recommended": num(exp_rec),
            "risk_reduction_pct": num(reduction, 4),
        },
        "corridors": {
            "count": len(wc.corridors),
            "length_m": num(corridor_len),
            "top": [
                {
                    "id": c.corridor_id,
                    "length_m": num(c.length_m),
                    "streets": list(c.streets[:4]),
                    "risk_mean": num(c.risk_mean, 4),
                }
                for c in wc.corridors[:10]
            ],
        },
        "sweep": [
            {
                "label": r.label,
                "lambda": num(r.lam),
                "length_m": num(r.length_m),
                "exposure": num(r.exposure),
                "median_detour": num(r.median_detour, 4),
                "p90_detour": num(r.p90_detour, 4),
                "over_cap_share": num(r.over_cap_share, 4),
                "pareto": bool(r.pareto),
            }
            for r in wc.sweep
        ],
        "deployment": {
            "officers": int(posts.officers),
            "posts": len(posts.posts),
            "candidates": int(posts.n_candidates),
            "method": posts.method,
            "gap": num(posts.gap, 4),
            "bound": posts.bound_source,
            "status": posts.status,
            "demand_total": num(posts.demand_total),
            "demand_covered": num(posts.demand_covered),
            "share_covered": num(posts.share_covered, 4),
            "covered_corridor_m": num(covered_corridor_m),
            "covered_route_m": num(covered_route_m),
            "covered_route_m_per_officer_hour": num(
                covered_route_m / officer_hours if officer_hours else 0.0
            ),
            "schedule_entries": len(wp.schedule),
            "schedule_warnings": list(wp.schedule.warnings),
            "posts_list": [
                {
                    "post_id": p.post_id,
                    "name": p.name,
                    "lon": num(p.lon, 8),
                    "lat": num(p.lat, 8),
                    "share": num(p.share, 4),
                    "corridor_m": num(p.corridor_m),
                    "pinned": bool(p.pinned),
                }
                for p in posts.posts
            ],
            "resilience": [
                {
                    "post_id": r.post_id,
                    "share_lost": num(r.share_lost, 4),
                    "backup": r.backup_name,
                    "backup_share": num(r.backup_share, 4),
                    "flagged": bool(r.flagged),
                }
                for r in wp.resilience
            ],
        },
    }


def report_dict(plan: Any) -> dict[str, Any]:
    """Everything report.json holds (see docs/report.schema.json)."""
    s = plan.streets
    dests = plan.destinations
    inc = plan.incidents
    by_kind = {str(k): int(n) for k, n in dests.groupby("kind").size().sort_index().items()}
    incidents: dict[str, Any] = {"kept": len(inc)}
    if len(inc):
        incidents["first"] = f"{inc['occurred_at'].min():%Y-%m-%d}"
        incidents["last"] = f"{inc['occurred_at'].max():%Y-%m-%d}"
        incidents["by_category"] = {
            str(k): int(v) for k, v in inc["category"].value_counts().sort_index().items()
        }
    all_day = plan.all_day
    return {
        "report_version": REPORT_VERSION,
        "scenario": scenario_to_dict(plan.scenario),
        "versions": versions(),
        "inputs": {
            "network": {
                "nodes": s.n_nodes,
                "edges": s.n_edges,
                "length_km": num(s.length_m.sum() / 1000.0),
                "crs": s.crs.to_string(),
            },
            "destinations": {"count": len(dests), "by_kind": by_kind},
            "incidents": incidents,
            "reports": [r.to_dict() for r in plan.reports],
        },
        "risk_sources": {
            "note": (
                "share of the all-day risk surface contributed by each incident category: "
                "property crime and enforcement-driven categories weigh differently from violence"
            ),
            "category_share": {k: num(v, 4) for k, v in (all_day.category_share if all_day else {}).items()},
        },
        "privacy": {
            "incident_points_on_maps": bool(plan.scenario.incidents.show_points)
            if plan.scenario.incidents
            else False,
            "sensitive_categories_used": bool(plan.scenario.incidents.include_sensitive)
            if plan.scenario.incidents
            else False,
            "min_support": plan.scenario.risk.min_support,
        },
        "windows": [window_summary(wp, s) for wp in plan.windows],
    }


def summary_lines(plan: Any, folder: Path) -> list[str]:
    """The few lines ``passages plan`` prints when done."""
    lines = [f"plan {plan.scenario.name}: written to {folder}"]
    for wp in plan.windows:
        ws = window_summary(wp, plan.streets)
        r, d = ws["routes"], ws["deployment"]
        med = "n/a" if r["median_detour"] is None else f"{100 * r['median_detour']:.1f}%"
        p90 = "n/a" if r["p90_detour"] is None else f"{100 * r['p90_detour']:.1f}%"
        lines.append(
            f"  {wp.window.name:<12} {ws['corridors']['count']:>3} corridors "
            f"({ws['corridors']['length_m'] / 1000:.1f} km), risk exposure -{r['risk_reduction_pct']:.1f}% "
            f"(detour median {med}, p90 {p90}); "
            f"{d['posts']} posts cover {100 * d['share_covered']:.0f}% of demand (gap {100 * d['gap']:.2f}%)"
        )
    return lines


# --------------------------------------------------------------------------------------
# compare


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        out = {}
        for i, v in enumerate(d):
            label = v.get("name", i)
            out.update(_flat(v, f"{prefix}[{label}]"))
        return out
    return {prefix: d}


def scenario_changes(a: Scenario, b: Scenario) -> list[str]:
    """Keys whose values differ between two scenarios, as ``key: A → B`` lines."""
    fa, fb = _flat(scenario_to_dict(a)), _flat(scenario_to_dict(b))
    return [
        f"{k}: {fa.get(k, '(unset)')!r} → {fb.get(k, '(unset)')!r}"
        for k in sorted(set(fa) | set(fb))
        if fa.get(k) != fb.get(k)
    ]


def compare_rows(a: Any, b: Any) -> list[dict[str, Any]]:
    """Per window (by name, in A's order then B's extras): the headline numbers of both plans."""
    names = [wp.window.name for wp in a.windows] + [
        wp.window.name for wp in b.windows if wp.window.name not in {w.window.name for w in a.windows}
    ]
    wa = {wp.window.name: wp for wp in a.windows}
    wb = {wp.window.name: wp for wp in b.windows}
    rows = []
    for name in names:
        row: dict[str, Any] = {"window": name}
        for side, plan, table in (("a", a, wa), ("b", b, wb)):
            wp = table.get(name)
            if wp is None:
                row[side] = None
                continue
            ws = window_summary(wp, plan.streets)
            d = ws["deployment"]
            row[side] = {
                "officers": d["officers"],
                "posts": d["posts"],
                "share_covered": d["share_covered"],
                "covered_corridor_m": d["covered_corridor_m"],
                "covered_route_m_per_officer_hour": d["covered_route_m_per_officer_hour"],
                "risk_reduction_pct": ws["routes"]["risk_reduction_pct"],
                "post_names": sorted(p["name"] for p in d["posts_list"]),
            }
        rows.append(row)
    return rows


def compare_text(a: Any, b: Any) -> list[str]:
    """What ``passages compare`` prints."""
    lines = [f"A = {a.scenario.source or a.scenario.name}", f"B = {b.scenario.source or b.scenario.name}"]
    changes = scenario_changes(a.scenario, b.scenario)
    lines.append("scenario changes:" if changes else "scenario changes: none")
    lines.extend(f"  {c}" for c in changes)
    header = (
        f"{'window':<12} {'':>2} {'officers':>8} {'posts':>5} {'covered':>8} {'corridor m':>11} "
        f"{'route m/off-h':>13} {'risk -%':>7}"
    )
    lines.append(header)
    for row in compare_rows(a, b):
        for side in ("a", "b"):
            v = row[side]
            if v is None:
                lines.append(f"{row['window']:<12} {side.upper():>2} (no such window)")
                continue
            lines.append(
                f"{row['window']:<12} {side.upper():>2} {v['officers']:>8} {v['posts']:>5} "
                f"{100 * v['share_covered']:>7.1f}% {v['covered_corridor_m']:>11,.0f} "
                f"{v['covered_route_m_per_officer_hour']:>13,.0f} {v['risk_reduction_pct']:>7.1f}"
            )
        if row["a"] is not None and row["b"] is not None:
            added = sorted(set(row["b"]["post_names"]) - set(row["a"]["post_names"]))
            removed = sorted(set(row["a"]["post_names"]) - set(row["b"]["post_names"]))
            delta = 100 * (row["b"]["share_covered"] - row["a"]["share_covered"])
            lines.append(
                f"{'':<12}    coverage {delta:+.1f} points; posts added {len(added)}, removed {len(removed)}"
            )
            lines.extend(f"{'':<15}+ {n}" for n in _head(added))
            lines.extend(f"{'':<15}- {n}" for n in _head(removed))
    return lines


def _head(items: Iterable[str], n: int = 5) -> list[str]:
    items = list(items)
    return items[:n] + ([f"… and {len(items) - n} more"] if len(items) > n else [])
