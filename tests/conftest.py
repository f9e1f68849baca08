"""Shared fixtures: paths to the bundled real sample and the shared real data."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SHARED = ROOT.parent / "shared" / "data"
BAD = Path(__file__).resolve().parent / "data" / "bad"


def pytest_configure(config: pytest.Config) -> None:
    """Keep the tests' network cache out of the user's home folder, module fixtures included."""
    os.environ["PASSAGES_CACHE_DIR"] = tempfile.mkdtemp(prefix="passages-test-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.pop("PASSAGES_CACHE_DIR", ""), ignore_errors=True)


def shared(*parts: str) -> Path:
    """Path to a file in ../shared/data (present beside every clone, CI included)."""
    p = SHARED.joinpath(*parts)
    assert p.exists(), f"shared data missing: {p}"
    return p
