"""The GPU-second ledger contract the jobs domain relies on."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from hub_api.grants import ledger
from hub_api.grants.models import GrantStatus, LedgerEntry, LedgerKind
from tests.factories import make_case, make_grant, make_programme
from tests.hub_api.conftest import World

AT = datetime(2026, 6, 1, tzinfo=UTC)
H = 3600.0


@pytest.fixture
def grants(session: Session, world: World) -> dict[str, object]:
    """Company A: an 'any' grant ending in July (10 h) and one ending in December (20 h)."""
    case = make_case(session, world.company_a)
    programme = make_programme(session)
    early = make_grant(
        session, case, programme, gpu_hours=10, valid_until=datetime(2026, 7, 1, tzinfo=UTC)
    )
    late = make_grant(
        session, case, programme, gpu_hours=20, valid_until=datetime(2026, 12, 1, tzinfo=UTC)
    )
    return {"case": case, "programme": programme, "early": early, "late": late}


def charge(
    session: Session, world: World, job_id: int, hours: float, **kw: object
) -> list[LedgerEntry]:
    entries = ledger.charge_job(
        session=session,
        company_id=world.company_a.id or 0,
        job_id=job_id,
        gpu_seconds=hours * H,
        gpu_type=kw.get("gpu_type"),  # type: ignore[arg-type]
        at=kw.get("at", AT),  # type: ignore[arg-type]
    )
    session.commit()
    return entries


def available(session: Session, world: World, gpu_type: str | None = None) -> float:
    company_id = world.company_a.id or 0
    return ledger.available_gpu_seconds(
        session=session, company_id=company_id, gpu_type=gpu_type, at=AT
    )


def test_charge_takes_the_earliest_expiring_grant_first(
    session: Session, world: World, grants: dict[str, object]
) -> None:
    entries = charge(session, world, job_id=1, hours=12)
    assert [(e.grant_id, e.gpu_seconds / H, e.seq) for e in entries] == [
        (grants["early"].id, -10.0, 0),  # type: ignore[attr-defined]
        (grants["late"].id, -2.0, 1),  # type: ignore[attr-defined]
    ]
    assert available(session, world) == pytest.approx(18 * H)


def test_charging_a_job_twice_is_a_no_op(
    session: Session, world: World, grants: dict[str, object]
) -> None:
    first = charge(session, world, job_id=7, hours=3)
    second = charge(session, world, job_id=7, hours=5)
    assert [e.id for e in second] == [e.id for e in first]
    assert available(session, world) == pytest.approx(27 * H)


def test_the_database_refuses_a_second_debit_of_one_job(
    session: Session, world: World, grants: dict[str, object]
) -> None:
    entry = charge(session, world, job_id=9, hours=1)[0]
    session.add(
        LedgerEntry(
            company_id=entry.company_id,
            programme_id=entry.programme_id,
            grant_id=entry.grant_id,
            job_id=9,
            seq=0,
            kind=LedgerKind.job_debit,
            gpu_seconds=-H,
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_an_overrun_is_debited_to_the_last_grant(
    session: Session, world: World, grants: dict[str, object]
) -> None:
    entries = charge(session, world, job_id=2, hours=35)
    assert [e.gpu_seconds / H for e in entries] == [-10.0, -25.0]
    budget = ledger.company_budget(session=session, company_id=world.company_a.id or 0, at=AT)
    assert [g.balance_gpu_hours for g in budget.grants] == [0.0, -5.0]
    assert available(session, world) == 0.0


def test_a_job_after_its_grants_ended_still_gets_charged(
    session: Session, world: World, grants: dict[str, object]
) -> None:
    entries = charge(session, world, job_id=3, hours=1, at=datetime(2027, 1, 5, tzinfo=UTC))
    assert [e.grant_id for e in entries] == [grants["late"].id]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("grant_type", "job_type", "usable"),
    [
        (None, None, True),
        (None, "A100", True),
        ("A100", "A100", True),
        ("A100", "L40S", False),
        ("A100", None, False),  # an "any GPU" job may land anywhere: only "any" grants pay
    ],
)
def test_gpu_type_rule(
    session: Session, world: World, grant_type: str | None, job_type: str | None, usable: bool
) -> None:
    make_grant(
        session, make_case(session, world.company_a), make_programme(session), gpu_type=grant_type
    )
    assert (available(session, world, job_type) > 0) is usable


def test_only_approved_grants_valid_now_count(session: Session, world: World) -> None:
    case, programme = make_case(session, world.company_a), make_programme(session)
    make_grant(session, case, programme, approved=False)
    make_grant(session, case, programme, valid_from=datetime(2026, 9, 1, tzinfo=UTC))
    make_grant(session, case, programme, status=GrantStatus.expired)
    make_grant(session, make_case(session, world.company_b), programme)
    assert available(session, world) == 0.0


def test_refund_gives_a_jobs_debits_back_once(
    session: Session, world: World, grants: dict[str, object]
) -> None:
    charge(session, world, job_id=4, hours=12)
    company_id = world.company_a.id or 0
    for _ in range(2):
        ledger.refund_job(session=session, company_id=company_id, job_id=4, at=AT)
        session.commit()
    assert available(session, world) == pytest.approx(30 * H)


def test_balance_always_equals_the_sum_of_entries(
    session: Session, world: World, grants: dict[str, object]
) -> None:
    rng = random.Random(6)
    for job_id in range(1, 25):
        charge(session, world, job_id=job_id, hours=rng.uniform(0, 3))
        if rng.random() < 0.3:
            ledger.refund_job(
                session=session, company_id=world.company_a.id or 0, job_id=job_id, at=AT
            )
            session.commit()
    budget = ledger.company_budget(session=session, company_id=world.company_a.id or 0, at=AT)
    total = session.exec(select(func.sum(LedgerEntry.gpu_seconds))).one()
    assert budget.balance_gpu_hours == pytest.approx(total / H, abs=1e-4)
    for grant in budget.grants:
        entries = session.exec(
            select(func.sum(LedgerEntry.gpu_seconds)).where(LedgerEntry.grant_id == grant.grant_id)
        ).one()
        assert grant.balance_gpu_hours == pytest.approx(entries / H, abs=1e-4)
        assert grant.balance_gpu_hours == pytest.approx(
            grant.granted_gpu_hours - grant.used_gpu_hours, abs=1e-4
        )
