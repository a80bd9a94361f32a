from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from hub_api.core.authz import CurrentUser
from hub_api.core.db import SessionDep
from hub_api.core.pagination import ListParamsDep, Page
from hub_api.notifications import service
from hub_api.notifications.models import MarkedRead, Notification, NotificationPublic

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", response_model=Page[NotificationPublic], summary="Your notifications")
def list_notifications(
    session: SessionDep, actor: CurrentUser, params: ListParamsDep, unread: bool | None = None
) -> Page[Notification]:
    return service.list_notifications(session=session, actor=actor, params=params, unread=unread)


@router.post(
    "/{notification_id}/read", response_model=NotificationPublic, summary="Mark one as read"
)
def mark_read(
    session: SessionDep, actor: CurrentUser, notification_id: Annotated[int, Path(ge=1)]
) -> Notification:
    return service.mark_read(session=session, actor=actor, notification_id=notification_id)


@router.post("/read-all", response_model=MarkedRead, summary="Mark all as read")
def mark_all_read(session: SessionDep, actor: CurrentUser) -> MarkedRead:
    return MarkedRead(marked=service.mark_all_read(session=session, actor=actor))
