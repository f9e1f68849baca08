"""Time the web map and the print pages of the real sample plan, and record their sizes.

Target: ``passages demo`` ≤ 5 s warm, of which ≲ 1.2 s for the print pages (19 PDF pages for the
Atlanta sample's 3 windows and 16 posts).

Run::

    .venv/bin/python benchmarks/bench_maps.py --repeat 3
    .venv/bin/python benchmarks/bench_maps.py --root /tmp/before   # another copy of the package

The sample is planned once (``passages.plan.plan(load_scenario("data/atlanta.toml"))``, not
timed) and pickled. Each repetition is then a fresh process that loads it and writes the maps
twice: "first" is what ``passages demo`` pays (importing the map module — matplotlib for the
pages — and the first call), "again" a second call in the same process. Wall and CPU seconds are
the medians over the repetitions. ``--root`` runs everything in another copy of the repository
(e.g. ``git archive <commit> passages data | tar -x -C /tmp/before``), with its ``passages``
first on the path, to measure a previous version the same way; planning then uses that copy too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PLAN = """
import pickle, sys
from passages.config import load_scenario
from passages.plan import plan
with open(sys.argv[1], "wb") as f:
    pickle.dump(plan(load_scenario("data/atlanta.toml")), f)
"""

MAPS = """
import json, pickle, sys, tempfile, time
from pathlib import Path
with open(sys.argv[1], "rb") as f:
    p = pickle.load(f)
out, rows = Path(tempfile.mkdtemp()), {}

def timed(name, step):
    w, c = time.perf_counter(), time.process_time()
    result = step()
    rows[name] = (time.perf_counter() - w, time.process_time() - c)
    return result

def web():
    from passages import webmap
    return webmap.write_webmap(p, out / "map.html")

def pages():
    from passages import printmap
    return printmap.write_print_pages(p, out / "print")

html = timed("web map, first", web)
timed("web map, again", web)
pdfs = timed("print pages, first", pages)
timed("print pages, again", pages)
sizes = {"html": html.stat().st_size, "pdf": [q.stat().st_size for q in pdfs]}
print(json.dumps({"rows": rows, "sizes": sizes}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", type=Path, default=None, help="another copy of the repository")
    args = parser.parse_args()
    root = ROOT if args.root is None else args.root.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PASSAGES_CACHE_DIR": str(Path(tmp) / "cache")}
        env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
        plan_file = Path(tmp) / "plan.pickle"
        subprocess.run([sys.executable, "-c", PLAN, str(plan_file)], check=True, env=env, cwd=root)
        runs = []
        for _ in range(args.repeat):
            command = [sys.executable, "-c", MAPS, str(plan_file)]
            done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, check=False)
            if done.returncode:
                sys.exit(f"writing the maps failed:\n{done.stderr}")
            runs.append(json.loads(done.stdout))
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores); median of {args.repeat} processes")
    print(f"{'step':<22} {'wall s':>7} {'cpu s':>7}")
    for name in runs[0]["rows"]:
        wall = statistics.median(r["rows"][name][0] for r in runs)
        cpu = statistics.median(r["rows"][name][1] for r in runs)
        print(f"{name:<22} {wall:>7.2f} {cpu:>7.2f}")
    sizes = runs[0]["sizes"]
    pdf = sizes["pdf"]
    print(f"map.html: {sizes['html'] / 1e6:.2f} MB")
    print(
        f"{len(pdf)} PDF pages: {sum(pdf) / 1e6:.2f} MB in all, {min(pdf) // 1024}–{max(pdf) // 1024} kB each"
    )


if __name__ == "__main__":
    main()
