"""Checking a parsed scenario: the reader behind :meth:`passages.config.Scenario.from_dict`.

Every TOML key is checked by the ``_Key`` in the metadata of the dataclass field of the same name
(``passages.config._m`` / ``_f``): ``_Reader`` reads each value with its ``_r_<kind>`` method, adds the
checks that span keys and tables, and collects every problem instead of stopping at the first one.

Private to ``passages.config``, which imports this module only when a scenario is checked; this module
imports ``passages.config`` at the top, so there is no import cycle.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import math
import os
import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from passages.config import (
    BELL_AFTER_MIN,
    BELL_BEFORE_MIN,
    DAY_NAMES,
    INCIDENT_COLUMN_KEYS,
    DeploymentSpec,
    IncidentSpec,
    LonLat,
    MapSpec,
    NetworkSpec,
    OriginSource,
    PlaceSource,
    Post,
    Ring,
    RiskSpec,
    RoutingSpec,
    Scenario,
    TimeWindow,
    _Key,
    _minutes,
    _plain,
)


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
