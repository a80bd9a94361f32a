"""Users of the hub: SME engineers (one company each) and hub staff."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import EmailStr, field_validator, model_validator
from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel

from hub_api.core.models import FORBID_EXTRA, created_at_field, enum_type, timestamp_field

MIN_PASSWORD_LENGTH = 10


class Role(StrEnum):
    engineer = "engineer"
    consultant = "consultant"
    operator = "operator"
    admin = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.engineer


class Locale(StrEnum):
    ko = "ko"
    en = "en"


def _check_password(value: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if value.isdigit() or value.isalpha():
        raise ValueError("password must mix letters with digits or symbols")
    return value


class UserBase(SQLModel):
    email: EmailStr = Field(max_length=320, unique=True, index=True)
    full_name: str = Field(min_length=1, max_length=120)
    role: Role = Field(sa_type=enum_type(Role), index=True)
    company_id: int | None = Field(default=None, foreign_key="company.id", index=True)
    locale: Locale = Field(default=Locale.ko, sa_type=enum_type(Locale))
    is_active: bool = True

    @field_validator("email")
    @classmethod
    def _lowercase_email(cls, value: str) -> str:
        return value.lower()


class UserCreate(UserBase):
    model_config = FORBID_EXTRA

    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=256)

    _password = field_validator("password")(_check_password)

    @model_validator(mode="after")
    def _engineer_needs_company(self) -> UserCreate:
        if self.role == Role.engineer and self.company_id is None:
            raise ValueError("company_id is required for an engineer")
        if self.role != Role.engineer and self.company_id is not None:
            raise ValueError("only engineers belong to a company; hub staff have no company_id")
        return self


class ProfileUpdate(SQLModel):
    """What users may change about themselves."""

    model_config = FORBID_EXTRA

    full_name: str | None = Field(default=None, min_length=1, max_length=120)
    locale: Locale | None = None


class UserUpdate(SQLModel):
    model_config = FORBID_EXTRA

    full_name: str | None = Field(default=None, min_length=1, max_length=120)
    role: Role | None = None
    company_id: int | None = None
    locale: Locale | None = None
    is_active: bool | None = None


class User(UserBase, table=True):
    __tablename__ = "hub_user"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=200)
    must_change_password: bool = False
    token_generation: int = Field(
        default=0, description="Bumped to revoke every access token issued before"
    )
    last_login_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class UserPublic(UserBase):
    id: int
    must_change_password: bool
    last_login_at: datetime | None
    created_at: datetime


class PasswordChange(SQLModel):
    model_config = FORBID_EXTRA

    current_password: str = Field(max_length=256)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=256)

    _password = field_validator("new_password")(_check_password)


class PasswordReset(SQLModel):
    model_config = FORBID_EXTRA

    new_password: str | None = Field(
        default=None,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=256,
        description="Leave empty to generate a temporary password (shown once)",
    )

    @field_validator("new_password")
    @classmethod
    def _check(cls, value: str | None) -> str | None:
        return None if value is None else _check_password(value)


class PasswordResetResult(SQLModel):
    user_id: int
    temporary_password: str | None
    must_change_password: bool
