"""What a consultant sees: the full records of the companies whose cases they work, the profile
of a company whose case still waits for triage, and nothing of any other company."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub_api.companies.models import Company
from hub_api.users.models import Role
from tests.factories import make_case, make_company, make_user
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import make_job

API = "/api/v1"


@pytest.fixture
def triage_company(world: World, session: Session) -> int:
    """Company C asked for help; nobody works its case yet. Company A's case is the
    consultant's; company B's case belongs to another consultant."""
    company_c = make_company(session, name="Gamma Castings")
    make_case(session, company_c)
    make_case(session, world.company_a, assignee=world.consultant)
    make_case(session, world.company_b, assignee=make_user(session, Role.consultant))
    return company_c.id or 0


def ids(response_json: dict) -> set[int]:
    return {item["id"] for item in response_json["items"]}


def test_company_list_holds_assigned_and_triage_companies_only(
    client: TestClient, world: World, triage_company: int
) -> None:
    listed = client.get(f"{API}/companies", headers=world.headers(world.consultant))
    assert ids(listed.json()) == {world.company_a.id, triage_company}


@pytest.mark.parametrize(
    ("target", "expected"),
    [("assigned", 200), ("triage", 200), ("other", 404)],
)
def test_company_profile(
    client: TestClient, world: World, triage_company: int, target: str, expected: int
) -> None:
    company_id = {
        "assigned": world.company_a.id,
        "triage": triage_company,
        "other": world.company_b.id,
    }[target]
    response = client.get(f"{API}/companies/{company_id}", headers=world.headers(world.consultant))
    assert response.status_code == expected, response.text


def test_users_of_a_triage_company_stay_hidden(
    client: TestClient, world: World, session: Session, triage_company: int
) -> None:
    company_c = session.get(Company, triage_company)
    engineer_c = make_user(session, Role.engineer, company_c)
    headers = world.headers(world.consultant)
    listed = ids(client.get(f"{API}/users", params={"limit": 100}, headers=headers).json())
    assert world.engineer_a.id in listed
    assert world.operator.id in listed  # hub colleagues
    assert world.engineer_b.id not in listed
    assert engineer_c.id not in listed
    hidden = client.get(f"{API}/users/{engineer_c.id}", headers=headers)
    assert hidden.status_code == 404


def test_jobs_of_unassigned_companies_stay_hidden(
    client: TestClient, world: World, session: Session, triage_company: int
) -> None:
    own = make_job(session, world.company_a, submitted_by=world.engineer_a.id or 0)
    other = make_job(session, world.company_b, submitted_by=world.engineer_b.id or 0)
    headers = world.headers(world.consultant)
    listed = ids(client.get(f"{API}/jobs", headers=headers).json())
    assert listed == {own.id}
    assert client.get(f"{API}/jobs/{other.id}", headers=headers).status_code == 404
    runs = client.get(
        f"{API}/mlflow/runs", params={"company_id": world.company_b.id}, headers=headers
    )
    assert runs.status_code == 404


def test_without_assignments_a_consultant_sees_no_company_records(
    client: TestClient, world: World, session: Session
) -> None:
    make_job(session, world.company_a, submitted_by=world.engineer_a.id or 0)
    headers = world.headers(world.consultant)
    assert client.get(f"{API}/jobs", headers=headers).json()["items"] == []
    assert client.get(f"{API}/companies", headers=headers).json()["items"] == []
