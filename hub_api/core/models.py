"""Column helpers shared by every domain's table models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy import DateTime
from sqlmodel import Field
from sqlmodel._compat import SQLModelConfig

from hub_api.core.security import utcnow

# Input models refuse unknown fields, so a typo (or a sneaked-in "role") is a 422, not ignored.
FORBID_EXTRA = SQLModelConfig(extra="forbid")


def created_at_field() -> datetime:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)


def timestamp_field(*, nullable: bool = True, index: bool = False) -> datetime | None:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=nullable, index=index)


def enum_type(enum_class: type[StrEnum]) -> sa.Enum:
    """Enums are stored as short strings (no native PostgreSQL enum types to migrate)."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
