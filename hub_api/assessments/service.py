"""Recording maturity assessments and computing each company's uplift (T0 → T1)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from hub_api.assessments.models import Assessment, AssessmentCreate, CompanyUplift, Phase
from hub_api.assessments.questionnaire import score
from hub_api.audit import service as audit
from hub_api.cases import scope
from hub_api.cases.models import Case
from hub_api.core.authz import Principal
from hub_api.core.db import commit_or_conflict
from hub_api.core.errors import ForbiddenError, InvalidInputError, NotFoundError
from hub_api.core.pagination import ListParams, Page, paginate
from hub_api.users.models import Role

SORTABLE = ("created_at", "phase", "overall_score", "company_id")


def create_assessment(*, session: Session, actor: Principal, data: AssessmentCreate) -> Assessment:
    case = session.get(Case, data.case_id)
    if case is None or not scope.can_see_case(session, actor, case):
        raise InvalidInputError(f"case {data.case_id} does not exist", field="body.case_id")
    if actor.role == Role.consultant and case.assignee_id != actor.user_id:
        raise ForbiddenError(f"case {case.id} is not assigned to you")
    result = score(data.answers)
    assessment = Assessment(
        phase=data.phase,
        notes=data.notes,
        company_id=case.company_id,
        case_id=case.id,
        answers=data.answers,
        dimension_scores=result.dimensions,
        overall_score=result.overall,
        smart_factory_level=result.smart_factory_level,
        assessed_by_id=actor.user_id,
    )
    session.add(assessment)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="assessment.create",
        object_type="assessment",
        object_id=assessment.id,
        company_id=assessment.company_id,
        after=audit.snapshot(assessment),
    )
    commit_or_conflict(session, conflict_message="assessment conflicts with existing data")
    return assessment


def get_assessment(*, session: Session, actor: Principal, assessment_id: int) -> Assessment:
    assessment = session.get(Assessment, assessment_id)
    what = f"assessment {assessment_id}"
    if assessment is None:
        raise NotFoundError(f"{what} not found")
    scope.ensure_company_in_scope(session, actor, assessment.company_id, what=what)
    return assessment


def list_assessments(
    *,
    session: Session,
    actor: Principal,
    params: ListParams,
    company_id: int | None = None,
    case_id: int | None = None,
    phase: Phase | None = None,
) -> Page[Assessment]:
    condition = scope.company_condition(session, actor, Assessment.company_id)
    return paginate(
        session,
        Assessment,
        params.model_copy(update={"sort": params.sort or "-created_at"}),
        sortable=SORTABLE,
        filters={"company_id": company_id, "case_id": case_id, "phase": phase},
        conditions=[condition] if condition is not None else [],
    )


def uplift(
    *, session: Session, actor: Principal, company_id: int | None = None
) -> list[CompanyUplift]:
    """Per company with both phases: the first T0 against the latest T1."""
    statement = select(Assessment).order_by(col(Assessment.created_at), col(Assessment.id))
    condition = scope.company_condition(session, actor, Assessment.company_id)
    if condition is not None:
        statement = statement.where(condition)
    if company_id is not None:
        statement = statement.where(Assessment.company_id == company_id)
    first_t0: dict[int, Assessment] = {}
    last_t1: dict[int, Assessment] = {}
    for assessment in session.exec(statement).all():
        if assessment.phase == Phase.t0:
            first_t0.setdefault(assessment.company_id, assessment)
        else:
            last_t1[assessment.company_id] = assessment
    rows = []
    for company, before in sorted(first_t0.items()):
        after = last_t1.get(company)
        if after is None or after.created_at < before.created_at:
            continue
        rows.append(
            CompanyUplift(
                company_id=company,
                t0_assessment_id=before.id or 0,
                t1_assessment_id=after.id or 0,
                t0_overall=before.overall_score,
                t1_overall=after.overall_score,
                overall_uplift=round(after.overall_score - before.overall_score, 2),
                t0_level=before.smart_factory_level,
                t1_level=after.smart_factory_level,
                level_uplift=after.smart_factory_level - before.smart_factory_level,
                dimension_uplift={
                    name: round(after.dimension_scores[name] - value, 2)
                    for name, value in before.dimension_scores.items()
                },
            )
        )
    return rows
