from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from hub_api.assessments import service
from hub_api.assessments.models import (
    Assessment,
    AssessmentCreate,
    AssessmentPublic,
    CompanyUplift,
    Phase,
    QuestionPublic,
)
from hub_api.assessments.questionnaire import QUESTIONS
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.db import SessionDep
from hub_api.core.pagination import ListParamsDep, Page

router = APIRouter(prefix="/assessments", tags=["assessments"])
Reader = Annotated[Principal, Depends(require(Permission.assessment_read))]


@router.get(
    "/questionnaire", response_model=list[QuestionPublic], summary="The maturity questionnaire"
)
def questionnaire(_: Reader) -> list[QuestionPublic]:
    return [QuestionPublic(id=q.id, dimension=q.dimension.value, text=q.text) for q in QUESTIONS]


@router.post(
    "",
    response_model=AssessmentPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Record a maturity assessment (T0 at intake, T1 after support)",
)
def create_assessment(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.assessment_write))],
    data: AssessmentCreate,
) -> Assessment:
    return service.create_assessment(session=session, actor=actor, data=data)


@router.get("", response_model=Page[AssessmentPublic], summary="Assessments visible to you")
def list_assessments(
    session: SessionDep,
    actor: Reader,
    params: ListParamsDep,
    company_id: int | None = None,
    case_id: int | None = None,
    phase: Phase | None = None,
) -> Page[Assessment]:
    return service.list_assessments(
        session=session,
        actor=actor,
        params=params,
        company_id=company_id,
        case_id=case_id,
        phase=phase,
    )


@router.get(
    "/uplift", response_model=list[CompanyUplift], summary="Maturity uplift (T0 → T1) per company"
)
def uplift(
    session: SessionDep, actor: Reader, company_id: int | None = None
) -> list[CompanyUplift]:
    return service.uplift(session=session, actor=actor, company_id=company_id)


@router.get("/{assessment_id}", response_model=AssessmentPublic, summary="One assessment")
def get_assessment(
    session: SessionDep, actor: Reader, assessment_id: Annotated[int, Path(ge=1)]
) -> Assessment:
    return service.get_assessment(session=session, actor=actor, assessment_id=assessment_id)
