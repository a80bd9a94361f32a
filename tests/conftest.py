"""Shared fixtures: every DB test runs on SQLite and on the PostgreSQL at 127.0.0.1:5432.

PostgreSQL tests use a schema of their own per test session (``search_path``), so parallel runs
on one machine never see each other's rows; tables are truncated between tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from hub_api.core.config import Environment, Settings
from hub_api.core.db import build_engine
from hub_api.main import create_app
from hub_api.models_registry import metadata
from tests.ray_cluster import ray_cluster

__all__ = ["ray_cluster"]

POSTGRES_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def pytest_configure(config: pytest.Config) -> None:
    # tests/scheduler/test_compiled_core.py runs the core's tests in a compiled copy of the
    # tree: refuse to pass them quietly against the sources instead
    if os.environ.get("AXHUB_REQUIRE_COMPILED_CORE") == "1":
        from scheduler.core import core_build

        if core_build() != "compiled":
            raise pytest.UsageError("AXHUB_REQUIRE_COMPILED_CORE=1 but scheduler.core is pure")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_backend") == "postgres":
            item.add_marker(pytest.mark.postgres)
        # `make test` runs two workers (pytest-xdist, --dist loadgroup): every test that uses
        # the session's real Ray cluster / MLflow server runs in one worker, so each is started
        # once, while the other worker runs the rest.
        if item.get_closest_marker("integration") is not None:
            item.add_marker(pytest.mark.xdist_group("cluster"))


def make_postgres_schema_engine(schema: str) -> Engine:
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    admin.dispose()
    return sa.create_engine(
        POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True
    )


def drop_postgres_schema(schema: str) -> None:
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    schema = f"axhub_test_{uuid.uuid4().hex[:10]}"
    engine = make_postgres_schema_engine(schema)
    metadata.create_all(engine)
    yield engine
    engine.dispose()
    drop_postgres_schema(schema)


@pytest.fixture(params=["sqlite", "postgres"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(db_backend: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    if db_backend == "sqlite":
        sqlite_engine = build_engine("sqlite://")
        metadata.create_all(sqlite_engine)
        yield sqlite_engine
        sqlite_engine.dispose()
        return
    pg_engine: Engine = request.getfixturevalue("postgres_engine")
    yield pg_engine
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with pg_engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        environment=Environment.test,
        database_url="sqlite://",
        data_dir=tmp_path_factory.mktemp("data"),
        attachment_dir=tmp_path_factory.mktemp("attachments"),
        secret_key=TEST_SECRET,
        login_max_failures=5,
        login_window_seconds=900,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine=engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as db_session:
        yield db_session
