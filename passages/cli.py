"""The ``passages`` command line: a thin layer over :mod:`passages.plan` and the modules.

Exit codes: 0 success, 2 user error (a one-line message, never a traceback), 1 a bug,
130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from passages import __version__
from passages._errors import PassagesError

logger = logging.getLogger("passages")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_SCENARIO = REPO_ROOT / "data" / "atlanta.toml"


class _Progress:
    """One status line per pipeline stage on stderr, redrawn in place on a terminal."""

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.started = time.perf_counter()

    def __call__(self, stage: str, index: int, total: int) -> None:
        if not self.enabled:
            return
        width = 24
        done = int(width * index / max(total, 1))
        bar = "#" * done + "-" * (width - done)
        elapsed = time.perf_counter() - self.started
        self.stream.write(f"\r[{bar}] {index}/{total} {stage:<28} {elapsed:5.1f}s")
        if index >= total:
            self.stream.write("\n")
        self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="passages",
        description="Plan safe passages: risk-weighted walking corridors and officer posts.",
    )
    p.add_argument("--version", action="version", version=f"passages {__version__}")
    verbosity = p.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="count", default=0, help="more detail (-vv: debug)")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only errors; no progress bar")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sp = sub.add_parser("plan", help="run a scenario and write the complete plan")
    sp.add_argument("scenario", type=Path, help="scenario TOML file (see docs/scenario.md)")
    sp.add_argument("--out", type=Path, default=None, help="output folder (default: maps/<scenario name>/)")
    sp.add_argument("--no-cache", action="store_true", help="rebuild the walk network instead of reusing it")

    sd = sub.add_parser("demo", help="run the bundled central-Atlanta scenario into maps/demo/")
    sd.add_argument("--out", type=Path, default=None, help="output folder (default: maps/demo/)")

    si = sub.add_parser("inspect", help="load every input of a scenario and print what was read and dropped")
    si.add_argument("scenario", type=Path)

    sr = sub.add_parser("route", help="recommended vs shortest walking route from a point to a destination")
    sr.add_argument("scenario", type=Path)
    sr.add_argument("--from", dest="origin", required=True, metavar="LAT,LON", help="start point")
    sr.add_argument("--to", dest="dest", required=True, metavar="PLACE", help="destination id or name")
    sr.add_argument("--window", default=None, help="time window (default: the scenario's first)")

    sc = sub.add_parser("compare", help="compare two scenarios window by window")
    sc.add_argument("a", type=Path, metavar="A.toml")
    sc.add_argument("b", type=Path, metavar="B.toml")
    return p


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("passages")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # osmnx logs through its own logger only when asked; keep third-party noise out
    logging.getLogger("osmnx").setLevel(logging.ERROR)


def parse_latlon(text: str) -> tuple[float, float]:
    """Parse ``"LAT,LON"`` into (lat, lon), or raise a one-line PassagesError."""
    from passages._errors import InputError

    parts = text.replace(" ", "").split(",")
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"--from {text!r}: expected LAT,LON in degrees, e.g. 33.7573,-84.3963") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"--from {text!r}: latitude must be -90..90 and longitude -180..180")
    return lat, lon


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    progress = _Progress(sys.stderr, enabled=not args.quiet)
    try:
        return _run(args, progress)
    except PassagesError as exc:
        print(f"passages: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("passages: interrupted; outputs written so far are complete files", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _run(args: argparse.Namespace, progress: _Progress) -> int:
    from passages import plan as planmod
    from passages import report
    from passages.config import load_scenario

    if args.command in {"plan", "demo"}:
        path = DEMO_SCENARIO if args.command == "demo" else args.scenario
        scenario = load_scenario(path)
        out = args.out
        if out is None and args.command == "demo":
            out = Path.cwd() / "maps" / "demo"
        result = planmod.plan(scenario, progress=progress, cache=not getattr(args, "no_cache", False))
        folder = planmod.write_plan(result, out, progress=progress)
        for line in report.summary_lines(result, folder):
            print(line)
        return 0
    if args.command == "inspect":
        for line in planmod.inspect_lines(load_scenario(args.scenario)):
            print(line)
        return 0
    if args.command == "route":
        lat, lon = parse_latlon(args.origin)
        for line in planmod.route_lines(
            load_scenario(args.scenario), lat=lat, lon=lon, dest=args.dest, window=args.window
        ):
            print(line)
        return 0
    if args.command == "compare":
        a, b = load_scenario(args.a), load_scenario(args.b)
        plans = planmod.plan(a, progress=progress), planmod.plan(b, progress=progress)
        for line in report.compare_text(*plans):
            print(line)
        return 0
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
