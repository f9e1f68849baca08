"""Atomic output: write to a temporary name in the target folder, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from passages._errors import OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def public_mode(path: Path, *, folder: bool = False) -> None:
    """Give a file (0666) or folder (0777) the usual permissions less the umask.

    ``tempfile`` creates private (0600 / 0700) entries; a plan is meant to be read by others.
    """
    path.chmod((0o777 if folder else 0o666) & ~_umask())


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    The temporary name keeps the target's extension (``.plan.x1y2.tmp.gpkg``) because some
    writers check it. On any exception the temporary file is removed and ``target`` is left
    as it was.
    """
    dest = Path(target)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.stem}.", suffix=f".tmp{dest.suffix}")
    except OSError as exc:
        raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():
            public_mode(tmp)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically write ``data`` to ``target``."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Atomically write UTF-8 ``text`` (with ``\\n`` line ends) to ``target``."""
    return write_bytes(target, text.encode("utf-8"))
