"""GPU-hour grants: a consultant proposes, a second staff member decides (four-eyes).

Grant states move only along ``GRANT_TRANSITIONS``. Approval, top-ups and reclaims lock the
programme row and write ledger entries in the same transaction as the state change and its audit
event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from hub_api.audit import service as audit
from hub_api.cases import scope
from hub_api.cases.models import CLOSED_STATUSES, Case
from hub_api.companies.models import Company
from hub_api.core.authz import Principal
from hub_api.core.db import commit_or_conflict
from hub_api.core.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from hub_api.core.pagination import ListParams, Page, paginate
from hub_api.core.security import as_utc, utcnow
from hub_api.grants import ledger
from hub_api.grants.models import (
    SECONDS_PER_HOUR,
    Grant,
    GrantAdjustment,
    GrantDecision,
    GrantPropose,
    GrantStatus,
    LedgerEntry,
    LedgerKind,
    Programme,
)
from hub_api.grants.programmes import check_capacity, lock_programme
from hub_api.notifications import service as notifications
from hub_api.notifications.models import NotificationKind
from hub_api.users.models import Role

G = GrantStatus
DECIDERS = frozenset({Role.operator, Role.admin})
PROPOSERS = frozenset({Role.consultant, Role.admin})
GRANT_TRANSITIONS: dict[tuple[GrantStatus, GrantStatus], frozenset[Role]] = {
    (G.proposed, G.approved): DECIDERS,
    (G.proposed, G.rejected): DECIDERS,
    (G.proposed, G.cancelled): PROPOSERS,
    (G.approved, G.expired): DECIDERS,
}
SORTABLE = ("created_at", "valid_until", "status", "company_id", "gpu_hours")


def check_grant_transition(grant: Grant, to: GrantStatus, actor: Principal | None) -> None:
    roles = GRANT_TRANSITIONS.get((grant.status, to))
    if roles is None:
        allowed = [t for (f, t) in GRANT_TRANSITIONS if f == grant.status]
        options = ", ".join(f"'{s}'" for s in allowed) or "none"
        raise ConflictError(
            f"grant {grant.id} is '{grant.status}' and cannot become '{to}'; allowed: {options}"
        )
    if actor is not None and actor.role not in roles:
        names = ", ".join(sorted(r.value for r in roles))
        raise ForbiddenError(
            f"role '{actor.role}' may not move a grant from '{grant.status}' to '{to}'; "
            f"allowed roles: {names}"
        )


def _audit(
    session: Session, actor: Principal | None, grant: Grant, action: str, before: object = None
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=f"grant.{action}",
        object_type="grant",
        object_id=grant.id,
        company_id=grant.company_id,
        before=before,  # type: ignore[arg-type]
        after=audit.snapshot(grant),
    )


def _entry(
    grant: Grant, kind: LedgerKind, hours: float, actor: Principal | None, note: str
) -> LedgerEntry:
    return LedgerEntry(
        company_id=grant.company_id,
        programme_id=grant.programme_id,
        grant_id=grant.id or 0,
        kind=kind,
        gpu_seconds=hours * SECONDS_PER_HOUR,
        gpu_type=grant.gpu_type,
        actor_user_id=actor.user_id if actor else None,
        note=note,
    )


def propose_grant(*, session: Session, actor: Principal, data: GrantPropose) -> Grant:
    case = session.get(Case, data.case_id)
    if case is None or not scope.can_see_case(session, actor, case):
        raise InvalidInputError(f"case {data.case_id} does not exist", field="body.case_id")
    if actor.role == Role.consultant and case.assignee_id != actor.user_id:
        raise ForbiddenError(f"case {case.id} is not assigned to you")
    if case.status in CLOSED_STATUSES:
        raise ConflictError(f"case {case.id} is '{case.status}' (closed); no grant can be proposed")
    programme = session.get(Programme, data.programme_id)
    if programme is None:
        raise InvalidInputError(
            f"programme {data.programme_id} does not exist", field="body.programme_id"
        )
    start, end = as_utc(data.valid_from), as_utc(data.valid_until)
    if start.date() < programme.starts_on or end.date() > programme.ends_on + timedelta(days=1):
        raise InvalidInputError(
            f"the validity window must lie within the programme's period "
            f"{programme.starts_on} to {programme.ends_on}",
            field="body.valid_until",
        )
    company = session.get(Company, case.company_id)
    assert company is not None
    check_capacity(session, programme, company=company, extra_gpu_hours=data.gpu_hours)
    grant = Grant.model_validate(
        data.model_dump()
        | {
            "company_id": case.company_id,
            "project_number": programme.project_number,
            "proposed_by_id": actor.user_id,
        }
    )
    session.add(grant)
    session.flush()
    _audit(session, actor, grant, "propose")
    commit_or_conflict(session, conflict_message="grant conflicts with existing data")
    return grant


def _lock_grant(session: Session, grant: Grant) -> Grant:
    locked = session.exec(
        select(Grant)
        .where(Grant.id == grant.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return locked


def approve_grant(
    *, session: Session, actor: Principal, grant: Grant, data: GrantDecision
) -> Grant:
    check_grant_transition(grant, G.approved, actor)
    if grant.proposed_by_id == actor.user_id:
        raise ForbiddenError("four-eyes rule: the proposer of a grant cannot approve it")
    programme = lock_programme(session, grant.programme_id)  # serializes approvals
    grant = _lock_grant(session, grant)
    check_grant_transition(grant, G.approved, actor)  # re-check under the lock
    before = audit.snapshot(grant)
    grant.agreement_number = data.agreement_number or grant.agreement_number
    grant.agreement_signed_on = data.agreement_signed_on or grant.agreement_signed_on
    if grant.agreement_signed_on is None:
        session.rollback()
        raise InvalidInputError(
            "approving a grant needs the date its agreement was signed",
            field="body.agreement_signed_on",
        )
    company = session.get(Company, grant.company_id)
    assert company is not None
    try:
        check_capacity(session, programme, company=company, extra_gpu_hours=grant.gpu_hours)
    except ConflictError:
        session.rollback()
        raise
    now = utcnow()
    grant.status = G.approved
    grant.decided_by_id, grant.decided_at, grant.decision_reason = actor.user_id, now, data.reason
    grant.updated_at = now
    session.add(grant)
    session.add(_entry(grant, LedgerKind.grant_credit, grant.gpu_hours, actor, "grant approved"))
    _audit(session, actor, grant, "approve", before)
    notifications.notify(
        session=session,
        user_ids=[
            *notifications.company_engineer_ids(session, grant.company_id),
            grant.proposed_by_id,
        ],
        kind=NotificationKind.grant_approved,
        title=f"Grant #{grant.id} approved: {grant.gpu_hours:g} GPU-hours",
        body=(
            f"Grant #{grant.id} ({grant.project_number}) of {grant.gpu_hours:g} GPU-hours "
            f"({grant.gpu_type or 'any GPU type'}) is approved, valid "
            f"{as_utc(grant.valid_from):%Y-%m-%d} to {as_utc(grant.valid_until):%Y-%m-%d}."
        ),
        object_type="grant",
        object_id=grant.id,
    )
    commit_or_conflict(session, conflict_message="grant changed meanwhile; reload and retry")
    return grant


def _decide(
    session: Session,
    actor: Principal,
    grant: Grant,
    to: GrantStatus,
    reason: str | None,
    action: str,
) -> Grant:
    check_grant_transition(grant, to, actor)
    if to == G.cancelled and actor.role != Role.admin and grant.proposed_by_id != actor.user_id:
        raise ForbiddenError("only the proposer (or an admin) may cancel a proposed grant")
    grant = _lock_grant(session, grant)
    check_grant_transition(grant, to, actor)
    before = audit.snapshot(grant)
    now = utcnow()
    grant.status = to
    grant.decided_by_id, grant.decided_at, grant.decision_reason = actor.user_id, now, reason
    grant.updated_at = now
    session.add(grant)
    _audit(session, actor, grant, action, before)
    commit_or_conflict(session, conflict_message="grant changed meanwhile; reload and retry")
    return grant


def reject_grant(*, session: Session, actor: Principal, grant: Grant, data: GrantDecision) -> Grant:
    return _decide(session, actor, grant, G.rejected, data.reason, "reject")


def cancel_grant(*, session: Session, actor: Principal, grant: Grant, data: GrantDecision) -> Grant:
    return _decide(session, actor, grant, G.cancelled, data.reason, "cancel")


def _require_approved(grant: Grant, what: str) -> None:
    if grant.status != G.approved:
        raise ConflictError(f"grant {grant.id} is '{grant.status}'; only approved grants {what}")


def top_up_grant(
    *, session: Session, actor: Principal, grant: Grant, data: GrantAdjustment
) -> LedgerEntry:
    _require_approved(grant, "can be topped up")
    if data.gpu_hours is None:
        raise InvalidInputError("a top-up needs gpu_hours", field="body.gpu_hours")
    if grant.proposed_by_id == actor.user_id:
        raise ForbiddenError("four-eyes rule: the proposer of a grant cannot top it up")
    programme = lock_programme(session, grant.programme_id)
    company = session.get(Company, grant.company_id)
    assert company is not None
    try:
        check_capacity(session, programme, company=company, extra_gpu_hours=data.gpu_hours)
    except ConflictError:
        session.rollback()
        raise
    entry = _entry(grant, LedgerKind.top_up, data.gpu_hours, actor, data.reason)
    session.add(entry)
    session.flush()
    _audit(session, actor, grant, "top_up", {"ledger_entry": audit.snapshot(entry)})
    commit_or_conflict(session, conflict_message="grant changed meanwhile; retry")
    return entry


def reclaim_grant(
    *, session: Session, actor: Principal, grant: Grant, data: GrantAdjustment
) -> LedgerEntry:
    """Return unused or off-purpose hours to the programme's pool."""
    _require_approved(grant, "can be reclaimed from")
    lock_programme(session, grant.programme_id)
    assert grant.id is not None
    balance_hours = ledger.grant_balance(session, grant.id) / SECONDS_PER_HOUR
    hours = balance_hours if data.gpu_hours is None else data.gpu_hours
    if hours <= 0 or hours > balance_hours + 1e-6:
        session.rollback()
        raise ConflictError(
            f"grant {grant.id} has {max(balance_hours, 0):g} GPU-hours left; "
            f"cannot reclaim {hours:g}"
        )
    entry = _entry(grant, LedgerKind.reclaim, -hours, actor, data.reason)
    session.add(entry)
    session.flush()
    _audit(session, actor, grant, "reclaim", {"ledger_entry": audit.snapshot(entry)})
    commit_or_conflict(session, conflict_message="grant changed meanwhile; retry")
    return entry


def expire_due_grants(*, session: Session, actor: Principal | None, at: datetime) -> list[Grant]:
    """Expire approved grants whose window has ended; what is left goes back to the pool."""
    due = session.exec(
        select(Grant).where(Grant.status == G.approved, col(Grant.valid_until) <= at)
    ).all()
    for grant in due:
        assert grant.id is not None
        before = audit.snapshot(grant)
        left = ledger.grant_balance(session, grant.id) / SECONDS_PER_HOUR
        if left > 0:
            session.add(_entry(grant, LedgerKind.expiry, -left, actor, "validity ended"))
        grant.status = G.expired
        grant.updated_at = utcnow()
        session.add(grant)
        _audit(session, actor, grant, "expire", before)
    return list(due)


def list_grants(
    *,
    session: Session,
    actor: Principal,
    params: ListParams,
    status: GrantStatus | None = None,
    company_id: int | None = None,
    programme_id: int | None = None,
    case_id: int | None = None,
) -> Page[Grant]:
    condition = scope.company_condition(session, actor, Grant.company_id)
    return paginate(
        session,
        Grant,
        params.model_copy(update={"sort": params.sort or "-created_at"}),
        sortable=SORTABLE,
        filters={
            "status": status,
            "company_id": company_id,
            "programme_id": programme_id,
            "case_id": case_id,
        },
        conditions=[condition] if condition is not None else [],
    )


def grant_ledger(*, session: Session, grant: Grant) -> list[LedgerEntry]:
    return list(
        session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.grant_id == grant.id)
            .order_by(col(LedgerEntry.id))
        ).all()
    )


def get_grant(*, session: Session, actor: Principal, grant_id: int) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFoundError(f"grant {grant_id} not found")
    scope.ensure_company_in_scope(session, actor, grant.company_id, what=f"grant {grant_id}")
    return grant


def run_housekeeping(
    *, session: Session, actor: Principal | None, at: datetime | None = None
) -> tuple[list[int], int]:
    """Expire ended grants and announce those ending within 7 days; one transaction."""
    from hub_api.grants.alerts import notify_expiring_grants

    at = at or utcnow()
    expired = expire_due_grants(session=session, actor=actor, at=at)
    notified = notify_expiring_grants(session=session, at=at)
    commit_or_conflict(session, conflict_message="grants changed meanwhile; retry")
    return [g.id for g in expired if g.id is not None], len(notified)
