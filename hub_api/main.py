"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.engine import Engine

from hub_api import __version__
from hub_api.api import api_router
from hub_api.core.config import Settings, get_settings
from hub_api.core.db import build_engine
from hub_api.core.errors import install_error_handlers
from hub_api.core.logging import configure_logging
from hub_api.core.ratelimit import LoginRateLimiter
from hub_api.notifications.mailer import install_email_outbox
from hub_api.ops.config import get_ops_settings
from hub_api.ops.metrics import install_metrics
from hub_api.storage.base import storage_for


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    app = FastAPI(
        title="Regional AX hub API",
        version=__version__,
        description=(
            "Companies, users, consultation cases, GPU-hour grants and GPU jobs of a regional "
            "AI-transformation hub. Errors are RFC 9457 problem details."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url="/docs",
        redoc_url="/redoc",
    )
    app.state.settings = settings
    app.state.engine = engine or build_engine(settings.database_url, echo=settings.sql_echo)
    # built once per app; an S3 bucket is checked here, so a bad setup stops the start
    app.state.attachment_storage = storage_for(settings)
    app.state.login_limiter = LoginRateLimiter(
        max_failures=settings.login_max_failures, window_seconds=settings.login_window_seconds
    )
    app.dependency_overrides[get_settings] = lambda: settings
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    install_error_handlers(app)
    install_email_outbox(app)
    install_metrics(app, settings=settings, ops=get_ops_settings())
    app.include_router(api_router)
    return app
