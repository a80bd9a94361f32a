"""Who sees which cases and comments: tenants, consultants' assignments, internal comments."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from hub_api.users.models import Role
from tests.factories import make_case, make_user
from tests.hub_api.conftest import World

URL = "/api/v1/cases"


def ids(client: TestClient, world: World, who: Role) -> list[int]:
    body = client.get(URL, params={"sort": "created_at"}, headers=world.headers(who)).json()
    return [c["id"] for c in body["items"]]


def test_engineer_sees_only_their_companys_cases(
    client: TestClient, world: World, session: Session
) -> None:
    mine = make_case(session, world.company_a)
    theirs = make_case(session, world.company_b)
    assert ids(client, world, Role.engineer) == [mine.id]
    hidden = client.get(f"{URL}/{theirs.id}", headers=world.headers(Role.engineer))
    assert hidden.status_code == 404
    assert hidden.json()["detail"] == f"case {theirs.id} not found"


def test_consultant_sees_unassigned_cases_and_their_companies_records(
    client: TestClient, world: World, session: Session
) -> None:
    other = make_user(session, Role.consultant)
    unassigned_b = make_case(session, world.company_b)
    mine = make_case(session, world.company_a, assignee=world.consultant)
    colleague_on_a = make_case(session, world.company_a, assignee=other)
    colleague_on_b = make_case(session, world.company_b, assignee=other)
    visible = ids(client, world, Role.consultant)
    assert visible == [unassigned_b.id, mine.id, colleague_on_a.id]
    hidden = client.get(f"{URL}/{colleague_on_b.id}", headers=world.headers(Role.consultant))
    assert hidden.status_code == 404


def test_operator_sees_every_case(client: TestClient, world: World, session: Session) -> None:
    cases = [make_case(session, world.company_a), make_case(session, world.company_b)]
    assert ids(client, world, Role.operator) == [c.id for c in cases]


def test_internal_comments_never_reach_company_users(
    client: TestClient, world: World, session: Session
) -> None:
    case = make_case(session, world.company_a, assignee=world.consultant)
    url = f"{URL}/{case.id}/comments"
    staff = world.headers(Role.consultant)
    client.post(url, json={"body": "Shared plan"}, headers=staff)
    client.post(url, json={"body": "Budget is tight", "visibility": "internal"}, headers=staff)
    company_view = client.get(url, headers=world.headers(Role.engineer)).json()
    staff_view = client.get(url, headers=staff).json()
    assert [c["body"] for c in company_view] == ["Shared plan"]
    assert [c["visibility"] for c in staff_view] == ["shared", "internal"]
    case_json = client.get(f"{URL}/{case.id}", headers=world.headers(Role.engineer)).text
    assert "Budget is tight" not in case_json


def test_company_users_cannot_write_internal_comments(
    client: TestClient, world: World, session: Session
) -> None:
    case = make_case(session, world.company_a)
    response = client.post(
        f"{URL}/{case.id}/comments",
        json={"body": "psst", "visibility": "internal"},
        headers=world.headers(Role.engineer),
    )
    assert response.status_code == 403
    assert "internal" in response.json()["detail"]


def test_visits_are_logged_by_staff_and_shown_to_the_company(
    client: TestClient, world: World, session: Session
) -> None:
    case = make_case(session, world.company_a, assignee=world.consultant)
    url = f"{URL}/{case.id}/visits"
    visit = {
        "kind": "site_visit",
        "held_at": "2026-11-20T10:00:00+09:00",
        "duration_minutes": 90,
        "location": "Changwon plant, line 2",
        "attendees": ["Kim", "Choi"],
        "notes": "Photographed 40 defective housings.",
    }
    assert client.post(url, json=visit, headers=world.headers(Role.consultant)).status_code == 201
    listed = client.get(url, headers=world.headers(Role.engineer)).json()
    assert [(v["location"], v["attendees"]) for v in listed] == [
        ("Changwon plant, line 2", ["Kim", "Choi"])
    ]
