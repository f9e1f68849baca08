"""Time passages.risk on synthetic networks: seconds and peak memory per case.

Each case runs in its own process so that its peak RSS is its own. Incidents are seeded: half
uniform over the network's bounding box, half in Gaussian clusters.

    .venv/bin/python benchmarks/bench_risk.py                 # 20k and 200k nodes, 1M incidents
    .venv/bin/python benchmarks/bench_risk.py --planar        # also the planar method (slow)
    .venv/bin/python benchmarks/bench_risk.py --nodes 5000 --incidents 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_synthetic_network import WINDOWS  # noqa: E402


def run_case(case: str, n_nodes: int, n_incidents: int) -> dict[str, object]:
    """Build the inputs, then time one case; returns the measurements."""
    import geopandas as gpd
    import pandas as pd
    from make_synthetic_network import make_synthetic_network, synthetic_incidents

    from passages.config import TimeWindow
    from passages.risk import edge_risk, window_risk

    t0 = time.perf_counter()
    streets = make_synthetic_network(n_nodes, seed=1)
    xy = synthetic_incidents(streets, n_incidents, seed=2)
    rng = np.random.default_rng(3)
    setup_s = time.perf_counter() - t0
    method = "planar" if case.startswith("planar") else "network"
    if case.endswith("windows"):
        lon, lat = streets.to_lonlat(xy[:, 0], xy[:, 1])
        start = np.datetime64("2021-01-01T00:00")
        minutes = rng.integers(0, 365 * 1440, n_incidents).astype("timedelta64[m]")
        incidents = gpd.GeoDataFrame(
            {
                "occurred_at": pd.Series(start + minutes).astype("datetime64[ns]"),
                "time_known": rng.random(n_incidents) > 0.05,
                "category": rng.choice(["theft", "assault", "robbery", "burglary"], n_incidents),
                "severity": rng.choice([1.0, 2.0, 3.0, 5.0], n_incidents),
            },
            geometry=gpd.points_from_xy(lon, lat),
            crs=4326,
        )
        windows = [
            TimeWindow(name=n, days=frozenset(d), start=s, end=e, officers=1) for n, d, s, e in WINDOWS
        ]
        setup_s = time.perf_counter() - t0
        t1, c1 = time.perf_counter(), time.process_time()
        layers = window_risk(streets, incidents, windows, method=method)
        seconds, cpu = time.perf_counter() - t1, time.process_time() - c1
        used = layers["all_day"].n_used
    else:
        weights = rng.uniform(0.0, 1.0, n_incidents)
        t1, c1 = time.perf_counter(), time.process_time()
        result = edge_risk(streets, xy, weights, method=method)
        seconds, cpu = time.perf_counter() - t1, time.process_time() - c1
        used = result.n_used
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    return {
        "case": case,
        "nodes": streets.n_nodes,
        "edges": streets.n_edges,
        "incidents": n_incidents,
        "used": used,
        "setup_s": round(setup_s, 2),
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "peak_mb": round(peak_mb),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="*", default=[20_000, 200_000])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--planar", action="store_true", help="also time the planar method")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.nodes[0], args.incidents)))
        return
    cases = ["network", "network+3windows"] + (["planar", "planar+3windows"] if args.planar else [])
    header = f"{'case':<18}{'nodes':>9}{'edges':>9}{'incidents':>11}{'used':>10}{'setup s':>9}{'risk s':>8}"
    print(header + f"{'cpu s':>7}{'peak MB':>9}")
    for n in args.nodes:
        for case in cases:
            command = [sys.executable, __file__, "--case", case, "--nodes", str(n)]
            out = subprocess.run(
                [*command, "--incidents", str(args.incidents)], capture_output=True, text=True, check=True
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{r['case']:<18}{r['nodes']:>9,}{r['edges']:>9,}{r['incidents']:>11,}{r['used']:>10,}"
                f"{r['setup_s']:>9.1f}{r['seconds']:>8.1f}{r['cpu_s']:>7.1f}{r['peak_mb']:>9,}",
                flush=True,
            )
    print("risk s: wall-clock seconds of edge_risk (one layer) or window_risk (3 windows + all_day,")
    print("incl. projecting the incidents); cpu s: CPU seconds of the same call (all threads)")


if __name__ == "__main__":
    main()
