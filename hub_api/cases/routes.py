from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from hub_api.cases import service
from hub_api.cases.dependencies import CaseDep, SettingsDep
from hub_api.cases.models import (
    AssignmentRequest,
    CaseCreate,
    CaseloadRow,
    CasePublic,
    CaseStatus,
    CaseTransition,
    CaseTransitionPublic,
    CaseUpdate,
    ServiceType,
    TransitionRequest,
)
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.db import SessionDep
from hub_api.core.pagination import ListParamsDep, Page

router = APIRouter(prefix="/cases", tags=["cases"])
Reader = Annotated[Principal, Depends(require(Permission.case_read))]
Worker = Annotated[Principal, Depends(require(Permission.case_work))]


@router.post(
    "",
    response_model=CasePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Request a consultation",
)
def create_case(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.case_create))],
    settings: SettingsDep,
    data: CaseCreate,
) -> CasePublic:
    case = service.create_case(session=session, actor=actor, data=data)
    return service.to_public(case, settings=settings, actor=actor)


@router.get("", response_model=Page[CasePublic], summary="List cases visible to you")
def list_cases(
    session: SessionDep,
    actor: Reader,
    settings: SettingsDep,
    params: ListParamsDep,
    status: CaseStatus | None = None,
    company_id: int | None = None,
    assignee_id: int | None = None,
    service_type: ServiceType | None = None,
    unassigned: bool | None = None,
    overdue: bool | None = None,
) -> Page[CasePublic]:
    page = service.list_cases(
        session=session,
        actor=actor,
        params=params,
        settings=settings,
        status=status,
        company_id=company_id,
        assignee_id=assignee_id,
        service_type=service_type,
        unassigned=unassigned,
        overdue=overdue,
    )
    items = [service.to_public(case, settings=settings, actor=actor) for case in page.items]
    return Page(items=items, total=page.total, limit=page.limit, offset=page.offset)


@router.get("/caseload", response_model=list[CaseloadRow], summary="Open cases per consultant")
def caseload(session: SessionDep, actor: Worker, settings: SettingsDep) -> list[CaseloadRow]:
    return service.caseload(session=session, actor=actor, settings=settings)


@router.get("/{case_id}", response_model=CasePublic, summary="Get one case")
def get_case(case: CaseDep, actor: Reader, settings: SettingsDep) -> CasePublic:
    return service.to_public(case, settings=settings, actor=actor)


@router.patch("/{case_id}", response_model=CasePublic, summary="Edit an open case")
def update_case(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.case_create))],
    case: CaseDep,
    settings: SettingsDep,
    data: CaseUpdate,
) -> CasePublic:
    case = service.update_case(session=session, actor=actor, case=case, data=data)
    return service.to_public(case, settings=settings, actor=actor)


@router.post(
    "/{case_id}/transitions", response_model=CasePublic, summary="Move a case in its workflow"
)
def transition_case(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.case_transition))],
    case: CaseDep,
    settings: SettingsDep,
    data: TransitionRequest,
) -> CasePublic:
    case = service.transition_case(session=session, actor=actor, case=case, data=data)
    return service.to_public(case, settings=settings, actor=actor)


@router.get(
    "/{case_id}/transitions",
    response_model=list[CaseTransitionPublic],
    summary="Status history of a case",
)
def list_transitions(session: SessionDep, case: CaseDep) -> list[CaseTransition]:
    return service.list_transitions(session=session, case=case)


@router.put("/{case_id}/assignment", response_model=CasePublic, summary="Assign a consultant")
def assign_case(
    session: SessionDep,
    actor: Worker,
    case: CaseDep,
    settings: SettingsDep,
    data: AssignmentRequest,
) -> CasePublic:
    case = service.assign_case(session=session, actor=actor, case=case, data=data)
    return service.to_public(case, settings=settings, actor=actor)
