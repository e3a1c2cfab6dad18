"""``GET /metrics`` (Prometheus text format) and the middleware that counts HTTP requests.

Requests are labelled by route *template* (``/v0.4/jobs/{UUID}``), never by raw path, so the
series stay few; requests answered before routing (413, 429) or by no route (404) are
``unmatched``. ``/metrics`` is open like ``/health`` unless ``IONSTACK_METRICS_TOKEN`` is set;
then it needs ``Authorization: Bearer <token>`` (what Prometheus sends with ``authorization:
credentials:``). ``IONSTACK_METRICS_ENABLED=false`` removes it.
"""

from __future__ import annotations

import hmac
import time

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ionstack.api.state import AppState
from ionstack.errors import Unauthorized
from ionstack.metrics import DatabaseCollector, Metrics
from ionstack.settings import Settings

UNMATCHED = "unmatched"


def install(app: FastAPI, settings: Settings) -> None:
    """Add ``/metrics`` and the request counter (outermost, so it sees every status)."""
    if not settings.metrics_enabled:
        return
    metrics = Metrics()
    app.state.metrics = metrics
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    @app.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        if token is not None and not _bearer_matches(request, token):
            raise Unauthorized("/metrics needs Authorization: Bearer <IONSTACK_METRICS_TOKEN>.")
        state: AppState = request.app.state.ionstack
        collector = DatabaseCollector(
            state.sessions,
            backends=[b.name for b in state.backends.catalog],
            lease_seconds=settings.lease_seconds,
        )
        body = generate_latest(metrics.registry(collector))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(RequestMetrics, metrics=metrics)


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


class RequestMetrics:
    """Counts requests and times them by method, route template and status."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self.metrics.request(
                method=scope["method"],
                route=self._route(scope),
                status=status,
                seconds=time.perf_counter() - started,
            )

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")
        if not isinstance(route, BaseRoute):
            return UNMATCHED  # answered before routing (413, 429) or no route at all (404)
        own = str(getattr(route, "path", UNMATCHED))
        regex = getattr(route, "path_regex", None)
        path = str(scope.get("path", ""))
        if regex is None or regex.match(path):
            return own
        # A route of an included router knows only its own path (/jobs/{UUID}); the router's
        # prefix is the part of the request path before the part the route matched.
        for i, char in enumerate(path):
            if char == "/" and i and regex.match(path[i:]):
                return path[:i] + own
        return own
