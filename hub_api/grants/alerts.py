"""Budget and expiry notifications; none of these commits (the caller's transaction does).

``notify_budget_usage`` is the hook the jobs domain calls after charging a job: it tells the
company's engineers and its consultants when the grants that are active now are 80 % or 100 %
used. Each threshold is announced once per granted amount (a top-up re-arms it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from hub_api.cases.models import CLOSED_STATUSES, Case
from hub_api.core.security import as_utc, utcnow
from hub_api.grants.ledger import company_budget
from hub_api.grants.models import Grant, GrantStatus
from hub_api.notifications import service as notifications
from hub_api.notifications.models import Notification, NotificationKind

THRESHOLDS = ((1.0, NotificationKind.budget_100), (0.8, NotificationKind.budget_80))
EXPIRY_NOTICE = timedelta(days=7)


def _audience(session: Session, company_id: int) -> list[int]:
    consultants = session.exec(
        select(Case.assignee_id).where(
            Case.company_id == company_id,
            col(Case.status).not_in(list(CLOSED_STATUSES)),
            col(Case.assignee_id).isnot(None),
        )
    ).all()
    engineers = notifications.company_engineer_ids(session, company_id)
    return [*engineers, *(uid for uid in consultants if uid is not None)]


def notify_budget_usage(
    *, session: Session, company_id: int, at: datetime | None = None
) -> list[Notification]:
    at = at or utcnow()
    budget = company_budget(session=session, company_id=company_id, at=at)
    active = [
        g
        for g in budget.grants
        if g.status == GrantStatus.approved and g.valid_from <= as_utc(at) < g.valid_until
    ]
    granted = sum(g.granted_gpu_hours - g.reclaimed_gpu_hours for g in active)
    used = sum(g.used_gpu_hours for g in active)
    if granted <= 0:
        return []
    fraction = used / granted
    for threshold, kind in THRESHOLDS:
        if fraction >= threshold:
            percent = int(threshold * 100)
            return notifications.notify(
                session=session,
                user_ids=_audience(session, company_id),
                kind=kind,
                title=f"GPU budget {percent}% used",
                body=(
                    f"The company has used {used:.1f} of {granted:.1f} GPU-hours "
                    f"({fraction:.0%}) of its active grants."
                ),
                object_type="company",
                object_id=company_id,
                dedupe_key=f"budget:{company_id}:{percent}:{round(granted, 3)}",
            )
    return []


def notify_expiring_grants(*, session: Session, at: datetime | None = None) -> list[Notification]:
    """Tell companies (and the proposer) about approved grants that end within 7 days."""
    at = at or utcnow()
    grants = session.exec(
        select(Grant).where(
            Grant.status == GrantStatus.approved,
            col(Grant.valid_until) > at,
            col(Grant.valid_until) <= at + EXPIRY_NOTICE,
        )
    ).all()
    sent: list[Notification] = []
    for grant in grants:
        sent += notifications.notify(
            session=session,
            user_ids=[*_audience(session, grant.company_id), grant.proposed_by_id],
            kind=NotificationKind.grant_expiring,
            title=f"Grant #{grant.id} expires on {as_utc(grant.valid_until):%Y-%m-%d}",
            body=(
                f"Grant #{grant.id} ({grant.project_number}) ends on "
                f"{as_utc(grant.valid_until):%Y-%m-%d %H:%M} UTC; unused GPU-hours then return "
                "to the programme's pool."
            ),
            object_type="grant",
            object_id=grant.id,
            dedupe_key=f"grant-expiring:{grant.id}",
        )
    return sent
