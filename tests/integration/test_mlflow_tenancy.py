"""Company spaces in a real MLflow server: provisioning, and isolation proven both through the
hub's API and directly against MLflow with the other company's own credentials."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from hub_api.companies.models import Company
from hub_api.core.config import Settings
from hub_api.main import create_app
from hub_api.tracking.client import WORKSPACE_HEADER, MlflowRest
from hub_api.tracking.job_runs import JobTracking
from hub_api.tracking.models import MlflowTenant
from hub_api.tracking.tenancy import (
    TenantCredentials,
    admin_client,
    credentials,
    ensure_tenant,
    workspace_for,
)
from tests.factories import fixed_brn, make_company
from tests.hub_api.conftest import World
from tests.hub_api.models.test_tracking_offline import dead_address
from tests.hub_api.test_companies import company_payload
from tests.integration.conftest import MlflowTestServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

API = "/api/v1"


@pytest.fixture(params=["sqlite"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(settings: Settings, mlflow_server: MlflowTestServer) -> Settings:
    return settings.model_copy(update=mlflow_server.hub_settings())


def provision(session: Session, settings: Settings, company_id: int) -> TenantCredentials:
    client = admin_client(settings)
    assert client is not None
    tenant = ensure_tenant(session=session, settings=settings, client=client, company_id=company_id)
    session.commit()
    return tenant


@contextmanager
def as_company(url: str, tenant: TenantCredentials) -> Iterator[None]:
    """MLflow's client environment of a job of this company (what the scheduler injects)."""
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
    saved = {name: os.environ.get(name) for name in (*names, "MLFLOW_WORKSPACE")}
    os.environ.update(
        MLFLOW_TRACKING_URI=url,
        MLFLOW_TRACKING_USERNAME=tenant.username,
        MLFLOW_TRACKING_PASSWORD=tenant.password,
        MLFLOW_WORKSPACE=tenant.workspace,
    )
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def log_doubler_run(url: str, tenant: TenantCredentials) -> tuple[str, str]:
    """As the company: a run with metrics and a tiny pyfunc model; (run id, model id)."""
    import mlflow
    from mlflow.pyfunc import PythonModel

    class Doubler(PythonModel):
        def predict(self, context, model_input, params=None):
            return np.asarray(model_input) * 2

    with as_company(url, tenant):
        mlflow.set_tracking_uri(url)
        with mlflow.start_run(experiment_id=tenant.experiment_id) as run:
            for step in range(3):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_text("hello", "notes/readme.txt")
            info = mlflow.pyfunc.log_model(
                name="doubler", python_model=Doubler(), pip_requirements=[]
            )
        return run.info.run_id, str(info.model_id)


_LOGGED: dict[tuple[str, str], tuple[str, str]] = {}


@dataclass
class TwoCompanies:
    a: TenantCredentials
    b: TenantCredentials
    run_id: str
    model_id: str


@pytest.fixture
def two_companies(
    world: World, session: Session, settings: Settings, mlflow_server: MlflowTestServer
) -> TwoCompanies:
    a = provision(session, settings, world.company_a.id or 0)
    b = provision(session, settings, world.company_b.id or 0)
    # Every test's fresh database numbers the companies alike, so company A's workspace (and
    # the run logged there by an earlier test) is the same: log it once per server.
    key = (mlflow_server.url, a.workspace)
    if key not in _LOGGED:
        _LOGGED[key] = log_doubler_run(mlflow_server.url, a)
    run_id, model_id = _LOGGED[key]
    return TwoCompanies(a, b, run_id, model_id)


def test_provisioning_is_idempotent_and_the_password_is_stored_encrypted(
    world: World, session: Session, settings: Settings
) -> None:
    first = provision(session, settings, world.company_a.id or 0)
    session.get(MlflowTenant, world.company_a.id).provisioned_at = None  # type: ignore[union-attr]
    session.commit()
    again = provision(session, settings, world.company_a.id or 0)
    assert (again.workspace, again.experiment_id, again.password) == (
        first.workspace,
        first.experiment_id,
        first.password,
    )
    row = session.get(MlflowTenant, world.company_a.id)
    assert row is not None
    assert first.password not in row.password_encrypted


def test_company_b_credentials_cannot_reach_company_a_directly(
    two_companies: TwoCompanies, mlflow_server: MlflowTestServer
) -> None:
    a, b, run_id, model_id = (
        two_companies.a,
        two_companies.b,
        two_companies.run_id,
        two_companies.model_id,
    )
    admin = admin_client_for(mlflow_server)
    admin.post(
        "/api/2.0/mlflow/registered-models/create", {"name": "secret-model"}, workspace=a.workspace
    )
    admin.post(
        "/api/2.0/mlflow/model-versions/create",
        {
            "name": "secret-model",
            "source": f"models:/{model_id}",
            "run_id": run_id,
            "model_id": model_id,
        },
        workspace=a.workspace,
    )
    exp = a.experiment_id
    gets = [
        f"/api/2.0/mlflow/runs/get?run_id={run_id}",
        f"/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key=loss",
        f"/api/2.0/mlflow/artifacts/list?run_id={run_id}",
        f"/get-artifact?path=notes/readme.txt&run_uuid={run_id}",
        f"/api/2.0/mlflow-artifacts/artifacts/workspaces/{a.workspace}/{exp}/{run_id}/artifacts/notes/readme.txt",
        f"/api/2.0/mlflow-artifacts/artifacts/workspaces/{a.workspace}/{exp}/models/{model_id}/artifacts/MLmodel",
        f"/api/2.0/mlflow/logged-models/{model_id}",
        f"/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files?artifact_file_path=MLmodel",
        f"/api/2.0/mlflow/experiments/get?experiment_id={exp}",
        "/api/2.0/mlflow/registered-models/get?name=secret-model",
        "/api/2.0/mlflow/model-versions/get?name=secret-model&version=1",
    ]
    b_auth = (b.username, b.password)
    for workspace in (b.workspace, a.workspace, None):
        headers = {WORKSPACE_HEADER: workspace} if workspace else {}
        for path in gets:
            response = httpx.get(mlflow_server.url + path, auth=b_auth, headers=headers)
            assert response.status_code in (403, 404), (workspace, path, response.text)
            assert "loss" not in response.text
            assert "hello" not in response.text
        writes = [
            (
                "/api/2.0/mlflow/runs/log-metric",
                {"run_id": run_id, "key": "x", "value": 1.0, "timestamp": 0},
            ),
            ("/api/2.0/mlflow/runs/search", {"experiment_ids": [exp]}),
            (
                "/api/2.0/mlflow/registered-models/alias",
                {"name": "secret-model", "alias": "x", "version": "1"},
            ),
        ]
        for path, body in writes:
            response = httpx.post(mlflow_server.url + path, auth=b_auth, headers=headers, json=body)
            assert response.status_code in (403, 404) or response.json() in ({}, {"runs": []}), (
                workspace,
                path,
                response.text,
            )
    # A's own credentials do reach all of it.
    a_auth, a_headers = (a.username, a.password), {WORKSPACE_HEADER: a.workspace}
    for path in gets:
        response = httpx.get(mlflow_server.url + path, auth=a_auth, headers=a_headers)
        assert response.status_code == 200, (path, response.text)
    # And MLflow's own client, as B, cannot load A's model.
    import mlflow.pyfunc

    with as_company(mlflow_server.url, b), pytest.raises(Exception):  # noqa: B017, PT011
        mlflow.pyfunc.load_model(f"models:/{model_id}")
    with as_company(mlflow_server.url, a):
        model = mlflow.pyfunc.load_model(f"models:/{model_id}")
        assert model.predict(np.array([[1.0, 2.0]])).tolist() == [[2.0, 4.0]]


def admin_client_for(server: MlflowTestServer) -> Any:
    from hub_api.tracking.client import MlflowRest

    return MlflowRest(server.url, server.admin_username, server.admin_password)


def test_hub_api_answers_404_for_another_companys_run_and_model(
    two_companies: TwoCompanies, client: TestClient, world: World
) -> None:
    run_id = two_companies.run_id
    a_headers, b_headers = world.headers(world.engineer_a), world.headers(world.engineer_b)
    register = client.post(
        f"{API}/mlflow/registered-models/doubler/versions",
        json={"run_id": run_id},
        headers=a_headers,
    )
    assert register.status_code == 201, register.text
    assert register.json()["version"] == "1"
    alias = client.put(
        f"{API}/mlflow/registered-models/doubler/aliases/champion",
        json={"version": "1"},
        headers=a_headers,
    )
    assert alias.status_code == 200, alias.text
    assert alias.json()["aliases"] == ["champion"]

    own = client.get(f"{API}/mlflow/runs/{run_id}", headers=a_headers)
    assert own.status_code == 200
    champion = {"name": "doubler", "version": "1", "aliases": ["champion"]}
    assert champion in own.json()["model_versions"]
    history = client.get(f"{API}/mlflow/runs/{run_id}/metrics", headers=a_headers).json()
    assert [p["value"] for p in history["history"]["loss"]] == pytest.approx([1.0, 0.5, 1 / 3])
    text = client.get(
        f"{API}/mlflow/runs/{run_id}/artifacts/download",
        params={"path": "notes/readme.txt"},
        headers=a_headers,
    )
    assert text.status_code == 200
    assert text.content == b"hello"

    for path, params in [
        (f"/mlflow/runs/{run_id}", {}),
        (f"/mlflow/runs/{run_id}/metrics", {}),
        (f"/mlflow/runs/{run_id}/artifacts", {}),
        (f"/mlflow/runs/{run_id}/artifacts/download", {"path": "notes/readme.txt"}),
        (
            f"/mlflow/runs/{run_id}/artifacts/download",
            {"path": f"logged-models/{two_companies.model_id}/MLmodel"},
        ),
        ("/mlflow/registered-models/doubler", {}),
        ("/mlflow/registered-models/doubler/versions/1", {}),
        (f"/mlflow/runs/{run_id}", {"company_id": world.company_a.id}),
    ]:
        response = client.get(API + path, params=params, headers=b_headers)
        assert response.status_code == 404, (path, response.text)
    stolen = client.post(
        f"{API}/mlflow/registered-models/mine/versions", json={"run_id": run_id}, headers=b_headers
    )
    assert stolen.status_code == 404
    moved = client.put(
        f"{API}/mlflow/registered-models/doubler/aliases/champion",
        json={"version": "1"},
        headers=b_headers,
    )
    assert moved.status_code == 404
    for listing in ("/mlflow/runs", "/mlflow/registered-models", "/mlflow/experiments"):
        body = client.get(API + listing, headers=b_headers).json()
        assert all(item["company_id"] == world.company_b.id for item in body), body
        own_list = client.get(API + listing, headers=a_headers).json()
        assert own_list
        assert all(item["company_id"] == world.company_a.id for item in own_list)
    staff = client.get(f"{API}/mlflow/runs/{run_id}", headers=world.headers(world.operator))
    assert staff.status_code == 200


# ----- a company's space follows the company: onboarding, MLflow down, deletion -----------------
def new_company(client: TestClient, world: World, n: int) -> int:
    payload = company_payload(
        name=f"Onboarded {n}", business_registration_number=fixed_brn(900 + n)
    )
    response = client.post(f"{API}/companies", json=payload, headers=world.headers(world.operator))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def reaches_own_experiment(url: str, tenant: TenantCredentials) -> int:
    """Status of reading the company's experiment with the company's own MLflow credentials."""
    return httpx.get(
        f"{url}/api/2.0/mlflow/experiments/get",
        params={"experiment_id": tenant.experiment_id},
        auth=(tenant.username, tenant.password),
        headers={WORKSPACE_HEADER: tenant.workspace},
        timeout=10,
    ).status_code


def stored_tenant(session: Session, settings: Settings, company_id: int) -> TenantCredentials:
    """The company's provisioned space as the hub stored it."""
    session.expire_all()
    row = session.get(MlflowTenant, company_id)
    assert row is not None
    assert row.provisioned_at is not None
    tenant = credentials(row, settings)
    assert tenant is not None
    return tenant


def test_a_company_gets_its_mlflow_space_when_it_is_onboarded(
    client: TestClient,
    world: World,
    session: Session,
    settings: Settings,
    mlflow_server: MlflowTestServer,
) -> None:
    company_id = new_company(client, world, 1)
    tenant = stored_tenant(session, settings, company_id)
    assert reaches_own_experiment(mlflow_server.url, tenant) == 200


def test_a_company_onboarded_while_mlflow_is_down_is_provisioned_by_the_scheduler_later(
    world: World,
    session: Session,
    engine: Engine,
    settings: Settings,
    mlflow_server: MlflowTestServer,
) -> None:
    down = settings.model_copy(update={"mlflow_tracking_uri": dead_address()})
    with TestClient(create_app(down, engine=engine)) as offline_client:
        company_id = new_company(offline_client, world, 2)  # onboarding does not wait for MLflow
    assert session.get(MlflowTenant, company_id) is None

    assert JobTracking(down).provision_missing_tenants(session) == []  # still down: nothing
    provisioned = JobTracking(settings).provision_missing_tenants(session, budget_s=120)
    assert company_id in provisioned
    tenant = stored_tenant(session, settings, company_id)
    assert reaches_own_experiment(mlflow_server.url, tenant) == 200
    assert JobTracking(settings).provision_missing_tenants(session) == []  # nothing left


def test_deleting_a_company_retires_its_mlflow_credentials(
    client: TestClient,
    world: World,
    session: Session,
    settings: Settings,
    mlflow_server: MlflowTestServer,
) -> None:
    company_id = new_company(client, world, 3)
    tenant = stored_tenant(session, settings, company_id)
    assert reaches_own_experiment(mlflow_server.url, tenant) == 200

    deleted = client.delete(f"{API}/companies/{company_id}", headers=world.headers(world.admin))
    assert deleted.status_code == 204, deleted.text
    session.expire_all()
    assert session.get(MlflowTenant, company_id) is None
    assert reaches_own_experiment(mlflow_server.url, tenant) == 401


def interrupted_client(settings: Settings, meanwhile: Callable[[str], None]) -> MlflowRest:
    """The admin client, with ``meanwhile(workspace)`` run just before the experiment step of a
    provisioning (after the MLflow user got its password, before the hub stores the space)."""
    base = admin_client(settings)
    assert base is not None

    class Interrupted(MlflowRest):
        def ensure_experiment(self, workspace: str, name: str) -> str:
            meanwhile(workspace)
            return super().ensure_experiment(workspace, name)

    return Interrupted(base.base_url, base.username, base.password, base.timeout_s)


def test_two_provisioners_racing_end_with_one_space_and_working_credentials(
    world: World, engine: Engine, settings: Settings, mlflow_server: MlflowTestServer
) -> None:
    """The scheduler provisions the company while the onboarding task does the same: the later
    one loses at insert, adopts the stored space and puts its password back in MLflow."""
    company_id = world.company_a.id or 0

    def winner_runs_in_between(_: str) -> None:
        with Session(engine) as winner:
            provision(winner, settings, company_id)  # commits its row and sets its password

    loser_client = interrupted_client(settings, winner_runs_in_between)
    with Session(engine) as loser:
        adopted = ensure_tenant(
            session=loser, settings=settings, client=loser_client, company_id=company_id
        )
        loser.commit()
    with Session(engine) as check:
        stored = check.get(MlflowTenant, company_id)
        assert stored is not None
        assert credentials(stored, settings) == adopted
    assert reaches_own_experiment(mlflow_server.url, adopted) == 200


def test_a_company_deleted_while_being_provisioned_is_skipped(
    world: World, session: Session, engine: Engine, settings: Settings
) -> None:
    doomed = make_company(session, name="Short-lived Co").id or 0
    kept = {world.company_a.id, world.company_b.id}

    def delete_meanwhile(workspace: str) -> None:
        if workspace == workspace_for(doomed):
            with Session(engine) as other:
                other.delete(other.get(Company, doomed))
                other.commit()

    tracking = JobTracking(settings)
    tracking.client = interrupted_client(settings, delete_meanwhile)
    provisioned = tracking.provision_missing_tenants(session, budget_s=120)
    assert doomed not in provisioned
    assert kept <= set(provisioned)
