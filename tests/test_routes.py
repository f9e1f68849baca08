"""Single routes: the recommended and the shortest route on the hand-built ladder of test_corridors."""

from __future__ import annotations

import pytest
import shapely

from passages import corridors, routes
from passages._errors import RoutingError
from passages.routes import compare_route
from passages.routing import RoutingParams
from tests.test_corridors import MAIN, ROUND, hot_block, synthetic_ladder


def test_recommended_route_goes_round_the_hot_block_when_the_detour_is_allowed() -> None:
    streets = synthetic_ladder()
    route = compare_route(streets, hot_block(streets), 0, 4, RoutingParams(max_detour=0.25))
    assert set(route.recommended.edges.tolist()) == ROUND and set(route.shortest.edges.tolist()) == MAIN
    assert route.recommended.nodes.tolist() == [0, 1, 5, 6, 7, 3, 4]
    assert route.recommended.directions == "Main St → First Ave → Park St → Third Ave → Main St"
    assert route.shortest.directions == "Main St"
    assert route.lambda_used == 8.0 and route.detour == pytest.approx(0.15)
    assert route.recommended.length_m == pytest.approx(920.0) and route.within_walk_zone


@pytest.mark.parametrize("max_detour", [0.0, 0.1])
def test_shortest_route_is_kept_when_the_detour_breaks_the_cap(max_detour: float) -> None:
    streets = synthetic_ladder()
    route = compare_route(streets, hot_block(streets), 0, 4, RoutingParams(max_detour=max_detour))
    assert route.lambda_used == 0.0 and set(route.recommended.edges.tolist()) == MAIN


def test_closed_street_is_honoured_by_any_part_of_a_joined_name() -> None:
    streets = synthetic_ladder(park="Park St; Ellis St")
    params = RoutingParams(closed_streets=("ELLIS ST",), max_detour=0.5)
    route = compare_route(streets, hot_block(streets), 0, 4, params)
    assert set(route.recommended.edges.tolist()) == MAIN


def test_a_destination_cut_off_by_an_avoid_area_raises_routing_error() -> None:
    streets = synthetic_ladder()
    around_4 = RoutingParams(avoid_areas=(shapely.Point(800, 0).buffer(50),))
    with pytest.raises(RoutingError, match="cannot reach"):
        compare_route(streets, hot_block(streets), 0, 4, around_4)


def test_corridors_still_offers_the_single_route_names() -> None:
    assert corridors.compare_route is routes.compare_route
    assert corridors.Route is routes.Route and corridors.RouteComparison is routes.RouteComparison
    assert {"Route", "RouteComparison", "compare_route"} <= set(corridors.__all__)
