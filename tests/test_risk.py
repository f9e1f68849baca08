"""Risk: time-window weights and incident density on network edges."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from passages import risk
from passages._errors import InputError
from passages.network import Streets, load_streets, streets_from_arrays
from passages.risk import edge_risk, quartic_kernel, recency_weights, window_risk, window_weights

from .conftest import DATA

SAMPLE = DATA / "central-atlanta-filtered.osm.pbf"
COBRA = DATA / "apd_cobra_2021_central_atlanta.csv"


@dataclass(frozen=True)
class Window:
    """Stands in for passages.config.TimeWindow (risk only needs these attributes)."""

    name: str
    days: frozenset[int]
    start: time
    end: time
    margin_min: int = 30


MORNING = Window("morning", frozenset(range(5)), time(6, 30), time(9, 0))  # Mon–Fri


def kern(d: float, h: float = 200.0) -> float:
    """The quartic kernel, written out by hand."""
    return 15 / 16 * (1 - (d / h) ** 2) ** 2 / h if d < h else 0.0


@pytest.fixture(scope="module")
def atlanta(tmp_path_factory: pytest.TempPathFactory) -> Streets:
    # module fixtures run before conftest's cache isolation: name the session's cache folder
    return load_streets(SAMPLE, cache_dir=tmp_path_factory.getbasetemp() / "cache").data


@pytest.fixture(scope="module")
def cobra() -> gpd.GeoDataFrame:
    try:
        from passages.incidents import load_incidents
    except ImportError:  # incidents.py not written yet: the minimum risk needs, straight from the CSV
        raw = pd.read_csv(COBRA)
        clock = pd.to_datetime(raw["occur_date"] + " " + raw["occur_time"], format="%m/%d/%Y %H:%M")
        return gpd.GeoDataFrame(
            {
                "occurred_at": clock,
                "time_known": True,
                "category": raw["UC2_Literal"],
                "severity": 1.0,
            },
            geometry=gpd.points_from_xy(raw["long"], raw["lat"]),
            crs=4326,
        )
    return load_incidents(COBRA, adapter="cobra").data


def random_incidents(
    streets: Streets, k: int, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """k points on random edges (a few pushed off the street) and random weights (some 0)."""
    rng = np.random.default_rng(seed)
    edges = rng.choice(streets.n_edges, k)
    at = rng.uniform(0, 1, k)
    xy = np.array(
        [
            streets.geometry[e].interpolate(t, normalized=True).coords[0]
            for e, t in zip(edges, at, strict=True)
        ]
    )
    xy[:5] += rng.normal(0, 30, (5, 2))
    weights = rng.uniform(0.1, 2.0, k)
    weights[:3] = 0.0
    return xy, weights


def brute_force(
    streets: Streets,
    xy: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    h: float,
    segment_m: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Edge density (per km) and support from a full Dijkstra per source node, no tiling."""
    cut = streets.cut(segment_m)
    n = len(cut.x)
    frame = pd.DataFrame(
        {"a": np.r_[cut.a, cut.b], "b": np.r_[cut.b, cut.a], "c": np.r_[cut.length_m, cut.length_m]}
    )
    cheapest = frame.groupby(["a", "b"], as_index=False)["c"].min()
    A = sparse.csr_array((cheapest["c"], (cheapest["a"], cheapest["b"])), shape=(n, n))
    edge, _, t = streets.nearest_edge(xy[:, 0], xy[:, 1])
    piece, t = cut.piece_of(edge, t)
    node_density = np.zeros(n)
    support = np.zeros(streets.n_edges, dtype=np.int64)
    for i in np.flatnonzero(weights > 0):
        ends = [(cut.a[piece[i]], 1 - t[i]), (cut.b[piece[i]], t[i])]
        reached = np.zeros(n, dtype=bool)
        for node, share in ends:
            if share > 0:
                dist = csgraph.dijkstra(A, indices=node)
                node_density += weights[i] * share * quartic_kernel(dist, h)
                reached |= dist < h
        on_edge = reached[cut.a] | reached[cut.b]
        on_edge[piece[i]] = True
        support += np.bincount(cut.edge[on_edge], minlength=streets.n_edges) > 0
    piece_density = 0.5 * (node_density[cut.a] + node_density[cut.b]) * cut.length_m
    return 1000 * np.bincount(cut.edge, weights=piece_density) / streets.length_m, support


def line_streets(spacing: float = 50.0, n: int = 11) -> Streets:
    """A straight street: nodes 0..n-1 ``spacing`` metres apart along x."""
    return streets_from_arrays(
        x=[i * spacing for i in range(n)], y=[0.0] * n, edges=[(i, i + 1) for i in range(n - 1)]
    )


# --------------------------------------------------------------------------------------
# density on hand-checkable synthetic networks


def test_synthetic_line_density_follows_the_quartic_kernel() -> None:
    streets = line_streets()
    r = edge_risk(streets, [[0.0, 0.0]], [1.0], bandwidth_m=200.0)
    # edge i joins nodes 50·i and 50·(i+1) m from the incident; its density is the mean of theirs
    node = [kern(50.0 * i) for i in range(11)]
    assert node[:5] == [kern(0), kern(50), kern(100), kern(150), 0.0]
    expected = [1000 * (node[i] + node[i + 1]) / 2 for i in range(10)]
    np.testing.assert_allclose(r.density_per_km, expected, rtol=1e-12, atol=0)
    assert r.density_per_km[4:].tolist() == [0.0] * 6  # nothing at or beyond h = 200 m
    assert r.support.tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert r.risk.max() == 1.0 and r.risk[4:].max() == 0.0
    assert (r.n_used, r.n_unsnapped, r.n_invalid, r.total_weight) == (1, 0, 0, 1.0)


def test_synthetic_line_mid_edge_incident_splits_its_weight_between_the_ends() -> None:
    streets = line_streets()
    r = edge_risk(streets, [[260.0, 3.0]], [2.0], bandwidth_m=200.0)  # 20 % along edge 5 (250–300 m)
    node = np.array([2 * (0.8 * kern(abs(50 * i - 250)) + 0.2 * kern(abs(50 * i - 300))) for i in range(11)])
    np.testing.assert_allclose(r.density_per_km, 1000 * (node[:-1] + node[1:]) / 2, rtol=1e-12)
    assert r.density_per_km[5] == r.density_per_km.max()


def test_synthetic_line_planar_evaluates_the_kernel_at_edge_midpoints() -> None:
    streets = line_streets()
    r = edge_risk(streets, [[0.0, 0.0]], [1.0], bandwidth_m=200.0, method="planar")
    np.testing.assert_allclose(r.density_per_km, [1000 * kern(50.0 * i + 25) for i in range(10)], rtol=1e-12)
    assert r.support.tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]


def u_street() -> Streets:
    """Two 180 m branches 40 m apart in the plane, joined at the top: 400 m apart on foot."""
    left = [(0.0, y) for y in range(0, 181, 45)]
    right = [(40.0, y) for y in range(0, 181, 45)]
    xy = left + right
    edges = [(i, i + 1) for i in range(4)] + [(5 + i, 6 + i) for i in range(4)] + [(4, 9)]
    return streets_from_arrays(x=[p[0] for p in xy], y=[p[1] for p in xy], edges=edges)


def test_synthetic_u_street_planar_leaks_across_the_gap_network_does_not() -> None:
    streets = u_street()
    incident = [[0.0, 0.0]]  # the foot of the left branch
    right_foot = 4  # edge (5, 6): the foot of the right branch, 40 m away in the plane
    net = edge_risk(streets, incident, [1.0], bandwidth_m=200.0)
    planar = edge_risk(streets, incident, [1.0], bandwidth_m=200.0, method="planar")
    assert net.density_per_km[right_foot] == 0.0 and net.support[right_foot] == 0
    assert planar.density_per_km[right_foot] > 0.5 * planar.density_per_km.max()
    assert planar.support[right_foot] == 1
    # on the incident's own branch both see it
    assert net.density_per_km[0] > 0 and planar.density_per_km[0] > 0


def test_synthetic_long_edges_are_cut_so_an_incident_stays_where_it_happened() -> None:
    # two 800 m edges and an incident in the middle of the first: kept whole, its weight lands on
    # nodes 400 m away and leaks onto the next street, which no point within 200 m of it is on
    streets = streets_from_arrays(x=[0.0, 800.0, 1600.0], y=[0.0, 0.0, 0.0], edges=[(0, 1), (1, 2)])
    whole = edge_risk(streets, [[400.0, 0.0]], [1.0], bandwidth_m=200.0, segment_m=math.inf)
    cut = edge_risk(streets, [[400.0, 0.0]], [1.0], bandwidth_m=200.0)
    assert whole.density_per_km.tolist() == [1000 * kern(0) / 2, 1000 * kern(0) / 4]
    assert cut.segment_m == 50.0
    # cut into 16 pieces of 50 m, the edge average is ≈ ∫K / 800 m = 1/800 per m
    assert cut.density_per_km[0] == pytest.approx(1000 / 800, rel=0.02)
    assert cut.support.tolist() == [1, 0] and cut.density_per_km[1] == 0.0


def test_synthetic_category_share_is_each_categorys_share_of_the_risk_mass() -> None:
    streets = line_streets()
    xy = [[0.0, 0.0], [500.0, 0.0], [500.0, 0.0]]
    r = edge_risk(streets, xy, [1.0, 1.0, 2.0], categories=["theft", "robbery", "theft"])
    # both ends of the line see the same kernel mass, so shares follow the weights
    assert r.category_share == pytest.approx({"theft": 0.75, "robbery": 0.25})
    assert list(r.category_share) == ["theft", "robbery"]  # largest first


def test_synthetic_nan_and_far_incidents_are_ignored_and_counted() -> None:
    streets = line_streets()
    xy = [[0.0, 0.0], [np.nan, 0.0], [250.0, 900.0], [250.0, 400.0]]
    r = edge_risk(streets, xy, [1.0, 1.0, 1.0, 1.0], max_snap_m=500.0)
    assert (r.n_used, r.n_invalid, r.n_unsnapped) == (2, 1, 1)
    assert r.total_weight == 2.0


def test_synthetic_zero_incidents_give_zero_risk() -> None:
    streets = line_streets()
    for method in risk.METHODS:
        r = edge_risk(streets, np.zeros((0, 2)), [], categories=[], method=method)
        assert r.density_per_km.tolist() == [0.0] * 10 and r.risk.tolist() == [0.0] * 10
        assert r.support.tolist() == [0] * 10
        assert (r.category_share, r.total_weight, r.scale_per_km) == ({}, 0.0, 0.0)
    zero_weight = edge_risk(streets, [[0.0, 0.0]], [0.0], categories=["theft"])
    assert zero_weight.risk.max() == 0.0 and zero_weight.category_share == {}


@pytest.mark.parametrize("bandwidth", [0.0, -5.0, 10_001.0, math.nan, math.inf])
def test_invalid_bandwidth_is_refused_with_the_value_and_the_range(bandwidth: float) -> None:
    with pytest.raises(InputError, match=r"bandwidth_m=.*accepted: 0 < bandwidth_m ≤ 10000"):
        edge_risk(line_streets(), [[0.0, 0.0]], [1.0], bandwidth_m=bandwidth)


def test_other_bad_inputs_are_refused() -> None:
    streets = line_streets()
    with pytest.raises(InputError, match="method='kde'"):
        edge_risk(streets, [[0.0, 0.0]], [1.0], method="kde")
    with pytest.raises(InputError, match="weights"):
        edge_risk(streets, [[0.0, 0.0]], [-1.0])
    with pytest.raises(InputError, match="2 weights for 1 incidents"):
        edge_risk(streets, [[0.0, 0.0]], [1.0, 1.0])
    # (x, y, z) rows were once reshaped into twice as many (x, y) points, or crashed unreshaped
    for xy in ([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]]):
        with pytest.raises(InputError, match=r"expected \(k, 2\)"):
            edge_risk(streets, xy, [1.0] * len(xy))


# --------------------------------------------------------------------------------------
# the real Atlanta network


@pytest.mark.parametrize("segment_m", [math.inf, None])
def test_real_network_tiled_density_equals_brute_force(atlanta: Streets, segment_m: float | None) -> None:
    xy, weights = random_incidents(atlanta, 50, seed=11)
    r = edge_risk(atlanta, xy, weights, bandwidth_m=200.0, segment_m=segment_m)
    expected, support = brute_force(atlanta, xy, weights, 200.0, r.segment_m)
    assert expected.max() > 0
    np.testing.assert_allclose(r.density_per_km, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(r.support, support)
    np.testing.assert_array_equal(r.support > 0, r.density_per_km > 0)


def test_real_network_small_tiles_and_chunks_change_nothing(
    atlanta: Streets, monkeypatch: pytest.MonkeyPatch
) -> None:
    xy, weights = random_incidents(atlanta, 300, seed=5)
    big = edge_risk(atlanta, xy, weights, categories=["x"] * 300)
    monkeypatch.setattr(risk, "_TILE_BANDWIDTHS", 0.5)
    monkeypatch.setattr(risk, "_MAX_BLOCK", 2_000)
    small = edge_risk(atlanta, xy, weights, categories=["x"] * 300)
    np.testing.assert_allclose(small.density_per_km, big.density_per_km, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(small.support, big.support)


def test_real_network_planar_equals_brute_force(atlanta: Streets) -> None:
    xy, weights = random_incidents(atlanta, 200, seed=3)
    categories = np.array(["a", "b", "c"])[np.arange(200) % 3]
    r = edge_risk(atlanta, xy, weights, categories=categories, method="planar")
    cut = atlanta.cut(50.0)
    mid = np.column_stack([(cut.x[cut.a] + cut.x[cut.b]) / 2, (cut.y[cut.a] + cut.y[cut.b]) / 2])
    kern = quartic_kernel(np.hypot(*(mid[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)), 200.0)
    mass = np.bincount(cut.edge, weights=kern @ weights * cut.length_m)
    np.testing.assert_allclose(r.density_per_km, 1000 * mass / atlanta.length_m, rtol=1e-9, atol=1e-12)
    reached = np.zeros((atlanta.n_edges, 200), dtype=bool)
    np.logical_or.at(reached, cut.edge, kern > 0)
    np.testing.assert_array_equal(r.support, reached[:, weights > 0].sum(axis=1))
    for c in "abc":
        share = (kern @ (weights * (categories == c)) * cut.length_m).sum() / mass.sum()
        assert r.category_share[c] == pytest.approx(share, rel=1e-9)


def test_real_incidents_morning_risk_peaks_at_the_densest_morning_cluster(
    atlanta: Streets, cobra: gpd.GeoDataFrame
) -> None:
    layers = window_risk(atlanta, cobra, [MORNING], bandwidth_m=200.0)
    assert list(layers) == ["morning", "all_day"]
    morning, all_day = layers["morning"], layers["all_day"]
    weight = window_weights(cobra["occurred_at"], cobra["time_known"], MORNING) * cobra["severity"]
    x, y = atlanta.from_lonlat(cobra.geometry.x, cobra.geometry.y)
    mid = np.array([g.interpolate(0.5, normalized=True).coords[0] for g in atlanta.geometry])
    near = cKDTree(np.column_stack([x, y])).query_ball_point(mid, 200.0)
    weighted_near = np.array([weight.to_numpy()[i].sum() for i in near])
    top = int(np.argmax(morning.density_per_km))  # (risk is capped at 1 above the 99th percentile)
    # the riskiest street in the morning has the most weighted morning incidents within 200 m
    assert weighted_near[top] >= 0.9 * weighted_near.max() and weighted_near[top] >= 20
    assert sum(morning.category_share.values()) == pytest.approx(1.0)
    assert sum(all_day.category_share.values()) == pytest.approx(1.0)
    on_map = atlanta.nearest_edge(x, y)[1] <= 500.0
    assert 0 < morning.n_used < all_day.n_used == on_map.sum() == len(cobra) - all_day.n_unsnapped
    assert all_day.total_weight == pytest.approx(cobra["severity"][on_map].sum())
    assert morning.total_weight == pytest.approx(weight[on_map].sum())
    assert np.percentile(morning.risk[morning.risk > 0], 99) == pytest.approx(1.0, rel=1e-4)
    again = window_risk(atlanta, cobra, [MORNING], bandwidth_m=200.0)["morning"]
    np.testing.assert_array_equal(again.density_per_km, morning.density_per_km)  # deterministic


def test_real_incidents_all_day_counts_unknown_times_windows_do_not(
    atlanta: Streets, cobra: gpd.GeoDataFrame
) -> None:
    always = Window("always", frozenset(range(7)), time(0, 0), time(23, 59), margin_min=1)
    unknown = cobra.assign(time_known=False)
    layers = window_risk(atlanta, unknown, [always])
    assert layers["always"].n_used == 0 and layers["always"].risk.max() == 0.0
    assert layers["all_day"].n_used > 0


def test_window_risk_refuses_duplicate_names_and_missing_columns(
    atlanta: Streets, cobra: gpd.GeoDataFrame
) -> None:
    with pytest.raises(InputError, match="unique"):
        window_risk(atlanta, cobra, [MORNING, MORNING])
    with pytest.raises(InputError, match="time_known"):
        window_risk(atlanta, cobra.drop(columns="time_known"), [MORNING])


def test_window_risk_with_no_incidents(atlanta: Streets, cobra: gpd.GeoDataFrame) -> None:
    layers = window_risk(atlanta, cobra.iloc[:0], [MORNING])
    for layer in layers.values():
        assert layer.risk.max() == 0.0 and layer.category_share == {} and layer.n_used == 0


# --------------------------------------------------------------------------------------
# time-window weights (2021-03-01 was a Monday)


def weights_at(stamps: list[str], window: Window, **kw: object) -> list[float]:
    when = pd.to_datetime(pd.Series(stamps))
    out = window_weights(when, np.ones(len(stamps), dtype=bool), window, **kw)  # type: ignore[arg-type]
    return [round(float(w), 12) for w in out]


def test_window_weights_inside_margin_and_day_of_week() -> None:
    stamps = [
        "2021-03-01 07:00",  # Monday, inside
        "2021-03-01 09:05",  # 5 min after the end
        "2021-03-01 06:10",  # 20 min before the start
        "2021-03-01 09:30",  # exactly one margin after
        "2021-03-01 12:00",  # far outside
        "2021-03-06 07:00",  # Saturday: not a window day
        "2021-03-05 06:30",  # Friday at the start
    ]
    expected = [1.0, 1 - 5 / 30, 1 - 20 / 30, 0.0, 0.0, 0.0, 1.0]
    assert weights_at(stamps, MORNING) == [round(w, 12) for w in expected]


def test_window_weights_crossing_midnight_belong_to_the_start_day() -> None:
    friday_night = Window("late", frozenset({4}), time(22, 0), time(2, 0))
    stamps = [
        "2021-03-05 23:00",  # Friday 23:00
        "2021-03-06 01:00",  # Saturday 01:00: still Friday's window
        "2021-03-06 02:15",  # 15 min after it ends
        "2021-03-05 01:00",  # Friday 01:00 belongs to Thursday's window: no
        "2021-03-06 23:00",  # Saturday night: no
        "2021-03-05 21:45",  # 15 min before it starts
    ]
    assert weights_at(stamps, friday_night) == [1.0, 1.0, 0.5, 0.0, 0.0, 0.5]
    sunday_night = Window("sun", frozenset({6}), time(23, 0), time(1, 0))
    assert weights_at(["2021-03-08 00:30", "2021-03-01 00:30"], sunday_night) == [1.0, 1.0]


def test_window_weights_unknown_time_is_zero_but_counts_all_day() -> None:
    when = pd.to_datetime(pd.Series(["2021-03-01 00:00", "2021-03-01 07:00"]))
    known = np.array([False, True])
    assert window_weights(when, known, MORNING).tolist() == [0.0, 1.0]
    assert recency_weights(when).tolist() == [1.0, 1.0]


def test_window_weights_lookback_and_decay() -> None:
    always = Window("always", frozenset(range(7)), time(0, 0), time(23, 59))
    stamps = ["2021-03-31 08:00", "2021-03-21 08:00", "2021-03-11 08:00", "2021-01-01 08:00"]
    assert weights_at(stamps, always, lookback_days=60) == [1.0, 1.0, 1.0, 0.0]
    assert weights_at(stamps, always, decay_half_life_days=10) == [1.0, 0.5, 0.25, round(0.5**8.9, 12)]
    # reference given: ages count from it, later incidents count as age 0
    ref = datetime(2021, 3, 21, 8, 0)
    assert weights_at(stamps, always, decay_half_life_days=10, reference=ref)[:3] == [1.0, 1.0, 0.5]
    assert weights_at(stamps, always, lookback_days=15, reference=ref) == [1.0, 1.0, 1.0, 0.0]


def test_recency_weights_reject_negative_settings() -> None:
    with pytest.raises(InputError, match="lookback_days=-1"):
        recency_weights(pd.Series(pd.to_datetime(["2021-03-01"])), lookback_days=-1)


def test_config_time_window_satisfies_the_protocol() -> None:
    config = pytest.importorskip("passages.config")
    window = config.TimeWindow(
        name="am", days=frozenset({0}), start=time(6, 30), end=time(9, 0), margin_min=30, officers=2
    )
    assert weights_at(["2021-03-01 09:05"], window) == [round(1 - 5 / 30, 12)]


def test_window_risk_counts_missing_geometry_as_invalid(atlanta: Streets, cobra: gpd.GeoDataFrame) -> None:
    some = cobra.iloc[:50].copy()
    some.loc[some.index[:2], "geometry"] = None
    layers = window_risk(atlanta, some, [MORNING])
    assert layers["all_day"].n_invalid == 2 == layers["morning"].n_invalid
    assert layers["all_day"].n_used + layers["all_day"].n_unsnapped == 48
