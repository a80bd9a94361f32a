from fastapi.testclient import TestClient


def test_liveness_answers_without_credentials(client: TestClient) -> None:
    assert client.get("/api/v1/health/live").json() == {"status": "ok"}


def test_readiness_checks_the_database(client: TestClient) -> None:
    response = client.get("/api/v1/health/ready")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_openapi_docs_answer(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert "/api/v1/companies" in client.get("/api/v1/openapi.json").json()["paths"]
