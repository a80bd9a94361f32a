"""Users: creation by admins, validation, duplicates, deactivation, password resets."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub_api.audit.models import AuditEvent
from hub_api.users.models import Role
from tests.hub_api.conftest import World

URL = "/api/v1/users"


def user_payload(world: World, **overrides: Any) -> dict[str, Any]:
    return {
        "email": "New.Engineer@Alpha.example",
        "full_name": "New Engineer",
        "role": "engineer",
        "company_id": world.company_a.id,
        "password": "a-strong-pass-9",
    } | overrides


def test_admin_creates_an_engineer_with_a_lowercased_email(
    client: TestClient, world: World
) -> None:
    response = client.post(URL, json=user_payload(world), headers=world.headers(Role.admin))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "new.engineer@alpha.example"
    assert "password" not in body
    assert "password_hash" not in body


def test_duplicate_email_is_a_conflict_regardless_of_case(client: TestClient, world: World) -> None:
    headers = world.headers(Role.admin)
    assert client.post(URL, json=user_payload(world), headers=headers).status_code == 201
    again = client.post(
        URL, json=user_payload(world, email="NEW.engineer@alpha.EXAMPLE"), headers=headers
    )
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not-an-email"}, "body.email", "email"),
        ({"email": "a" * 320 + "@x.example"}, "body.email", ""),
        ({"full_name": "x" * 121}, "body.full_name", "at most 120"),
        ({"password": "short1"}, "body.password", "at least 10"),
        ({"password": "onlyletterspassword"}, "body.password", "mix letters"),
        ({"role": "superuser"}, "body.role", "engineer"),
        ({"company_id": "abc"}, "body.company_id", "integer"),
        ({"company_id": None}, "body", "company_id is required"),
        ({"role": "consultant"}, "body", "hub staff have no company_id"),
        ({"company_id": 999999}, "body.company_id", "does not exist"),
    ],
)
def test_bad_user_input_is_refused_with_the_field(
    client: TestClient, world: World, overrides: dict[str, Any], field: str, message: str
) -> None:
    response = client.post(
        URL, json=user_payload(world, **overrides), headers=world.headers(Role.admin)
    )
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors


def test_engineer_sees_only_colleagues(client: TestClient, world: World) -> None:
    body = client.get(URL, headers=world.headers(Role.engineer)).json()
    assert {u["id"] for u in body["items"]} == {world.engineer_a.id}
    hidden = client.get(f"{URL}/{world.engineer_b.id}", headers=world.headers(Role.engineer))
    assert hidden.status_code == 404


def test_deactivated_user_loses_access_at_once(client: TestClient, world: World) -> None:
    engineer_headers = world.headers(world.engineer_a)
    assert client.get("/api/v1/auth/me", headers=engineer_headers).status_code == 200
    response = client.delete(f"{URL}/{world.engineer_a.id}", headers=world.headers(Role.admin))
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert client.get("/api/v1/auth/me", headers=engineer_headers).status_code == 401


def test_admin_cannot_demote_or_deactivate_themselves(client: TestClient, world: World) -> None:
    headers = world.headers(Role.admin)
    response = client.patch(f"{URL}/{world.admin.id}", json={"role": "operator"}, headers=headers)
    assert response.status_code == 403
    assert client.delete(f"{URL}/{world.admin.id}", headers=headers).status_code == 403


def test_moving_staff_into_a_company_requires_the_engineer_role(
    client: TestClient, world: World
) -> None:
    response = client.patch(
        f"{URL}/{world.consultant.id}",
        json={"company_id": world.company_a.id},
        headers=world.headers(Role.admin),
    )
    assert response.status_code == 422
    promoted = client.patch(
        f"{URL}/{world.engineer_a.id}",
        json={"role": "consultant"},
        headers=world.headers(Role.admin),
    )
    assert promoted.status_code == 200
    assert promoted.json()["company_id"] is None


def test_admin_password_reset_issues_a_temporary_password(
    client: TestClient, world: World, session: Session
) -> None:
    old_headers = world.headers(world.engineer_a)
    response = client.post(
        f"{URL}/{world.engineer_a.id}/password-reset", json={}, headers=world.headers(Role.admin)
    )
    assert response.status_code == 200
    temporary = response.json()["temporary_password"]
    assert temporary
    assert response.json()["must_change_password"] is True
    assert client.get("/api/v1/auth/me", headers=old_headers).status_code == 401
    login = client.post(
        "/api/v1/auth/login", json={"email": world.engineer_a.email, "password": temporary}
    )
    assert login.status_code == 200
    assert login.json()["must_change_password"] is True
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "user.password_reset")).one()
    assert event.actor_user_id == world.admin.id
    assert temporary not in str(event.after) + str(event.before)
