"""The application factory: ``create_app(settings)`` builds everything; nothing at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ionstack import __version__
from ionstack.api import (
    artifacts,
    backends,
    console,
    costs,
    handlers,
    jobs,
    metrics,
    sessions,
    whoami,
)
from ionstack.api.middleware import BodyLimit, RequestContext, TextGuard
from ionstack.api.models import Error, Health
from ionstack.api.ratelimit import RateLimit
from ionstack.api.state import AppState
from ionstack.api.submissions import Submissions
from ionstack.settings import Settings
from ionstack.store.database import current_revision, head_revision

API_PREFIX = "/v0.4"

_ERRORS = {
    status: {"model": Error, "description": text_}
    for status, text_ in (
        (400, "Invalid request"),
        (401, "Missing, malformed, unknown or revoked API key"),
        (403, "The key lacks the right"),
        (404, "Not found"),
        (413, "Request body over 10 MB"),
        (429, "Rate limited"),
    )
}


def create_app(settings: Settings, *, state: AppState | None = None) -> FastAPI:
    """Build the ionstack ASGI app.

    Args:
        settings: the configuration in force.
        state: an already opened state (tests); by default the lifespan opens one, which
            migrates the database and bootstraps accounts when ``settings.auto_migrate``.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = state or AppState.open(settings)
        app.state.ionstack = opened
        app.state.submissions = Submissions(opened, metrics=getattr(app.state, "metrics", None))
        opened.backends.ensure_history()
        await opened.completions.start()
        try:
            yield
        finally:
            await opened.completions.stop()
            if state is None:
                opened.close()

    app = FastAPI(
        title="ionstack",
        version=__version__,
        description="A self-hosted quantum cloud that speaks the IonQ Cloud Platform API v0.4.",
        lifespan=lifespan,
        responses=_ERRORS,  # type: ignore[arg-type]
    )
    handlers.install(app)
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(whoami.router)
    api.include_router(backends.router)
    api.include_router(costs.router)  # before jobs: /jobs/estimate is not /jobs/{UUID}
    api.include_router(jobs.router)
    api.include_router(artifacts.router)
    api.include_router(sessions.router)
    app.include_router(api)
    console.install(app)

    @app.get("/health", response_model=Health, tags=["health"])
    def health() -> JSONResponse:
        """200 once the database is reachable and migrated, else 503."""
        opened: AppState = app.state.ionstack
        try:
            with opened.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            revision = current_revision(opened.engine)
        except Exception:
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable", "revision": None}, 503
            )
        migrated = revision == head_revision()
        body = {
            "status": "ok" if migrated else "migrating",
            "database": opened.engine.dialect.name,
            "revision": revision,
        }
        return JSONResponse(body, status_code=200 if migrated else 503)

    app.add_middleware(TextGuard, max_drain_bytes=settings.max_drain_bytes)
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, max_drain_bytes=settings.max_drain_bytes
    )
    if settings.rate_limit.strip():
        app.add_middleware(
            RateLimit, limit=settings.rate_limit, storage=settings.rate_limit_storage
        )
    app.add_middleware(RequestContext)
    metrics.install(app, settings)  # outermost: counts every answer, 413 and 429 included
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory ionstack.app:app_from_env``: settings from the env."""
    return create_app(Settings())
