"""``plan(scenario) -> Plan``: the one function that runs the whole pipeline.

network → places → incidents → risk → corridors → deployment; maps and files are
written from the returned :class:`Plan` by :func:`write_plan`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class WindowPlan:
    """Everything computed for one time window.

    Attributes
    ----------
    window
        The ``passages.config.TimeWindow``.
    risk
        ``passages.risk.EdgeRisk`` for this window (per-edge density, risk, support).
    corridors
        ``passages.corridors.WindowCorridors`` (traffic per edge, corridors, per-destination
        metrics and route trees, λ sweep).
    posts
        ``passages.deployment.PostPlan`` (chosen posts, coverage, gap).
    schedule
        ``list[passages.deployment.ScheduleEntry]``.
    resilience
        ``list[passages.deployment.PostResilience]``.
    destinations
        Snapped destinations served in this window (GeoDataFrame, EPSG:4326, with ``node``).
    """

    window: Any
    risk: Any
    corridors: Any
    posts: Any
    schedule: list[Any]
    resilience: list[Any]
    destinations: Any


@dataclass(frozen=True, eq=False)
class Plan:
    """A complete plan: inputs as loaded, and per-window results.

    Attributes
    ----------
    scenario
        The ``passages.config.Scenario`` that produced it.
    streets
        The ``passages.network.Streets`` array view of the walk network.
    destinations
        All snapped destinations (GeoDataFrame, EPSG:4326: place_id, kind, subkind, name,
        node, snap_m, geometry).
    incidents
        The cleaned incidents (GeoDataFrame, EPSG:4326) — for risk and, only when the scenario
        asks, for drawing.
    windows
        One :class:`WindowPlan` per scenario window, in scenario order.
    reports
        Load reports (``passages._validate.LoadReport``) of every input, in load order.
    timings
        Seconds per stage (the one non-deterministic part; written to timings.json only).
    """

    scenario: Any
    streets: Any
    destinations: Any
    incidents: Any
    windows: tuple[WindowPlan, ...]
    reports: tuple[Any, ...]
    timings: dict[str, float] = field(default_factory=dict)
