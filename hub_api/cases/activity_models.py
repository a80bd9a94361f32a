"""What happens on a case: comments (shared with the company or internal), visits, attachments."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text
from sqlmodel import Field, SQLModel

from hub_api.core.models import FORBID_EXTRA, created_at_field, enum_type


class Visibility(StrEnum):
    shared = "shared"  # the company's users see it
    internal = "internal"  # hub staff only


class CommentBase(SQLModel):
    body: str = Field(min_length=1, max_length=10_000, sa_type=Text)
    visibility: Visibility = Field(default=Visibility.shared, sa_type=enum_type(Visibility))


class CommentCreate(CommentBase):
    model_config = FORBID_EXTRA


class CaseComment(CommentBase, table=True):
    __tablename__ = "case_comment"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="consultation_case.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="hub_user.id")
    created_at: datetime = created_at_field()


class CommentPublic(CommentBase):
    id: int
    case_id: int
    author_id: int | None
    created_at: datetime


class VisitKind(StrEnum):
    site_visit = "site_visit"
    meeting = "meeting"
    online_meeting = "online_meeting"
    call = "call"
    workshop = "workshop"


class VisitBase(SQLModel):
    kind: VisitKind = Field(sa_type=enum_type(VisitKind))
    held_at: datetime = Field(sa_type=DateTime(timezone=True))
    duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    location: str | None = Field(default=None, max_length=200)
    notes: str = Field(default="", max_length=10_000, sa_type=Text)


class VisitCreate(VisitBase):
    model_config = FORBID_EXTRA

    attendees: list[str] = Field(default_factory=list, max_length=30)


class CaseVisit(VisitBase, table=True):
    __tablename__ = "case_visit"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="consultation_case.id", index=True)
    attendees: list[Any] = Field(default_factory=list, sa_column=Column(JSON))
    recorded_by_id: int | None = Field(default=None, foreign_key="hub_user.id")
    created_at: datetime = created_at_field()


class VisitPublic(VisitBase):
    id: int
    case_id: int
    attendees: list[str]
    recorded_by_id: int | None
    created_at: datetime


class CaseAttachment(SQLModel, table=True):
    __tablename__ = "case_attachment"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="consultation_case.id", index=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    filename: str = Field(max_length=200, description="Sanitized original name (display only)")
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200, unique=True)
    uploaded_by_id: int | None = Field(default=None, foreign_key="hub_user.id")
    created_at: datetime = created_at_field()


class AttachmentPublic(SQLModel):
    id: int
    case_id: int
    company_id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by_id: int | None
    created_at: datetime
