"""The paper under the print maps: page layout, text, tables, legend, scale bar and north arrow.

:mod:`passages.printmap` decides what each page shows; this module knows how a page is put
together, in matplotlib without Axes or pyplot state:

* A :class:`Page` is a figure whose artists are placed in inches from its lower left corner; a
  :class:`MapFrame` is a rectangle of it showing a view of the network CRS at 1:1 (metres → page
  transform, artists clipped to the frame).
* Text is set in PDF's built-in Helvetica, which every PDF reader has: nothing to embed or shape,
  and it stays text (searchable). A text with a character outside Helvetica's WinAnsi set (``→``,
  most non-Latin scripts) is set in embedded DejaVu Sans instead. Widths come from the same fonts
  (Helvetica's AFM metrics), so that fitting, wrapping and label placement match what is printed.
  Pages are drawn inside :func:`pdf_settings`.
* Tables, the legend, the header and footer, the scale bars (metres and feet) and the north arrow
  are drawn from the contents they are given.
* :func:`save_pdf` writes no date into the PDF metadata, so the same page gives the same bytes.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import matplotlib as mpl
import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_pdf import PdfFile, RendererPdf
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrow, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.textpath import text_to_path
from matplotlib.transforms import Affine2D, Bbox, TransformedBbox

from passages import __version__
from passages._io import atomic_path
from passages.mapstyle import FOOT_M, View

__all__ = [
    "BOTTOM",
    "MARGIN",
    "MASK",
    "PAPER_SIZES",
    "TOP",
    "MapFrame",
    "Page",
    "Rect",
    "fit",
    "footer",
    "header",
    "legend",
    "north_arrow",
    "overview_layout",
    "pdf_settings",
    "save_pdf",
    "scale_bars",
    "table",
    "width_pt",
    "wrap",
]

#: page sizes, inches (portrait)
PAPER_SIZES = {"letter": (8.5, 11.0), "a4": (210 / 25.4, 297 / 25.4)}
TOP, BOTTOM, MARGIN = 1.05, 0.75, 0.5  # inches above the map (header), below (footer), sides
#: the white mask under names on a map
MASK = {"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}
_PDF_META = {
    "Creator": f"passages {__version__}",
    "Producer": "passages",
    "CreationDate": None,
    "ModDate": None,
}
_PANEL: dict[str, Any] = {"facecolor": "white", "edgecolor": "#555555", "lw": 0.5, "zorder": 20}

Rect = tuple[float, float, float, float]  # left, bottom, width, height (inches)


# --------------------------------------------------------------------------------------
# a page: a figure without axes; positions in inches, or in metres on the map


class Page:
    """A figure of ``w_in`` × ``h_in`` inches; artists are placed in inches unless told otherwise."""

    def __init__(self, w_in: float, h_in: float) -> None:
        self.fig = Figure(figsize=(w_in, h_in), dpi=72)
        self.w_in, self.h_in = w_in, h_in

    def add(self, artist: Any, transform: Any = None, clip: Any = None) -> Any:
        artist.set_transform(self.fig.dpi_scale_trans if transform is None else transform)
        if clip is not None:
            artist.set_clip_box(clip)
        self.fig.add_artist(artist)
        return artist

    def text(
        self,
        x: float,
        y: float,
        s: str,
        *,
        size: float,
        transform: Any = None,
        clip: Any = None,
        **style: Any,
    ) -> Any:
        return self.add(_PageText(x, y, s, size=size, **style), transform, clip)

    def lines(
        self, x: float, top: float, lines: Sequence[str], *, size: float, spacing: float = 1.3, **style: Any
    ) -> float:
        """One text per line from ``top`` down, evenly spaced whatever the glyphs; returns the y under."""
        step = size * spacing / 72
        for i, line in enumerate(lines):
            if line:
                self.text(x, top - 0.8 * size / 72 - i * step, line, size=size, va="baseline", **style)
        return top - len(lines) * step


@dataclass(frozen=True)
class MapFrame:
    """A page's map frame: ``view`` (metres) at 1:1 in a rectangle of the page."""

    page: Page
    view: View
    per_pt: float  # metres per typographic point
    transform: Any
    clip: Any

    @classmethod
    def of(cls, page: Page, rect: Rect, view: Sequence[float], **fields: Any) -> Self:
        """``view`` grown to the aspect of ``rect``, framed; ``fields`` are a subclass's own."""
        x0, y0, x1, y1 = view
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        per_in = max((x1 - x0) / rect[2], (y1 - y0) / rect[3])
        hw, hh = per_in * rect[2] / 2, per_in * rect[3] / 2
        inches = page.fig.dpi_scale_trans
        to_page = Affine2D().translate(hw - cx, hh - cy).scale(1 / per_in).translate(rect[0], rect[1])
        page.add(Rectangle(rect[:2], rect[2], rect[3], fill=False, lw=0.8, ec="black", zorder=30))
        clip = TransformedBbox(Bbox.from_bounds(*rect), inches)
        return cls(page, (cx - hw, cy - hh, cx + hw, cy + hh), per_in / 72, to_page + inches, clip, **fields)

    def inner(self, margin_pt: float) -> View:
        """The view less ``margin_pt`` points on every side."""
        x0, y0, x1, y1 = self.view
        d = margin_pt * self.per_pt
        return (x0 + d, y0 + d, x1 - d, y1 - d)

    def add(self, artist: Any) -> Any:
        return self.page.add(artist, self.transform, self.clip)

    def text(self, x: float, y: float, s: str, *, size: float, **style: Any) -> Any:
        return self.page.text(x, y, s, size=size, transform=self.transform, clip=self.clip, **style)

    def stroke(self, path: Any, **style: Any) -> None:
        """Stroke a matplotlib path (metres), round joins and caps unless ``style`` says otherwise."""
        self.add(PathPatch(path, fill=False, **{"joinstyle": "round", "capstyle": "round"} | style))


def overview_layout(view: View, paper: str) -> tuple[float, float, Rect, Rect, bool]:
    """Page size, map and text rectangles (inches), and whether the text is beside the map:
    of portrait with text under the map, landscape with text beside it and landscape with text
    under it, the one showing ``view`` at the largest scale."""
    pw, ph = PAPER_SIZES[paper]
    t, b, m = TOP, BOTTOM, MARGIN
    layouts = [
        (pw, ph, (m, b + 2.2, pw - 2 * m, ph - t - b - 2.2), (m, b, pw - 2 * m, 2.05), False),
        (ph, pw, (m, b, ph - 2 * m - 3.1, pw - t - b), (ph - m - 2.9, b, 2.9, pw - t - b), True),
        (ph, pw, (m, b + 2.1, ph - 2 * m, pw - t - b - 2.1), (m, b, ph - 2 * m, 1.95), False),
    ]
    w, h = view[2] - view[0], view[3] - view[1]
    return min(layouts, key=lambda lay: max(w / lay[2][2], h / lay[2][3]))


@contextmanager
def pdf_settings() -> Iterator[None]:
    """The matplotlib settings pages are drawn and measured with: names from data are text even
    with "$"; text in the built-in Helvetica; light, fast compression."""
    with rc_context({"text.parse_math": False, "pdf.use14corefonts": True, "pdf.compression": 3}):
        yield


def save_pdf(fig: Any, target: Path) -> Path:
    """Write the figure as a PDF (atomically), without dates in its metadata."""
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="pdf", metadata=_PDF_META)
    return target


# --------------------------------------------------------------------------------------
# text: built-in Helvetica where it can be, embedded DejaVu Sans where it must


def _helvetica(text: str) -> bool:
    """Whether PDF's built-in Helvetica (WinAnsi encoding) can set ``text``."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


@functools.lru_cache(maxsize=64)
def _font(builtin: bool, size: float, weight: str = "normal") -> FontProperties:
    """Helvetica (``builtin``) or DejaVu Sans; the Helvetica AFM's regular weight is "medium"."""
    if builtin:
        return FontProperties(
            family="Helvetica", size=size, weight="medium" if weight == "normal" else weight
        )
    return FontProperties(family="DejaVu Sans", size=size, weight=weight)


class _PageText(Text):
    """Text in Helvetica when it can be; set with embedded DejaVu Sans otherwise."""

    def __init__(
        self, x: float, y: float, text: str, *, size: float, weight: str = "normal", **kwargs: Any
    ) -> None:
        self._builtin = _helvetica(text)
        super().__init__(x, y, text, fontproperties=_font(self._builtin, size, weight), **kwargs)

    def draw(self, renderer: Any) -> None:
        if self._builtin:
            super().draw(renderer)
            return
        with rc_context({"pdf.use14corefonts": False}):
            super().draw(renderer)


@functools.lru_cache(maxsize=16384)
def width_pt(text: str, size: float, weight: str = "normal", builtin: bool | None = None) -> float:
    """Width of ``text`` at ``size`` points as a page sets it (``builtin``: in Helvetica;
    by default whenever it can be)."""
    if not text:
        return 0.0
    prop = _font(_helvetica(text) if builtin is None else builtin, size, weight)
    if prop.get_family() != ["Helvetica"]:
        return float(text_to_path.get_text_width_height_descent(text, prop, ismath=False)[0])
    if mpl.rcParams["pdf.use14corefonts"]:  # always, while pages are written
        return float(_metrics().get_text_width_height_descent(text, prop, ismath=False)[0])
    with rc_context({"pdf.use14corefonts": True}):
        return float(_metrics().get_text_width_height_descent(text, prop, ismath=False)[0])


@functools.cache
def _metrics() -> Any:
    """A PDF renderer, for text metrics only (the AFM metrics of the built-in fonts)."""
    return RendererPdf(PdfFile(io.BytesIO()), 72, 11.0, 8.5)  # type: ignore[no-untyped-call]


def fit(text: str, width_in: float, size: float, weight: str = "normal") -> str:
    """``text`` cut with an ellipsis so that it fits ``width_in``."""
    if width_pt(text, size, weight) <= width_in * 72:
        return text
    while len(text) > 1 and width_pt(text + "…", size, weight) > width_in * 72:
        text = text[: int(len(text) * 0.95)].rstrip()
    return text + "…"


def wrap(text: str, width_in: float, size: float, weight: str = "normal") -> list[str]:
    """Lines of ``text`` that fit ``width_in`` (the widths of words and spaces add up)."""
    builtin, room, used = _helvetica(text), width_in * 72, 0.0
    space = width_pt("x x", size, weight, builtin) - 2 * width_pt("x", size, weight, builtin)
    lines: list[str] = []
    for word in text.split():
        w = width_pt(word, size, weight, builtin)
        if lines and used + space + w <= room:
            lines[-1] += f" {word}"
            used += space + w
        else:
            lines.append(fit(word, width_in, size, weight))
            used = w
    return lines or [""]


def header(page: Page, title: str, subtitle: str, note: str) -> None:
    """The page's title, a subtitle and a small grey note above the map, each cut to the width."""
    width, top = page.w_in - 2 * MARGIN, page.h_in
    page.text(MARGIN, top - 0.45, fit(title, width, 15, "bold"), size=15, weight="bold")
    page.text(MARGIN, top - 0.68, fit(subtitle, width, 10), size=10)
    page.text(MARGIN, top - 0.88, fit(note, width, 8), size=8, color="#333")


def footer(page: Page, text: str) -> None:
    """Small grey text at the foot of the page, at most three lines."""
    lines = wrap(text, page.w_in - 2 * MARGIN, 7)[:3]
    page.lines(MARGIN, 0.3 + len(lines) * 7 * 1.3 / 72, lines, size=7, color="#333")


# --------------------------------------------------------------------------------------
# on the map: scale bars and north arrow (1 map unit = 1 m)


def scale_bars(m: MapFrame) -> None:
    """Scale bars in metres and feet, lower left, about a fifth of the map wide."""
    (x0, y0, x1, _), pt = m.view, m.per_pt
    target = (x1 - x0) / 5
    nice_m = max((v for v in (25, 50, 100, 200, 250, 500, 1000, 2000, 5000) if v <= target), default=25)
    feet = (50, 100, 200, 250, 500, 1000, 2000, 5000, 10000)
    nice_ft = max((v for v in feet if v * FOOT_M <= target), default=50)
    bars = ((nice_m, f"{nice_m:,} m"), (nice_ft * FOOT_M, f"{nice_ft:,} ft"))
    width = max(bars[0][0], bars[1][0]) + max(width_pt(u, 7) for _, u in bars) * pt + 22 * pt
    m.add(Rectangle((x0 + 5 * pt, y0 + 5 * pt), width, 31 * pt, **_PANEL))
    cells: list[list[tuple[float, float]]] = [[], []]  # black and white quarters
    bx, by = x0 + 14 * pt, y0 + 10 * pt
    for row, (length, unit) in enumerate(bars):
        yy = by + (1 - row) * 13 * pt
        for k in range(4):
            a, b = bx + k * length / 4, bx + (k + 1) * length / 4
            cells[k % 2] += [(a, yy), (b, yy), (b, yy + 4 * pt), (a, yy + 4 * pt), (a, yy)]
        m.text(bx - 3 * pt, yy + 2 * pt, "0", size=7, ha="right", va="center", zorder=21)
        m.text(bx + length + 3 * pt, yy + 2 * pt, unit, size=7, ha="left", va="center", zorder=21)
    for fill, verts in zip(("black", "white"), cells, strict=True):
        codes = [MplPath.MOVETO, *[MplPath.LINETO] * 3, MplPath.CLOSEPOLY] * (len(verts) // 5)
        m.add(PathPatch(MplPath(verts, codes), facecolor=fill, edgecolor="black", lw=0.6, zorder=21))


def north_arrow(m: MapFrame, north_rad: float) -> None:
    """An arrow to north, ``north_rad`` clockwise from the map's up, in the upper right corner."""
    (_, _, x1, y1), pt = m.view, m.per_pt
    ox, oy, length = x1 - 20 * pt, y1 - 40 * pt, 22 * pt
    dx, dy = length * math.sin(north_rad), length * math.cos(north_rad)
    m.add(Rectangle((x1 - 34 * pt, y1 - 46 * pt), 28 * pt, 41 * pt, **_PANEL))
    m.add(
        FancyArrow(
            ox,
            oy,
            dx,
            dy,
            width=3.5 * pt,
            head_width=10 * pt,
            head_length=10 * pt,
            color="black",
            length_includes_head=True,
            zorder=21,
        )
    )
    m.text(ox + dx * 1.05, oy + dy * 1.05, "N", size=10, weight="bold", ha="center", va="bottom", zorder=21)


# --------------------------------------------------------------------------------------
# legend and tables (inches)


def legend(page: Page, entries: Sequence[tuple[str, dict[str, Any], str]], x: float, top: float) -> float:
    """Draw a legend from ``(x, top)`` downwards; return the y under it.

    Each entry is (kind, style, label): ``"line"`` (a :class:`~matplotlib.lines.Line2D` style),
    ``"cased"`` (a white band cased in black), ``"marker"`` (a marker style) or ``"area"`` (a
    hatched box; style: its ``ec`` colour).
    """
    page.text(x, top - 0.13, "Legend", size=9, weight="bold")
    step, y = 7.5 * 1.42 / 72, top - 0.2
    for kind, style, label in entries:
        yc, hx = y - step / 2, [x + 0.02, x + 0.38]
        if kind == "line":
            page.add(Line2D(hx, [yc, yc], solid_capstyle="butt", **style))
        elif kind == "cased":
            page.add(Line2D(hx, [yc, yc], color="black", lw=8, solid_capstyle="butt"))
            page.add(Line2D(hx, [yc, yc], color="white", lw=5, solid_capstyle="butt"))
        elif kind == "marker":
            marker: dict[str, Any] = {"ms": 7, "mec": "black", "mew": 0.7} | style
            page.add(Line2D([x + 0.2], [yc], ls="none", **marker))
        else:
            area: dict[str, Any] = {"fc": "none", "ec": "black", "hatch": "////", "lw": 0.6} | style
            page.add(Rectangle((x + 0.06, yc - 0.05), 0.28, 0.1, **area))
        page.text(x + 0.48, yc, label, size=7.5, va="center_baseline")
        y -= step
    return y


def table(
    page: Page,
    x: float,
    top: float,
    *,
    widths: Sequence[float],
    rows: Sequence[Sequence[str]],
    size: float = 8,
    max_lines: int = 60,
) -> float:
    """A text table (first row: header) with wrapped cells, from ``(x, top)`` down; returns the y under it."""
    y, used, rules = top, 0, []
    for i, row in enumerate(rows):
        weight = "bold" if i == 0 else "normal"
        cells = [wrap(str(c), w - 0.08, size, weight) for c, w in zip(row, widths, strict=True)]
        n = max(len(c) for c in cells)
        if used + n + 1 > max_lines and i < len(rows) - 1:
            y = page.lines(x, y - 0.04, [f"… and {len(rows) - i} more rows"], size=size)
            break
        for c, left in zip(cells, np.cumsum([0, *widths[:-1]]).tolist(), strict=True):
            page.lines(x + left, y - 0.04, c, size=size, spacing=1.2, weight=weight)
        y, used = y - n * size * 1.2 / 72 - 0.1, used + n
        rules.append([(x, y + 0.02), (x + sum(widths), y + 0.02)])
    page.add(LineCollection(rules, colors=["black"] + ["#aaaaaa"] * (len(rules) - 1), linewidths=0.5))
    return y
