"""Notifications: in-app lists per user, budget and expiry alerts, e-mail through a local SMTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub_api.core.config import Settings
from hub_api.core.security import utcnow
from hub_api.grants import ledger
from hub_api.grants.alerts import notify_budget_usage
from hub_api.notifications.models import Notification, NotificationKind
from hub_api.users.models import Role
from tests.factories import make_case, make_grant, make_programme
from tests.hub_api.conftest import World

URL = "/api/v1/notifications"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def inbox(settings: Settings) -> Iterator[Inbox]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.smtp_host, settings.smtp_port = "127.0.0.1", port
    yield handler
    controller.stop()


def kinds(client: TestClient, world: World, who: Role | Any) -> list[str]:
    return [n["kind"] for n in client.get(URL, headers=world.headers(who)).json()["items"]]


def test_assignment_notifies_the_consultant_in_app(
    client: TestClient, world: World, session: Session
) -> None:
    case = make_case(session, world.company_a)
    client.put(
        f"/api/v1/cases/{case.id}/assignment",
        json={"assignee_id": world.consultant.id},
        headers=world.headers(Role.operator),
    )
    assert kinds(client, world, Role.consultant) == ["case_assigned"]
    assert kinds(client, world, Role.engineer) == []


def test_notifications_are_marked_read_by_their_owner_only(
    client: TestClient, world: World, session: Session
) -> None:
    mine = Notification(user_id=world.engineer_a.id or 0, kind="case_assigned", title="t", body="b")
    session.add(mine)
    session.commit()
    other = client.post(f"{URL}/{mine.id}/read", headers=world.headers(world.engineer_b))
    assert other.status_code == 404
    own = client.post(f"{URL}/{mine.id}/read", headers=world.headers(Role.engineer))
    assert own.json()["read_at"] is not None
    unread = client.get(URL, params={"unread": True}, headers=world.headers(Role.engineer))
    assert unread.json()["total"] == 0


def test_status_change_is_e_mailed_to_the_company(
    client: TestClient, world: World, session: Session, inbox: Inbox
) -> None:
    case = make_case(session, world.company_a, assignee=world.consultant)
    response = client.post(
        f"/api/v1/cases/{case.id}/transitions",
        json={"to_status": "triaged", "reason": "scope agreed on the phone"},
        headers=world.headers(Role.consultant),
    )
    assert response.status_code == 200
    assert [m["To"] for m in inbox.messages] == [world.engineer_a.email]
    message = inbox.messages[0]
    assert message["Subject"] == f"[AX hub] Case #{case.id} is now 'triaged'"
    assert "scope agreed on the phone" in message.get_payload()


def test_grant_approval_is_e_mailed(
    client: TestClient, world: World, session: Session, inbox: Inbox
) -> None:
    grant = make_grant(
        session,
        make_case(session, world.company_a),
        make_programme(session),
        approved=False,
        proposed_by_id=world.consultant.id,
    )
    client.post(f"/api/v1/grants/{grant.id}/approve", json={}, headers=world.headers(Role.operator))
    recipients = sorted(m["To"] for m in inbox.messages)
    assert recipients == sorted([world.engineer_a.email, world.consultant.email])
    assert all("approved: 100 GPU-hours" in m["Subject"] for m in inbox.messages)
    sent = session.exec(select(Notification.email_status)).all()
    assert set(sent) == {"sent"}


@pytest.mark.parametrize(
    ("used_hours", "expected"),
    [(70, []), (80, ["budget_80"]), (100, ["budget_100"]), (120, ["budget_100"])],
)
def test_budget_usage_thresholds(
    session: Session, world: World, used_hours: float, expected: list[str]
) -> None:
    case = make_case(session, world.company_a, assignee=world.consultant)
    make_grant(session, case, make_programme(session), gpu_hours=100)
    company_id = world.company_a.id or 0
    ledger.charge_job(
        session=session,
        company_id=company_id,
        job_id=1,
        gpu_seconds=used_hours * 3600,
        gpu_type=None,
        at=utcnow(),
    )
    sent = notify_budget_usage(session=session, company_id=company_id)
    session.commit()
    assert sorted({n.kind.value for n in sent}) == expected
    if expected:
        assert {n.user_id for n in sent} == {world.engineer_a.id, world.consultant.id}


def test_a_budget_threshold_is_announced_once(session: Session, world: World) -> None:
    make_grant(session, make_case(session, world.company_a), make_programme(session))
    company_id = world.company_a.id or 0
    for job_id in (1, 2):
        ledger.charge_job(
            session=session,
            company_id=company_id,
            job_id=job_id,
            gpu_seconds=42 * 3600,
            gpu_type=None,
            at=utcnow(),
        )
        notify_budget_usage(session=session, company_id=company_id)
        session.commit()
    assert [n.kind for n in session.exec(select(Notification)).all()] == [
        NotificationKind.budget_80
    ]


def test_grants_ending_within_seven_days_are_announced(
    client: TestClient, world: World, session: Session
) -> None:
    case = make_case(session, world.company_a)
    programme = make_programme(session)
    make_grant(session, case, programme, valid_until=utcnow() + timedelta(days=5))
    make_grant(session, case, programme, valid_until=utcnow() + timedelta(days=30))
    for _ in range(2):
        client.post("/api/v1/grants/housekeeping", headers=world.headers(Role.operator))
    assert kinds(client, world, Role.engineer) == ["grant_expiring"]


def test_the_ledger_exposes_the_budget_hook(session: Session, world: World) -> None:
    make_grant(session, make_case(session, world.company_a), make_programme(session))
    company_id = world.company_a.id or 0
    ledger.charge_job(
        session=session,
        company_id=company_id,
        job_id=1,
        gpu_seconds=100 * 3600,
        gpu_type=None,
        at=utcnow(),
    )
    sent = ledger.notify_budget_usage(session=session, company_id=company_id)
    assert [n.kind for n in sent] == [NotificationKind.budget_100]


def test_a_dead_mail_server_never_fails_the_change(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    settings.smtp_host, settings.smtp_port = "127.0.0.1", free_port()  # nothing listens there
    case = make_case(session, world.company_a)
    response = client.put(
        f"/api/v1/cases/{case.id}/assignment",
        json={"assignee_id": world.consultant.id},
        headers=world.headers(Role.operator),
    )
    assert response.status_code == 200
    session.expire_all()
    assert session.exec(select(Notification.email_status)).all() == ["pending"]
