"""Print pages: which files, paper sizes, content, not blank, small, byte-identical.

Pages are rendered with poppler's ``pdftoppm`` / read with ``pdftotext`` and ``pdfinfo`` (Debian
``poppler-utils``, installed by CI); without them these tests fail with that message.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from matplotlib import image as mpimg

from passages import printmap
from passages._errors import InputError
from tests.test_webmap import TRICKY, fresh_python_digest, sample_plan, synthetic_plan, with_edge_risk

POINTS_PER_INCH = 72


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install Debian's poppler-utils (apt-get install -y poppler-utils)")
    return path


def page_size_in(pdf: Path) -> tuple[float, float]:
    """(width, height) in inches from pdfinfo."""
    out = subprocess.run([_tool("pdfinfo"), str(pdf)], check=True, capture_output=True, text=True).stdout
    m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", out)
    assert m, out
    return float(m[1]) / POINTS_PER_INCH, float(m[2]) / POINTS_PER_INCH


def page_text(pdf: Path) -> str:
    return subprocess.run(
        [_tool("pdftotext"), "-raw", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def fonts(pdf: Path) -> dict[str, bool]:
    """Font name → embedded, from pdffonts."""
    out = subprocess.run([_tool("pdffonts"), str(pdf)], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines()[2:]]
    return {row[0].split("+")[-1]: row[-5] == "yes" for row in rows if row}


def render(pdf: Path, tmp: Path, dpi: int = 40) -> np.ndarray:
    """The page as an RGB array (0..1)."""
    stem = tmp / f"{pdf.parent.name}-{pdf.stem}"
    subprocess.run(
        [_tool("pdftoppm"), "-r", str(dpi), "-png", "-singlefile", str(pdf), str(stem)], check=True
    )
    return np.asarray(mpimg.imread(stem.with_suffix(".png")))[..., :3]


def ink_share(pdf: Path, tmp: Path) -> float:
    """Share of non-white pixels of the page rendered at 40 dpi."""
    return float((render(pdf, tmp).min(axis=-1) < 0.9).mean())


@pytest.fixture(scope="module")
def grid_pages(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return printmap.write_print_pages(synthetic_plan(), tmp_path_factory.mktemp("letter"))


def test_one_overview_per_window_then_one_page_per_post(grid_pages: list[Path]) -> None:
    assert [p.name for p in grid_pages] == [
        "overview-morning.pdf",
        "post-morning-P01.pdf",
        "post-morning-P02.pdf",
        "overview-evening.pdf",
        "post-evening-P01.pdf",
        "post-evening-P02.pdf",
    ]


def test_letter_pages(grid_pages: list[Path]) -> None:
    for pdf in grid_pages:
        assert sorted(page_size_in(pdf)) == pytest.approx([8.5, 11.0], abs=0.01)


def test_a4_pages(tmp_path: Path) -> None:
    pages = printmap.write_print_pages(synthetic_plan(), tmp_path, paper="a4")
    for pdf in pages:
        assert sorted(page_size_in(pdf)) == pytest.approx([210 / 25.4, 297 / 25.4], abs=0.01)


def test_paper_comes_from_the_scenario_and_is_checked(tmp_path: Path) -> None:
    plan = synthetic_plan()
    plan.scenario.maps.paper = "a4"
    pdf = printmap.write_print_pages(plan, tmp_path)[0]
    assert sorted(page_size_in(pdf))[0] == pytest.approx(210 / 25.4, abs=0.01)
    with pytest.raises(InputError, match="accepted: 'letter', 'a4'"):
        printmap.write_print_pages(plan, tmp_path, paper="legal")


def test_pages_are_not_blank_and_small(grid_pages: list[Path], tmp_path: Path) -> None:
    for pdf in grid_pages:
        assert pdf.stat().st_size < 1_000_000
        assert ink_share(pdf, tmp_path) > 0.03


def test_post_page_tells_the_officer_where_when_and_what(grid_pages: list[Path]) -> None:
    text = page_text(grid_pages[2])  # post P02 of the morning
    for expected in (
        "Post 2 · Pine St & 3rd St",  # street words abbreviated as on signs
        "Mon–Fri 07:00–09:00",
        "2 officers on duty",
        "07:00–07:15, 07:40–07:55",  # the rotation visits
        "officer 2 of 2: beat P02 → P01",
        "Plan “grid” · incident data 2021-03-01 to 2021-04-02",
        "Legend",
        "Block in sight of this post",
        "School",
        "Park area",
        "Transit stop",
        "Five & Dime $1 $2",  # a "$" in data is text, not math
        "ft",
        "Street data © OpenStreetMap contributors (ODbL); incidents: Atlanta Police Department (COBRA)",
    ):
        assert expected in " ".join(text.split()), expected
    assert re.search(r"\b(100|200) m\b", text) and re.search(r"\b\d+ ft\b", text)  # both scale bars
    assert re.search(r"^\s*N\s*$", text, re.M)  # the north arrow's letter


def test_overview_lists_every_post(grid_pages: list[Path]) -> None:
    text = " ".join(page_text(grid_pages[0]).split())
    assert "Test" not in text and "Grid {{ 7*7 }} passages — Morning <b>bell</b>" in text
    assert "1 Oak Ave & 2nd St 07:00–09:00 1" in text
    assert "2 Pine St & 3rd St 2 visits 07:00–07:55 1" in text


def test_post_page_says_what_the_web_map_says(grid_pages: list[Path]) -> None:
    text = " ".join(page_text(grid_pages[1]).split())  # post P01 of the morning
    assert "Corridor in sight: 400 m (1,312 ft) within 150 m." in text  # mapstyle.post_facts
    assert "Share of risk-weighted foot traffic: 40 %." in text
    assert "Corridor: under 200 walkers" in text and "High risk (above 0.6; 3+ incidents)" in text


def test_text_is_text_in_the_built_in_helvetica(grid_pages: list[Path]) -> None:
    # street names on the map are text (searchable), not outlines; nothing to embed...
    assert {"Main St", "Oak Ave", "Elm St", "Pine St"} <= set(page_text(grid_pages[1]).splitlines())
    assert fonts(grid_pages[1]) == {"Helvetica": False, "Helvetica-Bold": False}
    # ...except for a character outside Helvetica's set: "→" in the rotation note is DejaVu, embedded
    assert fonts(grid_pages[2]) == {"Helvetica": False, "Helvetica-Bold": False, "DejaVuSans": True}


def test_names_in_any_script_come_out(tmp_path: Path) -> None:
    pages = printmap.write_print_pages(synthetic_plan(place_name="Trường Tiểu học Đống Đa"), tmp_path)
    assert "Trường Tiểu học Đống Đa" in " ".join(page_text(pages[1]).split())
    assert fonts(pages[1])["DejaVuSans"] is True


def test_names_that_look_like_math_markup_or_templates_stay_text(tmp_path: Path) -> None:
    plan = synthetic_plan(place_name=f"{TRICKY} School", street_name=f"{TRICKY} Street")
    pages = printmap.write_print_pages(plan, tmp_path)
    text = " ".join(page_text(pages[1]).split())  # post P01 of the morning
    assert f"Nearest (straight line): {TRICKY} School" in text  # a destination
    assert f"{TRICKY} St" in text.replace(f"{TRICKY} School", "")  # the street's name on the map
    assert "49" not in text.replace("2021-04-02", "")


def test_an_edge_below_min_support_is_not_coloured(tmp_path: Path) -> None:
    # edge 1 at the top risk with 1 incident (min_support 3) prints as if it had no risk at all
    def pages(risk: float, support: float, folder: str) -> list[Path]:
        plan = with_edge_risk(synthetic_plan(), 1, risk=risk, support=support)
        return printmap.write_print_pages(plan, tmp_path / folder)

    hot, cold = pages(1.0, 1, "hot"), pages(0.0, 1, "cold")
    assert [p.read_bytes() for p in hot] == [p.read_bytes() for p in cold]
    # the control: with 3 incidents it is rated, and the post page turns pink along it
    rated = pages(1.0, 3, "rated")
    before, after = render(cold[1], tmp_path), render(rated[1], tmp_path)
    changed = np.abs(after - before).max(axis=-1) > 0.1
    assert changed.sum() > 20
    pink = np.array([int(printmap.RISK_BAND[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    assert np.abs(np.median(after[changed], axis=0) - pink).max() < 0.12


def test_incidents_are_never_printed(tmp_path: Path) -> None:
    # the pages of a plan that shows incident points on the web map are the same bytes
    a = printmap.write_print_pages(synthetic_plan(show_points=False), tmp_path / "a")
    b = printmap.write_print_pages(synthetic_plan(show_points=True), tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_byte_identical_and_undated(grid_pages: list[Path], tmp_path: Path) -> None:
    again = printmap.write_print_pages(synthetic_plan(), tmp_path)
    for first, second in zip(grid_pages, again, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
        assert b"CreationDate" not in first.read_bytes() and b"ModDate" not in first.read_bytes()


def test_abbreviate() -> None:
    assert printmap.abbreviate("Martin Luther King Junior Drive Southwest") == "Martin Luther King Jr Dr SW"
    assert printmap.abbreviate("Streetcar Way") == "Streetcar Way"


@pytest.mark.slow
def test_sample_pages(tmp_path: Path) -> None:
    plan: Any = sample_plan()
    pages = printmap.write_print_pages(plan, tmp_path)
    assert len(pages) == sum(1 + len(wp.posts.posts) for wp in plan.windows)
    sizes = {p.name: p.stat().st_size for p in pages}
    print("sample print pages, KB:", {k: v // 1024 for k, v in sizes.items()})
    assert max(sizes.values()) < 1_000_000
    for pdf in pages[:2]:
        assert ink_share(pdf, tmp_path) > 0.05
        assert sorted(page_size_in(pdf)) == pytest.approx([8.5, 11.0], abs=0.01)


def test_window_without_posts_or_corridors_still_gets_an_overview(tmp_path: Path) -> None:
    plan = synthetic_plan()
    w = plan.windows[0]
    nothing = SimpleNamespace(
        window="morning", traffic=np.zeros(plan.streets.n_edges), destinations=(), corridors=()
    )
    idle = replace(
        w, posts=SimpleNamespace(officers=0, posts=(), radius_m=150.0), schedule=[], corridors=nothing
    )
    pages = printmap.write_print_pages(replace(plan, windows=(idle,)), tmp_path)
    assert [p.name for p in pages] == ["overview-morning.pdf"]
    assert ink_share(pages[0], tmp_path) > 0.03


def test_byte_identical_across_processes(grid_pages: list[Path]) -> None:
    code = (
        "import hashlib, tempfile\nfrom tests.test_webmap import synthetic_plan\n"
        "from passages import printmap\n"
        "pages = printmap.write_print_pages(synthetic_plan(), tempfile.mkdtemp())\n"
        "print(hashlib.sha256(b''.join(p.read_bytes() for p in pages)).hexdigest())"
    )
    here = hashlib.sha256(b"".join(p.read_bytes() for p in grid_pages)).hexdigest()
    assert {fresh_python_digest(code, seed) for seed in ("1", "2")} == {here}
