"""The case workflow as one explicit table, and the SLA clock.

``TRANSITIONS`` lists every allowed (from, to) move and the roles that may make it. Anything else
is refused: a move the workflow does not allow is a 409 naming the current status and the allowed
next ones; a role that may not make an allowed move is a 403 naming the roles that may.
Consultants may only move cases assigned to them (or, for triage, still unassigned ones).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import col

from hub_api.cases.models import CLOSED_STATUSES, Case, CaseStatus, SlaStatus
from hub_api.core.authz import Permission, Principal
from hub_api.core.errors import ConflictError, ForbiddenError
from hub_api.core.security import as_utc
from hub_api.users.models import Role

S = CaseStatus
STAFF = frozenset({Role.consultant, Role.operator, Role.admin})
COMPANY = frozenset({Role.engineer, Role.admin})  # admins may act on a company's behalf

TRANSITIONS: dict[tuple[CaseStatus, CaseStatus], frozenset[Role]] = {
    (S.submitted, S.triaged): STAFF,
    (S.submitted, S.rejected): STAFF,
    (S.submitted, S.withdrawn): COMPANY,
    (S.triaged, S.in_progress): STAFF,
    (S.triaged, S.rejected): STAFF,
    (S.triaged, S.withdrawn): COMPANY,
    (S.in_progress, S.poc): STAFF,
    (S.in_progress, S.completed): STAFF,
    (S.in_progress, S.withdrawn): COMPANY,
    (S.poc, S.in_progress): STAFF,
    (S.poc, S.completed): STAFF,
    (S.poc, S.withdrawn): COMPANY,
}

# How long a case may stay in a stage before it is flagged overdue ("submitted" is covered by the
# first-response SLA).
STAGE_LIMITS: dict[CaseStatus, timedelta] = {
    S.triaged: timedelta(days=7),
    S.in_progress: timedelta(days=30),
    S.poc: timedelta(days=60),
}


def allowed_next(status: CaseStatus) -> list[CaseStatus]:
    return [to for (frm, to) in TRANSITIONS if frm == status]


def check_transition(case: Case, to_status: CaseStatus, principal: Principal) -> None:
    """Raise unless ``principal`` may move ``case`` to ``to_status`` now."""
    current = case.status
    roles = TRANSITIONS.get((current, to_status))
    if roles is None:
        options = ", ".join(f"'{s}'" for s in allowed_next(current)) or "none (the case is closed)"
        raise ConflictError(
            f"case {case.id} is '{current}' and cannot move to '{to_status}'; "
            f"allowed next statuses: {options}"
        )
    if principal.role not in roles:
        names = ", ".join(sorted(r.value for r in roles))
        raise ForbiddenError(
            f"role '{principal.role}' may not move a case from '{current}' to '{to_status}'; "
            f"allowed roles: {names}"
        )
    if principal.role == Role.consultant:
        ensure_consultant_may_work(case, principal)


def allowed_moves(case: Case, principal: Principal) -> list[CaseStatus]:
    """The statuses ``principal`` may move ``case`` to now (what ``check_transition`` allows)."""
    if not principal.has(Permission.case_transition):
        return []
    moves = []
    for to_status in allowed_next(case.status):
        try:
            check_transition(case, to_status, principal)
        except (ConflictError, ForbiddenError):
            continue
        moves.append(to_status)
    return moves


def ensure_consultant_may_work(case: Case, principal: Principal) -> None:
    """Consultants work their own cases; an unassigned submitted case is open for triage."""
    if case.assignee_id == principal.user_id:
        return
    if case.assignee_id is None and case.status == CaseStatus.submitted:
        return
    raise ForbiddenError(
        f"case {case.id} is assigned to another consultant"
        if case.assignee_id is not None
        else f"case {case.id} is not assigned to you; assign it first"
    )


def sla_status(case: Case, *, now: datetime, first_response_hours: int) -> SlaStatus:
    created = as_utc(case.created_at)
    entered = as_utc(case.status_changed_at)
    first_due = created + timedelta(hours=first_response_hours)
    responded = as_utc(case.first_response_at) if case.first_response_at else None
    closed = case.status in CLOSED_STATUSES
    if case.status == CaseStatus.submitted:
        stage_due: datetime | None = first_due
    elif closed:
        stage_due = None
    else:
        stage_due = entered + STAGE_LIMITS[case.status]
    return SlaStatus(
        first_response_due_at=first_due,
        first_response_at=responded,
        first_response_overdue=responded is None and not closed and now > first_due,
        first_response_late=(responded > first_due)
        if responded
        else (not closed and now > first_due),
        stage_entered_at=entered,
        stage_due_at=stage_due,
        stage_overdue=stage_due is not None and now > stage_due,
    )


def overdue_condition(*, now: datetime, first_response_hours: int) -> Any:
    """SQL condition: open cases whose first response or current stage is overdue."""
    open_case = col(Case.status).not_in(list(CLOSED_STATUSES))
    unanswered = and_(
        col(Case.first_response_at).is_(None),
        open_case,
        col(Case.created_at) < now - timedelta(hours=first_response_hours),
    )
    stages = [
        and_(col(Case.status) == status, col(Case.status_changed_at) < now - limit)
        for status, limit in STAGE_LIMITS.items()
    ]
    return or_(unanswered, *stages)
