"""Creating notifications inside the caller's transaction, and reading them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update
from sqlmodel import Session, col, select

from hub_api.core.authz import Principal
from hub_api.core.db import commit_or_conflict
from hub_api.core.errors import NotFoundError
from hub_api.core.pagination import ListParams, Page, paginate
from hub_api.core.security import utcnow
from hub_api.notifications.models import Notification, NotificationKind
from hub_api.users.models import Role, User

SORTABLE = ("created_at", "kind")


def notify(
    *,
    session: Session,
    user_ids: Iterable[int | None],
    kind: NotificationKind,
    title: str,
    body: str,
    object_type: str | None = None,
    object_id: object = None,
    dedupe_key: str | None = None,
) -> list[Notification]:
    """Add one notification per user (skipping ``None``, repeats and already-sent dedupe keys).

    Does not commit: notifications are written in the transaction of the change they announce.
    """
    wanted = sorted({uid for uid in user_ids if uid is not None})
    if dedupe_key is not None and wanted:
        already = set(
            session.exec(
                select(Notification.user_id).where(
                    Notification.dedupe_key == dedupe_key, col(Notification.user_id).in_(wanted)
                )
            ).all()
        )
        wanted = [uid for uid in wanted if uid not in already]
    created = [
        Notification(
            user_id=uid,
            kind=kind,
            title=title[:200],
            body=body,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            dedupe_key=dedupe_key,
        )
        for uid in wanted
    ]
    session.add_all(created)
    return created


def company_engineer_ids(session: Session, company_id: int) -> list[int]:
    rows = session.exec(
        select(User.id).where(
            User.company_id == company_id,
            User.role == Role.engineer,
            col(User.is_active).is_(True),
        )
    ).all()
    return [uid for uid in rows if uid is not None]


def list_notifications(
    *, session: Session, actor: Principal, params: ListParams, unread: bool | None = None
) -> Page[Notification]:
    conditions = [col(Notification.user_id) == actor.user_id]
    if unread is not None:
        conditions.append(
            col(Notification.read_at).is_(None) if unread else col(Notification.read_at).isnot(None)
        )
    return paginate(
        session,
        Notification,
        params.model_copy(update={"sort": params.sort or "-created_at"}),
        sortable=SORTABLE,
        conditions=conditions,
    )


def mark_read(*, session: Session, actor: Principal, notification_id: int) -> Notification:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != actor.user_id:
        raise NotFoundError(f"notification {notification_id} not found")
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.add(notification)
        commit_or_conflict(session, conflict_message="notification changed meanwhile")
    return notification


def mark_all_read(*, session: Session, actor: Principal) -> int:
    result = session.execute(
        update(Notification)
        .where(col(Notification.user_id) == actor.user_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    commit_or_conflict(session, conflict_message="notifications changed meanwhile")
    return int(getattr(result, "rowcount", 0) or 0)
