"""Alerts as data: each kind fires on the state it describes, and only then."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub_api.cluster.models import ClusterNode
from hub_api.grants.models import LedgerEntry, LedgerKind
from hub_api.jobs.models import JobStatus
from hub_api.ops.models import GpuUtilSample
from hub_api.users.models import Role
from tests.factories import make_case, make_grant, make_programme
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import make_job


def now() -> datetime:
    return datetime.now(UTC)


URL = "/api/v1/alerts"


def idle_job(session: Session, world: World, *, peak: float, minutes: int) -> str:
    job = make_job(
        session,
        world.company_a,
        submitted_by=world.engineer_a.id or 0,
        status=JobStatus.running,
        placement=[{"node_id": "n1", "device_index": 0, "fraction": 1.0}],
    )
    for minute in range(minutes):
        session.add(
            GpuUtilSample(
                at=now() - timedelta(minutes=minute),
                node_id="n1",
                gpu_index=0,
                utilization_pct=peak if minute == 0 else 0.0,
                job_id=job.id,
                company_id=job.company_id,
            )
        )
    session.commit()
    return str(job.id)


def spent_budget(session: Session, world: World, *, used_hours: float) -> str:
    grant = make_grant(
        session,
        make_case(session, world.company_a),
        make_programme(session),
        gpu_hours=10,
        valid_from=now() - timedelta(days=10),
        valid_until=now() + timedelta(days=60),
    )
    session.add(
        LedgerEntry(
            company_id=grant.company_id,
            programme_id=grant.programme_id,
            grant_id=grant.id or 0,
            job_id=99,
            kind=LedgerKind.job_debit,
            gpu_seconds=-used_hours * 3600,
        )
    )
    session.commit()
    return str(world.company_a.id)


def ending_grant(session: Session, world: World, *, days: int) -> str:
    grant = make_grant(
        session,
        make_case(session, world.company_b),
        make_programme(session),
        gpu_hours=10,
        valid_from=now() - timedelta(days=10),
        valid_until=now() + timedelta(days=days),
    )
    return str(grant.id)


def node(session: Session, world: World, *, alive: bool, seen_ago_s: float) -> str:
    session.add(
        ClusterNode(
            node_id="gpu-7",
            gpu_type="A100",
            gpu_count=8,
            alive=alive,
            last_seen_at=now() - timedelta(seconds=seen_ago_s),
        )
    )
    session.commit()
    return "gpu-7"


Setup = Callable[[Session, World], str]
CASES: list[tuple[str, Setup, str | None]] = [
    ("idle_allocated_job", lambda s, w: idle_job(s, w, peak=3.0, minutes=15), "warning"),
    ("idle_allocated_job", lambda s, w: idle_job(s, w, peak=60.0, minutes=15), None),  # busy
    ("idle_allocated_job", lambda s, w: idle_job(s, w, peak=0.0, minutes=3), None),  # just began
    ("budget_low", lambda s, w: spent_budget(s, w, used_hours=9.5), "warning"),
    ("budget_low", lambda s, w: spent_budget(s, w, used_hours=10.5), "critical"),
    ("budget_low", lambda s, w: spent_budget(s, w, used_hours=5), None),
    ("grant_expiring", lambda s, w: ending_grant(s, w, days=3), "warning"),
    ("grant_expiring", lambda s, w: ending_grant(s, w, days=30), None),
    ("node_down", lambda s, w: node(s, w, alive=False, seen_ago_s=60), "critical"),
    ("node_down", lambda s, w: node(s, w, alive=True, seen_ago_s=3600), "critical"),  # stale
    ("node_down", lambda s, w: node(s, w, alive=True, seen_ago_s=10), None),
]


@pytest.mark.parametrize(("kind", "setup", "severity"), CASES)
def test_alert_fires_only_on_its_state(
    client: TestClient,
    session: Session,
    world: World,
    kind: str,
    setup: Setup,
    severity: str | None,
) -> None:
    object_id = setup(session, world)
    response = client.get(URL, params={"kind": kind}, headers=world.headers(Role.operator))
    assert response.status_code == 200, response.text
    found = [(a["object_id"], a["severity"]) for a in response.json()]
    assert found == ([(object_id, severity)] if severity else [])


def test_alerts_are_for_operators(client: TestClient, world: World) -> None:
    assert client.get(URL, headers=world.headers(world.engineer_a)).status_code == 403
    assert client.get(URL, headers=world.headers(Role.admin)).json() == []
