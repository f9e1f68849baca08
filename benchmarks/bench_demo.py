"""Time ``passages demo`` end to end, cold (empty network cache) and warm (cache filled).

Issue target: ≤15 s cold and ≤5 s with the cache, on this 2-core machine.

Run::

    .venv/bin/python benchmarks/bench_demo.py --repeat 3

Each run is a fresh ``passages demo`` process (interpreter start and imports included), so
the numbers are what a user waits for. Stage times come from the plan's ``timings.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_demo(out: Path, cache: Path) -> tuple[float, float, dict[str, float]]:
    """One ``passages -q demo`` process: wall seconds, child CPU seconds and the stage times."""
    env = {**os.environ, "PASSAGES_CACHE_DIR": str(cache)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "passages", "-q", "demo", "--out", str(out)],
        check=True,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stages = json.loads((out / "timings.json").read_text())["seconds"]
    return wall, cpu, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, float, dict[str, float]]]] = {"cold": [], "warm": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            cache, out = Path(tmp) / "cache", Path(tmp) / "demo"
            rows["cold"].append(run_demo(out, cache))
            rows["warm"].append(run_demo(out, cache))
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores)")
    print(f"{'run':<6} {'wall s (median)':>16} {'min':>7} {'cpu s':>7}   stages (median s)")
    for name, runs in rows.items():
        walls = [w for w, _, _ in runs]
        cpus = [c for _, c, _ in runs]
        keys = list(runs[0][2])
        stages = ", ".join(f"{k} {statistics.median(r[2][k] for r in runs):.2f}" for k in keys)
        print(
            f"{name:<6} {statistics.median(walls):>16.2f} {min(walls):>7.2f} "
            f"{statistics.median(cpus):>7.2f}   {stages}"
        )


if __name__ == "__main__":
    main()
