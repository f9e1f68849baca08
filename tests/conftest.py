"""Shared fixtures: paths to the bundled real sample and the shared real data."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SHARED = ROOT.parent / "shared" / "data"
BAD = Path(__file__).resolve().parent / "data" / "bad"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's network cache out of the user's home folder."""
    monkeypatch.setenv("PASSAGES_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def shared(*parts: str) -> Path:
    """Path to a file in ../shared/data (present beside every clone, CI included)."""
    p = SHARED.joinpath(*parts)
    assert p.exists(), f"shared data missing: {p}"
    return p
