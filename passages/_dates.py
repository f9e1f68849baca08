"""Dates and times of day as incident sources write them -> datetime64 arrays + a reason per bad value.

:mod:`passages.incidents` parses its date, time and datetime columns through here:

- Dates: with ``fmt`` unset, a list of common formats is tried, date part (``2021-01-31``,
  ``1/31/2021``, ``1/31/21``, ``2021/01/31``, ``31.01.2021``) x optional time part (24-hour or
  AM/PM, with or without seconds), so one column may mix ``01/08/2020 00:00`` and
  ``04/14/2020 12:00:00 AM``. Month-first only: day-first data needs ``fmt="%d/%m/%Y"``.
- Time-zone suffixes (``Z``, ``+02:00``, ``-0500``) on ISO date-times are dropped and noted;
  times are taken as written (naive local time).
- A value that fits no format is "impossible" when it is shaped like a date whose day does not
  exist (2021-02-30), else unparseable; years before 1900 or after 2100 are out of range.
- Times of day: ``22:30``, ``10:30 PM`` or HHMM digits (``2230``; ``30`` = 00:30).
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from passages._validate import LoadReport

__all__ = [
    "REASON_DATE_RANGE",
    "REASON_IMPOSSIBLE_DATE",
    "REASON_NO_DATE",
    "DeltaArray",
    "TimeArray",
    "parse_dates",
    "parse_times",
]

BoolArray = npt.NDArray[np.bool_]
TimeArray = npt.NDArray[np.datetime64]
DeltaArray = npt.NDArray[np.timedelta64]

REASON_NO_DATE = "missing date"
REASON_IMPOSSIBLE_DATE = "impossible date (no such calendar day, e.g. 2021-02-30)"
REASON_DATE_RANGE = "date out of range (before 1900 or after 2100)"

_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p", "%H:%M:%S.%f")
#: tried in order, date part x time part; US month-first only (set date_format for day-first data)
_DATE_FORMATS = tuple(
    day + clock
    for day in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d", "%d.%m.%Y")
    for clock in ("", *(sep + t for sep in " T" for t in _TIME_FORMATS))
)
_DATE_HINT = "e.g. 2021-01-31, 1/31/2021 or 01/31/2021 12:00:00 AM"
_TZ_SUFFIX = r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)(?:Z|[+-]\d\d:?\d\d)$"
_DATE_SHAPE = r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b|^(\d{1,2})[-/](\d{1,2})[-/](\d{2}|\d{4})\b"


def parse_dates(
    values: pd.Series, fmt: str | None, line: npt.NDArray[np.int64], report: LoadReport
) -> tuple[TimeArray, BoolArray, npt.NDArray[np.object_]]:
    """Timestamps (NaT where bad), whether each value carried a time, and why each failed.

    Parameters
    ----------
    values
        The date (or date-time) column as text; its name is used in the report note.
    fmt
        A :func:`~datetime.datetime.strptime` format; ``None`` tries the common formats.
    line
        The 1-based source line of each value, for the report note on the first bad one.
    report
        Receives notes (time-zone offsets ignored, first unparseable value); nothing is counted.

    Returns
    -------
    tuple
        ``datetime64[us]`` values, a carried-a-time flag per value, and a reason per value:
        ``""`` (parsed), :data:`REASON_NO_DATE`, :data:`REASON_IMPOSSIBLE_DATE`,
        :data:`REASON_DATE_RANGE` or "unparseable date (expected ...)".
    """
    text = values.str.strip()
    no_tz = text.str.replace(_TZ_SUFFIX, r"\1", regex=True)
    if (no_tz != text).any():
        report.note("time-zone offsets in dates were ignored; times taken as written")
    vals = no_tz.to_numpy(dtype=object)
    forms = [fmt] if fmt else _DATE_FORMATS
    when, which = _strptime(vals, forms, prune=not fmt)
    timed = np.array([("%H" in f or "%I" in f) for f in forms] + [False])
    has_time = timed[which]  # which = -1 (not parsed) picks the trailing False
    why = np.full(len(vals), "", dtype=object)
    why[vals == ""] = REASON_NO_DATE
    bad = np.flatnonzero((which < 0) & (vals != ""))
    if len(bad):
        unparseable = f"unparseable date (expected {f'format {fmt}' if fmt else _DATE_HINT})"
        impossible = np.array([_impossible(v) for v in vals[bad]], dtype=bool)
        why[bad] = np.where(impossible, REASON_IMPOSSIBLE_DATE, unparseable)
        if (~impossible).any():
            first = bad[~impossible][0]
            report.note(f"first unparseable date: line {line[first]}: {values.name}={vals[first]!r}")
    year = np.where(np.isnat(when), 2000, when.astype("datetime64[Y]").astype(np.int64) + 1970)
    out_of_range = (year < 1900) | (year > 2100)
    why[out_of_range] = REASON_DATE_RANGE
    when[out_of_range] = np.datetime64("NaT")
    return when, has_time, why


def _strptime(
    text: npt.NDArray[np.object_], forms: Sequence[str], *, prune: bool
) -> tuple[TimeArray, npt.NDArray[np.int64]]:
    """Parse each value with the first of ``forms`` that fits exactly.

    Returns the datetimes (NaT where none fits) and the index of the format used (-1: none).
    With ``prune``, a format is only tried on values of its shape (digits, separators, AM/PM),
    which keeps a long format list cheap.
    """
    when = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    which = np.full(len(text), -1, dtype=np.int64)
    todo = text != ""
    shapes = text
    if prune:
        shape = pd.Series(text, dtype=str).str.replace(r"\d+", "9", regex=True)
        shapes = shape.str.replace(r"\s+", " ", regex=True).str.upper().to_numpy(dtype=object)
    for k, form in enumerate(forms):
        if not todo.any():
            break
        candidates = todo
        if prune:
            rx = _format_shape(form)
            fits = [v for v in pd.unique(shapes[todo]) if rx.fullmatch(v)]
            if not fits:
                continue
            candidates = todo & np.isin(shapes, fits)
        idx = np.flatnonzero(candidates)
        got = pd.to_datetime(pd.Index(text[idx]), format=form, errors="coerce")
        ok = ~np.asarray(got.isna())
        when[idx[ok]] = got[ok].to_numpy().astype("datetime64[us]")
        which[idx[ok]] = k
        todo[idx[ok]] = False
    return when, which


@functools.lru_cache(maxsize=128)
def _format_shape(form: str) -> re.Pattern[str]:
    """The shape of values a built-in strptime format can match: numbers as "9"."""
    parts = re.split(r"(%[a-zA-Z])", form)
    rx = "".join(
        "(?:AM|PM)" if p == "%p" else "9" if p.startswith("%") else re.escape(re.sub(r"\s+", " ", p))
        for p in parts
    )
    return re.compile(rx.upper())


def _impossible(value: str) -> bool:
    """Whether ``value`` is shaped like a date whose day does not exist (2021-02-30)."""
    m = re.match(_DATE_SHAPE, value)
    if m is None:
        return False
    if m.group(1):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        month, day, year = int(m.group(4)), int(m.group(5)), int(m.group(6))
        year += 2000 if year < 100 else 0
    if not (1 <= month <= 12 and 1 <= day <= 31 and 1 <= year <= 9999):
        return False
    return day > calendar.monthrange(year, month)[1]


def parse_times(values: pd.Series, fmt: str | None) -> tuple[DeltaArray, BoolArray]:
    """Time of day, and whether it was usable (HHMM digits like "2230" or "30" = 00:30).

    With ``fmt`` unset or ``"%H%M"``, one to four digits are read as HHMM and the common
    clock formats are tried; any other ``fmt`` is used alone. Unusable times are 0 (midnight).
    """
    text = values.str.strip()
    if fmt in (None, "%H%M"):
        padded = text.str.zfill(4)
        text = text.where(~text.str.fullmatch(r"\d{1,4}"), padded.str[:2] + ":" + padded.str[2:])
    vals = text.to_numpy(dtype=object)
    clock, which = _strptime(vals, _TIME_FORMATS if fmt in (None, "%H%M") else [fmt], prune=False)
    known = which >= 0
    tod = np.where(known, clock - clock.astype("datetime64[D]"), np.timedelta64(0, "us"))
    return tod.astype("timedelta64[us]"), known
