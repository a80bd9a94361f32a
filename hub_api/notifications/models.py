"""In-app notifications, e-mailed through SMTP when the hub has an SMTP server configured."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub_api.core.models import created_at_field, enum_type, timestamp_field


class NotificationKind(StrEnum):
    case_assigned = "case_assigned"
    case_status_changed = "case_status_changed"
    grant_approved = "grant_approved"
    budget_80 = "budget_80"
    budget_100 = "budget_100"
    grant_expiring = "grant_expiring"


class EmailStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class NotificationBase(SQLModel):
    kind: NotificationKind = Field(sa_type=enum_type(NotificationKind), index=True)
    title: str = Field(max_length=200)
    body: str = Field(max_length=5000, sa_type=Text)
    object_type: str | None = Field(default=None, max_length=40)
    object_id: str | None = Field(default=None, max_length=64)


class Notification(NotificationBase, table=True):
    __table_args__ = (UniqueConstraint("user_id", "dedupe_key", name="uq_notification_dedupe"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="hub_user.id", index=True)
    dedupe_key: str | None = Field(
        default=None, max_length=200, description="One notification per user and key"
    )
    email_status: EmailStatus = Field(
        default=EmailStatus.pending, sa_type=enum_type(EmailStatus), index=True
    )
    emailed_at: datetime | None = timestamp_field()
    read_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class NotificationPublic(NotificationBase):
    id: int
    user_id: int
    read_at: datetime | None
    created_at: datetime


class MarkedRead(SQLModel):
    marked: int
