"""The whole consulting chain over HTTP, each step by the role that does it in real life."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from hub_api.assessments.questionnaire import QUESTIONS
from hub_api.users.models import Role
from tests.factories import PERIOD_END, PERIOD_START
from tests.hub_api.conftest import World

API = "/api/v1"


def call(client: TestClient, world: World, who: Role, method: str, path: str, **kw: Any) -> Any:
    response = client.request(method, API + path, headers=world.headers(who), **kw)
    assert response.is_success, f"{who} {method} {path}: {response.text}"
    return response.json()


def test_request_to_assessed_project_with_a_budget(client: TestClient, world: World) -> None:
    engineer, consultant, operator = Role.engineer, Role.consultant, Role.operator
    case = call(
        client,
        world,
        engineer,
        "POST",
        "/cases",
        json={
            "title": "Predict spindle failures",
            "service_type": "predictive_maintenance",
            "description": "Two unplanned stops a month on the CNC line.",
        },
    )
    cid = case["id"]
    call(client, world, consultant, "PUT", f"/cases/{cid}/assignment",
         json={"assignee_id": world.consultant.id})  # fmt: skip
    call(client, world, consultant, "POST", f"/cases/{cid}/transitions",
         json={"to_status": "triaged", "reason": "vibration data exists"})  # fmt: skip
    call(client, world, consultant, "POST", "/assessments",
         json={"case_id": cid, "phase": "T0", "answers": {q.id: 1 for q in QUESTIONS}})  # fmt: skip
    call(client, world, consultant, "POST", f"/cases/{cid}/transitions",
         json={"to_status": "in_progress", "reason": "kick-off held"})  # fmt: skip
    programme = call(
        client,
        world,
        operator,
        "POST",
        "/programmes",
        json={
            "name": "Gyeongnam AX GPU voucher",
            "funder": "Gyeongnam Technopark",
            "project_number": "GNTP-2026-AX-07",
            "starts_on": PERIOD_START.isoformat(),
            "ends_on": PERIOD_END.isoformat(),
            "pool_gpu_hours": 1000,
            "company_cap_gpu_hours": 200,
        },
    )
    grant = call(
        client,
        world,
        consultant,
        "POST",
        "/grants",
        json={
            "programme_id": programme["id"],
            "case_id": cid,
            "gpu_hours": 120,
            "valid_from": f"{PERIOD_START}T00:00:00Z",
            "valid_until": f"{PERIOD_END}T00:00:00Z",
            "purpose": "Train an anomaly detector on spindle vibration",
            "agreement_signed_on": "2026-01-05",
        },
    )
    call(client, world, operator, "POST", f"/grants/{grant['id']}/approve", json={})
    call(client, world, consultant, "POST", f"/cases/{cid}/transitions",
         json={"to_status": "poc", "reason": "model trained"})  # fmt: skip
    call(client, world, consultant, "POST", "/assessments",
         json={"case_id": cid, "phase": "T1", "answers": {q.id: 3 for q in QUESTIONS}})  # fmt: skip
    call(
        client,
        world,
        consultant,
        "POST",
        f"/cases/{cid}/transitions",
        json={
            "to_status": "completed",
            "reason": "PoC accepted",
            "outcome": {
                "summary": "Vibration anomaly detector alerts 2 days before failures",
                "results": [{"metric": "unplanned stops per month", "before": 2, "after": 0.5}],
            },
        },
    )
    budget = call(client, world, engineer, "GET", f"/companies/{world.company_a.id}/budget")
    uplift = call(client, world, engineer, "GET", "/assessments/uplift")
    inbox = call(client, world, engineer, "GET", "/notifications")
    assert budget["available_now_gpu_hours"] == 120.0
    assert [(u["t0_level"], u["t1_level"]) for u in uplift] == [(2, 4)]
    assert {n["kind"] for n in inbox["items"]} == {"case_status_changed", "grant_approved"}
