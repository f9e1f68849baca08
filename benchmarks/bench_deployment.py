"""Benchmark officer-post selection: 5,000 candidates × 20,000 demand edges on a synthetic grid.

Run ``.venv/bin/python benchmarks/bench_deployment.py [--officers 10 25 100] [--spopt PYTHON] [--sample]``.

Times the coverage build and :func:`passages.deployment.choose_posts` with greedy, the MILP (10 s
limit) and auto, and reports covered share and optimality gap; wall and CPU seconds (CPU is the
steadier figure on a shared machine). ``--sample`` also times the pipeline's posts stage on the
bundled Atlanta scenario (coverage once for all windows, then posts, schedule and resilience per
window). ``--spopt`` names a Python with spopt installed (a throwaway venv:
``python -m venv /tmp/spopt && /tmp/spopt/bin/pip install spopt``; spopt is not a passages
dependency); ``spopt.locate.MCLP`` (PuLP/CBC) then solves the same smaller instance (500 × 2,000)
in that interpreter: it builds a dense clients × facilities matrix and one PuLP term per cell, so
the full 5,000 × 20,000 instance (10⁸ terms) is out of its reach.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from passages.coverage import build_coverage
from passages.deployment import choose_posts, resilience
from passages.network import Streets, streets_from_arrays
from passages.schedule import schedule

SEED = 20240501
SPACING_M = 50.0
RADIUS_M = 150.0
FULL = (110, 20_000, 5_000)  # grid side (12,100 nodes, 23,980 edges), demand edges, candidates
SMALL = (36, 2_000, 500)  # for the spopt comparison
#: (officers, method, wall s, CPU s, covered share, gap, bound source)
Row = tuple[int, str, float, float, float, float, str]


def instance(
    side: int, n_demand: int, n_candidates: int, *, seed: int = SEED
) -> tuple[Streets, np.ndarray, np.ndarray]:
    """A jittered grid with hot-spot demand on ``n_demand`` edges and ``n_candidates`` candidate nodes."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(side) * SPACING_M, np.arange(side) * SPACING_M)
    x = gx.ravel() + rng.uniform(-8, 8, gx.size)
    y = gy.ravel() + rng.uniform(-8, 8, gy.size)
    idx = np.arange(side * side).reshape(side, side)
    pairs = np.vstack(
        [
            np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
            np.column_stack([idx[:-1].ravel(), idx[1:].ravel()]),
        ]
    )
    streets = streets_from_arrays(x=x, y=y, edges=[tuple(p) for p in pairs.tolist()])
    mx = (x[streets.u] + x[streets.v]) / 2
    my = (y[streets.u] + y[streets.v]) / 2
    hot = rng.uniform(0, side * SPACING_M, (max(3, side * side // 400), 2))
    risk = np.zeros(streets.n_edges)
    for hx, hy in hot:
        risk += np.exp(-((mx - hx) ** 2 + (my - hy) ** 2) / (2 * 300.0**2))
    risk = np.clip(risk, 0, 1)
    traffic = rng.lognormal(0, 1, streets.n_edges)
    demand = traffic * streets.length_m * (0.05 + risk)
    keep = np.zeros(streets.n_edges, dtype=bool)
    keep[rng.choice(streets.n_edges, n_demand, replace=False)] = True
    demand[~keep] = 0.0
    touching = np.unique(np.concatenate([streets.u[keep], streets.v[keep]]))
    candidates = np.sort(rng.choice(touching, n_candidates, replace=False))
    return streets, demand, candidates


SPOPT_SCRIPT = """
import json, sys, time
import numpy as np
from scipy import sparse
import pulp
from spopt.locate import MCLP
data = np.load(sys.argv[1])
A = sparse.csr_array((data["d"], data["i"], data["p"]), shape=tuple(data["shape"]))
p = int(sys.argv[2])
# spopt wants a dense service-distance cost matrix (clients x facilities): 0 = covered, 1 = not
cost = np.where(A.T.toarray(), 0.0, 1.0)
t0, c0 = time.perf_counter(), time.process_time()
model = MCLP.from_cost_matrix(cost, data["w"], service_radius=0.5, p_facilities=p)
model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=60))
took, cpu = time.perf_counter() - t0, time.process_time() - c0  # CBC runs as a child process
chosen = [j for j, f in enumerate(model.fac_vars) if f.value() is not None and f.value() > 0.5]
print(json.dumps({"seconds": took, "cpu": cpu, "chosen": chosen}))
"""


def run_spopt(python: str, A: object, w: np.ndarray, officers: int) -> tuple[float, float, list[int]] | None:
    """Solve the same instance with spopt's MCLP in another interpreter; None if that fails."""
    from scipy import sparse

    m = sparse.csr_array(A)
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "instance.npz"
        np.savez(npz, d=m.data.astype(float), i=m.indices, p=m.indptr, shape=np.array(m.shape), w=w)
        script = Path(tmp) / "run.py"
        script.write_text(SPOPT_SCRIPT)
        c0 = _children_cpu()
        proc = subprocess.run(
            [python, str(script), str(npz), str(officers)], capture_output=True, text=True, check=False
        )
        cpu = _children_cpu() - c0  # the interpreter and its CBC process
    if proc.returncode != 0:
        print(f"spopt failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}", file=sys.stderr)
        return None
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(out["seconds"]), cpu, [int(c) for c in out["chosen"]]


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def solve_all(
    streets: Streets,
    demand: np.ndarray,
    candidates: np.ndarray,
    *,
    officers: list[int],
    time_limit: float,
    spopt: str,
) -> list[Row]:
    """Rows (officers, method, wall s, CPU s, covered share, gap, bound) for one instance."""
    t0, c0 = time.perf_counter(), time.process_time()
    cov = build_coverage(streets, demand, radius_m=RADIUS_M, candidates=candidates)
    t_cov, c_cov = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"instance: {streets.n_nodes:,} nodes, {streets.n_edges:,} edges; coverage: {len(cov.candidates):,} "
        f"candidates × {len(cov.edges):,} demand edges, {cov.matrix.nnz:,} pairs, "
        f"built in {t_cov:.2f} s ({c_cov:.2f} s CPU)"
    )
    w = demand[cov.edges]
    total = float(demand.sum())
    rows = []
    for p in officers:
        for method in ("greedy", "milp", "auto"):
            t0, c0 = time.perf_counter(), time.process_time()
            plan = choose_posts(
                streets,
                demand,
                officers=p,
                radius_m=RADIUS_M,
                method=method,
                time_limit_s=time_limit,
                coverage=cov,
            )
            took, cpu = time.perf_counter() - t0, time.process_time() - c0
            rows.append((p, method, took, cpu, plan.share_covered, plan.gap, plan.bound_source))
        if spopt:
            got = run_spopt(spopt, cov.matrix, w, p)
            if got is not None:
                seconds, cpu, chosen = got
                covered = np.unique(cov.matrix[np.array(chosen, dtype=np.int64)].indices)
                rows.append(
                    (p, "spopt MCLP (CBC)", seconds, cpu, float(w[covered].sum()) / total, np.nan, "")
                )
    return rows


def print_table(rows: list[Row]) -> None:
    print(f"\n{'officers':>8}  {'method':<18} {'wall s':>7} {'CPU s':>7} {'covered':>8} {'gap':>7}  bound")
    for p, method, took, cpu, share, gap, src in rows:
        gap_s = "" if np.isnan(gap) else f"{100 * gap:.2f}%"
        print(f"{p:>8}  {method:<18} {took:>7.2f} {cpu:>7.2f} {100 * share:>7.2f}% {gap_s:>7}  {src}")
    print()


def sample_posts_stage(repeats: int = 3) -> None:
    """Time the pipeline's posts stage on data/atlanta.toml, as plan() runs it (best of ``repeats``)."""
    from passages.config import load_scenario
    from passages.plan import plan

    result = plan(load_scenario(Path(__file__).resolve().parents[1] / "data" / "atlanta.toml"))
    dep = result.scenario.deployment
    streets = result.streets
    best: tuple[float, float] | None = None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        union = np.sum([wp.demand for wp in result.windows], axis=0)
        cov = build_coverage(streets, union, radius_m=dep.radius_m)
        lines = []
        for wp in result.windows:
            w = wp.window
            posts = choose_posts(
                streets, wp.demand, officers=w.officers, radius_m=dep.radius_m, pinned=dep.pinned,
                forbidden=dep.forbidden, method=dep.method, time_limit_s=dep.time_limit_s,
                mip_gap=dep.mip_gap, window=w.name, coverage=cov,
            )  # fmt: skip
            schedule(posts, w, officers=w.officers, dwell_min=dep.dwell_min,
                     revisit_max_min=dep.revisit_max_min, streets=streets)  # fmt: skip
            resilience(streets, posts, wp.demand, cov, threshold=dep.resilience_threshold)
            lines.append(
                f"  {w.name:<10} {len(posts.posts)} posts of {posts.n_candidates:,} candidates, "
                f"{100 * posts.share_covered:.2f}% covered, gap {100 * posts.gap:.3f}% ({posts.method})"
            )
        took = (time.perf_counter() - t0, time.process_time() - c0)
        best = took if best is None or took[1] < best[1] else best
    assert best is not None
    n = len(result.windows)
    print(f"Atlanta sample, posts stage for {n} windows: {best[0]:.2f} s wall, {best[1]:.2f} s CPU")
    print(f"  one coverage for all: {len(cov.candidates):,} × {len(cov.edges):,}, {cov.matrix.nnz:,} pairs")
    print("\n".join(lines))
    print(f"  plan() stage timings of the run: {result.timings}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--officers", type=int, nargs="+", default=[10, 25, 100])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--spopt", default="", help="a Python interpreter with spopt installed")
    parser.add_argument(
        "--sample", action="store_true", help="also time the posts stage on data/atlanta.toml"
    )
    args = parser.parse_args()
    if args.sample:
        sample_posts_stage()
    print_table(solve_all(*instance(*FULL), officers=args.officers, time_limit=args.time_limit, spopt=""))
    if args.spopt:
        small = instance(*SMALL)
        print_table(solve_all(*small, officers=args.officers, time_limit=args.time_limit, spopt=args.spopt))


if __name__ == "__main__":
    main()
