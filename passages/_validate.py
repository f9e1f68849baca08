"""Load reports and input checks that collect every problem, then report once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from passages._errors import InputFileNotFoundError

T = TypeVar("T")

#: how many example line numbers a report keeps per drop reason
EXAMPLES_PER_REASON = 5


@dataclass
class LoadReport:
    """What a loader read, kept and dropped, with example line numbers per drop reason.

    ``line`` numbers are 1-based physical line numbers of the file where the
    format has lines (the header is line 1), else 1-based feature numbers.
    """

    source: str
    kind: str
    rows_read: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def drop(self, reason: str, line: int | None = None, count: int = 1) -> None:
        """Count ``count`` dropped rows for ``reason``, remembering the first few line numbers."""
        self.dropped[reason] += count
        if line is not None:
            seen = self.examples.setdefault(reason, [])
            if len(seen) < EXAMPLES_PER_REASON:
                seen.append(line)

    def drop_many(self, reason: str, lines: list[int]) -> None:
        """Count one dropped row per line number in ``lines``."""
        if not lines:
            return
        self.dropped[reason] += len(lines)
        seen = self.examples.setdefault(reason, [])
        seen.extend(lines[: max(0, EXAMPLES_PER_REASON - len(seen))])

    def note(self, text: str) -> None:
        """Add a free-text remark (e.g. "coordinates looked swapped and were swapped back")."""
        self.notes.append(text)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with stable key order."""
        return {
            "source": self.source,
            "kind": self.kind,
            "rows_read": self.rows_read,
            "kept": self.kept,
            "dropped": {k: self.dropped[k] for k in sorted(self.dropped)},
            "examples": {k: self.examples[k] for k in sorted(self.examples)},
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        """Human-readable summary lines, as ``passages inspect`` prints them."""
        out = [f"{self.kind}: {self.source}: read {self.rows_read:,}, kept {self.kept:,}"]
        for reason in sorted(self.dropped):
            ex = self.examples.get(reason, [])
            where = f" (e.g. line {', '.join(map(str, ex))})" if ex else ""
            out.append(f"  dropped {self.dropped[reason]:,}: {reason}{where}")
        out.extend(f"  note: {n}" for n in self.notes)
        return out


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """A loader's result: the data and its report."""

    data: T
    report: LoadReport


def existing_file(path: str | Path, what: str) -> Path:
    """Return ``path`` as a Path, or raise a one-line error naming it and what it was for."""
    p = Path(path)
    if not p.exists():
        raise InputFileNotFoundError(f"{what} file not found: {p}")
    if p.is_dir():
        raise InputFileNotFoundError(f"{what} path is a folder, not a file: {p}")
    return p
