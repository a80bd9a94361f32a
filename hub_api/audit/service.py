"""Recording audit events in the caller's transaction, and querying them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, SQLModel, col

from hub_api.audit.models import AuditEvent
from hub_api.core.authz import Principal
from hub_api.core.pagination import ListParams, Page, paginate

# Never copied into the audit log.
SECRET_FIELDS = frozenset({"password_hash", "token_digest", "password"})

SORTABLE = ("at", "action", "object_type", "actor_user_id", "company_id")


def snapshot(obj: SQLModel | None) -> dict[str, Any] | None:
    """A JSON-safe copy of ``obj`` without secrets, for the before/after columns."""
    if obj is None:
        return None
    return obj.model_dump(mode="json", exclude=set(SECRET_FIELDS))


def record(
    *,
    session: Session,
    actor: Principal | None,
    action: str,
    object_type: str,
    object_id: Any,
    company_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session; it commits together with the change it describes."""
    event = AuditEvent(
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        company_id=company_id,
        actor_user_id=actor.user_id if actor else None,
        actor_email=actor.user.email if actor else None,
        actor_role=actor.role.value if actor else None,
        before=before,
        after=after,
    )
    session.add(event)
    return event


def list_events(
    *,
    session: Session,
    params: ListParams,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_user_id: int | None = None,
    company_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditEvent]:
    conditions = []
    if since is not None:
        conditions.append(col(AuditEvent.at) >= since)
    if until is not None:
        conditions.append(col(AuditEvent.at) < until)
    return paginate(
        session,
        AuditEvent,
        params.model_copy(update={"sort": params.sort or "-at"}),
        sortable=SORTABLE,
        filters={
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "actor_user_id": actor_user_id,
            "company_id": company_id,
        },
        conditions=conditions,
    )
