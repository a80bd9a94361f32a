"""Demo consulting data: a funding programme, a case for the Changwon company worked by the demo
consultant, and an approved grant, so the local hub has a GPU-hour budget. Idempotent."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, select

from hub_api.audit import service as audit
from hub_api.cases.models import Case, CaseStatus, ServiceType
from hub_api.companies.validators import Region
from hub_api.core.security import utcnow
from hub_api.grants.models import (
    SECONDS_PER_HOUR,
    Grant,
    GrantStatus,
    LedgerEntry,
    LedgerKind,
    Programme,
)
from hub_api.users.models import User

PROJECT_NUMBER = "DEMO-NIPA-2026-AX-0001"
CASE_TITLE = "가공 하우징 버 검출 (burr detection on machined housings)"
DEMO_GRANT_HOURS = 500.0


def seed_consulting(*, session: Session, company_id: int, consultant: User) -> int:
    """Create what is missing; returns how many objects were created."""
    created = 0
    today = utcnow().date()
    programme = session.exec(
        select(Programme).where(Programme.project_number == PROJECT_NUMBER)
    ).first()
    if programme is None:
        programme = Programme(
            name="지역 AI 전환 GPU 바우처 (regional AX GPU voucher)",
            funder="정보통신산업진흥원 (NIPA) — demo",
            project_number=PROJECT_NUMBER,
            starts_on=date(today.year, 1, 1),
            ends_on=date(today.year + 1, 12, 31),
            pool_gpu_hours=20_000.0,
            company_cap_gpu_hours=2_000.0,
            region=Region.gyeongnam,
            regional_share=0.7,
        )
        session.add(programme)
        session.flush()
        audit.record(
            session=session,
            actor=None,
            action="programme.create",
            object_type="programme",
            object_id=programme.id,
            after=audit.snapshot(programme),
        )
        created += 1
    case = session.exec(
        select(Case).where(Case.company_id == company_id, Case.title == CASE_TITLE)
    ).first()
    if case is None:
        now = utcnow()
        case = Case(
            title=CASE_TITLE,
            service_type=ServiceType.quality_inspection,
            description=(
                "라인 2의 하우징 버(burr)를 육안으로 검사합니다. "
                "카메라와 AI로 자동 검사하고 싶습니다. "
                "(Burrs are inspected by eye; we want camera-based AI inspection.)"
            ),
            company_id=company_id,
            status=CaseStatus.in_progress,
            assignee_id=consultant.id,
            status_changed_at=now,
            first_response_at=now,
        )
        session.add(case)
        session.flush()
        audit.record(
            session=session,
            actor=None,
            action="case.create",
            object_type="case",
            object_id=case.id,
            company_id=company_id,
            after=audit.snapshot(case),
        )
        created += 1
    grant = session.exec(select(Grant).where(Grant.case_id == case.id)).first()
    if grant is None:
        grant = Grant(
            programme_id=programme.id or 0,
            case_id=case.id or 0,
            company_id=company_id,
            project_number=programme.project_number,
            gpu_hours=DEMO_GRANT_HOURS,
            gpu_type=None,
            valid_from=utcnow() - timedelta(days=30),
            valid_until=utcnow() + timedelta(days=180),
            purpose="PoC: train and evaluate a burr-detection model on line-2 images",
            agreement_number="DEMO-AGR-0001",
            agreement_signed_on=today - timedelta(days=31),
            status=GrantStatus.approved,
            proposed_by_id=consultant.id,
            decided_at=utcnow(),
            decision_reason="demo data",
        )
        session.add(grant)
        session.flush()
        session.add(
            LedgerEntry(
                company_id=company_id,
                programme_id=grant.programme_id,
                grant_id=grant.id or 0,
                kind=LedgerKind.grant_credit,
                gpu_seconds=DEMO_GRANT_HOURS * SECONDS_PER_HOUR,
                note="demo grant",
            )
        )
        audit.record(
            session=session,
            actor=None,
            action="grant.approve",
            object_type="grant",
            object_id=grant.id,
            company_id=company_id,
            after=audit.snapshot(grant),
        )
        created += 1
    session.commit()
    return created
