from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hub_api.audit import service
from hub_api.audit.models import AuditEventPublic
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.db import SessionDep
from hub_api.core.pagination import ListParamsDep, Page

router = APIRouter(prefix="/audit-events", tags=["audit"])


@router.get("", response_model=Page[AuditEventPublic], summary="Query the audit log")
def list_audit_events(
    session: SessionDep,
    _: Annotated[Principal, Depends(require(Permission.audit_read))],
    params: ListParamsDep,
    action: Annotated[str | None, Query(max_length=80)] = None,
    object_type: Annotated[str | None, Query(max_length=40)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_user_id: int | None = None,
    company_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[service.AuditEvent]:
    return service.list_events(
        session=session,
        params=params,
        action=action,
        object_type=object_type,
        object_id=object_id,
        actor_user_id=actor_user_id,
        company_id=company_id,
        since=since,
        until=until,
    )
