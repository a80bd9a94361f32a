"""Submitting jobs over HTTP: validation, budget admission, cancel, requeue, tenant scope."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from hub_api.cluster.models import ClusterNode
from hub_api.grants.ledger import grant_balance
from hub_api.jobs.models import Job
from hub_api.users.models import Role
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import fund, job_payload, make_job

URL = "/api/v1/jobs"


def submit(client: TestClient, world: World, **overrides: Any) -> Any:
    return client.post(URL, json=job_payload(**overrides), headers=world.headers(world.engineer_a))


def test_template_job_is_queued_and_reserves_its_budget(
    client: TestClient, world: World, session: Session
) -> None:
    fund(session, world.company_a, gpu_hours=10)
    response = submit(client, world, num_gpus=2, time_limit_s=7200)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["status"] == "queued"
    assert job["company_id"] == world.company_a.id
    assert job["reserved_gpu_seconds"] == 2 * 7200
    events = client.get(f"{URL}/{job['id']}/events", headers=world.headers(world.engineer_a))
    assert [e["kind"] for e in events.json()] == ["queued", "admitted"]


def test_budget_exhausted_is_refused_with_the_numbers(
    client: TestClient, world: World, session: Session
) -> None:
    fund(session, world.company_a, gpu_hours=3.5)
    response = submit(client, world, num_gpus=8, time_limit_s=3600)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(
        "company budget would be exceeded: needs 8.0 GPU-h, 3.5 GPU-h left"
    )
    assert session.exec(select(func.count()).select_from(Job)).one() == 0


def test_reservations_of_active_jobs_count_against_the_budget(
    client: TestClient, world: World, session: Session
) -> None:
    fund(session, world.company_a, gpu_hours=2)
    assert submit(client, world, time_limit_s=3600).status_code == 201
    assert submit(client, world, time_limit_s=3600).status_code == 201
    third = submit(client, world, time_limit_s=3600)
    assert third.status_code == 422
    assert "2.0 GPU-h reserved by active jobs" in third.json()["detail"]


def test_a_company_without_grants_cannot_submit(client: TestClient, world: World) -> None:
    response = submit(client, world)
    assert response.status_code == 422
    assert "0.0 GPU-h left" in response.json()["detail"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"num_gpus": 1.5}, "body.num_gpus", "whole number"),
        ({"num_gpus": 0}, "body.num_gpus", "greater than 0"),
        ({"num_gpus": 100}, "body.num_gpus", "less than or equal to 64"),
        ({"time_limit_s": 10}, "body.time_limit_s", "greater than or equal to 60"),
        ({"time_limit_s": "soon"}, "body.time_limit_s", "integer"),
        ({"env_vars": {"CUDA_VISIBLE_DEVICES": "0"}}, "body.env_vars", "set by the hub"),
        ({"env_vars": {"1BAD": "x"}}, "body.env_vars", "not a valid environment variable"),
        ({"arguments": {"epochs": "3; rm -rf /"}}, "body.arguments", "plain value"),
        ({"template": None}, "body", "either a template or an entrypoint"),
        ({"entrypoint": "python x.py"}, "body", "takes no entrypoint"),
        ({"template": "crypto_miner"}, "body.template", "unknown template"),
        ({"name": "x" * 121}, "body.name", "at most 120"),
        ({"colour": "red"}, "body.colour", "Extra inputs"),
    ],
)
def test_bad_job_input_names_the_field(
    client: TestClient,
    world: World,
    session: Session,
    overrides: dict[str, Any],
    field: str,
    message: str,
) -> None:
    fund(session, world.company_a, gpu_hours=100)
    response = submit(client, world, **overrides)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors


def test_jobs_are_checked_against_the_known_inventory(
    client: TestClient, world: World, session: Session
) -> None:
    fund(session, world.company_a, gpu_hours=1000)
    session.add(ClusterNode(node_id="n1", gpu_type="A100", gpu_count=4))
    session.commit()
    wrong_type = submit(client, world, gpu_type="H100")
    assert wrong_type.status_code == 422
    assert "no 'H100' GPUs; available types: A100" in wrong_type.json()["detail"]
    too_big = submit(client, world, gpu_type="A100", num_gpus=8)
    assert "the largest has 4" in too_big.json()["detail"]


def test_engineers_cannot_raise_their_own_priority(
    client: TestClient, world: World, session: Session
) -> None:
    fund(session, world.company_a, gpu_hours=10)
    response = submit(client, world, priority_class="high")
    assert response.status_code == 403
    staff = client.post(
        URL,
        json=job_payload(priority_class="high", company_id=world.company_a.id),
        headers=world.headers(Role.operator),
    )
    assert staff.status_code == 201, staff.text


def test_staff_must_name_the_company(client: TestClient, world: World) -> None:
    response = client.post(URL, json=job_payload(), headers=world.headers(Role.operator))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.company_id"


def test_an_engineer_cannot_submit_for_another_company(
    client: TestClient, world: World, session: Session
) -> None:
    fund(session, world.company_b, gpu_hours=10)
    response = submit(client, world, company_id=world.company_b.id)
    assert response.status_code == 404


def test_cancelling_a_queued_job_releases_its_reservation(
    client: TestClient, world: World, session: Session
) -> None:
    fund(session, world.company_a, gpu_hours=1)
    job = submit(client, world).json()
    cancelled = client.post(f"{URL}/{job['id']}/cancel", headers=world.headers(world.engineer_a))
    assert cancelled.json()["status"] == "cancelled"
    assert submit(client, world).status_code == 201
    again = client.post(f"{URL}/{job['id']}/cancel", headers=world.headers(world.engineer_a))
    assert again.status_code == 409
    assert "already cancelled" in again.json()["detail"]


def test_cancelling_a_requeued_job_charges_its_earlier_runs_and_closes_its_mlflow_run(
    client: TestClient, world: World, session: Session
) -> None:
    grant = fund(session, world.company_a, gpu_hours=5)
    job = make_job(
        session,
        world.company_a,
        submitted_by=world.engineer_a.id or 0,
        attempt=1,
        attained_gpu_seconds=1800.0,
        reserved_gpu_seconds=1800.0 + 3600.0,
        mlflow_run_id="ab" * 16,
    )
    cancelled = client.post(f"{URL}/{job.id}/cancel", headers=world.headers(world.engineer_a))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["charged_gpu_seconds"] == 1800.0
    session.expire_all()
    assert grant_balance(session, grant.id or 0) == 5 * 3600 - 1800
    row = session.get(Job, job.id)
    assert row is not None
    assert row.reserved_gpu_seconds == 0.0
    assert row.mlflow_end_pending  # the scheduler writes the end of the run


def test_requeue_runs_a_finished_job_again_as_a_new_job(
    client: TestClient, world: World, session: Session
) -> None:
    fund(session, world.company_a, gpu_hours=5)
    job = submit(client, world).json()
    client.post(f"{URL}/{job['id']}/cancel", headers=world.headers(world.engineer_a))
    response = client.post(f"{URL}/{job['id']}/requeue", headers=world.headers(world.engineer_a))
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["id"] != job["id"]
    assert new["requeued_from_job_id"] == job["id"]
    assert new["status"] == "queued"
    queued = client.post(f"{URL}/{new['id']}/requeue", headers=world.headers(world.engineer_a))
    assert queued.status_code == 409


def test_engineers_list_only_their_company_jobs(
    client: TestClient, world: World, session: Session
) -> None:
    fund(session, world.company_a, gpu_hours=5)
    fund(session, world.company_b, gpu_hours=5)
    submit(client, world)
    client.post(URL, json=job_payload(), headers=world.headers(world.engineer_b))
    mine = client.get(URL, headers=world.headers(world.engineer_a)).json()
    assert {j["company_id"] for j in mine["items"]} == {world.company_a.id}
    everything = client.get(URL, headers=world.headers(Role.operator)).json()
    assert everything["total"] == 2


def test_uploaded_code_runs_with_its_entrypoint(
    client: TestClient, world: World, session: Session
) -> None:
    fund(session, world.company_a, gpu_hours=5)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("main.py", "print('hello')\n")
    upload = client.post(
        "/api/v1/code-bundles",
        files={"file": ("project.zip", buffer.getvalue(), "application/zip")},
        headers=world.headers(world.engineer_a),
    )
    assert upload.status_code == 201, upload.text
    bundle = upload.json()
    assert bundle["file_count"] == 1
    job = submit(
        client, world, template=None, entrypoint="python main.py", code_bundle_id=bundle["id"]
    )
    assert job.status_code == 201, job.text
    foreign = client.post(
        URL,
        json=job_payload(template=None, entrypoint="python main.py", code_bundle_id=bundle["id"]),
        headers=world.headers(world.engineer_b),
    )
    assert foreign.status_code in (422, 404)


def test_non_zip_upload_is_refused(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/code-bundles",
        files={"file": ("notes.txt", b"hello", "text/plain")},
        headers=world.headers(world.engineer_a),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"


def test_templates_are_listed(client: TestClient, world: World) -> None:
    names = {
        t["name"]
        for t in client.get("/api/v1/job-templates", headers=world.headers(world.engineer_a)).json()
    }
    assert names == {"defect_classifier", "predictive_maintenance"}
