"""Funding programmes, GPU-hour grants and the GPU-second ledger that is a company's budget."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum

from pydantic import field_validator, model_validator
from sqlalchemy import DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub_api.companies.validators import Region
from hub_api.core.models import FORBID_EXTRA, created_at_field, enum_type, timestamp_field

SECONDS_PER_HOUR = 3600.0
GPU_TYPE_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ProgrammeBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    funder: str = Field(min_length=1, max_length=200, description="e.g. 정보통신산업진흥원 (NIPA)")
    project_number: str = Field(
        min_length=1, max_length=64, unique=True, description="The funder's project number"
    )
    starts_on: date
    ends_on: date
    pool_gpu_hours: float = Field(gt=0, le=10_000_000, description="Total GPU-hours to grant")
    company_cap_gpu_hours: float | None = Field(
        default=None, gt=0, description="Most GPU-hours one company may hold from this programme"
    )
    region: Region | None = Field(
        default=None, sa_type=enum_type(Region), description="The programme's home region"
    )
    regional_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Share of the pool reserved for companies of `region` (e.g. 0.7)",
    )


def _check_programme(value: ProgrammeBase | ProgrammeUpdate) -> None:
    if value.starts_on and value.ends_on and value.ends_on < value.starts_on:
        raise ValueError("ends_on must not be before starts_on")
    if (value.regional_share is not None) and value.region is None:
        raise ValueError("a regional_share needs the programme's region")


class ProgrammeCreate(ProgrammeBase):
    model_config = FORBID_EXTRA

    @model_validator(mode="after")
    def _check(self) -> ProgrammeCreate:
        _check_programme(self)
        return self


class ProgrammeUpdate(SQLModel):
    model_config = FORBID_EXTRA

    name: str | None = Field(default=None, min_length=1, max_length=200)
    funder: str | None = Field(default=None, min_length=1, max_length=200)
    starts_on: date | None = None
    ends_on: date | None = None
    pool_gpu_hours: float | None = Field(default=None, gt=0, le=10_000_000)
    company_cap_gpu_hours: float | None = Field(default=None, gt=0)
    region: Region | None = None
    regional_share: float | None = Field(default=None, ge=0, le=1)


class Programme(ProgrammeBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = timestamp_field()


class ProgrammePublic(ProgrammeBase):
    id: int
    created_at: datetime
    committed_gpu_hours: float = Field(description="Granted minus reclaimed and expired")
    remaining_gpu_hours: float


class GrantStatus(StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    cancelled = "cancelled"
    expired = "expired"


class GrantBase(SQLModel):
    gpu_hours: float = Field(gt=0, le=1_000_000, description="GPU-hours granted at approval")
    gpu_type: str | None = Field(
        default=None,
        max_length=40,
        description="e.g. A100 (letters, digits, '_', '.', '-'); null = any GPU type",
    )
    valid_from: datetime = Field(sa_type=DateTime(timezone=True))
    valid_until: datetime = Field(sa_type=DateTime(timezone=True))
    purpose: str = Field(min_length=1, max_length=5000, sa_type=Text, description="Declared use")
    agreement_number: str | None = Field(default=None, max_length=64)
    agreement_signed_on: date | None = None


class GrantPropose(GrantBase):
    model_config = FORBID_EXTRA

    programme_id: int
    case_id: int

    @field_validator("gpu_type")
    @classmethod
    def _gpu_type(cls, value: str | None) -> str | None:
        if value is not None and not GPU_TYPE_SHAPE.match(value):
            raise ValueError("gpu_type must match pattern of letters, digits, '_', '.', '-'")
        return value

    @model_validator(mode="after")
    def _window(self) -> GrantPropose:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class Grant(GrantBase, table=True):
    __tablename__ = "gpu_grant"

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="programme.id", index=True)
    case_id: int = Field(foreign_key="consultation_case.id", index=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    project_number: str = Field(max_length=64, description="Copied from the programme")
    status: GrantStatus = Field(
        default=GrantStatus.proposed, sa_type=enum_type(GrantStatus), index=True
    )
    proposed_by_id: int | None = Field(default=None, foreign_key="hub_user.id")
    decided_by_id: int | None = Field(default=None, foreign_key="hub_user.id")
    decided_at: datetime | None = timestamp_field()
    decision_reason: str | None = Field(default=None, max_length=2000)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = timestamp_field()


class GrantPublic(GrantBase):
    id: int
    programme_id: int
    case_id: int
    company_id: int
    project_number: str
    status: GrantStatus
    proposed_by_id: int | None
    decided_by_id: int | None
    decided_at: datetime | None
    decision_reason: str | None
    created_at: datetime


class GrantDecision(SQLModel):
    model_config = FORBID_EXTRA

    reason: str | None = Field(default=None, max_length=2000)
    agreement_number: str | None = Field(default=None, max_length=64)
    agreement_signed_on: date | None = None


class GrantAdjustment(SQLModel):
    """A top-up (adds to the grant, within the pool and cap) or a reclaim (returns to the pool)."""

    model_config = FORBID_EXTRA

    gpu_hours: float | None = Field(
        default=None, gt=0, le=1_000_000, description="Reclaim: null = all that is left"
    )
    reason: str = Field(min_length=1, max_length=2000)


class LedgerKind(StrEnum):
    grant_credit = "grant_credit"
    top_up = "top_up"
    job_debit = "job_debit"
    refund = "refund"
    reclaim = "reclaim"
    expiry = "expiry"


# Entries that move hours between a programme's pool and a grant (jobs never return to the pool).
POOL_KINDS = (LedgerKind.grant_credit, LedgerKind.top_up, LedgerKind.reclaim, LedgerKind.expiry)


class LedgerEntry(SQLModel, table=True):
    """One signed movement of GPU-seconds; a grant's balance is the sum of its entries.

    ``(job_id, kind, seq)`` is unique: a job is debited (and refunded) once. A charge spread over
    several grants writes entries ``seq = 0, 1, ...``, so a second, concurrent charge of the same
    job collides on ``seq = 0`` at the latest.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (UniqueConstraint("job_id", "kind", "seq", name="uq_ledger_job_kind_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    programme_id: int = Field(foreign_key="programme.id", index=True)
    grant_id: int = Field(foreign_key="gpu_grant.id", index=True)
    job_id: int | None = Field(default=None, index=True)
    seq: int = 0
    kind: LedgerKind = Field(sa_type=enum_type(LedgerKind), index=True)
    gpu_seconds: float = Field(description="Credits positive, debits negative")
    gpu_type: str | None = Field(default=None, max_length=40)
    actor_user_id: int | None = Field(default=None, foreign_key="hub_user.id")
    note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = created_at_field()


class LedgerEntryPublic(SQLModel):
    id: int
    company_id: int
    programme_id: int
    grant_id: int
    job_id: int | None
    kind: LedgerKind
    gpu_seconds: float
    gpu_type: str | None
    actor_user_id: int | None
    note: str | None
    created_at: datetime


class GrantBudget(SQLModel):
    grant_id: int
    programme_id: int
    project_number: str
    status: GrantStatus
    gpu_type: str | None
    valid_from: datetime
    valid_until: datetime
    granted_gpu_hours: float = Field(description="Credits and top-ups")
    used_gpu_hours: float = Field(description="Job debits minus refunds")
    reclaimed_gpu_hours: float
    expired_gpu_hours: float
    balance_gpu_hours: float
    used_fraction: float


class CompanyBudget(SQLModel):
    company_id: int
    at: datetime
    grants: list[GrantBudget]
    granted_gpu_hours: float
    used_gpu_hours: float
    reclaimed_gpu_hours: float
    expired_gpu_hours: float
    balance_gpu_hours: float
    available_now_gpu_hours: float = Field(description="Balance of grants valid now (any type)")
