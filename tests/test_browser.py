"""The web map in a real browser: headless Chromium draws it, without JavaScript errors.

Needs ``/usr/bin/chromium`` (Debian's ``chromium`` package; CI installs it). Without it these
tests FAIL with that message; set ``PASSAGES_NO_BROWSER=1`` to skip them on purpose.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib import image as mpimg

from passages import webmap
from tests.test_webmap import sample_plan, synthetic_plan

pytestmark = pytest.mark.browser

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=5000",
)


@pytest.fixture(scope="module")
def chromium() -> str:
    if os.environ.get("PASSAGES_NO_BROWSER") == "1":
        pytest.skip("PASSAGES_NO_BROWSER=1: browser tests skipped on purpose")
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.fail(
            "headless Chromium not found: install Debian's chromium (apt-get install -y chromium), "
            "or set PASSAGES_NO_BROWSER=1 to skip the browser tests"
        )
    return path


def run(chromium: str, page: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Open ``page`` in a fresh profile; stdout holds --dump-dom output, stderr the console log."""
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    args = [chromium, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def console(log: str) -> list[str]:
    """The page's console messages from Chromium's log."""
    return re.findall(r":CONSOLE[^\]]*\] (.*)", log)


def shoot(chromium: str, page: Path, tmp: Path, size: str = "1200,900") -> tuple[Any, list[str]]:
    png = tmp / f"{page.stem}-{size.replace(',', 'x')}.png"
    done = run(chromium, page, tmp, f"--screenshot={png}", f"--window-size={size}")
    assert png.exists(), f"no screenshot; chromium said:\n{done.stderr[-2000:]}"
    return np.asarray(mpimg.imread(png))[..., :3], console(done.stderr)


def test_sample_map_draws_without_errors(chromium: str, tmp_path: Path) -> None:
    page = webmap.write_webmap(sample_plan(), tmp_path / "map.html")
    rgb, messages = shoot(chromium, page, tmp_path)
    assert not [m for m in messages if "Uncaught" in m or "Error" in m], messages
    ink = (rgb.min(axis=-1) < 0.85).mean()
    assert ink > 0.10, f"the page looks blank ({ink:.1%} non-white pixels)"
    corridor = np.array([int(webmap.CORRIDOR_COLOUR[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    assert (np.abs(rgb - corridor).max(axis=-1) < 0.05).mean() > 0.01, "no corridors drawn"
    dom = run(chromium, page, tmp_path, "--dump-dom").stdout
    assert "leaflet-container" in dom
    assert 'id="passages-offline"' not in dom, "Leaflet did not load (offline notice still shown)"
    assert dom.count('class="leaflet-control-layers-selector"') >= 3 + 6  # windows + layer types
    assert "Time window" in dom and "Legend" in dom and "leaflet-control-scale" in dom


def test_phone_sized_screen(chromium: str, tmp_path: Path) -> None:
    page = webmap.write_webmap(sample_plan(), tmp_path / "map.html")
    rgb, messages = shoot(chromium, page, tmp_path, "400,800")
    assert not [m for m in messages if "Uncaught" in m], messages
    assert (rgb.min(axis=-1) < 0.85).mean() > 0.05


def test_names_from_data_stay_text_in_the_page(chromium: str, tmp_path: Path) -> None:
    page = webmap.write_webmap(
        synthetic_plan(label='<img src=x onerror="console.log(`pwned`)">'), tmp_path / "x.html"
    )
    done = run(chromium, page, tmp_path, "--dump-dom")
    assert "pwned" not in " ".join(console(done.stderr))
    assert "&lt;img src=x" in done.stdout and "<img src" not in done.stdout
    assert not [m for m in console(done.stderr) if "Uncaught" in m]
