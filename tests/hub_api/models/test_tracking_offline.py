"""Tracking without a reachable MLflow: secrets at rest, settings, an unconfigured hub, and an
MLflow address where nothing answers (a real refused connection, not a mock).

The same behaviours against a real MLflow server are in tests/integration/test_mlflow_*.py.
"""

from __future__ import annotations

import socket
import time

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from hub_api.core.config import Environment, Settings
from hub_api.jobs.models import Job, JobStatus
from hub_api.tracking import secrets
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import A100_NODE, fake_cluster, fund, job_payload

API = "/api/v1"


def dead_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_company_passwords_are_encrypted_and_bound_to_the_secret_key() -> None:
    token = secrets.encrypt("s3cret-pw", secret_key="k" * 40)
    assert "s3cret-pw" not in token
    assert secrets.decrypt(token, secret_key="k" * 40) == "s3cret-pw"
    assert secrets.decrypt(token, secret_key="other" * 10) is None


@pytest.mark.parametrize("password", ["axhub-dev-mlflow-admin-change-me", "short"])
def test_production_refuses_a_default_or_short_mlflow_admin_password(password: str) -> None:
    with pytest.raises(ValidationError, match="HUB_MLFLOW_ADMIN_PASSWORD"):
        Settings(
            environment=Environment.production,
            secret_key="p" * 40,
            mlflow_tracking_uri="http://mlflow:5000",
            mlflow_admin_password=password,
        )
    Settings(environment=Environment.production, secret_key="p" * 40)  # tracking off: fine


def test_without_mlflow_lists_are_empty_and_ids_are_not_found(
    client: TestClient, world: World
) -> None:
    headers = world.headers(world.engineer_a)
    for listing in ("/mlflow/experiments", "/mlflow/runs", "/mlflow/registered-models"):
        response = client.get(API + listing, headers=headers)
        assert response.status_code == 200
        assert response.json() == []
    missing = client.get(f"{API}/mlflow/runs/{'ab' * 16}", headers=headers)
    assert missing.status_code == 404
    assert "not found" in missing.json()["detail"]


def test_an_engineer_cannot_name_another_company(client: TestClient, world: World) -> None:
    response = client.get(
        f"{API}/mlflow/runs",
        params={"company_id": world.company_b.id},
        headers=world.headers(world.engineer_a),
    )
    assert response.status_code == 404


def test_mlflow_unreachable_the_job_starts_anyway_and_says_why(
    client: TestClient, world: World, session: Session, engine: Engine, settings: Settings
) -> None:
    fund(session, world.company_a, gpu_hours=100)
    settings = settings.model_copy(
        update={"mlflow_tracking_uri": dead_address(), "mlflow_retry_interval_s": 0.0}
    )
    service, executor, _ = fake_cluster(engine, settings, A100_NODE)
    headers = world.headers(world.engineer_a)
    job_id = client.post(f"{API}/jobs", json=job_payload(), headers=headers).json()["id"]
    started = time.perf_counter()
    service.run_pass()
    service.run_pass()
    assert time.perf_counter() - started < 5  # short timeouts, never blocks scheduling
    session.expire_all()
    job = session.get(Job, job_id)
    assert job is not None
    assert job.status == JobStatus.running
    assert job.mlflow_run_id is None
    launch = executor.runs[job.submission_id].launch
    assert not any(name.startswith("MLFLOW_") for name in launch.env_vars)
    public = client.get(f"{API}/jobs/{job_id}", headers=headers).json()
    assert (
        "still unreachable" in public["tracking_error"] or "unavailable" in public["tracking_error"]
    )
    metrics = client.get(f"{API}/jobs/{job_id}/metrics", headers=headers).json()
    assert metrics == {
        "run_id": None,
        "job_id": job_id,
        "history": {},
        "tracking_error": public["tracking_error"],
    }
