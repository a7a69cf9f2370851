"""Prometheus metrics: requests by route template, and the log and projection positions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

from infrastructure.projection_state import progress_rows
from interfaces.inference_wiring import WaitersCollector

if TYPE_CHECKING:
    from interfaces.bootstrap import Container

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _PositionsCollector(Collector):
    """Reads the head and the projection positions at scrape time."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def collect(self) -> Iterator[GaugeMetricFamily]:
        head = GaugeMetricFamily("agentrun_log_head_position", "Position of the newest event")
        lag = GaugeMetricFamily(
            "agentrun_projection_lag", "Events the projection has still to process", labels=["name"]
        )
        app = self.container
        try:
            rows = progress_rows(app.db, app.log, [p.name for p in app.projections])
            head_position = rows[0]["headPosition"] if rows else app.log.head()
        except Exception:  # noqa: BLE001 - a scrape during an outage reports nothing
            return
        head.add_metric([], head_position)
        for row in rows:
            lag.add_metric([row["name"]], row["lag"])
        yield head
        yield lag


class Metrics:
    """One registry per app, so several apps in one process never collide."""

    def __init__(self, container: Container) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "agentrun_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "agentrun_http_request_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            registry=self.registry,
        )
        # Which server process answered: with `serve --workers N` each process is a replica.
        Gauge("agentrun_process", "This server process", ["pid"], registry=self.registry).labels(
            str(os.getpid())
        ).set(1)
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self.registry.register(_PositionsCollector(container))
        self.registry.register(WaitersCollector(container.waiters))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        # The labelled children, looked up once per route and status (a lookup takes a lock and
        # builds a label tuple: a few percent of a one-event append's server CPU).
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE)
