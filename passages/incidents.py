"""Incident records (APD COBRA, LAPD, any CSV or point layer) -> one clean table + a load report.

Every source goes through a :class:`ColumnMapping` that names the columns holding the id, the
coordinates, the date (and time) and the category. The built-in adapters are just mappings
(``cobra``, ``lapd``); a new city needs a mapping, not code. Bad rows are skipped and counted
in the :class:`~passages._validate.LoadReport` with their 1-based physical line numbers. Dates
and times of day are parsed by :mod:`passages._dates`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from passages import _dates
from passages._errors import InputError
from passages._tables import Table, decimal_points, find_column, read_layer, read_table
from passages._validate import Loaded, LoadReport, existing_file

__all__ = [
    "DEFAULT_SENSITIVE",
    "DEFAULT_SEVERITY",
    "FALLBACK_SEVERITY",
    "ColumnMapping",
    "is_sensitive",
    "load_incidents",
    "severity_of",
]

logger = logging.getLogger(__name__)

Adapter = Literal["auto", "cobra", "lapd", "generic"]
Area = tuple[float, float, float, float]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: Severity weight by category pattern (case-insensitive regular expression, searched anywhere in
#: the category). The FIRST pattern that matches wins, top to bottom, so specific patterns come
#: before general ones ("aggravated assault" before "assault", "auto theft" before "theft").
#: Patterns given by the scenario (``severity=``) are tried before these and so win.
DEFAULT_SEVERITY: dict[str, float] = {
    r"homicide|murder|manslaughter": 10.0,
    r"\brape|sexual|sodomy|oral copulation|sex,\s*unlawful|unlawful sex|lascivious": 8.0,
    r"agg\w*\.?[ -]*assault|assault with (a )?deadly weapon|shots fired|shooting": 6.0,
    r"robbery": 5.0,
    r"simple assault|battery|assault": 3.0,
    r"burglary": 2.0,
    r"auto theft|motor vehicle theft|vehicle\s*-\s*(attempt(ed)?\s+)?stolen|stolen vehicle": 1.5,
    r"larceny|theft|shoplift|stolen|pickpocket|purse snatch": 1.0,
    r"vandalism|criminal damage|graffiti": 0.75,
}
#: weight of a category no pattern matches
FALLBACK_SEVERITY = 1.0

#: Categories flagged ``sensitive``: sexual offences, domestic incidents, offences against
#: children (case-insensitive regular expressions; LAPD abbreviates child as "CHLD").
DEFAULT_SENSITIVE: tuple[str, ...] = (
    r"\brape|\bsex|sodomy|lewd|lascivious|indecent|oral copulation|peeping tom",
    r"pimping|pandering|prostitut",
    r"domestic|intimate partner|spousal",
    r"child|\bchld\b|juvenile|\bminors?\b",
)

REASON_DUPLICATE = "duplicate row"
REASON_MALFORMED = "malformed row (number of fields differs from the header)"
REASON_NO_DATE = _dates.REASON_NO_DATE
REASON_IMPOSSIBLE_DATE = _dates.REASON_IMPOSSIBLE_DATE
REASON_DATE_RANGE = _dates.REASON_DATE_RANGE
REASON_NO_XY = "missing coordinates (empty or NaN)"
REASON_BAD_XY = "non-numeric coordinates"
REASON_ZERO_XY = "zero coordinates (0 marks an unknown location)"
REASON_RANGE_XY = "coordinates outside valid lat/lon range"
REASON_NO_GEOMETRY = "missing geometry"
REASON_NOT_POINT = "not a point geometry"
REASON_AREA = "outside the network area"
REASON_SENSITIVE = "sensitive category (enable incidents.include_sensitive to use)"

_MISSING_TOKENS = ("", "nan", "na", "n/a", "null", "none")
_VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb")
_KEY_PREFIX = "incidents.columns."


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column holds each incident field (``None`` = not set).

    Attributes
    ----------
    id
        Incident/report number; unset or empty -> ``line-<n>``.
    lat, lon
        Coordinates in degrees (CSV only; point layers use their geometry).
    date
        The day, optionally with a time of day.
    time
        Time of day, combined with ``date`` ("22:30", "10:30 PM", or HHMM like "2230", "30").
    datetime
        Alternative to ``date`` + ``time``: one column holding both.
    category
        The offence category, as the source writes it.
    date_format, time_format
        Optional :func:`~datetime.datetime.strptime` formats; by default a list of common
        formats is tried (US month-first; set ``date_format="%d/%m/%Y"`` for day-first data).
    """

    id: str | None = None
    lat: str | None = None
    lon: str | None = None
    date: str | None = None
    time: str | None = None
    datetime: str | None = None
    category: str | None = None
    date_format: str | None = None
    time_format: str | None = None

    @classmethod
    def from_value(cls, value: ColumnMapping | Mapping[str, str | None] | None) -> ColumnMapping:
        """Build a mapping from a dict (keys as the attributes), checking keys and values."""
        if value is None:
            return cls()
        if isinstance(value, ColumnMapping):
            return value
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            raise InputError(
                f"unknown incident column mapping key(s): {', '.join(unknown)}; "
                f"accepted: {', '.join(allowed)}"
            )
        clean: dict[str, str | None] = {}
        for key, col in value.items():
            if col is not None and not isinstance(col, str):
                raise InputError(f"{_KEY_PREFIX}{key} must be a column name (text); got {col!r}")
            clean[key] = col.strip() or None if col is not None else None
        return cls(**clean)

    def over(self, base: ColumnMapping) -> ColumnMapping:
        """This mapping, with every unset key taken from ``base``."""
        changes = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(base, **{k: v for k, v in changes.items() if v is not None})


_ADAPTERS: dict[str, ColumnMapping] = {
    "cobra": ColumnMapping(
        id="offense_id",
        lat="lat",
        lon="long",
        date="occur_date",
        time="occur_time",
        category="UC2_Literal",
    ),
    "lapd": ColumnMapping(
        id="DR_NO",
        lat="LAT",
        lon="LON",
        date="DATE OCC",
        time="TIME OCC",
        category="Crm Cd Desc",
    ),
}


@dataclass
class _Raw:
    """Source rows as text, before any check."""

    frame: pd.DataFrame  # one str column per source column, index 0..n-1
    line: npt.NDArray[np.int64]  # 1-based physical line (CSV) or feature number
    duplicate: BoolArray  # the same as an earlier row in every field (and geometry)
    lonlat: tuple[FloatArray, FloatArray] | None = None  # from point geometries
    geom_reason: npt.NDArray[np.object_] | None = None  # "" where the geometry is a point
    decimal_comma: bool = False  # coordinates may read "33,749" (a table not delimited by commas)


def load_incidents(
    path: str | Path,
    *,
    adapter: Adapter | str = "auto",
    mapping: ColumnMapping | Mapping[str, str | None] | None = None,
    severity: Mapping[str, float] | None = None,
    sensitive: Sequence[str] | None = None,
    area: Area | Sequence[float] | None = None,
    include_sensitive: bool = False,
) -> Loaded[gpd.GeoDataFrame]:
    """Load incident records from a CSV file or a point layer into one clean table.

    Parameters
    ----------
    path
        CSV (any delimiter among ``, ; tab |``; UTF-8, UTF-8 with BOM, UTF-16, else cp1252
        or Latin-1; see :mod:`passages._tables`) or a point layer (``.geojson``, ``.json``,
        ``.gpkg``, ``.shp``, ``.fgb``; without a CRS taken as longitude/latitude, noted).
    adapter
        ``"cobra"`` (Atlanta Police COBRA), ``"lapd"`` (LAPD Crime Data 2020-), ``"generic"``
        (needs ``mapping``) or ``"auto"``: COBRA/LAPD recognised by their columns.
    mapping
        Column names (see :class:`ColumnMapping`); keys given override the adapter's.
    severity
        Extra or overriding category patterns -> weight (> 0), tried before
        :data:`DEFAULT_SEVERITY`; the first match wins.
    sensitive
        Extra category patterns flagged sensitive, besides :data:`DEFAULT_SENSITIVE`.
    area
        ``(west, south, east, north)`` in degrees; rows outside are dropped. Also used to
        detect swapped latitude/longitude columns.
    include_sensitive
        Keep sensitive categories (flagged ``sensitive=True``); by default they are dropped.

    Returns
    -------
    Loaded[geopandas.GeoDataFrame]
        EPSG:4326 points sorted by (``occurred_at``, ``incident_id``), index 0..n-1, with
        ``incident_id``, ``occurred_at`` (naive local datetime64[ns]; the day at 00:00 when
        the time is unknown), ``time_known``, ``category``, ``severity``, ``sensitive``,
        ``line``; and the load report.

    Raises
    ------
    InputFileNotFoundError
        The file does not exist.
    InputError
        Not a readable table, no data rows, no column for a needed field, or no usable row.
    """
    p = existing_file(path, "incidents")
    report = LoadReport(source=str(p), kind="incidents")
    box = _check_area(area)
    raw = _read(p, report)
    geo = raw.lonlat is not None
    cm, col = _resolve(p, list(raw.frame.columns), adapter, mapping, geo=geo, report=report)
    f, n = raw.frame, len(raw.frame)
    reasons = np.full(n, "", dtype=object)

    def flag(mask: npt.ArrayLike, why: str) -> None:
        reasons[(reasons == "") & np.asarray(mask, dtype=bool)] = why

    flag(raw.duplicate, REASON_DUPLICATE)

    ids = f[col["id"]].str.strip() if "id" in col else pd.Series("", index=f.index, dtype=str)
    no_id = (ids == "").to_numpy()
    if no_id.any():
        ids = ids.where(~no_id, pd.Series([f"line-{i}" for i in raw.line], index=f.index))
        report.note(f"{int(no_id.sum()):,} rows have no incident id; named line-<n> instead")
    live = pd.Series(reasons == "", index=f.index)
    rank = ids[live].groupby(ids[live]).cumcount()
    repeats = rank[rank > 0]
    if len(repeats):
        repeated = ids.loc[repeats.index].nunique()  # before the suffix: an id may hold "#"
        ids.loc[repeats.index] = ids.loc[repeats.index] + "#" + (repeats + 1).astype(str)
        report.note(
            f"{repeated:,} incident ids appear on "
            "more than one row (one report, several offences): all rows kept, later ones "
            "suffixed #2, #3, ..."
        )

    when_col = col.get("date", col.get("datetime", ""))
    when, has_time, why = _dates.parse_dates(f[when_col], cm.date_format, raw.line, report)
    for reason in pd.unique(why[why != ""]):
        flag(why == reason, str(reason))
    if "time" in col and "date" in col:
        tod, known = _dates.parse_times(f[col["time"]], cm.time_format)
        day: _dates.TimeArray = when.astype("datetime64[D]").astype("datetime64[us]")
        when = day + tod
    else:
        known = has_time

    lat, lon, xy_why = _coordinates(raw, col)
    for reason in pd.unique(xy_why[xy_why != ""]):
        flag(xy_why == reason, str(reason))
    lat, lon = _unswap(lat, lon, box, reasons == "", report)
    flag((lat == 0) | (lon == 0), REASON_ZERO_XY)
    flag(~((np.abs(lat) <= 90) & (np.abs(lon) <= 180)), REASON_RANGE_XY)
    if box is not None:
        flag(~_inside(lon, lat, box), REASON_AREA)

    category = f[col["category"]].str.strip()
    sens = is_sensitive(category, sensitive=sensitive)
    sev = severity_of(category, severity=severity)
    if not include_sensitive:
        flag(sens, REASON_SENSITIVE)

    for reason in pd.unique(reasons[reasons != ""]):
        report.drop_many(str(reason), raw.line[reasons == reason].tolist())
    keep = reasons == ""
    report.kept = int(keep.sum())
    if report.kept == 0:
        top = ", ".join(f"{r} ({c:,})" for r, c in report.dropped.most_common(3))
        raise InputError(f"{p}: all {report.rows_read:,} rows were dropped: {top}")
    unknown_time = int((~known & keep).sum())
    if unknown_time:
        report.note(f"{unknown_time:,} kept rows have no usable time of day (time_known False, 00:00)")
    if (category[keep] == "").any():
        report.note(f"{int((category[keep] == '').sum()):,} kept rows have an empty category")

    table = pd.DataFrame(
        {
            "incident_id": pd.array(ids.to_numpy(dtype=object)[keep], dtype=str),
            "occurred_at": when[keep].astype("datetime64[ns]"),
            "time_known": known[keep],
            "category": pd.array(category.to_numpy(dtype=object)[keep], dtype=str),
            "severity": sev[keep],
            "sensitive": sens[keep],
            "line": raw.line[keep].astype(np.int64),
        }
    )
    out = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(lon[keep], lat[keep]), crs=4326)
    out = out.sort_values(["occurred_at", "incident_id"], kind="stable").reset_index(drop=True)
    top = ", ".join(f"{r}: {c:,}" for r, c in report.dropped.most_common(3))
    logger.info(
        "loaded incidents: %s read, %s kept, %s dropped%s",
        f"{report.rows_read:,}",
        f"{report.kept:,}",
        f"{report.dropped_total:,}",
        f" ({top})" if top else "",
    )
    return Loaded(out, report)


def severity_of(
    categories: pd.Series | Sequence[str], *, severity: Mapping[str, float] | None = None
) -> FloatArray:
    """Severity weight of each category: the first matching pattern wins.

    Parameters
    ----------
    categories
        Category texts.
    severity
        Patterns -> weight tried before :data:`DEFAULT_SEVERITY` (same pattern: this wins).
    """
    table: dict[str, float] = {}
    for pattern, weight in (severity or {}).items():
        w = float(weight) if isinstance(weight, int | float) else float("nan")
        if not (np.isfinite(w) and w > 0):
            raise InputError(f"severity weight for {pattern!r} must be a number > 0; got {weight!r}")
        table[pattern] = w
    for pattern, weight in DEFAULT_SEVERITY.items():
        table.setdefault(pattern, weight)
    rules = [(_compile(pat), w) for pat, w in table.items()]
    cats = pd.Series(categories, dtype=str)
    weight_of = {c: next((w for rx, w in rules if rx.search(c)), FALLBACK_SEVERITY) for c in cats.unique()}
    return cats.map(weight_of).to_numpy(dtype=np.float64)


def is_sensitive(
    categories: pd.Series | Sequence[str], *, sensitive: Sequence[str] | None = None
) -> BoolArray:
    """Whether each category is sensitive (:data:`DEFAULT_SENSITIVE` plus ``sensitive``)."""
    extra = [sensitive] if isinstance(sensitive, str) else list(sensitive or ())
    rules = [_compile(p) for p in (*DEFAULT_SENSITIVE, *extra)]
    cats = pd.Series(categories, dtype=str)
    flagged = {c: any(rx.search(c) for rx in rules) for c in cats.unique()}
    return cats.map(flagged).to_numpy(dtype=bool)


def _compile(pattern: str) -> re.Pattern[str]:
    """Case-insensitive regex; a pattern that is not a valid regex is taken literally."""
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error:
        return re.compile(re.escape(pattern), re.IGNORECASE)


def _check_area(area: Area | Sequence[float] | None) -> Area | None:
    if area is None:
        return None
    try:
        west, south, east, north = (float(v) for v in area)
    except (TypeError, ValueError):
        raise InputError(
            f"incidents area must be (west, south, east, north) in degrees; got {area!r}"
        ) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InputError(
            f"incidents area {area!r} is not (west, south, east, north) with west < east "
            "and south < north in degrees"
        )
    return west, south, east, north


def _inside(lon: FloatArray, lat: FloatArray, box: Area) -> BoolArray:
    west, south, east, north = box
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def _read(p: Path, report: LoadReport) -> _Raw:
    """Source rows as text: a point layer by its suffix, else a delimited text table."""
    if p.suffix.lower() in _VECTOR_SUFFIXES:
        return _layer_rows(read_layer(p, report, expected="point layer", assume_lonlat=True))
    t = read_table(p, report, advice="export the incidents as CSV or a point layer (GeoJSON/GeoPackage)")
    if t.encoding == "utf-16":
        report.note("the file is UTF-16 text")
    elif t.bad_byte_line:
        report.note(f"not UTF-8 (first bad byte on line {t.bad_byte_line}); read as {t.encoding}")
    if not t.rows:
        raise InputError(f"{p}: header only; the file has no data rows")
    fits = np.array([len(r) == len(t.header) for r in t.rows])
    lines = np.asarray(t.lines, dtype=np.int64)
    report.drop_many(REASON_MALFORMED, lines[~fits].tolist())
    if not fits.any():
        raise InputError(f"{p}: all {report.rows_read:,} rows were dropped: {REASON_MALFORMED}")
    frame = pd.DataFrame([r for r, ok in zip(t.rows, fits, strict=True) if ok], columns=t.header, dtype=str)
    return _Raw(frame, lines[fits], frame.duplicated().to_numpy(), decimal_comma=t.decimal_comma)


def _layer_rows(t: Table) -> _Raw:
    """Attributes as text, coordinates from point geometries (feature number as ``line``)."""
    geom = gpd.GeoSeries(t.geoms, crs=4326)
    is_point = (geom.geom_type == "Point").to_numpy() & ~geom.is_empty.to_numpy()
    why = np.where(geom.isna() | geom.is_empty, REASON_NO_GEOMETRY, REASON_NOT_POINT)
    why = np.where(is_point, "", why).astype(object)
    x = np.full(len(geom), np.nan)
    y = np.full(len(geom), np.nan)
    x[is_point] = geom[is_point].x.to_numpy()
    y[is_point] = geom[is_point].y.to_numpy()
    frame = pd.DataFrame(t.rows, columns=t.header, dtype=str)
    duplicate = frame.assign(_x=x, _y=y).duplicated().to_numpy()
    return _Raw(frame, np.asarray(t.lines, dtype=np.int64), duplicate, (x, y), why)


def _resolve(
    p: Path,
    columns: list[str],
    adapter: str,
    mapping: ColumnMapping | Mapping[str, str | None] | None,
    *,
    geo: bool,
    report: LoadReport,
) -> tuple[ColumnMapping, dict[str, str]]:
    """The effective mapping and the actual column name for each field it sets."""
    user = ColumnMapping.from_value(mapping)
    found = f"columns found: {', '.join(columns) or '(none)'}"
    if adapter == "auto":
        named = {c.casefold() for c in columns}
        # an adapter is recognised by its id and category columns (in any letter case, as the
        # columns are looked up afterwards)
        adapter = next(
            (a for a, m in _ADAPTERS.items() if {str(m.id).casefold(), str(m.category).casefold()} <= named),
            "",
        )
        if adapter:
            report.note(f"schema detected from the columns: {adapter}")
        elif mapping is None:
            raise InputError(
                f"{p}: cannot tell the incident schema (not APD COBRA, not LAPD); set "
                f"incidents.adapter, or map the columns with {_KEY_PREFIX}id, lat, lon, date, "
                f"time, category; {found}"
            )
        else:
            adapter = "generic"
    if adapter == "generic":
        if mapping is None:
            raise InputError(
                f"{p}: adapter 'generic' needs a column mapping ({_KEY_PREFIX}id, lat, lon, "
                f"date, time, category); {found}"
            )
        base = ColumnMapping()
    elif adapter in _ADAPTERS:
        base = _ADAPTERS[adapter]
    else:
        raise InputError(f"unknown incidents adapter {adapter!r}; accepted: auto, cobra, lapd, generic")
    if user.datetime and not user.date:  # the user's datetime replaces the adapter's date + time
        base = replace(base, date=None, time=None)
    cm = user.over(base)
    if cm.date and cm.datetime:
        raise InputError(f"{p}: set either {_KEY_PREFIX}date (with time) or {_KEY_PREFIX}datetime, not both")
    needed = ["id", "category", "time"] if geo else ["id", "lat", "lon", "category", "time"]
    needed.append("datetime" if cm.datetime else "date")
    col: dict[str, str] = {}
    problems: list[str] = []
    for key in needed:
        wanted: str | None = getattr(cm, key)
        if wanted is None:
            if key not in ("id", "time"):
                problems.append(f"no column for {key!r} (set mapping key {_KEY_PREFIX}{key})")
        elif (i := find_column(columns, wanted)) is not None:
            col[key] = columns[i]
        else:
            problems.append(
                f"no column for {key!r} ({wanted!r} not found; set mapping key {_KEY_PREFIX}{key})"
            )
    if problems:
        raise InputError(f"{p}: {'; '.join(problems)}; {found}")
    return cm, col


def _coordinates(raw: _Raw, col: dict[str, str]) -> tuple[FloatArray, FloatArray, npt.NDArray[np.object_]]:
    """Latitude, longitude (NaN where unusable) and a reason per unusable row."""
    if raw.lonlat is not None and raw.geom_reason is not None:
        return raw.lonlat[1].copy(), raw.lonlat[0].copy(), raw.geom_reason
    lat_text = raw.frame[col["lat"]].str.strip()
    lon_text = raw.frame[col["lon"]].str.strip()
    if raw.decimal_comma:  # as passages._tables.Table.points reads them
        lat_text, lon_text = decimal_points(lat_text), decimal_points(lon_text)
    lat = pd.to_numeric(lat_text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lon = pd.to_numeric(lon_text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    missing = (
        lat_text.str.lower().isin(_MISSING_TOKENS) | lon_text.str.lower().isin(_MISSING_TOKENS)
    ).to_numpy()
    why = np.where(np.isnan(lat) | np.isnan(lon), REASON_BAD_XY, "")
    return lat, lon, np.where(missing, REASON_NO_XY, why).astype(object)


def _unswap(
    lat: FloatArray, lon: FloatArray, box: Area | None, usable: BoolArray, report: LoadReport
) -> tuple[FloatArray, FloatArray]:
    """Swap latitude and longitude back where they were evidently swapped.

    With ``box``: if most usable points lie outside it but inside once swapped, swap every row.
    Then, per row: |lat| > 90 with |lon| <= 90 can only be a swap.
    """
    ok = usable & np.isfinite(lat) & np.isfinite(lon) & (lat != 0) & (lon != 0)
    if box is not None and ok.any():
        flipped = ok & ~_inside(lon, lat, box) & _inside(lat, lon, box)
        if flipped.sum() > 0.5 * ok.sum():
            report.note(
                f"latitude and longitude looked swapped ({int(flipped.sum()):,} of "
                f"{int(ok.sum()):,} points are in the area only when swapped); swapped every row"
            )
            lat, lon = lon, lat
    row = ok & (np.abs(lat) > 90) & (np.abs(lon) <= 90)
    if row.any():
        report.note(
            f"{int(row.sum()):,} rows had latitude beyond ±90 and a valid longitude; swapped them back"
        )
        lat, lon = np.where(row, lon, lat), np.where(row, lat, lon)
    return lat, lon
