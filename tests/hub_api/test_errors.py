"""One error shape (RFC 9457) everywhere, including unknown routes and unexpected failures."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hub_api.users.models import Role
from tests.hub_api.conftest import World

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def test_unknown_route_is_a_problem_document(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json().keys() >= PROBLEM_KEYS
    assert "GET /api/v1/nothing-here" in response.json()["detail"]


def test_wrong_method_is_405_with_a_message(client: TestClient) -> None:
    response = client.put("/api/v1/health/live")
    assert response.status_code == 405
    assert "PUT" in response.json()["detail"]


def test_malformed_json_names_the_problem(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/companies",
        content=b"{not json",
        headers=world.headers(Role.admin) | {"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("body")


def test_wrong_path_parameter_type_names_the_parameter(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/companies/abc", headers=world.headers(Role.admin))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.company_id"


def test_unknown_fields_are_refused(client: TestClient, world: World) -> None:
    response = client.patch(
        f"/api/v1/companies/{world.company_a.id}",
        json={"employes": 3},
        headers=world.headers(Role.admin),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.employes"
