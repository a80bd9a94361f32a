"""Login, access tokens, rate limiting and personal API tokens."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub_api.core.security import create_access_token, utcnow
from hub_api.users.models import Role
from tests.factories import DEFAULT_PASSWORD, make_api_token
from tests.hub_api.conftest import World

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
TOKENS = "/api/v1/auth/tokens"


def login(client: TestClient, email: str, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    response = client.post(LOGIN, json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_login_returns_a_short_lived_token_that_works(client: TestClient, world: World) -> None:
    response = client.post(
        LOGIN, json={"email": world.engineer_a.email.upper(), "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == world.settings.access_token_minutes * 60
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert client.get(ME, headers=headers).json()["email"] == world.engineer_a.email


@pytest.mark.parametrize("email", ["nobody@example.com", "WRONG_PASSWORD"])
def test_wrong_credentials_get_one_message(client: TestClient, world: World, email: str) -> None:
    address = world.engineer_a.email if email == "WRONG_PASSWORD" else email
    response = client.post(LOGIN, json={"email": address, "password": "not-the-password-1"})
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong e-mail or password"


def test_login_is_rate_limited_after_repeated_failures(client: TestClient, world: World) -> None:
    for _ in range(world.settings.login_max_failures):
        bad = client.post(LOGIN, json={"email": world.admin.email, "password": "guess-guess-1"})
        assert bad.status_code == 401
    blocked = client.post(LOGIN, json={"email": world.admin.email, "password": DEFAULT_PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    other_user = client.post(
        LOGIN, json={"email": world.operator.email, "password": DEFAULT_PASSWORD}
    )
    assert other_user.status_code == 200


def test_deactivated_user_cannot_log_in(client: TestClient, world: World, session: Session) -> None:
    world.engineer_b.is_active = False
    session.add(world.engineer_b)
    session.commit()
    response = client.post(
        LOGIN, json={"email": world.engineer_b.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "authentication required"),
        ("Bearer not-a-jwt", "invalid access token"),
        ("Basic dXNlcjpwYXNz", "authentication required"),
        ("Bearer axh_deadbeef_secret", "invalid API token"),
    ],
)
def test_missing_or_malformed_credentials_get_401(
    client: TestClient, world: World, header: str | None, message: str
) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get(ME, headers=headers)
    assert response.status_code == 401
    assert message in response.json()["detail"]


def test_expired_access_token_is_refused(client: TestClient, world: World) -> None:
    token, _ = create_access_token(
        user_id=world.admin.id or 0,
        generation=0,
        secret_key=world.settings.secret_key,
        minutes=1,
        now=utcnow() - timedelta(minutes=5),
    )
    response = client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_token_signed_with_another_key_is_refused(client: TestClient, world: World) -> None:
    token, _ = create_access_token(
        user_id=world.admin.id or 0, generation=0, secret_key="x" * 40, minutes=5
    )
    assert client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_api_token_is_shown_once_stored_hashed_and_works(
    client: TestClient, world: World, session: Session
) -> None:
    headers = login(client, world.engineer_a.email)
    created = client.post(
        TOKENS, json={"name": "ci", "scopes": ["read"], "expires_in_days": 7}, headers=headers
    )
    assert created.status_code == 201
    plaintext = created.json()["token"]
    listed = client.get(TOKENS, headers=headers).json()
    assert listed[0]["name"] == "ci"
    assert "token" not in listed[0]
    assert plaintext not in str(listed)
    api_headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get(ME, headers=api_headers).json()["id"] == world.engineer_a.id


def test_read_scoped_token_cannot_write(client: TestClient, world: World, session: Session) -> None:
    _, plaintext = make_api_token(session, world.admin, scopes=["read"])
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/companies", headers=headers).status_code == 200
    response = client.patch(
        f"/api/v1/companies/{world.company_a.id}", json={"employees": 3}, headers=headers
    )
    assert response.status_code == 403
    assert "read" in response.json()["detail"]


@pytest.mark.parametrize(
    ("token_fields", "message"),
    [
        ({"revoked_at": "now"}, "revoked"),
        ({"expires_at": "past"}, "expired"),
    ],
)
def test_revoked_or_expired_api_tokens_are_refused(
    client: TestClient, world: World, session: Session, token_fields: dict[str, str], message: str
) -> None:
    values = {key: utcnow() - timedelta(minutes=1) for key in token_fields}
    _, plaintext = make_api_token(session, world.operator, scopes=["read", "write"], **values)
    response = client.get(ME, headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 401
    assert message in response.json()["detail"]


def test_revoking_a_token_takes_effect_immediately(
    client: TestClient, world: World, session: Session
) -> None:
    api_token, plaintext = make_api_token(session, world.engineer_a, scopes=["read", "write"])
    headers = world.headers(world.engineer_a)
    assert client.delete(f"{TOKENS}/{api_token.id}", headers=headers).status_code == 200
    assert client.get(ME, headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401


def test_another_users_token_cannot_be_revoked_and_is_hidden(
    client: TestClient, world: World, session: Session
) -> None:
    api_token, _ = make_api_token(session, world.engineer_b, scopes=["read"])
    response = client.delete(f"{TOKENS}/{api_token.id}", headers=world.headers(world.engineer_a))
    assert response.status_code == 404
    by_admin = client.delete(f"{TOKENS}/{api_token.id}", headers=world.headers(Role.admin))
    assert by_admin.status_code == 200


def test_an_api_token_cannot_mint_more_tokens(
    client: TestClient, world: World, session: Session
) -> None:
    _, plaintext = make_api_token(session, world.engineer_a, scopes=["read", "write"])
    response = client.post(
        TOKENS,
        json={"name": "x", "scopes": ["write"]},
        headers={"Authorization": f"Bearer {plaintext}"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": []}, "body.scopes"),
        ({"name": "x", "scopes": ["admin"]}, "body.scopes.0"),
        ({"name": "x", "expires_in_days": 0}, "body.expires_in_days"),
        ({"name": "x", "expires_in_days": 3000}, "body.expires_in_days"),
        ({"name": ""}, "body.name"),
    ],
)
def test_bad_token_requests_name_the_field(
    client: TestClient, world: World, body: dict[str, object], field: str
) -> None:
    response = client.post(TOKENS, json=body, headers=world.headers(world.engineer_a))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_password_change_revokes_existing_sessions(client: TestClient, world: World) -> None:
    headers = login(client, world.consultant.email)
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": "brand-new-pass-7"},
        headers=headers,
    )
    assert response.status_code == 200
    assert client.get(ME, headers=headers).status_code == 401
    login(client, world.consultant.email, "brand-new-pass-7")


def test_password_change_needs_the_current_password(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": "wrong-wrong-1", "new_password": "brand-new-pass-7"},
        headers=world.headers(world.consultant),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.current_password"


def test_users_update_their_own_profile(client: TestClient, world: World) -> None:
    headers = world.headers(world.engineer_a)
    response = client.patch(ME, json={"locale": "en"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["locale"] == "en"


def test_users_cannot_change_their_own_role(client: TestClient, world: World) -> None:
    response = client.patch(ME, json={"role": "admin"}, headers=world.headers(world.engineer_a))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.role"
