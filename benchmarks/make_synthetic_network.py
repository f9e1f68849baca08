"""A deterministic, street-like synthetic walk network of any size, for benchmarks.

A square grid with ~80 m spacing and ±10 m jitter, ~10 % of the grid links removed, a diagonal
link in ~5 % of the blocks, reduced to its largest connected piece; placed in UTM zone 16N near
Atlanta so that lon/lat conversions are realistic.

    .venv/bin/python benchmarks/make_synthetic_network.py 200000
"""

from __future__ import annotations

import argparse
from datetime import time as clock

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from passages.streets import Streets, streets_from_arrays

SPACING_M = 80.0
JITTER_M = 10.0
DROP_SHARE = 0.10
DIAGONAL_SHARE = 0.05
ORIGIN = (735_000.0, 3_730_000.0)  # UTM 16N, central Atlanta
CRS = "EPSG:32616"
#: the three time windows the synthetic benchmarks plan for: (name, weekdays, start, end)
WINDOWS = [
    ("morning", range(5), clock(6, 30), clock(9, 0)),
    ("afternoon", range(5), clock(14, 0), clock(16, 30)),
    ("evening", range(7), clock(20, 0), clock(1, 0)),
]


def make_synthetic_network(n_nodes: int, *, seed: int = 0) -> Streets:
    """Build a grid-like network of about ``n_nodes`` nodes (fewer after the largest piece is kept).

    Parameters
    ----------
    n_nodes
        Target number of nodes (the grid is ``ceil(sqrt(n_nodes))`` on a side).
    seed
        Seed of the jitter, the removed links and the diagonals.

    Returns
    -------
    Streets
        Straight edges, lengths equal to the straight-line distances.
    """
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_nodes)))
    gx, gy = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = ORIGIN[0] + gx.ravel() * SPACING_M + rng.uniform(-JITTER_M, JITTER_M, side * side)
    y = ORIGIN[1] + gy.ravel() * SPACING_M + rng.uniform(-JITTER_M, JITTER_M, side * side)
    idx = np.arange(side * side).reshape(side, side)
    links = [
        np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),
        np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
    ]
    grid = np.vstack(links)
    grid = grid[rng.random(len(grid)) >= DROP_SHARE]
    cells = np.column_stack([idx[:-1, :-1].ravel(), idx[1:, 1:].ravel()])
    diag = cells[rng.random(len(cells)) < DIAGONAL_SHARE]
    edges = np.vstack([grid, diag])
    n = side * side
    adj = sparse.coo_array((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    biggest = np.bincount(label).argmax()
    keep_node = label == biggest
    new_index = np.cumsum(keep_node) - 1
    edges = edges[keep_node[edges[:, 0]]]
    x, y = x[keep_node], y[keep_node]
    return streets_from_arrays(x=x, y=y, edges=new_index[edges], crs=CRS)


def synthetic_incidents(
    streets: Streets, n: int, *, seed: int = 0, clusters: int = 60, clustered_share: float = 0.5
) -> np.ndarray:
    """(n, 2) incident coordinates: uniform over the network's bounding box plus Gaussian clusters."""
    rng = np.random.default_rng(seed)
    n_clustered = int(n * clustered_share)
    lo = np.array([streets.x.min(), streets.y.min()])
    hi = np.array([streets.x.max(), streets.y.max()])
    uniform = rng.uniform(lo, hi, size=(n - n_clustered, 2))
    centres = rng.uniform(lo, hi, size=(clusters, 2))
    which = rng.integers(0, clusters, n_clustered)
    spread = rng.uniform(80.0, 300.0, clusters)[which][:, None]
    clustered = centres[which] + rng.normal(0.0, 1.0, size=(n_clustered, 2)) * spread
    return np.vstack([uniform, clustered])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_nodes", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    s = make_synthetic_network(args.n_nodes, seed=args.seed)
    km = s.length_m.sum() / 1000
    print(f"{s.n_nodes:,} nodes, {s.n_edges:,} edges, {km:,.0f} km of street")


if __name__ == "__main__":
    main()
