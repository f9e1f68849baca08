"""Scale benchmark: risk + corridors for three time windows on synthetic networks of growing size.

The issue's target: on a synthetic street-like network of ~200k nodes (a grid with removed and
diagonal links, from benchmarks/make_synthetic_network.py), 1,000 destinations, 1M incidents and
three windows, risk + corridors take ≤ 60 s on 2 cores with peak memory ≤ 4 GB; and how the time
grows from 20k to 200k nodes.

Each size runs in a fresh subprocess, whose peak RSS (``ru_maxrss``) is its own. In the child:

* network: ``make_synthetic_network(n, seed=1)``;
* incidents: 1M points (half uniform, half in 60 Gaussian clusters), ``occurred_at`` uniform
  over one week (Mon 2024-01-01 to Sun), 5 % without a known time, four categories, severities;
* destinations: 1,000 distinct seeded nodes (kinds school / park / transit), served in every
  window; origins: every node, weighted by street frontage (``origins.origin_nodes(None, ...)``,
  the default), or one per ``--origin-spacing`` metres cell;
* risk: ``passages.risk.window_risk`` for the three windows (plus its all-day layer);
* corridors: ``passages.corridors.plan_corridors_windows`` for the three windows (default), or
  ``plan_corridors`` once per window (``--per-window``), with default RoutingParams.

Times are wall-clock and CPU seconds (``time.process_time``, this process); the machine's load
average is printed with each row, since other work shares its two cores.

    .venv/bin/python benchmarks/bench_scale.py                          # 20k, 50k, 100k, 200k
    .venv/bin/python benchmarks/bench_scale.py --nodes 200000 --per-window
    .venv/bin/python benchmarks/bench_scale.py --nodes 20000 --incidents 100000
    mkdir -p /tmp/corridors-before                                         # the engine before the split:
    git archive c9062b9c passages data | tar -x -C /tmp/corridors-before
    .venv/bin/python benchmarks/bench_scale.py --per-window --root /tmp/corridors-before
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_synthetic_network import WINDOWS  # noqa: E402

KINDS = ("school", "park", "transit")


def timed(stages: dict[str, Any], name: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn``, record its wall and CPU seconds and the peak RSS so far under ``name``."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    stages[name] = {
        "wall_s": round(time.perf_counter() - w0, 2),
        "cpu_s": round(time.process_time() - c0, 2),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),  # KiB on Linux
    }
    return out


def run_size(n_nodes: int, args: argparse.Namespace) -> dict[str, Any]:
    """Build one size's inputs and time its stages; returns the measurements."""
    import geopandas as gpd
    import pandas as pd
    from make_synthetic_network import make_synthetic_network, synthetic_incidents

    from passages import corridors
    from passages.config import TimeWindow
    from passages.origins import origin_nodes
    from passages.risk import window_risk

    stages: dict[str, Any] = {}
    load0 = os.getloadavg()[0]
    streets = timed(stages, "network", lambda: make_synthetic_network(n_nodes, seed=1))

    def incidents() -> Any:
        rng = np.random.default_rng(3)
        n = args.incidents
        xy = synthetic_incidents(streets, n, seed=2)
        lon, lat = streets.to_lonlat(xy[:, 0], xy[:, 1])
        minutes = rng.integers(0, 7 * 1440, n).astype("timedelta64[m]")  # one week from a Monday
        return gpd.GeoDataFrame(
            {
                "occurred_at": pd.Series(np.datetime64("2024-01-01T00:00") + minutes).astype(
                    "datetime64[ns]"
                ),
                "time_known": rng.random(n) > 0.05,
                "category": rng.choice(["theft", "assault", "robbery", "burglary"], n),
                "severity": rng.choice([1.0, 2.0, 3.0, 5.0], n),
            },
            geometry=gpd.points_from_xy(lon, lat),
            crs=4326,
        )

    table = timed(stages, "incidents", incidents)
    rng = np.random.default_rng(4)
    nodes = np.sort(rng.choice(streets.n_nodes, args.destinations, replace=False))
    dests = pd.DataFrame(
        {
            "place_id": [f"d{i:04d}" for i in range(len(nodes))],
            "kind": [KINDS[i % len(KINDS)] for i in range(len(nodes))],
            "name": [f"Destination {i}" for i in range(len(nodes))],
            "node": nodes,
        }
    )
    windows = [TimeWindow(name=n, days=frozenset(d), start=s, end=e, officers=1) for n, d, s, e in WINDOWS]
    origins = timed(
        stages, "origins", lambda: origin_nodes(None, streets, spacing_m=float(args.origin_spacing))
    )
    layers = timed(stages, "risk", lambda: window_risk(streets, table, windows))
    params = corridors.RoutingParams()
    risks = {w.name: layers[w.name].risk for w in windows}

    def plan_each() -> dict[str, Any]:
        return {
            w: corridors.plan_corridors(streets, r, dests, origins, params, window=w)
            for w, r in risks.items()
        }

    def plan_windows() -> dict[str, Any]:
        return dict(
            corridors.plan_corridors_windows(streets, risks, dict.fromkeys(risks, dests), origins, params)
        )

    result = timed(stages, "corridors", plan_each if args.per_window else plan_windows)
    pairs = sum(d.origins_served for wc in result.values() for d in wc.destinations)
    return {
        "nodes": streets.n_nodes,
        "edges": streets.n_edges,
        "origins": len(origins[0]),
        "pairs": pairs,
        "stages": stages,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, nargs="*", default=[20_000, 50_000, 100_000, 200_000])
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--destinations", type=int, default=1000)
    ap.add_argument("--origin-spacing", type=float, default=0.0, help="metres; 0 = every node")
    ap.add_argument("--per-window", action="store_true", help="plan_corridors once per window")
    ap.add_argument("--root", type=Path, default=HERE.parent, help="import passages from this source tree")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # run one size, print JSON
    args = ap.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    if args.child:
        print(json.dumps(run_size(args.nodes[0], args)))
        return
    how = "plan_corridors per window" if args.per_window else "plan_corridors_windows"
    print(f"{args.incidents:,} incidents, {args.destinations:,} destinations, 3 windows, corridors by {how}")
    head = f"{'nodes':>8} {'edges':>8} {'pairs/window':>13} {'risk s':>13} {'corridors s':>13}"
    print(head + f" {'total s':>13} {'peak MB':>8}  load (start, end)")
    flags = [f"--incidents={args.incidents}", f"--destinations={args.destinations}"]
    flags += [f"--origin-spacing={args.origin_spacing}", f"--root={args.root}"]
    flags += ["--per-window"] if args.per_window else []
    for n in args.nodes:
        command = [sys.executable, __file__, "--child", "--nodes", str(n), *flags]
        out = subprocess.run(command, capture_output=True, text=True, check=False)
        if out.returncode:
            print(f"{n:>8,}  failed:\n{out.stderr}", flush=True)
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        s = r["stages"]
        risk, corr = s["risk"], s["corridors"]
        total_w, total_c = risk["wall_s"] + corr["wall_s"], risk["cpu_s"] + corr["cpu_s"]

        def cell(wall: float, cpu: float) -> str:
            return f"{wall:6.1f} ({cpu:5.1f})"

        print(
            f"{r['nodes']:>8,} {r['edges']:>8,} {r['pairs'] // 3:>13,} {cell(risk['wall_s'], risk['cpu_s'])} "
            f"{cell(corr['wall_s'], corr['cpu_s'])} {cell(total_w, total_c)} {r['peak_mb']:>8,}  "
            f"{r['load'][0]:.2f}, {r['load'][1]:.2f}",
            flush=True,
        )
        if os.environ.get("BENCH_SCALE_JSON"):
            print(json.dumps(r), flush=True)
    print("s: wall-clock seconds (CPU seconds of the process in brackets); peak MB: the child's max RSS")


if __name__ == "__main__":
    main()
