"""Consultation cases: requests, workflow transitions, assignment, caseload."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from sqlmodel import Session, col, select

from hub_api.audit import service as audit
from hub_api.cases import scope
from hub_api.cases.models import (
    CLOSED_STATUSES,
    AssignmentRequest,
    Case,
    CaseCreate,
    CaseloadRow,
    CasePublic,
    CaseStatus,
    CaseTransition,
    CaseUpdate,
    Outcome,
    ServiceType,
    TransitionRequest,
)
from hub_api.cases.workflow import allowed_moves, check_transition, overdue_condition, sla_status
from hub_api.companies.models import Company
from hub_api.core.authz import Principal
from hub_api.core.config import Settings
from hub_api.core.db import commit_or_conflict
from hub_api.core.errors import ConflictError, ForbiddenError, InvalidInputError
from hub_api.core.pagination import ListParams, Page, paginate
from hub_api.core.security import utcnow
from hub_api.notifications import service as notifications
from hub_api.notifications.models import NotificationKind
from hub_api.users.models import Role, User

SORTABLE = ("created_at", "status", "status_changed_at", "service_type", "company_id", "title")


def to_public(
    case: Case, *, settings: Settings, actor: Principal, now: datetime | None = None
) -> CasePublic:
    sla = sla_status(
        case, now=now or utcnow(), first_response_hours=settings.case_first_response_hours
    )
    data = case.model_dump(exclude={"outcome", "preferred_dates"})
    return CasePublic.model_validate(
        data
        | {
            "preferred_dates": [date.fromisoformat(d) for d in case.preferred_dates],
            "outcome": Outcome.model_validate(case.outcome) if case.outcome else None,
            "sla": sla,
            "allowed_transitions": allowed_moves(case, actor),
        }
    )


def _audit(
    session: Session, actor: Principal | None, case: Case, action: str, **kw: object
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=f"case.{action}",
        object_type="case",
        object_id=case.id,
        company_id=case.company_id,
        **kw,  # type: ignore[arg-type]
    )


def create_case(*, session: Session, actor: Principal, data: CaseCreate) -> Case:
    if actor.is_staff:
        if data.company_id is None:
            raise InvalidInputError(
                "company_id is required when hub staff open a case", field="body.company_id"
            )
        if session.get(Company, data.company_id) is None:
            raise InvalidInputError(
                f"company {data.company_id} does not exist", field="body.company_id"
            )
        company_id = data.company_id
    else:
        if data.company_id is not None and data.company_id != actor.company_id:
            raise InvalidInputError(
                "engineers request cases for their own company only", field="body.company_id"
            )
        assert actor.company_id is not None
        company_id = actor.company_id
    case = Case.model_validate(
        data.model_dump(exclude={"company_id", "preferred_dates"})
        | {
            "company_id": company_id,
            "requested_by_id": actor.user_id,
            "preferred_dates": [d.isoformat() for d in data.preferred_dates],
        }
    )
    session.add(case)
    session.flush()
    _audit(session, actor, case, "create", after=audit.snapshot(case))
    commit_or_conflict(session, conflict_message="case conflicts with existing data")
    return case


def list_cases(
    *,
    session: Session,
    actor: Principal,
    params: ListParams,
    settings: Settings,
    status: CaseStatus | None = None,
    company_id: int | None = None,
    assignee_id: int | None = None,
    service_type: ServiceType | None = None,
    unassigned: bool | None = None,
    overdue: bool | None = None,
) -> Page[Case]:
    conditions = []
    visible = scope.case_condition(session, actor)
    if visible is not None:
        conditions.append(visible)
    if unassigned is not None:
        assignee = col(Case.assignee_id)
        conditions.append(assignee.is_(None) if unassigned else assignee.isnot(None))
    if overdue is not None:
        late = overdue_condition(
            now=utcnow(), first_response_hours=settings.case_first_response_hours
        )
        conditions.append(late if overdue else ~late)
    return paginate(
        session,
        Case,
        params.model_copy(update={"sort": params.sort or "-created_at"}),
        sortable=SORTABLE,
        filters={
            "status": status,
            "company_id": company_id,
            "assignee_id": assignee_id,
            "service_type": service_type,
        },
        conditions=conditions,
    )


def update_case(*, session: Session, actor: Principal, case: Case, data: CaseUpdate) -> Case:
    if case.status in CLOSED_STATUSES:
        raise ConflictError(f"case {case.id} is '{case.status}' (closed) and cannot be edited")
    if actor.role == Role.consultant and case.assignee_id not in (None, actor.user_id):
        raise ForbiddenError(f"case {case.id} is assigned to another consultant")
    before = audit.snapshot(case)
    changes = data.model_dump(exclude_unset=True, mode="json")
    for key, value in changes.items():
        setattr(case, key, value)
    case.updated_at = utcnow()
    session.add(case)
    _audit(session, actor, case, "update", before=before, after=audit.snapshot(case))
    commit_or_conflict(session, conflict_message="case update conflicts with existing data")
    return case


def _notify_status(session: Session, actor: Principal, case: Case, reason: str) -> None:
    audience = [*notifications.company_engineer_ids(session, case.company_id), case.assignee_id]
    notifications.notify(
        session=session,
        user_ids=[uid for uid in audience if uid != actor.user_id],
        kind=NotificationKind.case_status_changed,
        title=f"Case #{case.id} is now '{case.status}'",
        body=f"Case #{case.id} '{case.title}' moved to '{case.status}'.\nReason: {reason}",
        object_type="case",
        object_id=case.id,
    )


def transition_case(
    *, session: Session, actor: Principal, case: Case, data: TransitionRequest
) -> Case:
    check_transition(case, data.to_status, actor)
    if data.to_status == CaseStatus.completed and data.outcome is None and not case.outcome:
        raise InvalidInputError(
            "completing a case needs its outcome (what was delivered, business results)",
            field="body.outcome",
        )
    before = audit.snapshot(case)
    now = utcnow()
    session.add(
        CaseTransition(
            case_id=case.id or 0,
            from_status=case.status,
            to_status=data.to_status,
            reason=data.reason,
            actor_user_id=actor.user_id,
            at=now,
        )
    )
    if data.outcome is not None:
        case.outcome = data.outcome.model_dump(mode="json")
    case.status = data.to_status
    case.status_changed_at = now
    case.updated_at = now
    if actor.is_staff and case.first_response_at is None:
        case.first_response_at = now
    if data.to_status in CLOSED_STATUSES:
        case.closed_at = now
    triage = data.to_status == CaseStatus.triaged and case.assignee_id is None
    if triage and actor.role == Role.consultant:
        case.assignee_id = actor.user_id
    session.add(case)
    _audit(
        session,
        actor,
        case,
        "transition",
        before=before,
        after={**(audit.snapshot(case) or {}), "reason": data.reason},
    )
    _notify_status(session, actor, case, data.reason)
    commit_or_conflict(session, conflict_message="case changed meanwhile; reload and retry")
    return case


def list_transitions(*, session: Session, case: Case) -> list[CaseTransition]:
    return list(
        session.exec(
            select(CaseTransition)
            .where(CaseTransition.case_id == case.id)
            .order_by(col(CaseTransition.at), col(CaseTransition.id))
        ).all()
    )


def _check_assignee(session: Session, assignee_id: int) -> User:
    user = session.get(User, assignee_id)
    if user is None or user.role != Role.consultant or not user.is_active:
        raise InvalidInputError(
            f"user {assignee_id} is not an active consultant", field="body.assignee_id"
        )
    return user


def assign_case(*, session: Session, actor: Principal, case: Case, data: AssignmentRequest) -> Case:
    if case.status in CLOSED_STATUSES:
        raise ConflictError(f"case {case.id} is '{case.status}' (closed); it cannot be reassigned")
    claim = data.assignee_id == actor.user_id and case.assignee_id in (None, actor.user_id)
    if actor.role == Role.consultant and not claim:
        raise ForbiddenError(
            "consultants may only take unassigned cases themselves; "
            "operators assign cases to others"
        )
    if data.assignee_id is not None:
        _check_assignee(session, data.assignee_id)
    if data.assignee_id == case.assignee_id:
        return case
    before = audit.snapshot(case)
    case.assignee_id = data.assignee_id
    case.updated_at = utcnow()
    session.add(case)
    _audit(
        session,
        actor,
        case,
        "assign",
        before=before,
        after={**(audit.snapshot(case) or {}), "reason": data.reason},
    )
    if data.assignee_id is not None and data.assignee_id != actor.user_id:
        notifications.notify(
            session=session,
            user_ids=[data.assignee_id],
            kind=NotificationKind.case_assigned,
            title=f"Case #{case.id} was assigned to you",
            body=f"Case #{case.id} '{case.title}' ({case.service_type}) is yours to work.",
            object_type="case",
            object_id=case.id,
        )
    commit_or_conflict(session, conflict_message="case changed meanwhile; reload and retry")
    return case


def caseload(*, session: Session, actor: Principal, settings: Settings) -> list[CaseloadRow]:
    """Open cases per consultant, by status, with the number overdue."""
    consultants = select(User).where(User.role == Role.consultant, col(User.is_active).is_(True))
    if actor.role == Role.consultant:
        consultants = consultants.where(User.id == actor.user_id)
    people = session.exec(consultants.order_by(col(User.id))).all()
    ids = [p.id for p in people]
    open_cases = session.exec(
        select(Case).where(
            col(Case.assignee_id).in_(ids), col(Case.status).not_in(list(CLOSED_STATUSES))
        )
    ).all()
    now = utcnow()
    rows = []
    for person in people:
        mine = [c for c in open_cases if c.assignee_id == person.id]
        late = 0
        for case in mine:
            sla = sla_status(case, now=now, first_response_hours=settings.case_first_response_hours)
            late += sla.first_response_overdue or sla.stage_overdue
        rows.append(
            CaseloadRow(
                consultant_id=person.id or 0,
                consultant_email=person.email,
                open_cases=len(mine),
                by_status=dict(Counter(c.status.value for c in mine)),
                overdue=late,
            )
        )
    return rows
