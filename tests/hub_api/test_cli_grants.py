"""``axhub grants housekeeping``: expiry and expiry notices without a user or a running API.

Runs the real command (typer's CliRunner) against a database it finds through ``HUB_*`` settings,
like the Helm CronJob does: a SQLite file, and the PostgreSQL test schema.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from hub_api.cli.main import app
from hub_api.core.config import get_settings
from hub_api.core.db import build_engine
from hub_api.core.security import utcnow
from hub_api.grants.models import Grant, GrantStatus, LedgerEntry, LedgerKind
from hub_api.models_registry import metadata
from hub_api.notifications.models import Notification, NotificationKind
from hub_api.users.models import Role, User
from tests.conftest import POSTGRES_URL
from tests.factories import make_case, make_company, make_grant, make_programme, make_user

runner = CliRunner()


@pytest.fixture
def cli_engine(
    db_backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Engine]:
    """An engine on the database the CLI will use (through HUB_DATABASE_URL)."""
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
        engine = build_engine(url)
        metadata.create_all(engine)
    else:
        engine = request.getfixturevalue("engine")  # the session's schema, truncated afterwards
        with engine.connect() as connection:
            schema = connection.execute(sa.text("SHOW search_path")).scalar_one()
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.delenv("HUB_SMTP_HOST", raising=False)
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()
    if db_backend == "sqlite":
        engine.dispose()


@pytest.fixture
def session(cli_engine: Engine) -> Iterator[Session]:
    with Session(cli_engine, expire_on_commit=False) as db_session:
        yield db_session


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch, cli_engine: Engine) -> Iterator[Inbox]:
    handler = Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("HUB_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HUB_SMTP_PORT", str(port))
    get_settings.cache_clear()
    yield handler
    controller.stop()


def housekeeping(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["grants", "housekeeping", *args])
    assert result.exit_code == 0, result.output
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def world(session: Session) -> dict[str, Any]:
    """One company with an engineer and a consultant on an open case; three approved grants."""
    company = make_company(session)
    engineer = make_user(session, Role.engineer, company)
    consultant = make_user(session, Role.consultant)
    case = make_case(session, company, assignee=consultant)
    programme = make_programme(session)
    now = utcnow()
    grants = {
        "ended": make_grant(
            session, case, programme, gpu_hours=40, valid_until=now - timedelta(hours=1)
        ),
        "ending_soon": make_grant(session, case, programme, valid_until=now + timedelta(days=5)),
        "later": make_grant(session, case, programme, valid_until=now + timedelta(days=30)),
    }
    return {"engineer": engineer, "consultant": consultant, "grants": grants}


def test_housekeeping_expires_ended_grants_and_announces_ending_ones_once(
    session: Session,
) -> None:
    made = world(session)
    ended, soon, later = (made["grants"][k] for k in ("ended", "ending_soon", "later"))

    first = housekeeping()
    assert first["expired_grant_ids"] == [ended.id]
    # the engineer, the assigned consultant and the proposer (none in the factory's grants)
    assert first["expiry_notices"] == 2
    assert first["emails_sent"] == 0  # no SMTP configured

    session.expire_all()
    assert session.get(Grant, ended.id).status == GrantStatus.expired  # type: ignore[union-attr]
    assert session.get(Grant, soon.id).status == GrantStatus.approved  # type: ignore[union-attr]
    assert session.get(Grant, later.id).status == GrantStatus.approved  # type: ignore[union-attr]
    entries = session.exec(
        select(LedgerEntry.kind, LedgerEntry.gpu_seconds)
        .where(LedgerEntry.grant_id == ended.id)
        .order_by(col(LedgerEntry.id))
    ).all()
    assert [tuple(e) for e in entries] == [
        (LedgerKind.grant_credit, 144000.0),
        (LedgerKind.expiry, -144000.0),
    ]
    notices = session.exec(select(Notification)).all()
    assert {(n.user_id, n.kind, n.object_id) for n in notices} == {
        (made["engineer"].id, NotificationKind.grant_expiring, str(soon.id)),
        (made["consultant"].id, NotificationKind.grant_expiring, str(soon.id)),
    }

    # a second run (the next hour's CronJob) changes nothing and notifies nobody again
    second = housekeeping()
    assert (second["expired_grant_ids"], second["expiry_notices"]) == ([], 0)
    session.expire_all()
    assert len(session.exec(select(Notification)).all()) == 2
    assert len(session.exec(select(LedgerEntry).where(LedgerEntry.grant_id == ended.id)).all()) == 2


def test_repeating_housekeeping_runs_each_round_and_acts_once(session: Session) -> None:
    ended = world(session)["grants"]["ended"]
    result = runner.invoke(app, ["grants", "housekeeping", "--every", "0.01", "--times", "2"])
    assert result.exit_code == 0, result.output
    rounds = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["expired_grant_ids"] for r in rounds] == [[ended.id], []]
    assert [r["expiry_notices"] for r in rounds] == [2, 0]


def test_housekeeping_mails_the_notices_once(session: Session, inbox: Inbox) -> None:
    made = world(session)
    assert housekeeping()["emails_sent"] == 2
    assert housekeeping()["emails_sent"] == 0
    recipients = sorted(m["To"] for m in inbox.messages)
    assert recipients == sorted([made["engineer"].email, made["consultant"].email])
    assert all("expires on" in m["Subject"] for m in inbox.messages)


def test_housekeeping_is_audited_as_the_system(session: Session) -> None:
    from hub_api.audit.models import AuditEvent

    ended = world(session)["grants"]["ended"]
    housekeeping("--no-email")
    events = session.exec(select(AuditEvent).where(AuditEvent.object_id == str(ended.id))).all()
    assert [(e.action, e.actor_user_id) for e in events] == [("grant.expire", None)]


def test_housekeeping_with_nothing_to_do(session: Session) -> None:
    assert session.exec(select(User)).first() is None
    result = housekeeping()
    assert (result["expired_grant_ids"], result["expiry_notices"]) == ([], 0)


def test_an_unreachable_database_fails_with_a_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["grants", "housekeeping"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "error: database failure" in result.output
