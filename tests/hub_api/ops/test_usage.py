"""Usage accounting: GPU-hours per company, programme, grant, GPU type and month, at the hub's
rates; settlement statements; a company sees only its own usage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub_api.grants.models import Grant, LedgerEntry, LedgerKind
from hub_api.jobs.models import Job, JobStatus
from hub_api.ops.config import OpsSettings, get_ops_settings
from hub_api.users.models import Role
from tests.factories import make_case, make_grant, make_programme
from tests.hub_api.conftest import World

RATES = {"A100": 3000.0, "L40S": 1500.0, "*": 1000.0}
PERIOD = {"start": "2026-01-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"}


@pytest.fixture
def priced(app: FastAPI) -> Iterator[None]:
    app.dependency_overrides[get_ops_settings] = lambda: OpsSettings(gpu_hourly_rates=RATES)
    yield
    app.dependency_overrides.pop(get_ops_settings)


def charge(
    session: Session,
    world: World,
    grant: Grant,
    *,
    hours: float,
    ran_on: str | None,
    when: datetime,
) -> Job:
    company = world.company_a if grant.company_id == world.company_a.id else world.company_b
    job = Job(
        name="j",
        template="defect_classifier",
        time_limit_s=3600,
        company_id=company.id or 0,
        submitted_by=world.engineer_a.id or 0,
        status=JobStatus.succeeded,
        assigned_gpu_type=ran_on,
    )
    session.add(job)
    session.flush()
    session.add(
        LedgerEntry(
            company_id=grant.company_id,
            programme_id=grant.programme_id,
            grant_id=grant.id or 0,
            job_id=job.id,
            kind=LedgerKind.job_debit,
            gpu_seconds=-hours * 3600,
            created_at=when,
        )
    )
    session.commit()
    return job


@pytest.fixture
def usage(session: Session, world: World) -> dict[str, Grant]:
    voucher, regional = make_programme(session), make_programme(session)
    a1 = make_grant(session, make_case(session, world.company_a), voucher)
    a2 = make_grant(session, make_case(session, world.company_a), regional)
    b1 = make_grant(session, make_case(session, world.company_b), voucher)
    jan, feb, mar = (datetime(2026, m, 10, tzinfo=UTC) for m in (1, 2, 3))
    charge(session, world, a1, hours=2, ran_on="A100", when=jan)
    charge(session, world, a1, hours=4, ran_on="L40S", when=feb)
    charge(session, world, a2, hours=1, ran_on=None, when=mar)
    charge(session, world, b1, hours=8, ran_on="A100", when=feb)
    charge(session, world, b1, hours=100, ran_on="A100", when=datetime(2026, 4, 2, tzinfo=UTC))
    refunded = charge(session, world, a1, hours=3, ran_on="A100", when=mar)
    session.add(
        LedgerEntry(
            company_id=a1.company_id,
            programme_id=a1.programme_id,
            grant_id=a1.id or 0,
            job_id=refunded.id,
            kind=LedgerKind.refund,
            gpu_seconds=3 * 3600,
            created_at=mar,
        )
    )
    session.commit()
    return {"a1": a1, "a2": a2, "b1": b1}


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        ("company", {"A": (7.0, 3, 6000 + 6000 + 1000), "B": (8.0, 1, 24000)}),
        ("gpu_type", {"A100": (10.0, 2, 30000), "L40S": (4.0, 1, 6000), "any": (1.0, 1, 1000)}),
        (
            "month",
            {"2026-01": (2.0, 1, 6000), "2026-02": (12.0, 2, 30000), "2026-03": (1.0, 1, 1000)},
        ),
    ],
)
def test_usage_grouped_with_rates(
    client: TestClient,
    world: World,
    usage: dict[str, Grant],
    priced: None,
    group_by: str,
    expected: dict[str, tuple[float, int, float]],
) -> None:
    names = {str(world.company_a.id): "A", str(world.company_b.id): "B"}
    response = client.get(
        "/api/v1/usage",
        params=PERIOD | {"group_by": group_by},
        headers=world.headers(Role.operator),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    got = {
        names.get(r["key"], r["key"]): (r["gpu_hours"], r["jobs"], r["amount"])
        for r in body["rows"]
    }
    assert got == expected
    assert body["total_gpu_hours"] == 15.0
    assert body["currency"] == "KRW"


def test_usage_per_grant_and_programme(
    client: TestClient, world: World, usage: dict[str, Grant], priced: None
) -> None:
    headers = world.headers(Role.operator)
    by_grant = client.get("/api/v1/usage", params=PERIOD | {"group_by": "grant"}, headers=headers)
    assert {r["grant_id"]: r["gpu_hours"] for r in by_grant.json()["rows"]} == {
        usage["a1"].id: 6.0,
        usage["a2"].id: 1.0,
        usage["b1"].id: 8.0,
    }
    one = client.get(
        "/api/v1/usage",
        params=PERIOD | {"group_by": "programme", "programme_id": usage["a2"].programme_id},
        headers=headers,
    )
    assert [(r["programme_id"], r["gpu_hours"]) for r in one.json()["rows"]] == [
        (usage["a2"].programme_id, 1.0)
    ]
    entries = client.get("/api/v1/usage/entries", params=PERIOD, headers=headers).json()
    assert sum(e["gpu_hours"] for e in entries) == 15.0


def test_settlement_statement_per_company_and_programme(
    client: TestClient, world: World, usage: dict[str, Grant], priced: None
) -> None:
    url = f"/api/v1/companies/{world.company_a.id}/usage/statement"
    statement = client.get(url, params=PERIOD, headers=world.headers(world.engineer_a)).json()
    lines = {(line["grant_id"], line["gpu_type"]): line for line in statement["lines"]}
    a1 = usage["a1"].id
    assert lines[(a1, "A100")]["gpu_hours"] == 2.0  # the refunded job nets to zero
    assert lines[(a1, "A100")]["amount"] == 6000.0
    assert lines[(a1, "L40S")]["amount"] == 6000.0
    assert lines[(usage["a2"].id, "any")]["rate_per_gpu_hour"] == 1000.0
    assert statement["total_amount"] == 13000.0
    assert statement["company_name"] == world.company_a.name
    only_voucher = client.get(
        url,
        params=PERIOD | {"programme_id": usage["a1"].programme_id},
        headers=world.headers(Role.operator),
    ).json()
    assert only_voucher["total_gpu_hours"] == 6.0


@pytest.mark.parametrize(
    ("route", "status"),
    [
        ("/api/v1/companies/{own}/usage", 200),
        ("/api/v1/companies/{other}/usage", 404),
        ("/api/v1/companies/{other}/usage/statement", 404),
        ("/api/v1/usage", 403),
        ("/api/v1/usage/entries", 403),
    ],
)
def test_a_company_sees_only_its_own_usage(
    client: TestClient, world: World, usage: dict[str, Grant], route: str, status: int
) -> None:
    url = route.format(own=world.company_a.id, other=world.company_b.id)
    response = client.get(url, params=PERIOD, headers=world.headers(world.engineer_a))
    assert response.status_code == status
    if status == 200:
        assert {r["key"] for r in response.json()["rows"]} == {"2026-01", "2026-02", "2026-03"}
        assert response.json()["total_gpu_hours"] == 7.0
