"""Reading user tables: delimited text files, a table inside a ZIP archive, and vector layers.

:mod:`passages.places`, :mod:`passages.origins` and :mod:`passages.incidents` read their files
through here, so a CSV is read the same way by every loader:

- Encoding: UTF-8 (with or without a BOM), UTF-16 with a BOM, else Windows-1252, else Latin-1.
  :attr:`Table.encoding` says which; the loader words the report note.
- Binary content (a ZIP or Excel workbook, a database, a PDF, control bytes) is refused with one
  line saying what it looks like, never decoded into nonsense.
- Delimiter: whichever of ``, ; tab |`` the first non-blank line holds most of (a tie: comma).
- Line numbers: every record carries the 1-based physical line it starts on, so a quoted field
  spanning lines does not shift the numbers after it. Blank lines are skipped, not counted as
  rows.
- Header: the first non-blank record; names are stripped, repeats renamed ``name.1``, ``name.2``
  (noted). Trailing empty fields beyond the header's length (``a,b,c,,``) are dropped; any other
  length mismatch is left to the loader, which decides what a ragged row means.
- Vector layers: the first layer's attributes as text and its geometries in EPSG:4326, one
  "line" per feature (1-based).

Each reader sets ``report.rows_read`` to the number of records (features) it read.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from passages._errors import CRSError, InputError
from passages._validate import LoadReport

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DELIMITERS",
    "Decoded",
    "Table",
    "decimal_points",
    "decode",
    "find_column",
    "number",
    "read_layer",
    "read_table",
    "records",
    "sniff_delimiter",
    "unique_names",
]

#: the delimiters :func:`sniff_delimiter` chooses from, in order of preference on a tie
DELIMITERS = (",", ";", "\t", "|")
#: how much of a file is looked at to tell text from binary content
_SNIFF_BYTES = 65536
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive or an Excel .xlsx workbook"),
    (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook"),
    (b"SQLite format 3", "a SQLite/GeoPackage database (name it .gpkg)"),
    (b"\x1f\x8b", "a gzip-compressed file (decompress it first)"),
    (b"%PDF", "a PDF document"),
)
#: control bytes that never occur in text (tab, newlines, form feed are allowed)
_CONTROLS = tuple(bytes([b]) for b in (*range(9), *range(14, 32)))
_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")


@dataclass(frozen=True)
class Table:
    """Text cells per record with their line (or feature) numbers; ``geoms`` for vector layers.

    Attributes
    ----------
    path
        What was read, for messages (``feed.zip/stops.txt`` for a table inside a ZIP archive).
    header
        Column names: stripped, repeats renamed ``name.1``, ….
    rows
        The cells of each record as written; a row may be shorter or longer than the header.
    lines
        1-based physical line each record starts on (header = line 1 when it comes first), or
        the 1-based feature number for a vector layer.
    unit
        ``"line"`` or ``"feature"``: what ``lines`` counts, for messages.
    geoms
        Vector layers: one shapely geometry (or None) per row, in EPSG:4326.
    delimiter
        The delimiter used (``""`` for a vector layer).
    encoding
        ``"utf-8"``, ``"utf-16"``, ``"cp1252"`` or ``"latin-1"`` (``""`` for a vector layer).
    bad_byte_line
        The line of the first byte that is not UTF-8 (0 when the text decoded as UTF-8/16).
    """

    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    unit: str = "line"
    geoms: list[Any] | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    bad_byte_line: int = 0

    def col(self, given: str | None, candidates: Sequence[str], option: str, what: str = "") -> int | None:
        """Column ``given`` (must exist), else the first candidate present; required if ``what``.

        Names match exactly, else case-insensitively. A missing column raises one line naming
        what was looked for, the columns found, and the option (``option=``) that sets it.
        """
        if given is not None:
            found = find_column(self.header, given)
            looked = f"column {given!r}"
        else:
            found = next((i for c in candidates if (i := find_column(self.header, c)) is not None), None)
            looked = f"{what} column (looked for {', '.join(candidates)})"
        if found is None and (given is not None or what):
            columns = ", ".join(self.header)
            raise InputError(f"{self.path}: no {looked}; columns found: {columns}; set {option}=")
        return found

    def values(self, i: int | None, default: str = "") -> list[str]:
        """Whitespace-normalised cells of column ``i`` ("" in short rows; ``default`` when None)."""
        if i is None:
            return [default] * len(self.rows)
        return [" ".join(r[i].split()) if i < len(r) else "" for r in self.rows]

    def subset(self, keep: Sequence[bool]) -> Table:
        """This table with only the rows (and their lines) where ``keep`` is true."""
        pick = list(keep)
        rows = [r for r, k in zip(self.rows, pick, strict=True) if k]
        return replace(self, rows=rows, lines=[n for n, k in zip(self.lines, pick, strict=True) if k])

    @property
    def decimal_comma(self) -> bool:
        """Whether numbers may be written with a decimal comma ("33,749"): not comma-delimited."""
        return self.delimiter in (";", "\t", "|")

    def points(self, report: LoadReport, lat: int, lon: int) -> list[Any]:
        """A Point per row from latitude / longitude columns; None where dropped (counted).

        A row is dropped, with its line, when a coordinate is missing or not a number, out of
        range, or 0 (a common missing-value marker). In a table not delimited by commas a
        decimal comma is read too ("33,749"), as spreadsheets in European locales write it.
        """
        import shapely

        cols = f"`{self.header[lat]}`/`{self.header[lon]}`"
        comma = self.decimal_comma
        out: list[Any] = []
        for line, a, o in zip(self.lines, self.values(lat), self.values(lon), strict=True):
            y, x = number(a, decimal_comma=comma), number(o, decimal_comma=comma)
            reason = None
            if math.isnan(y) or math.isnan(x):
                reason = f"{cols} missing or not a number"
            elif not (-90 <= y <= 90 and -180 <= x <= 180):
                reason = f"{cols} out of range (lat -90..90, lon -180..180)"
            elif y == 0 or x == 0:
                reason = f"{cols} is 0 (a missing-value marker, not a place)"
            if reason is not None:
                report.drop(reason, line)
            out.append(None if reason else shapely.Point(x, y))
        return out


def decimal_points(values: pd.Series) -> pd.Series:
    """``values`` with a decimal comma ("33,749") written as a point; other text unchanged."""
    return values.where(
        ~values.str.fullmatch(_DECIMAL_COMMA.pattern), values.str.replace(",", ".", regex=False)
    )


def number(text: str, *, decimal_comma: bool = False) -> float:
    """``text`` as a number, NaN when it is not one; ``decimal_comma`` also reads "33,749"."""
    if decimal_comma and _DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return math.nan


def find_column(columns: Sequence[str], name: str) -> int | None:
    """Index of column ``name``: the exact name, else the first case-insensitive match."""
    if name in columns:
        return list(columns).index(name)
    low = name.strip().lower()
    return next((i for i, c in enumerate(columns) if c.strip().lower() == low), None)


# --------------------------------------------------------------------------------------
# delimited text


class Decoded(NamedTuple):
    """A text file's content and how it was decoded."""

    text: str
    encoding: str  # "utf-8", "utf-16", "cp1252" or "latin-1"
    bad_byte_line: int  # line of the first byte that is not UTF-8; 0 when there is none


def decode(data: bytes, where: Path, *, advice: str) -> Decoded:
    """Decode a text table: UTF-8 (BOM or not), UTF-16 with a BOM, else cp1252, else Latin-1.

    Parameters
    ----------
    data
        The file's bytes.
    where
        The file, for messages.
    advice
        What to do instead when the content is binary, e.g. "export the incidents as CSV".

    Raises
    ------
    InputError
        Binary content (named when recognised), or a UTF-16 BOM on bytes that are not UTF-16.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return Decoded(data.decode("utf-16"), "utf-16", 0)
        except UnicodeDecodeError:
            raise InputError(f"{where}: starts like UTF-16 text but cannot be decoded") from None
    head = data[:_SNIFF_BYTES]
    kind = next((k for magic, k in _MAGIC if head.startswith(magic)), None)
    controls = sum(head.count(c) for c in _CONTROLS)
    if kind or b"\x00" in head or controls > 0.01 * len(head):
        looks = f", looks like {kind}" if kind else ""
        raise InputError(f"{where}: not a text CSV file (binary content{looks}); {advice}")
    try:
        return Decoded(data.decode("utf-8-sig"), "utf-8", 0)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
    try:
        return Decoded(data.decode("cp1252"), "cp1252", line)
    except UnicodeDecodeError:  # cp1252 leaves five bytes undefined; Latin-1 decodes any byte
        return Decoded(data.decode("latin-1"), "latin-1", line)


def sniff_delimiter(text: str) -> str:
    """The one of :data:`DELIMITERS` the first non-blank line holds most of (a tie: the first)."""
    start = 0
    while start < len(text):  # no split: the text may be large
        end = text.find("\n", start)
        line = text[start : end if end >= 0 else len(text)]
        if line.strip():
            return max(DELIMITERS, key=line.count)
        start = len(text) if end < 0 else end + 1
    return DELIMITERS[0]


def records(text: str, delimiter: str, where: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, fields)`` for each non-blank record; ``line`` is where the record starts.

    Raises
    ------
    InputError
        The csv module gives up (e.g. a field beyond its size limit), naming the line.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num
            if "".join(fields).strip():
                yield start, fields
    except csv.Error as exc:
        raise InputError(f"{where} line {end + 1}: not a readable CSV file ({exc})") from None


def unique_names(names: list[str], report: LoadReport) -> list[str]:
    """``names`` with repeats renamed ``name.1``, ``name.2``, … (noted in ``report``)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        k = seen[name] = seen.get(name, -1) + 1
        out.append(f"{name}.{k}" if k else name)
    if len(set(names)) < len(names):
        report.note("repeated column names in the header; later copies renamed <name>.1, ...")
    return out


def read_table(path: Path, report: LoadReport, *, advice: str, member: str | None = None) -> Table:
    """Read a delimited text table (see the module doc for the rules).

    Parameters
    ----------
    path
        The file.
    report
        Gets ``rows_read``, and notes on repeated header names or a table read from a ZIP.
    advice
        What to do instead when the file is binary (ends the error message).
    member
        When ``path`` is a ZIP archive, read the table of this name from it (at its top, or
        the only one of that name in a folder), e.g. ``"stops.txt"`` from a GTFS feed.

    Raises
    ------
    InputError
        The file cannot be read, is binary, empty (or only blank lines), or not valid CSV.
    """
    data, where = _read_bytes(path, member, report)
    text, encoding, bad_line = decode(data, where, advice=advice)
    delimiter = sniff_delimiter(text)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    for line, fields in records(text, delimiter, where):
        if header is None:
            header = unique_names([h.strip() for h in fields], report)
            continue
        while len(fields) > len(header) and not fields[-1].strip():
            fields.pop()  # trailing empty fields, e.g. "a,b,c,,"
        rows.append(fields)
        lines.append(line)
    if header is None:
        raise InputError(f"{where}: the file is empty; it has no data rows")
    report.rows_read = len(rows)
    return Table(where, header, rows, lines, delimiter=delimiter, encoding=encoding, bad_byte_line=bad_line)


def _read_bytes(path: Path, member: str | None, report: LoadReport) -> tuple[bytes, Path]:
    """The bytes of ``path``, or of ``member`` inside it when it is a ZIP archive."""
    try:
        with path.open("rb") as f:
            zipped = f.read(2) == b"PK"
        if member is None or not zipped:
            return path.read_bytes(), path
        with zipfile.ZipFile(path) as archive:
            name = _member(archive, member, path)
            data = archive.read(name)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
        raise InputError(f"{path}: a damaged or unsupported ZIP archive ({exc})") from None
    report.note(f"read {name} from the ZIP archive")
    return data, path / name


def _member(archive: zipfile.ZipFile, member: str, path: Path) -> str:
    """The archive's file named ``member`` (any case): at the top, else the only one in a folder."""
    names = [n for n in archive.namelist() if not n.endswith("/") and not n.startswith("__MACOSX/")]
    found = [n for n in names if n.rsplit("/", 1)[-1].lower() == member.lower()]
    top = [n for n in found if "/" not in n]
    if len(top) == 1 or len(found) == 1:
        return (top or found)[0]
    held = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
    what = f"{len(found)} files named {member} (none at the top)" if found else f"no {member}"
    raise InputError(f"{path}: a ZIP archive with {what}; it holds: {held or '(nothing)'}")


# --------------------------------------------------------------------------------------
# vector layers


def read_layer(path: Path, report: LoadReport, *, expected: str, assume_lonlat: bool) -> Table:
    """Read the first layer of a vector file: attributes as text, geometries in EPSG:4326.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile, FlatGeobuf, … (anything pyogrio reads).
    report
        Gets ``rows_read`` and notes (other layers ignored, reprojection, an assumed CRS).
    expected
        What the file should be, for the message when it cannot be read ("point layer").
    assume_lonlat
        A layer without a CRS is taken as longitude/latitude (noted); else it is refused.

    Raises
    ------
    InputError
        The file cannot be read or the layer has no features.
    CRSError
        The layer has no CRS and ``assume_lonlat`` is False.
    """
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
        if len(layers) > 1:
            report.note(f"{len(layers)} layers; read the first, {layers[0][0]!r}")
        # keep dates as written ("2023-03-16" must not become a datetime at midnight)
        as_text = {"DATE_AS_STRING": "YES"} if path.suffix.lower() in (".geojson", ".json") else {}
        gdf = gpd.read_file(path, layer=layers[0][0], engine="pyogrio", datetime_as_string=True, **as_text)
    except Exception as exc:  # pyogrio raises several types (mostly RuntimeError) for unreadable files
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a readable {expected} ({msg})") from None
    report.rows_read = len(gdf)
    if gdf.crs is None and not assume_lonlat:
        raise CRSError(
            f"{path}: has no coordinate reference system (a shapefile needs its .prj file); "
            "set one in the file, e.g. EPSG:4326 for lon/lat"
        )
    if len(gdf) == 0:
        raise InputError(f"{path}: the layer has no features; it has no data rows")
    if gdf.crs is None:
        report.note("the layer has no CRS; coordinates taken as longitude/latitude (EPSG:4326)")
    elif not gdf.crs.equals("EPSG:4326", ignore_axis_order=True):
        report.note(f"reprojected from {gdf.crs.name} to EPSG:4326")
        gdf = gdf.to_crs(4326)
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
    attrs = attrs.where(attrs.notna(), "")
    rows = [[str(v) for v in r] for r in attrs.itertuples(index=False, name=None)]
    header = unique_names([str(c).strip() for c in attrs.columns], report)
    features = list(range(1, len(gdf) + 1))
    geoms = list(gdf.geometry)
    return Table(path, header, rows, features, unit="feature", geoms=geoms, delimiter="", encoding="")
