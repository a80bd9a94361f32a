"""Programmes and GPU-hour grants: proposal, four-eyes approval, pool/cap rules, adjustments."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hub_api.audit.models import AuditEvent
from hub_api.auth.models import TokenScope
from hub_api.cases.models import CaseStatus
from hub_api.companies.validators import Region
from hub_api.core.authz import Principal
from hub_api.core.errors import ConflictError
from hub_api.grants import service
from hub_api.grants.models import Grant, GrantDecision, GrantStatus
from hub_api.users.models import Role
from tests.factories import make_case, make_company, make_grant, make_programme, make_user
from tests.hub_api.conftest import World

API = "/api/v1"


def propose(client: TestClient, world: World, session: Session, **kw: Any) -> Any:
    case = kw.pop("case", None) or make_case(session, world.company_a, assignee=world.consultant)
    programme = kw.pop("programme", None) or make_programme(session)
    body = {
        "programme_id": programme.id,
        "case_id": case.id,
        "gpu_hours": 40,
        "gpu_type": "A100",
        "valid_from": "2026-03-01T00:00:00Z",
        "valid_until": "2026-09-01T00:00:00Z",
        "purpose": "PoC: train a burr detector",
        "agreement_number": "AGR-17",
        "agreement_signed_on": "2026-02-20",
    } | kw
    return client.post(f"{API}/grants", json=body, headers=world.headers(Role.consultant))


def test_proposed_then_approved_grant_becomes_the_companys_budget(
    client: TestClient, world: World, session: Session
) -> None:
    proposed = propose(client, world, session)
    assert proposed.status_code == 201, proposed.text
    grant = proposed.json()
    assert grant["status"] == "proposed"
    assert grant["project_number"].startswith("NIPA-2026-")
    approved = client.post(
        f"{API}/grants/{grant['id']}/approve", json={}, headers=world.headers(Role.operator)
    )
    assert approved.json()["status"] == "approved", approved.text
    budget = client.get(
        f"{API}/companies/{world.company_a.id}/budget", headers=world.headers(Role.engineer)
    ).json()
    assert (budget["granted_gpu_hours"], budget["balance_gpu_hours"]) == (40.0, 40.0)
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.object_type == "grant")).all()
    assert sorted(actions) == ["grant.approve", "grant.propose"]


def test_the_proposer_cannot_approve(client: TestClient, world: World, session: Session) -> None:
    case = make_case(session, world.company_a)
    body = {
        "programme_id": make_programme(session).id,
        "case_id": case.id,
        "gpu_hours": 5,
        "valid_from": "2026-03-01T00:00:00Z",
        "valid_until": "2026-04-01T00:00:00Z",
        "purpose": "x",
        "agreement_signed_on": "2026-02-01",
    }
    admin = world.headers(Role.admin)
    grant = client.post(f"{API}/grants", json=body, headers=admin).json()
    response = client.post(f"{API}/grants/{grant['id']}/approve", json={}, headers=admin)
    assert response.status_code == 403
    assert "four-eyes" in response.json()["detail"]


def test_consultants_cannot_approve_at_all(
    client: TestClient, world: World, session: Session
) -> None:
    grant = propose(client, world, session).json()
    response = client.post(
        f"{API}/grants/{grant['id']}/approve", json={}, headers=world.headers(Role.consultant)
    )
    assert response.status_code == 403


def test_a_decided_grant_cannot_be_decided_again(
    client: TestClient, world: World, session: Session
) -> None:
    grant = propose(client, world, session).json()
    url = f"{API}/grants/{grant['id']}"
    client.post(f"{url}/reject", json={"reason": "no"}, headers=world.headers(Role.operator))
    response = client.post(f"{url}/approve", json={}, headers=world.headers(Role.admin))
    assert response.status_code == 409
    assert "is 'rejected' and cannot become 'approved'" in response.json()["detail"]


def test_approval_needs_the_signed_agreement_date(
    client: TestClient, world: World, session: Session
) -> None:
    grant = propose(client, world, session, agreement_signed_on=None).json()
    url = f"{API}/grants/{grant['id']}/approve"
    missing = client.post(url, json={}, headers=world.headers(Role.operator))
    assert missing.status_code == 422
    given = client.post(
        url, json={"agreement_signed_on": "2026-02-21"}, headers=world.headers(Role.operator)
    )
    assert given.json()["agreement_signed_on"] == "2026-02-21"


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({"valid_until": "2026-02-01T00:00:00Z"}, 422, "valid_until must be after"),
        ({"valid_until": "2028-06-01T00:00:00Z"}, 422, "within the programme's period"),
        ({"gpu_hours": 0}, 422, "greater than 0"),
        ({"gpu_type": "../a100"}, 422, "pattern"),
        ({"gpu_hours": 20_000}, 409, "GPU-hours left"),
    ],
)
def test_bad_proposals_are_refused(
    client: TestClient,
    world: World,
    session: Session,
    overrides: dict[str, Any],
    status: int,
    message: str,
) -> None:
    response = propose(client, world, session, **overrides)
    assert response.status_code == status, response.text
    assert message in response.text


def test_consultant_proposes_only_for_their_open_cases(
    client: TestClient, world: World, session: Session
) -> None:
    colleague = make_user(session, Role.consultant)
    theirs = make_case(session, world.company_a, assignee=colleague)
    closed = make_case(
        session, world.company_a, assignee=world.consultant, status=CaseStatus.completed
    )
    assert propose(client, world, session, case=theirs).status_code == 403
    assert propose(client, world, session, case=closed).status_code == 409


REGIONAL = {"region": Region.gyeongnam, "regional_share": 0.7, "pool_gpu_hours": 100}


def principal(user: Any) -> Principal:
    return Principal(user=user, scopes=frozenset(TokenScope))


@pytest.mark.parametrize(
    ("programme", "company_region", "held", "asked", "fits"),
    [
        ({"pool_gpu_hours": 100}, Region.gyeongnam, 60, 40, True),
        ({"pool_gpu_hours": 100}, Region.gyeongnam, 60, 41, False),
        ({"company_cap_gpu_hours": 50}, Region.gyeongnam, 30, 20, True),
        ({"company_cap_gpu_hours": 50}, Region.gyeongnam, 30, 21, False),
        (REGIONAL, Region.seoul, 0, 31, False),
        (REGIONAL, Region.seoul, 0, 30, True),
        (REGIONAL, Region.gyeongnam, 0, 100, True),
    ],
)
def test_programme_rules_hold_at_approval(
    session: Session,
    world: World,
    programme: dict[str, Any],
    company_region: Region,
    held: float,
    asked: float,
    fits: bool,
) -> None:
    rules = make_programme(session, **programme)
    company = make_company(session, region=company_region)
    case = make_case(session, company)
    if held:
        make_grant(session, case, rules, gpu_hours=held)
    grant = make_grant(session, case, rules, approved=False, gpu_hours=asked)
    approve = service.approve_grant
    if fits:
        approve(session=session, actor=principal(world.operator), grant=grant, data=GrantDecision())
        assert grant.status == GrantStatus.approved
    else:
        with pytest.raises(ConflictError):
            approve(
                session=session, actor=principal(world.operator), grant=grant, data=GrantDecision()
            )


def test_reclaimed_hours_return_to_the_pool(
    client: TestClient, world: World, session: Session
) -> None:
    programme = make_programme(session, pool_gpu_hours=100)
    grant = make_grant(session, make_case(session, world.company_a), programme, gpu_hours=100)
    headers = world.headers(Role.operator)
    reclaim = client.post(
        f"{API}/grants/{grant.id}/reclaims",
        json={"gpu_hours": 30, "reason": "used off-purpose"},
        headers=headers,
    )
    assert reclaim.status_code == 201, reclaim.text
    after = client.get(f"{API}/programmes/{programme.id}", headers=headers).json()
    assert after["remaining_gpu_hours"] == 30.0
    too_much = client.post(
        f"{API}/grants/{grant.id}/reclaims", json={"gpu_hours": 71, "reason": "x"}, headers=headers
    )
    assert too_much.status_code == 409


def test_top_up_cannot_exceed_the_pool(client: TestClient, world: World, session: Session) -> None:
    programme = make_programme(session, pool_gpu_hours=120)
    grant = make_grant(session, make_case(session, world.company_a), programme, gpu_hours=100)
    url = f"{API}/grants/{grant.id}/top-ups"
    headers = world.headers(Role.operator)
    assert client.post(url, json={"gpu_hours": 20, "reason": "PoC"}, headers=headers).is_success
    refused = client.post(url, json={"gpu_hours": 1, "reason": "more"}, headers=headers)
    assert refused.status_code == 409
    budget = client.get(f"{API}/companies/{world.company_a.id}/budget", headers=headers).json()
    assert budget["granted_gpu_hours"] == 120.0


def test_ended_grants_expire_and_return_what_is_left(
    client: TestClient, world: World, session: Session
) -> None:
    programme = make_programme(session, pool_gpu_hours=100)
    ended = make_grant(
        session,
        make_case(session, world.company_a),
        programme,
        gpu_hours=40,
        valid_until=datetime(2026, 1, 31, tzinfo=UTC),
    )
    response = client.post(f"{API}/grants/housekeeping", headers=world.headers(Role.operator))
    assert response.json()["expired_grant_ids"] == [ended.id]
    ledger = client.get(f"{API}/grants/{ended.id}/ledger", headers=world.headers(Role.operator))
    assert [(e["kind"], e["gpu_seconds"]) for e in ledger.json()] == [
        ("grant_credit", 144000.0),
        ("expiry", -144000.0),
    ]
    programme_now = client.get(
        f"{API}/programmes/{programme.id}", headers=world.headers(Role.operator)
    )
    assert programme_now.json()["remaining_gpu_hours"] == 100.0


def test_pool_cannot_shrink_below_what_is_committed(
    client: TestClient, world: World, session: Session
) -> None:
    programme = make_programme(session, pool_gpu_hours=100)
    make_grant(session, make_case(session, world.company_a), programme, gpu_hours=80)
    response = client.patch(
        f"{API}/programmes/{programme.id}",
        json={"pool_gpu_hours": 50},
        headers=world.headers(Role.operator),
    )
    assert response.status_code == 409
    assert "80 GPU-hours already committed" in response.json()["detail"]


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
def test_concurrent_approvals_never_exceed_the_pool(
    engine: Engine, session: Session, world: World
) -> None:
    programme = make_programme(session, pool_gpu_hours=100, company_cap_gpu_hours=60)
    companies = [world.company_a, world.company_b]
    grant_ids = []
    for n in range(8):
        case = make_case(session, companies[n % 2])
        grant_ids.append(make_grant(session, case, programme, approved=False, gpu_hours=25).id)
    operator = principal(world.operator)

    def approve(grant_id: int | None) -> str:
        with Session(engine, expire_on_commit=False) as own:
            grant = own.get(Grant, grant_id)
            assert grant is not None
            try:
                service.approve_grant(
                    session=own, actor=operator, grant=grant, data=GrantDecision()
                )
            except ConflictError:
                return "refused"
            return "approved"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(approve, grant_ids))
    assert outcomes.count("approved") == 4  # 2 per company: the 60 h cap allows two of 25 h
    session.expire_all()
    approved = session.exec(select(Grant).where(Grant.status == GrantStatus.approved)).all()
    per_company = {
        c.id: sum(g.gpu_hours for g in approved if g.company_id == c.id) for c in companies
    }
    assert per_company == {world.company_a.id: 50.0, world.company_b.id: 50.0}
