"""MLflow as production runs it (decision record 0006): run metadata in PostgreSQL and artifacts
in an S3-compatible bucket, served through MLflow so the company permissions still guard them.

Started here against the PostgreSQL at 127.0.0.1:5432 (two fresh databases, dropped afterwards)
and the S3 server of tests/s3_server.py; the same tenancy as the lean local server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub_api.core.config import Settings
from tests.conftest import POSTGRES_URL
from tests.hub_api.conftest import World
from tests.integration.conftest import MlflowTestServer, running_mlflow
from tests.integration.test_mlflow_tenancy import log_doubler_run, provision
from tests.s3_server import KEY_ID, SECRET, s3, s3_endpoint

__all__ = ["s3", "s3_endpoint"]  # session fixtures

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres]

API = "/api/v1"
BUCKET = f"axhub-mlflow-{uuid.uuid4().hex[:8]}"


@dataclass
class ProductionMlflow(MlflowTestServer):
    tracking_database: str = ""

    def stored_runs(self, run_id: str) -> int:
        """Rows for ``run_id`` in MLflow's own PostgreSQL database."""
        plain = postgres(self.tracking_database).replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain) as connection:
            row = connection.execute(
                "SELECT count(*) FROM runs WHERE run_uuid = %s", (run_id,)
            ).fetchone()
        return int(row[0]) if row else 0


def postgres(database: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{database}"


def admin_connection() -> psycopg.Connection[Any]:
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(plain, autocommit=True)


@pytest.fixture(scope="module")
def production_mlflow(
    tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str, s3: Any
) -> Iterator[ProductionMlflow]:
    suffix = uuid.uuid4().hex[:8]
    tracking_db, auth_db = f"axhub_mlflow_{suffix}", f"axhub_mlflow_auth_{suffix}"
    with admin_connection() as connection:
        for database in (tracking_db, auth_db):
            connection.execute(f'CREATE DATABASE "{database}"')
    s3.create_bucket(Bucket=BUCKET)
    s3_env = {
        "MLFLOW_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    try:
        with running_mlflow(
            tmp_path_factory.mktemp("mlflow-production"),
            backend_store_uri=postgres(tracking_db),
            auth_database_uri=postgres(auth_db),
            artifacts_destination=f"s3://{BUCKET}/mlflow",
            extra_env=s3_env,
        ) as running:
            yield ProductionMlflow(**vars(running), tracking_database=tracking_db)
    finally:
        with admin_connection() as connection:
            for database in (tracking_db, auth_db):
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(params=["sqlite"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)  # the hub's own database; MLflow's is PostgreSQL here


@pytest.fixture
def settings(settings: Settings, production_mlflow: ProductionMlflow) -> Settings:
    return settings.model_copy(update=production_mlflow.hub_settings())


def test_runs_go_to_postgresql_and_artifacts_to_the_bucket_still_company_scoped(
    client: TestClient,
    world: World,
    session: Session,
    settings: Settings,
    production_mlflow: ProductionMlflow,
    s3: Any,
) -> None:
    tenant = provision(session, settings, world.company_a.id or 0)
    run_id, _ = log_doubler_run(production_mlflow.url, tenant)

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert any(key.endswith(f"{run_id}/artifacts/notes/readme.txt") for key in keys), keys
    assert any(key.endswith("MLmodel") for key in keys), keys
    assert production_mlflow.stored_runs(run_id) == 1  # metadata in MLflow's PostgreSQL

    download = client.get(
        f"{API}/mlflow/runs/{run_id}/artifacts/download",
        params={"path": "notes/readme.txt"},
        headers=world.headers(world.engineer_a),
    )
    assert download.status_code == 200, download.text
    assert download.content == b"hello"
    hidden = client.get(
        f"{API}/mlflow/runs/{run_id}/artifacts/download",
        params={"path": "notes/readme.txt"},
        headers=world.headers(world.engineer_b),
    )
    assert hidden.status_code == 404
