"""Alembic migrations build the same schema as the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from hub_api.core.db import build_engine
from hub_api.core.migrate import upgrade_head
from hub_api.models_registry import metadata
from tests.conftest import drop_postgres_schema, make_postgres_schema_engine


@pytest.fixture
def empty_engine(db_backend: str, tmp_path: Path) -> Iterator[Engine]:
    if db_backend == "sqlite":
        engine = build_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"axhub_migr_{uuid.uuid4().hex[:10]}"
    engine = make_postgres_schema_engine(schema)
    yield engine
    engine.dispose()
    drop_postgres_schema(schema)


def test_upgrade_head_works_on_an_empty_database(empty_engine: Engine) -> None:
    upgrade_head(engine=empty_engine)
    tables = set(sa.inspect(empty_engine).get_table_names())
    assert {"company", "hub_user", "api_token", "audit_event", "alembic_version"} <= tables


def test_migrations_and_models_agree(empty_engine: Engine) -> None:
    upgrade_head(engine=empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_upgrade_is_idempotent(empty_engine: Engine) -> None:
    upgrade_head(engine=empty_engine)
    upgrade_head(engine=empty_engine)
    with empty_engine.connect() as connection:
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert version is not None
