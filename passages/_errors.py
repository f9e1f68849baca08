"""One exception hierarchy for everything passages raises on purpose.

Every class mixes in the matching builtin so callers may catch either
``PassagesError`` or, say, ``ValueError``. The CLI turns any ``PassagesError``
into a one-line message and exit code 2; anything else is a bug (exit 1).
"""

from __future__ import annotations


class PassagesError(Exception):
    """Base class of the errors passages raises on purpose."""


class InputError(ValueError, PassagesError):
    """An input file or value cannot be used (wrong kind, wrong schema, nothing usable left)."""


class InputFileNotFoundError(FileNotFoundError, PassagesError):
    """An input file named by the user does not exist."""


class ScenarioError(ValueError, PassagesError):
    """The scenario file has an unknown key, a bad value or a missing field."""


class CRSError(ValueError, PassagesError):
    """Coordinates are in the wrong or a mismatched coordinate reference system."""


class NetworkError(ValueError, PassagesError):
    """The walk network is empty, disconnected beyond use, or cannot be built."""


class RoutingError(ValueError, PassagesError):
    """A routing request cannot be answered (unknown place, unreachable destination)."""


class OutputError(OSError, PassagesError):
    """An output cannot be written (folder not writable, disk full)."""
