"""Schedule writers: CSV round trip, RFC 5545 calendar structure, escaping, determinism, atomic writes."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date, time
from pathlib import Path

import pytest

from passages import _io
from passages._errors import InputError
from passages.export import SCHEDULE_COLUMNS, write_schedule_csv, write_schedule_ics
from passages.schedule import ScheduleEntry

TRICKY = 'Peachtree St, NE; "Five Points"\nback\\slash'


def entries() -> list[ScheduleEntry]:
    fixed = ScheduleEntry(
        window="am", post_id="P01", location=TRICKY, lon=-84.388123, lat=33.754321, officers=2,
        start=time(6, 30), end=time(9, 0), days="Mon–Fri", mode="fixed", covered_m=412.34,
        share=0.12345, note="", beat=1, weekdays=(0, 1, 2, 3, 4),
    )  # fmt: skip
    visit = replace(
        fixed, post_id="P02", location="Ellis St NE & Courtland St NE", officers=1, mode="rotation", beat=2,
        note="officer 2 of 2: beat P02 → P03, 15 min per post",
    )  # fmt: skip
    return [
        fixed,
        replace(visit, start=time(6, 30), end=time(6, 45)),
        replace(visit, start=time(7, 10), end=time(7, 25)),
        replace(visit, post_id="P03", start=time(6, 50), end=time(7, 5)),
        replace(fixed, window="late", post_id="P01", start=time(22, 0), end=time(1, 0), weekdays=(4, 5),
                days="Fri, Sat", officers=1),
    ]  # fmt: skip


def unfold(data: bytes) -> list[str]:
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")[:-1]


def test_csv_round_trips(tmp_path: Path) -> None:
    path = write_schedule_csv(entries(), tmp_path / "schedule.csv")
    raw = path.read_bytes()
    assert b"\r" not in raw
    assert raw.startswith(b"window,post_id,location,lon,lat,")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == SCHEDULE_COLUMNS
    assert len(rows) == 5
    first = rows[0]
    assert first["location"] == TRICKY
    assert (first["lon"], first["lat"], first["officers"], first["start"], first["end"]) == (
        "-84.388123", "33.754321", "2", "06:30", "09:00",
    )  # fmt: skip
    assert (first["days"], first["mode"], first["covered_m"], first["share"]) == (
        "Mon–Fri",
        "fixed",
        "412.3",
        "0.1235",
    )
    assert rows[1]["note"] == "officer 2 of 2: beat P02 → P03, 15 min per post"
    assert rows[4]["end"] == "01:00"


def test_ics_structure(tmp_path: Path) -> None:
    path = write_schedule_ics(
        entries(), tmp_path / "s.ics", first_date=date(2025, 8, 2), calendar_name="Safe, passage"
    )
    data = path.read_bytes()
    physical = data.split(b"\r\n")
    assert physical[-1] == b"" and b"\n" not in data.replace(b"\r\n", b"")  # CRLF only, final CRLF
    assert all(len(line) <= 75 for line in physical)
    lines = unfold(data)
    depth: list[str] = []
    for line in lines:
        if line.startswith("BEGIN:"):
            depth.append(line[6:])
        elif line.startswith("END:"):
            assert depth.pop() == line[4:]
    assert depth == []
    assert lines[0] == "BEGIN:VCALENDAR" and "VERSION:2.0" in lines
    assert "X-WR-CALNAME:Safe\\, passage" in lines
    assert "TZID:America/New_York" in lines and "BEGIN:DAYLIGHT" in lines
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU" in lines
    assert lines.count("BEGIN:VEVENT") == 4  # one per (window, post): the two P02 visits share one
    assert "DTSTART;TZID=America/New_York:20250804T063000" in lines  # Sat 2 Aug → first Monday
    assert "DTEND;TZID=America/New_York:20250804T090000" in lines
    assert "DTSTART;TZID=America/New_York:20250802T220000" in lines  # late window (Fri, Sat): Sat 2 Aug
    assert "DTEND;TZID=America/New_York:20250803T010000" in lines  # crosses midnight
    assert "RRULE:FREQ=WEEKLY;BYDAY=FR,SA" in lines
    assert all(line == "DTSTAMP:20250802T000000Z" for line in lines if line.startswith("DTSTAMP"))
    p02 = [line for line in lines if line.startswith("DESCRIPTION:") and "visits" in line]
    assert len(p02) == 2 and "06:30–06:45\\, 07:10–07:25" in p02[0]
    assert "DTEND;TZID=America/New_York:20250804T072500" in lines  # P02 event ends with its last visit


def test_ics_escapes_text_from_data(tmp_path: Path) -> None:
    data = write_schedule_ics(entries(), tmp_path / "s.ics", first_date=date(2025, 8, 4)).read_bytes()
    lines = unfold(data)
    escaped = 'Peachtree St\\, NE\\; "Five Points"\\nback\\\\slash'
    assert f"LOCATION:{escaped}" in lines
    assert any(line.startswith(f"SUMMARY:P01 {escaped} (2 officers)") for line in lines)
    assert not any(line.startswith("back") for line in lines)


def test_ics_is_byte_identical_across_runs(tmp_path: Path) -> None:
    a = write_schedule_ics(entries(), tmp_path / "a.ics", first_date=date(2025, 8, 4)).read_bytes()
    b = write_schedule_ics(entries(), tmp_path / "b.ics", first_date=date(2025, 8, 4)).read_bytes()
    assert a == b
    uids = [line for line in unfold(a) if line.startswith("UID:")]
    assert len(set(uids)) == len(uids) == 4


def test_ics_long_multibyte_lines_fold_on_character_boundaries(tmp_path: Path) -> None:
    long = [replace(entries()[0], location="Calle Ñandú – Paseo de los Árboles " * 6)]
    data = write_schedule_ics(long, tmp_path / "s.ics", first_date=date(2025, 8, 4)).read_bytes()
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    data.decode("utf-8")  # every physical line boundary falls between characters
    for line in data.split(b"\r\n"):
        line.decode("utf-8")
    assert any(line.startswith("LOCATION:Calle Ñandú") and line.endswith("Árboles ") for line in unfold(data))


def test_ics_timezones(tmp_path: Path) -> None:
    utc = unfold(
        write_schedule_ics(
            entries(), tmp_path / "u.ics", timezone="Asia/Kolkata", first_date=date(2025, 1, 6)
        ).read_bytes()
    )
    block = utc[utc.index("BEGIN:VTIMEZONE") : utc.index("END:VTIMEZONE")]
    assert "BEGIN:DAYLIGHT" not in block and "TZOFFSETTO:+0530" in block
    la = unfold(
        write_schedule_ics(
            entries(), tmp_path / "l.ics", timezone="Europe/London", first_date=date(2025, 1, 6)
        ).read_bytes()
    )
    assert "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU" in la
    with pytest.raises(InputError, match="Mars/Olympus"):
        write_schedule_ics(entries(), tmp_path / "x.ics", timezone="Mars/Olympus")


def test_interrupted_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "schedule.ics"
    target.write_bytes(b"old calendar")
    real = Path.write_bytes

    def half_then_fail(self: Path, data: bytes) -> int:  # type: ignore[override]
        real(self, data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_schedule_ics(entries(), target, first_date=date(2025, 8, 4))
    with pytest.raises(OSError, match="disk full"):
        write_schedule_csv(entries(), tmp_path / "schedule.ics")
    monkeypatch.undo()
    assert target.read_bytes() == b"old calendar"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schedule.ics"]  # no temporary files left


def test_interrupted_atomic_path_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "schedule.csv"
    write_schedule_csv(entries()[:1], target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError), _io.atomic_path(target) as tmp:
        write_schedule_csv(entries(), tmp)
        raise RuntimeError("interrupted")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schedule.csv"]
