"""One route: the route a plan recommends from one origin to one destination, beside the shortest.

:func:`compare_route` (``passages route``) makes, for a single origin, the choice that
:mod:`passages.corridors` makes for whole walk zones: the route of the largest λ in the sweep that
keeps the detour cap and lowers the exposure (:func:`passages.routing.accepted`), else the
shortest route. Its trees come from the same :class:`~passages.routing.Router`, and its sums run
from the destination down, as :class:`~passages.routing.Forest` sums them, so both give the same
numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from passages._errors import InputError, RoutingError
from passages.network import Streets
from passages.routing import Router, RoutingParams, accepted, check_risk, usable_edges

__all__ = ["Route", "RouteComparison", "compare_route"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Route:
    """A walking route.

    Attributes
    ----------
    nodes, edges
        Node and edge indices in walking order, origin first.
    length_m, exposure
        Route length, and Σ risk × length_m over its edges.
    streets
        Street names in walking order, repeats collapsed (``"unnamed path"`` when unnamed).
    """

    nodes: IntArray
    edges: IntArray
    length_m: float
    exposure: float
    streets: tuple[str, ...]

    @property
    def directions(self) -> str:
        """Street names joined by arrows, e.g. ``"Peachtree St NE → Ellis St NE"``."""
        return " → ".join(self.streets)


@dataclass(frozen=True, eq=False)
class RouteComparison:
    """The recommended and the shortest route between two nodes.

    Attributes
    ----------
    origin_node, dest_node
        The two ends.
    recommended, shortest
        The routes.
    lambda_used
        λ of the recommended route (0: it is the shortest route).
    detour, reduction_pct
        Recommended length / shortest length − 1; exposure reduction, percent.
    within_walk_zone
        Whether the shortest route is within ``walk_zone_m`` (plans route only those).
    """

    origin_node: int
    dest_node: int
    recommended: Route
    shortest: Route
    lambda_used: float
    detour: float
    reduction_pct: float
    within_walk_zone: bool


def compare_route(
    streets: Streets, risk: npt.ArrayLike, origin_node: int, dest_node: int, params: RoutingParams
) -> RouteComparison:
    """The route a plan recommends from an origin to a destination, and the shortest route.

    The same choice as :func:`passages.corridors.plan_corridors`, for one origin.

    Raises
    ------
    RoutingError
        The origin cannot reach the destination on the usable network.
    """
    r = check_risk(streets, risk)
    o, d = int(origin_node), int(dest_node)
    for label, node in (("origin", o), ("destination", d)):
        if not 0 <= node < streets.n_nodes:
            raise InputError(f"routing: {label} node {node} is not a node index 0..{streets.n_nodes - 1}")
    router = Router(streets, usable_edges(streets, params))
    length, risk_m = streets.length_m, r * streets.length_m
    dist, pred = router.trees([d], length)
    if not np.isfinite(dist[0, o]):
        raise RoutingError(
            f"routing: {streets.intersection_name(o)} (node {o}) cannot reach {streets.intersection_name(d)} "
            f"(node {d}) on the usable network; check closed streets and avoid areas"
        )
    shortest = chosen = _route(router, pred[0], (o, d), length, risk_m)
    lam_used = 0.0
    for lam in reversed(params.lambdas[1:]):
        cost = length * (1.0 + lam * r)
        _, pred = router.trees([d], cost, limit=shortest.length_m + lam * shortest.exposure)
        route = _route(router, pred[0], (o, d), cost, risk_m)
        a, b = np.array([route.length_m, route.exposure]), np.array([shortest.length_m, shortest.exposure])
        if accepted(a[:1], a[1:], b[:1], b[1:], params.max_detour)[0]:
            chosen, lam_used = route, lam
            break
    return RouteComparison(
        origin_node=o,
        dest_node=d,
        recommended=chosen,
        shortest=shortest,
        lambda_used=lam_used,
        detour=chosen.length_m / shortest.length_m - 1.0 if shortest.length_m > 0 else 0.0,
        reduction_pct=100.0 * (1.0 - chosen.exposure / shortest.exposure) if shortest.exposure > 0 else 0.0,
        within_walk_zone=shortest.length_m <= params.walk_zone_m,
    )


def _route(router: Router, pred: Any, ends: tuple[int, int], cost: FloatArray, risk_m: FloatArray) -> Route:
    """Follow ``pred`` from the origin to the root of the tree, the destination."""
    path = [ends[0]]
    while path[-1] != ends[1]:
        path.append(int(pred[path[-1]]))
    nodes = np.asarray(path, dtype=np.int64)
    edges = router.edges_between(nodes[:-1], nodes[1:], cost)
    # summed root-down like Forest.path_sums, so both give the same numbers
    length_m = float(np.cumsum(router.streets.length_m[edges][::-1])[-1]) if edges.size else 0.0
    exposure = float(np.cumsum(risk_m[edges][::-1])[-1]) if edges.size else 0.0
    names = ["unnamed path" if not n else str(n) for n in router.streets.name[edges].tolist()]
    collapsed = tuple(n for i, n in enumerate(names) if i == 0 or n != names[i - 1])
    return Route(nodes, edges, length_m, exposure, collapsed)
