"""Time loading the walk network: cold (parse + clean + write the cache) against warm (read the cache).

Each measurement runs in a fresh process, as a ``passages plan`` run would, with its own empty
cache folder (a temporary directory), so that the user's cache is neither used nor touched.
Times are of the call alone (after ``import passages.network``); the cold time includes the
lazy ``import osmnx`` that a real first run pays too.

    .venv/bin/python benchmarks/bench_network.py                      # the Atlanta sample, 5 repeats
    .venv/bin/python benchmarks/bench_network.py --repeats 3 --source ../shared/data/osm/Helsinki.osm.pbf
    .venv/bin/python benchmarks/bench_network.py --codecs              # also compare cache codecs
    .venv/bin/python benchmarks/bench_network.py --repeats 1 --nearest 1000000   # nearest_edge vs STRtree
"""

from __future__ import annotations

import argparse
import bz2
import functools
import gc
import json
import lzma
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "central-atlanta-filtered.osm.pbf"


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def run_step(step: str, source: str, cache_dir: str) -> dict[str, float]:
    """One measurement in this process; returns wall and CPU seconds per timed call."""
    from passages import network

    out: dict[str, float] = {}
    if step in {"cold", "warm"}:
        loaded, out["load_s"], out["load_cpu_s"] = _timed(
            lambda: network.load_network(source, cache_dir=cache_dir)
        )
        _, out["from_graph_s"], out["from_graph_cpu_s"] = _timed(
            lambda: network.Streets.from_graph(loaded.data)
        )
    elif step == "streets":
        _, out["load_s"], out["load_cpu_s"] = _timed(
            lambda: network.load_streets(source, cache_dir=cache_dir)
        )
    return out


def _step(step: str, source: Path, cache_dir: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--step", step, "--source", str(source), "--cache-dir", cache_dir]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _row(label: str, runs: list[dict[str, float]], key: str) -> str:
    wall = [r[f"{key}_s"] for r in runs]
    cpu = [r[f"{key}_cpu_s"] for r in runs]
    return (
        f"{label:<44}{statistics.median(wall):>9.3f}{min(wall):>9.3f}{max(wall):>9.3f}"
        f"{statistics.median(cpu):>9.3f}"
    )


def _ratio(slow: list[dict[str, float]], quick: list[dict[str, float]]) -> str:
    """How many times faster the median ``quick`` load is than the median ``slow`` one."""
    wall = statistics.median(r["load_s"] for r in slow) / statistics.median(r["load_s"] for r in quick)
    cpu = statistics.median(r["load_cpu_s"] for r in slow) / statistics.median(r["load_cpu_s"] for r in quick)
    return f"{wall:.0f}x wall, {cpu:.0f}x cpu"


def _read(blob: bytes, unpack: Callable[[bytes], bytes], *, collect: bool) -> float:
    """Seconds to decompress and unpickle ``blob``, with the garbage collector on or paused."""
    if not collect:
        gc.disable()
    try:
        return _timed(lambda: pickle.loads(unpack(blob)))[1]
    finally:
        gc.enable()


def compare_codecs(source: Path, repeats: int) -> None:
    """Size and read time of each cache part under several compressors (in this process)."""
    from passages import network

    G = network.load_network(source, cache=False).data
    parts = {"graph": G, "streets": network.Streets.from_graph(G)}
    codecs: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
        "none": (bytes, bytes),
        "bz2 -1": (lambda b: bz2.compress(b, 1), bz2.decompress),
        "zlib -1": (lambda b: zlib.compress(b, 1), zlib.decompress),
        "zlib -6": (lambda b: zlib.compress(b, 6), zlib.decompress),
        "lzma -0": (lambda b: lzma.compress(b, preset=0), lzma.decompress),
    }
    print(f"\ncache part, codec (median of {repeats} reads)   MB  write s  read s  read s, gc paused")
    for label, part in parts.items():
        raw = pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)
        for name, (pack, unpack) in codecs.items():
            blob, write_s, _ = _timed(functools.partial(pack, raw))
            gc_on = statistics.median(_read(blob, unpack, collect=True) for _ in range(repeats))
            gc_off = statistics.median(_read(blob, unpack, collect=False) for _ in range(repeats))
            print(f"{label:<9}{name:<10}{len(blob) / 1e6:>22.2f}{write_s:>9.3f}{gc_on:>8.3f}{gc_off:>19.3f}")


def compare_nearest_edge(source: Path, n_points: int) -> None:
    """``Streets.nearest_edge`` against shapely's ``STRtree.query_nearest`` (the former method)."""
    import numpy as np
    import shapely

    from passages import network

    streets = network.load_streets(source, cache=False).data
    rng = np.random.default_rng(0)
    lo, hi = [streets.x.min(), streets.y.min()], [streets.x.max(), streets.y.max()]
    xy = rng.uniform(lo, hi, (n_points, 2))
    _, fast_s, fast_cpu = _timed(lambda: streets.nearest_edge(xy[:, 0], xy[:, 1]))
    # the second call reuses the pieces and KD-tree built by the first
    _, again_s, again_cpu = _timed(lambda: streets.nearest_edge(xy[:, 0], xy[:, 1]))

    def strtree() -> Any:
        pts = shapely.points(xy)
        tree = shapely.STRtree(streets.geometry)
        (_, edge), _ = tree.query_nearest(pts, return_distance=True, all_matches=False)
        return shapely.line_locate_point(streets.geometry[edge], pts, normalized=True)

    _, ref_s, ref_cpu = _timed(strtree)
    print(f"\nnearest edge of {n_points:,} random points, {streets.n_edges:,} edges   wall s   cpu s")
    print(f"{'Streets.nearest_edge, first call (+ index)':<52}{fast_s:>8.2f}{fast_cpu:>8.2f}")
    print(f"{'Streets.nearest_edge, again':<52}{again_s:>8.2f}{again_cpu:>8.2f}")
    print(f"{'STRtree.query_nearest + line_locate_point':<52}{ref_s:>8.2f}{ref_cpu:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SAMPLE)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--codecs", action="store_true", help="also compare cache compressors")
    parser.add_argument(
        "--nearest", type=int, default=0, metavar="N", help="also time nearest_edge on N points"
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)  # internal: one measurement, JSON out
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, str(args.source), args.cache_dir)))
        return

    from passages import network

    has_streets = hasattr(network, "load_streets")
    cold: list[dict[str, float]] = []
    warm: list[dict[str, float]] = []
    fast: list[dict[str, float]] = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="passages-bench-") as cache_dir:
            cold.append(_step("cold", args.source, cache_dir))
            warm.append(_step("warm", args.source, cache_dir))
            if has_streets:
                fast.append(_step("streets", args.source, cache_dir))
    print(f"{args.source.name}: {args.repeats} repeats, each in a fresh process with an empty cache folder")
    print(f"{'':<44}{'median s':>9}{'min s':>9}{'max s':>9}{'cpu s':>9}")
    print(_row("load_network, cold (parse, clean, cache)", cold, "load"))
    print(_row("load_network, warm (cached graph)", warm, "load"))
    print(_row("Streets.from_graph", warm, "from_graph"))

    warm_total = statistics.median(r["load_s"] + r["from_graph_s"] for r in warm)
    print(f"{'warm load_network + Streets.from_graph':<44}{warm_total:>9.3f}")
    print(f"cold / warm load_network: {_ratio(cold, warm)}")
    if has_streets:
        print(_row("load_streets, warm (cached arrays)", fast, "load"))
        print(f"cold / warm load_streets: {_ratio(cold, fast)}")
    if args.codecs:
        compare_codecs(args.source, args.repeats)
    if args.nearest:
        compare_nearest_edge(args.source, args.nearest)


if __name__ == "__main__":
    main()
