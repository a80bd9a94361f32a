"""Companies: the SME manufacturers the hub serves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import EmailStr, field_validator
from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from hub_api.companies.validators import (
    Region,
    normalize_business_registration_number,
    normalize_ksic_code,
)
from hub_api.core.models import FORBID_EXTRA, created_at_field, enum_type

MAX_CONTACTS = 10


class Contact(SQLModel):
    name: str = Field(min_length=1, max_length=80)
    email: EmailStr | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=30, regex=r"^[0-9+\-() ]{6,30}$")
    title: str | None = Field(default=None, max_length=80)


def _validate_contacts(value: list[Contact] | None) -> list[Contact] | None:
    if value is not None and len(value) > MAX_CONTACTS:
        raise ValueError(f"at most {MAX_CONTACTS} contacts")
    return value


class CompanyBase(SQLModel):
    name: str = Field(min_length=1, max_length=200, index=True)
    business_registration_number: str = Field(
        max_length=12,
        unique=True,
        index=True,
        description="사업자등록번호: 10 digits with a valid check digit, dashes optional",
    )
    region: Region = Field(sa_type=enum_type(Region), index=True)
    industry_ksic: str = Field(max_length=6, index=True, description="KSIC code, e.g. 29172")
    employees: int = Field(ge=1, le=100_000)
    smart_factory_level: int | None = Field(
        default=None, ge=0, le=5, description="0 = none, 1 (basic) to 5 (advanced)"
    )
    website: str | None = Field(default=None, max_length=200)

    @field_validator("business_registration_number")
    @classmethod
    def _brn(cls, value: str) -> str:
        return normalize_business_registration_number(value)

    @field_validator("industry_ksic")
    @classmethod
    def _ksic(cls, value: str) -> str:
        return normalize_ksic_code(value)


class CompanyCreate(CompanyBase):
    model_config = FORBID_EXTRA

    contacts: list[Contact] = Field(default_factory=list)

    _contacts = field_validator("contacts")(_validate_contacts)


class CompanyUpdate(SQLModel):
    model_config = FORBID_EXTRA

    name: str | None = Field(default=None, min_length=1, max_length=200)
    region: Region | None = None
    industry_ksic: str | None = Field(default=None, max_length=6)
    employees: int | None = Field(default=None, ge=1, le=100_000)
    smart_factory_level: int | None = Field(default=None, ge=0, le=5)
    website: str | None = Field(default=None, max_length=200)
    contacts: list[Contact] | None = None

    _contacts = field_validator("contacts")(_validate_contacts)

    @field_validator("industry_ksic")
    @classmethod
    def _ksic(cls, value: str | None) -> str | None:
        return None if value is None else normalize_ksic_code(value)


class Company(CompanyBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    created_at: datetime = created_at_field()
    updated_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class CompanyPublic(CompanyBase):
    id: int
    contacts: list[Contact]
    created_at: datetime

    @field_validator("business_registration_number")
    @classmethod
    def _brn(cls, value: str) -> str:  # stored values are already normalized
        return value
