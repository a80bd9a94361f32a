"""Login, access tokens and personal API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from hub_api.core.models import FORBID_EXTRA, created_at_field, timestamp_field


class TokenScope(StrEnum):
    """``read`` allows GET requests only; ``write`` allows everything the user's role allows."""

    read = "read"
    write = "write"


class LoginRequest(SQLModel):
    model_config = FORBID_EXTRA

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=256)


class AccessToken(SQLModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    must_change_password: bool = False


class ApiTokenBase(SQLModel):
    name: str = Field(min_length=1, max_length=80)


class ApiTokenCreate(ApiTokenBase):
    model_config = FORBID_EXTRA

    scopes: list[TokenScope] = Field(default_factory=lambda: [TokenScope.read])
    expires_in_days: int = Field(default=90, ge=1, le=3650)

    @field_validator("scopes")
    @classmethod
    def _non_empty(cls, value: list[TokenScope]) -> list[TokenScope]:
        if not value:
            raise ValueError("at least one scope is required")
        return sorted(set(value))


class ApiToken(ApiTokenBase, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="hub_user.id", index=True)
    lookup: str = Field(max_length=16, unique=True, index=True)
    token_digest: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = created_at_field()
    expires_at: datetime = created_at_field()
    last_used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()


class ApiTokenPublic(ApiTokenBase):
    id: int
    user_id: int
    scopes: list[TokenScope]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenPublic):
    token: str = Field(description="The secret; shown only once")
