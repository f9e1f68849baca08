"""passages: plan safe walking corridors and officer posts from street, place and incident data."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
