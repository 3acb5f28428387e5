"""The web application: settings, the store it reads, bearer-token checks, and its routes.

A Starlette application (Starlette ships with dagster-webserver). Every route but the facet
schemas needs ``Authorization: Bearer <token>`` when a token is set; the command line refuses
to bind beyond loopback without one.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from lineage.store import LineageStore, open_store

PUBLIC_PREFIXES = ("/spec/",)


@dataclass(frozen=True)
class ServeSettings:
    """What the server serves: a store, optionally the estate (for reports), a token, the spec."""

    store_url: str
    estate_dir: Path | None = None
    token: str | None = None
    spec_dir: Path | None = None
    max_event_bytes: int = 5_000_000


def create_app(settings: ServeSettings) -> Starlette:
    """The application over ``settings.store_url``; the store is opened at startup."""
    from lineage.serve import api, pages, receive, schemas

    routes: list[BaseRoute] = [*api.ROUTES, *receive.ROUTES, *schemas.ROUTES, *pages.ROUTES]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = open_store(settings.store_url)
        app.state.store = store
        try:
            yield
        finally:
            store.close()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=_bearer(settings.token))],
    )
    app.state.settings = settings
    return app


def _bearer(
    token: str | None,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def dispatch(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if token and not request.url.path.startswith(PUBLIC_PREFIXES):
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                value.strip().encode(), token.encode()
            ):
                return JSONResponse(
                    {"error": "a bearer token is required: Authorization: Bearer <token>"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return await call_next(request)

    return dispatch


def store_of(request: Request) -> LineageStore:
    """The store the application opened."""
    store: LineageStore = request.app.state.store
    return store


def settings_of(request: Request) -> ServeSettings:
    """The application's settings."""
    settings: ServeSettings = request.app.state.settings
    return settings
