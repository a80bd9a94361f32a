"""Consultation cases: an SME's request for support, worked by hub consultants."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, Column, DateTime, Text
from sqlmodel import Field, SQLModel

from hub_api.core.models import FORBID_EXTRA, created_at_field, enum_type, timestamp_field
from hub_api.core.security import utcnow

MAX_PREFERRED_DATES = 10
MAX_RESULTS = 20


class ServiceType(StrEnum):
    quality_inspection = "quality_inspection"
    predictive_maintenance = "predictive_maintenance"
    demand_forecasting = "demand_forecasting"
    process_optimisation = "process_optimisation"
    generative_ai = "generative_ai"
    data_infrastructure = "data_infrastructure"
    training = "training"


class CaseStatus(StrEnum):
    submitted = "submitted"
    triaged = "triaged"
    in_progress = "in_progress"
    poc = "poc"
    completed = "completed"
    rejected = "rejected"
    withdrawn = "withdrawn"

    @property
    def is_closed(self) -> bool:
        return self in CLOSED_STATUSES


CLOSED_STATUSES = frozenset({CaseStatus.completed, CaseStatus.rejected, CaseStatus.withdrawn})


def _check_dates(value: list[date] | None) -> list[date] | None:
    if value is not None and len(value) > MAX_PREFERRED_DATES:
        raise ValueError(f"at most {MAX_PREFERRED_DATES} preferred dates")
    return value


class BusinessResult(SQLModel):
    """A result the company reports, e.g. defect rate 3.2 → 1.1 %."""

    model_config = FORBID_EXTRA

    metric: str = Field(min_length=1, max_length=80)
    before: float | None = None
    after: float | None = None
    unit: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, max_length=500)


class Outcome(SQLModel):
    model_config = FORBID_EXTRA

    summary: str = Field(min_length=1, max_length=5000, description="What was delivered")
    results: list[BusinessResult] = Field(default_factory=list, max_length=MAX_RESULTS)
    model_versions: list[str] = Field(
        default_factory=list, max_length=MAX_RESULTS, description="e.g. 'defect-detector/3'"
    )


class CaseBase(SQLModel):
    title: str = Field(min_length=1, max_length=200)
    service_type: ServiceType = Field(sa_type=enum_type(ServiceType), index=True)
    description: str = Field(min_length=1, max_length=10_000, sa_type=Text)


class CaseCreate(CaseBase):
    model_config = FORBID_EXTRA

    company_id: int | None = Field(
        default=None, description="Required for hub staff; engineers request for their company"
    )
    preferred_dates: list[date] = Field(default_factory=list)

    _dates = field_validator("preferred_dates")(_check_dates)


class CaseUpdate(SQLModel):
    model_config = FORBID_EXTRA

    title: str | None = Field(default=None, min_length=1, max_length=200)
    service_type: ServiceType | None = None
    description: str | None = Field(default=None, min_length=1, max_length=10_000)
    preferred_dates: list[date] | None = None

    _dates = field_validator("preferred_dates")(_check_dates)


class Case(CaseBase, table=True):
    __tablename__ = "consultation_case"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    requested_by_id: int | None = Field(default=None, foreign_key="hub_user.id")
    status: CaseStatus = Field(
        default=CaseStatus.submitted, sa_type=enum_type(CaseStatus), index=True
    )
    assignee_id: int | None = Field(default=None, foreign_key="hub_user.id", index=True)
    preferred_dates: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    status_changed_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False
    )
    first_response_at: datetime | None = timestamp_field()
    closed_at: datetime | None = timestamp_field()
    outcome: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = created_at_field()
    updated_at: datetime | None = timestamp_field()


class SlaStatus(SQLModel):
    first_response_due_at: datetime
    first_response_at: datetime | None
    first_response_overdue: bool = Field(
        description="Still unanswered past the due time: someone must reply now"
    )
    first_response_late: bool = Field(
        description="The first response came (or is coming) after the due time: the SLA record"
    )
    stage_entered_at: datetime
    stage_due_at: datetime | None = Field(description="None for closed cases")
    stage_overdue: bool


class CasePublic(CaseBase):
    id: int
    company_id: int
    requested_by_id: int | None
    status: CaseStatus
    assignee_id: int | None
    preferred_dates: list[date]
    status_changed_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None
    outcome: Outcome | None
    created_at: datetime
    updated_at: datetime | None
    sla: SlaStatus
    allowed_transitions: list[CaseStatus] = Field(
        default_factory=list,
        description="The statuses the caller may move this case to now (workflow, role, "
        "assignment); moving to another one is refused",
    )


class CaseTransition(SQLModel, table=True):
    """One status change of a case: from, to, why, who and when."""

    __tablename__ = "case_transition"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="consultation_case.id", index=True)
    from_status: CaseStatus = Field(sa_type=enum_type(CaseStatus))
    to_status: CaseStatus = Field(sa_type=enum_type(CaseStatus))
    reason: str = Field(max_length=2000)
    actor_user_id: int | None = Field(default=None, foreign_key="hub_user.id")
    at: datetime = created_at_field()


class CaseTransitionPublic(SQLModel):
    id: int
    case_id: int
    from_status: CaseStatus
    to_status: CaseStatus
    reason: str
    actor_user_id: int | None
    at: datetime


class TransitionRequest(SQLModel):
    model_config = FORBID_EXTRA

    to_status: CaseStatus
    reason: str = Field(min_length=1, max_length=2000)
    outcome: Outcome | None = Field(default=None, description="Required to complete a case")


class AssignmentRequest(SQLModel):
    model_config = FORBID_EXTRA

    assignee_id: int | None = Field(description="A consultant's user id; null to unassign")
    reason: str | None = Field(default=None, max_length=2000)


class CaseloadRow(SQLModel):
    consultant_id: int
    consultant_email: str
    open_cases: int
    by_status: dict[str, int]
    overdue: int
