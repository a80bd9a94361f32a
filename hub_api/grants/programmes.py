"""Funding programmes and the capacity rules every grant must fit: pool, company cap, region.

``committed`` GPU-hours of a programme are its grants' credits and top-ups minus what was
reclaimed or expired (job debits and refunds do not return hours to the pool). Capacity is
checked while the programme row is locked (``SELECT … FOR UPDATE``), so concurrent approvals on
PostgreSQL are serialized per programme and can never grant more than the pool.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from hub_api.audit import service as audit
from hub_api.companies.models import Company
from hub_api.core.authz import Principal
from hub_api.core.db import commit_or_conflict
from hub_api.core.errors import ConflictError, NotFoundError
from hub_api.core.pagination import ListParams, Page, paginate
from hub_api.core.security import utcnow
from hub_api.grants.models import (
    POOL_KINDS,
    SECONDS_PER_HOUR,
    LedgerEntry,
    Programme,
    ProgrammeCreate,
    ProgrammePublic,
    ProgrammeUpdate,
)

SORTABLE = ("name", "starts_on", "ends_on", "created_at")
EPSILON_HOURS = 1e-6


def _conflict(number: str) -> str:
    return f"a programme with project number {number} already exists"


def committed_gpu_hours(
    session: Session,
    programme_id: int,
    *,
    company_id: int | None = None,
    outside_region: str | None = None,
) -> float:
    statement = select(func.coalesce(func.sum(LedgerEntry.gpu_seconds), 0.0)).where(
        LedgerEntry.programme_id == programme_id, col(LedgerEntry.kind).in_(POOL_KINDS)
    )
    if company_id is not None:
        statement = statement.where(LedgerEntry.company_id == company_id)
    if outside_region is not None:
        statement = statement.join(Company, col(Company.id) == col(LedgerEntry.company_id)).where(
            Company.region != outside_region
        )
    return float(session.exec(statement).one()) / SECONDS_PER_HOUR


def to_public(session: Session, programme: Programme) -> ProgrammePublic:
    assert programme.id is not None
    committed = committed_gpu_hours(session, programme.id)
    return ProgrammePublic.model_validate(
        programme.model_dump()
        | {
            "committed_gpu_hours": round(committed, 6),
            "remaining_gpu_hours": round(programme.pool_gpu_hours - committed, 6),
        }
    )


def lock_programme(session: Session, programme_id: int) -> Programme:
    programme = session.exec(
        select(Programme)
        .where(Programme.id == programme_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if programme is None:
        raise NotFoundError(f"programme {programme_id} not found")
    return programme


def check_capacity(
    session: Session, programme: Programme, *, company: Company, extra_gpu_hours: float
) -> None:
    """Raise 409 unless ``extra_gpu_hours`` more for ``company`` fit the programme's rules."""
    assert programme.id is not None
    committed = committed_gpu_hours(session, programme.id)
    if committed + extra_gpu_hours > programme.pool_gpu_hours + EPSILON_HOURS:
        raise ConflictError(
            f"programme '{programme.name}' has {programme.pool_gpu_hours - committed:g} of "
            f"{programme.pool_gpu_hours:g} GPU-hours left; {extra_gpu_hours:g} do not fit"
        )
    cap = programme.company_cap_gpu_hours
    if cap is not None:
        held = committed_gpu_hours(session, programme.id, company_id=company.id)
        if held + extra_gpu_hours > cap + EPSILON_HOURS:
            raise ConflictError(
                f"company {company.id} already holds {held:g} GPU-hours of programme "
                f"'{programme.name}'; its per-company cap is {cap:g}"
            )
    region, share = programme.region, programme.regional_share
    if region is not None and share is not None and company.region != region:
        outside_limit = (1 - share) * programme.pool_gpu_hours
        outside = committed_gpu_hours(session, programme.id, outside_region=region.value)
        if outside + extra_gpu_hours > outside_limit + EPSILON_HOURS:
            raise ConflictError(
                f"programme '{programme.name}' reserves {share:.0%} of its pool for companies "
                f"in {region}; only {outside_limit - outside:g} GPU-hours are left for other "
                "regions"
            )


def create_programme(*, session: Session, actor: Principal, data: ProgrammeCreate) -> Programme:
    if session.exec(
        select(Programme.id).where(Programme.project_number == data.project_number)
    ).first():
        raise ConflictError(_conflict(data.project_number))
    programme = Programme.model_validate(data)
    session.add(programme)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="programme.create",
        object_type="programme",
        object_id=programme.id,
        after=audit.snapshot(programme),
    )
    commit_or_conflict(session, conflict_message=_conflict(data.project_number))
    return programme


def update_programme(
    *, session: Session, actor: Principal, programme: Programme, data: ProgrammeUpdate
) -> Programme:
    programme_id = programme.id
    assert programme_id is not None
    programme = lock_programme(session, programme_id)
    before = audit.snapshot(programme)
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(programme, key, value)
    try:
        ProgrammeCreate.model_validate(
            programme.model_dump(exclude={"id", "created_at", "updated_at"})
        )
    except ValueError as exc:
        session.rollback()
        raise ConflictError(f"the programme would be inconsistent: {exc}") from exc
    committed = committed_gpu_hours(session, programme_id)
    if programme.pool_gpu_hours + EPSILON_HOURS < committed:
        session.rollback()
        raise ConflictError(
            f"the pool cannot shrink below the {committed:g} GPU-hours already committed"
        )
    programme.updated_at = utcnow()
    session.add(programme)
    audit.record(
        session=session,
        actor=actor,
        action="programme.update",
        object_type="programme",
        object_id=programme.id,
        before=before,
        after=audit.snapshot(programme),
    )
    commit_or_conflict(session, conflict_message="programme update conflicts with existing data")
    return programme


def list_programmes(*, session: Session, params: ListParams) -> Page[Programme]:
    return paginate(session, Programme, params, sortable=SORTABLE)
