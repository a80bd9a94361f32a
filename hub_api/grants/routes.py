from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from sqlmodel import SQLModel

from hub_api.cases.scope import ensure_company_in_scope
from hub_api.companies.models import Company
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.db import SessionDep
from hub_api.core.errors import NotFoundError
from hub_api.core.pagination import ListParamsDep, Page
from hub_api.grants import ledger, programmes, service
from hub_api.grants.models import (
    CompanyBudget,
    Grant,
    GrantAdjustment,
    GrantDecision,
    GrantPropose,
    GrantPublic,
    GrantStatus,
    LedgerEntry,
    LedgerEntryPublic,
    Programme,
    ProgrammeCreate,
    ProgrammePublic,
    ProgrammeUpdate,
)

router = APIRouter(tags=["grants"])
Manager = Annotated[Principal, Depends(require(Permission.grant_manage))]
Decider = Annotated[Principal, Depends(require(Permission.grant_decide))]


def load_programme(
    session: SessionDep,
    _: Annotated[Principal, Depends(require(Permission.programme_read))],
    programme_id: Annotated[int, Path(ge=1)],
) -> Programme:
    programme = session.get(Programme, programme_id)
    if programme is None:
        raise NotFoundError(f"programme {programme_id} not found")
    return programme


def load_grant(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.grant_read))],
    grant_id: Annotated[int, Path(ge=1)],
) -> Grant:
    return service.get_grant(session=session, actor=actor, grant_id=grant_id)


ProgrammeDep = Annotated[Programme, Depends(load_programme)]
GrantDep = Annotated[Grant, Depends(load_grant)]


@router.post(
    "/programmes",
    response_model=ProgrammePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a funding programme",
)
def create_programme(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.programme_manage))],
    data: ProgrammeCreate,
) -> ProgrammePublic:
    programme = programmes.create_programme(session=session, actor=actor, data=data)
    return programmes.to_public(session, programme)


@router.get("/programmes", response_model=Page[ProgrammePublic], summary="Funding programmes")
def list_programmes(
    session: SessionDep,
    _: Annotated[Principal, Depends(require(Permission.programme_read))],
    params: ListParamsDep,
) -> Page[ProgrammePublic]:
    page = programmes.list_programmes(session=session, params=params)
    items = [programmes.to_public(session, p) for p in page.items]
    return Page(items=items, total=page.total, limit=page.limit, offset=page.offset)


@router.get("/programmes/{programme_id}", response_model=ProgrammePublic, summary="A programme")
def get_programme(session: SessionDep, programme: ProgrammeDep) -> ProgrammePublic:
    return programmes.to_public(session, programme)


@router.patch(
    "/programmes/{programme_id}", response_model=ProgrammePublic, summary="Change a programme"
)
def update_programme(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.programme_manage))],
    programme: ProgrammeDep,
    data: ProgrammeUpdate,
) -> ProgrammePublic:
    programme = programmes.update_programme(
        session=session, actor=actor, programme=programme, data=data
    )
    return programmes.to_public(session, programme)


@router.post(
    "/grants",
    response_model=GrantPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Propose a GPU-hour grant for a case",
)
def propose_grant(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.grant_propose))],
    data: GrantPropose,
) -> Grant:
    return service.propose_grant(session=session, actor=actor, data=data)


@router.get("/grants", response_model=Page[GrantPublic], summary="Grants visible to you")
def list_grants(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.grant_read))],
    params: ListParamsDep,
    status: GrantStatus | None = None,
    company_id: int | None = None,
    programme_id: int | None = None,
    case_id: int | None = None,
) -> Page[Grant]:
    return service.list_grants(
        session=session,
        actor=actor,
        params=params,
        status=status,
        company_id=company_id,
        programme_id=programme_id,
        case_id=case_id,
    )


class HousekeepingResult(SQLModel):
    expired_grant_ids: list[int]
    expiry_notices: int


@router.post(
    "/grants/housekeeping",
    response_model=HousekeepingResult,
    summary="Expire ended grants; announce grants ending within 7 days",
)
def housekeeping(session: SessionDep, actor: Manager) -> HousekeepingResult:
    expired, notices = service.run_housekeeping(session=session, actor=actor)
    return HousekeepingResult(expired_grant_ids=expired, expiry_notices=notices)


@router.get("/grants/{grant_id}", response_model=GrantPublic, summary="One grant")
def get_grant(grant: GrantDep) -> Grant:
    return grant


@router.post("/grants/{grant_id}/approve", response_model=GrantPublic, summary="Approve (4-eyes)")
def approve_grant(
    session: SessionDep, actor: Decider, grant: GrantDep, data: GrantDecision
) -> Grant:
    return service.approve_grant(session=session, actor=actor, grant=grant, data=data)


@router.post("/grants/{grant_id}/reject", response_model=GrantPublic, summary="Reject")
def reject_grant(
    session: SessionDep, actor: Decider, grant: GrantDep, data: GrantDecision
) -> Grant:
    return service.reject_grant(session=session, actor=actor, grant=grant, data=data)


@router.post("/grants/{grant_id}/cancel", response_model=GrantPublic, summary="Withdraw a proposal")
def cancel_grant(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.grant_propose))],
    grant: GrantDep,
    data: GrantDecision,
) -> Grant:
    return service.cancel_grant(session=session, actor=actor, grant=grant, data=data)


@router.post(
    "/grants/{grant_id}/top-ups",
    response_model=LedgerEntryPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add GPU-hours to an approved grant",
)
def top_up_grant(
    session: SessionDep, actor: Manager, grant: GrantDep, data: GrantAdjustment
) -> LedgerEntry:
    return service.top_up_grant(session=session, actor=actor, grant=grant, data=data)


@router.post(
    "/grants/{grant_id}/reclaims",
    response_model=LedgerEntryPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Return unused or off-purpose GPU-hours to the pool",
)
def reclaim_grant(
    session: SessionDep, actor: Manager, grant: GrantDep, data: GrantAdjustment
) -> LedgerEntry:
    return service.reclaim_grant(session=session, actor=actor, grant=grant, data=data)


@router.get(
    "/grants/{grant_id}/ledger",
    response_model=list[LedgerEntryPublic],
    summary="A grant's ledger entries (their sum is its balance)",
)
def grant_ledger(session: SessionDep, grant: GrantDep) -> list[LedgerEntry]:
    return service.grant_ledger(session=session, grant=grant)


@router.get(
    "/companies/{company_id}/budget",
    response_model=CompanyBudget,
    summary="A company's GPU-hour budget per grant and in total",
)
def company_budget(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.budget_read))],
    company_id: Annotated[int, Path(ge=1)],
) -> CompanyBudget:
    ensure_company_in_scope(session, actor, company_id, what=f"company {company_id}")
    if session.get(Company, company_id) is None:
        raise NotFoundError(f"company {company_id} not found")
    return ledger.company_budget(session=session, company_id=company_id)
