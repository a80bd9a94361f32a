"""Consultation cases: the workflow through the API for every role, refusals, audit, SLA."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub_api.audit.models import AuditEvent
from hub_api.cases.models import CaseStatus
from hub_api.core.security import utcnow
from hub_api.users.models import Role
from tests.factories import make_case, make_user
from tests.hub_api.conftest import World

URL = "/api/v1/cases"
OUTCOME = {
    "summary": "Camera inspection station with a YOLO defect detector on line 2",
    "results": [{"metric": "defect escape rate", "before": 3.2, "after": 1.1, "unit": "%"}],
    "model_versions": ["housing-defects/3"],
}


def request_case(client: TestClient, world: World, **overrides: Any) -> dict[str, Any]:
    payload = {
        "title": "Detect burrs on machined housings",
        "service_type": "quality_inspection",
        "description": "Inspection is manual; 3 % of defects escape to the customer.",
        "preferred_dates": ["2026-12-01", "2026-12-03"],
    } | overrides
    response = client.post(URL, json=payload, headers=world.headers(Role.engineer))
    assert response.status_code == 201, response.text
    return dict(response.json())


def move(client: TestClient, world: World, case_id: int, to: str, who: Role, **extra: Any) -> Any:
    return client.post(
        f"{URL}/{case_id}/transitions",
        json={"to_status": to, "reason": f"to {to}"} | extra,
        headers=world.headers(who),
    )


def test_full_workflow_from_request_to_outcome(
    client: TestClient, world: World, session: Session
) -> None:
    case = request_case(client, world)
    assert (case["status"], case["company_id"]) == ("submitted", world.company_a.id)
    triage_queue = client.get(
        URL, params={"unassigned": True}, headers=world.headers(Role.consultant)
    )
    assert [c["id"] for c in triage_queue.json()["items"]] == [case["id"]]
    for to, who in [
        ("triaged", Role.consultant),
        ("in_progress", Role.consultant),
        ("poc", Role.consultant),
    ]:
        assert move(client, world, case["id"], to, who).status_code == 200
    done = move(client, world, case["id"], "completed", Role.operator, outcome=OUTCOME)
    assert done.status_code == 200, done.text
    seen = client.get(f"{URL}/{case['id']}", headers=world.headers(Role.engineer)).json()
    assert seen["status"] == "completed"
    assert seen["assignee_id"] == world.consultant.id  # the triaging consultant took it
    assert seen["outcome"]["results"][0]["after"] == 1.1
    assert seen["closed_at"] is not None
    history = client.get(f"{URL}/{case['id']}/transitions", headers=world.headers(Role.engineer))
    assert [t["to_status"] for t in history.json()] == [
        "triaged",
        "in_progress",
        "poc",
        "completed",
    ]
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "case.transition")).all()
    assert len(events) == 4
    assert all(e.after and e.after["reason"].startswith("to ") for e in events)


@pytest.mark.parametrize(
    ("start", "to", "who", "status", "message"),
    [
        ("submitted", "completed", Role.consultant, 409, "allowed next statuses: 'triaged'"),
        ("submitted", "triaged", Role.engineer, 403, "allowed roles: admin, consultant, operator"),
        ("triaged", "poc", Role.operator, 409, "cannot move to 'poc'"),
        ("in_progress", "withdrawn", Role.consultant, 403, "allowed roles: admin, engineer"),
        ("completed", "in_progress", Role.admin, 409, "none (the case is closed)"),
        ("rejected", "triaged", Role.operator, 409, "is 'rejected'"),
    ],
)
def test_forbidden_transitions_are_refused_clearly(
    client: TestClient,
    world: World,
    session: Session,
    start: str,
    to: str,
    who: Role,
    status: int,
    message: str,
) -> None:
    case = make_case(session, world.company_a, assignee=world.consultant, status=CaseStatus(start))
    response = move(client, world, case.id or 0, to, who)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_company_engineer_may_withdraw_their_request(client: TestClient, world: World) -> None:
    case = request_case(client, world)
    response = move(client, world, case["id"], "withdrawn", Role.engineer)
    assert response.status_code == 200
    assert response.json()["closed_at"] is not None


def test_consultant_cannot_work_another_consultants_case(
    client: TestClient, world: World, session: Session
) -> None:
    other = make_user(session, Role.consultant)
    case = make_case(session, world.company_a, assignee=other, status=CaseStatus.triaged)
    make_case(session, world.company_a, assignee=world.consultant)  # sees company A's records
    response = move(client, world, case.id or 0, "in_progress", Role.consultant)
    assert response.status_code == 403
    assert "assigned to another consultant" in response.json()["detail"]


def test_completing_needs_an_outcome(client: TestClient, world: World, session: Session) -> None:
    case = make_case(session, world.company_a, assignee=world.consultant, status=CaseStatus.poc)
    response = move(client, world, case.id or 0, "completed", Role.consultant)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.outcome"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"service_type": "astrology"}, "body.service_type"),
        ({"description": ""}, "body.description"),
        ({"preferred_dates": ["2026-12-01"] * 11}, "body.preferred_dates"),
        ({"priority": "urgent"}, "body.priority"),
    ],
)
def test_bad_case_requests_name_the_field(
    client: TestClient, world: World, payload: dict[str, Any], field: str
) -> None:
    body = {"title": "t", "service_type": "training", "description": "d"} | payload
    response = client.post(URL, json=body, headers=world.headers(Role.engineer))
    assert response.status_code == 422
    assert any(e["field"] == field for e in response.json()["errors"]), response.json()


def test_staff_must_name_the_company(client: TestClient, world: World) -> None:
    body = {"title": "t", "service_type": "training", "description": "d"}
    response = client.post(URL, json=body, headers=world.headers(Role.operator))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.company_id"


def test_engineer_cannot_open_a_case_for_another_company(client: TestClient, world: World) -> None:
    body = {"title": "t", "service_type": "training", "description": "d"}
    response = client.post(
        URL, json=body | {"company_id": world.company_b.id}, headers=world.headers(Role.engineer)
    )
    assert response.status_code == 422


def test_operator_assigns_and_consultant_may_only_claim(
    client: TestClient, world: World, session: Session
) -> None:
    case = make_case(session, world.company_a)
    other = make_user(session, Role.consultant)
    url = f"{URL}/{case.id}/assignment"
    refused = client.put(
        url, json={"assignee_id": other.id}, headers=world.headers(Role.consultant)
    )
    assert refused.status_code == 403
    assigned = client.put(url, json={"assignee_id": other.id}, headers=world.headers(Role.operator))
    assert assigned.json()["assignee_id"] == other.id
    not_consultant = client.put(
        url, json={"assignee_id": world.engineer_a.id}, headers=world.headers(Role.operator)
    )
    assert not_consultant.status_code == 422


def test_unanswered_case_is_flagged_overdue(
    client: TestClient, world: World, session: Session
) -> None:
    old = utcnow() - timedelta(days=3)
    late = make_case(session, world.company_a, created_at=old, status_changed_at=old)
    make_case(session, world.company_a)
    headers = world.headers(Role.operator)
    body = client.get(f"{URL}/{late.id}", headers=headers).json()
    assert body["sla"]["first_response_overdue"] is True
    overdue = client.get(URL, params={"overdue": True}, headers=headers).json()
    assert [c["id"] for c in overdue["items"]] == [late.id]


def test_a_stage_past_its_limit_is_overdue(
    client: TestClient, world: World, session: Session
) -> None:
    now = utcnow()
    case = make_case(
        session,
        world.company_a,
        assignee=world.consultant,
        status=CaseStatus.triaged,
        first_response_at=now - timedelta(days=9),
        status_changed_at=now - timedelta(days=8),
    )
    sla = client.get(f"{URL}/{case.id}", headers=world.headers(Role.consultant)).json()["sla"]
    assert (sla["first_response_overdue"], sla["stage_overdue"]) == (False, True)


def test_first_staff_reply_stops_the_first_response_clock(client: TestClient, world: World) -> None:
    case = request_case(client, world)
    client.post(
        f"{URL}/{case['id']}/comments",
        json={"body": "We will call you tomorrow."},
        headers=world.headers(Role.consultant),
    )
    body = client.get(f"{URL}/{case['id']}", headers=world.headers(Role.engineer)).json()
    assert body["first_response_at"] is not None
    assert body["sla"]["first_response_overdue"] is False


def test_a_late_first_reply_clears_overdue_and_keeps_the_breach_on_record(
    client: TestClient, world: World, session: Session
) -> None:
    old = utcnow() - timedelta(days=3)
    case = make_case(session, world.company_a, created_at=old, status_changed_at=old)
    headers = world.headers(Role.operator)
    before = client.get(f"{URL}/{case.id}", headers=headers).json()["sla"]
    assert (before["first_response_overdue"], before["first_response_late"]) == (True, True)
    client.post(f"{URL}/{case.id}/comments", json={"body": "Sorry, on it."}, headers=headers)
    after = client.get(f"{URL}/{case.id}", headers=headers).json()["sla"]
    assert (after["first_response_overdue"], after["first_response_late"]) == (False, True)
    overdue = client.get(URL, params={"overdue": True}, headers=headers).json()
    assert case.id not in [c["id"] for c in overdue["items"]]


def test_caseload_counts_open_cases_per_consultant(
    client: TestClient, world: World, session: Session
) -> None:
    for status in (CaseStatus.triaged, CaseStatus.poc, CaseStatus.completed):
        make_case(session, world.company_a, assignee=world.consultant, status=status)
    rows = client.get(f"{URL}/caseload", headers=world.headers(Role.consultant)).json()
    assert rows == [
        {
            "consultant_id": world.consultant.id,
            "consultant_email": world.consultant.email,
            "open_cases": 2,
            "by_status": {"triaged": 1, "poc": 1},
            "overdue": 0,
        }
    ]


@pytest.mark.parametrize(
    ("caller", "status", "assignee", "expected"),
    [
        (Role.engineer, CaseStatus.submitted, None, ["withdrawn"]),
        (Role.consultant, CaseStatus.submitted, None, ["triaged", "rejected"]),
        (Role.consultant, CaseStatus.in_progress, "caller", ["poc", "completed"]),
        (Role.consultant, CaseStatus.triaged, "someone else", []),
        (Role.operator, CaseStatus.poc, "someone else", ["in_progress", "completed"]),
        (Role.admin, CaseStatus.triaged, None, ["in_progress", "rejected", "withdrawn"]),
        (Role.operator, CaseStatus.completed, None, []),
    ],
)
def test_a_case_lists_the_moves_its_caller_may_make(
    client: TestClient,
    world: World,
    session: Session,
    caller: Role,
    status: CaseStatus,
    assignee: str | None,
    expected: list[str],
) -> None:
    who = world.user(caller)
    if caller == Role.consultant:  # works another case of the company, so it may see this one
        make_case(session, world.company_a, assignee=who, title="Another project")
    assigned = {None: None, "caller": who, "someone else": make_user(session, Role.consultant)}
    case = make_case(session, world.company_a, status=status, assignee=assigned[assignee])
    body = client.get(f"{URL}/{case.id}", headers=world.headers(who)).json()
    assert body["allowed_transitions"] == expected
    if expected:  # the first listed move is one the API accepts
        moved = move(client, world, case.id or 0, expected[0], caller)
        assert moved.status_code == 200, moved.text
