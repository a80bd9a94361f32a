"""Audit events: who did what to which object, with the object before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from hub_api.core.security import utcnow


class AuditEventBase(SQLModel):
    action: str = Field(max_length=80, index=True, description="e.g. company.create")
    object_type: str = Field(max_length=40, index=True)
    object_id: str = Field(max_length=64, index=True)
    company_id: int | None = Field(default=None, index=True)
    actor_user_id: int | None = Field(default=None, index=True)
    actor_email: str | None = Field(default=None, max_length=320)
    actor_role: str | None = Field(default=None, max_length=20)


class AuditEvent(AuditEventBase, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class AuditEventPublic(AuditEventBase):
    id: int
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
