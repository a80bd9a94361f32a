"""Maturity assessments: taken at intake (T0) and again after support (T1)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from hub_api.assessments.questionnaire import check_answers
from hub_api.core.models import FORBID_EXTRA, created_at_field, enum_type


class Phase(StrEnum):
    t0 = "T0"  # at intake
    t1 = "T1"  # after support


class AssessmentBase(SQLModel):
    phase: Phase = Field(sa_type=enum_type(Phase), index=True)
    notes: str | None = Field(default=None, max_length=5000, sa_type=Text)


class AssessmentCreate(AssessmentBase):
    model_config = FORBID_EXTRA

    case_id: int
    answers: dict[str, int] = Field(description="Question id → 0..5, every question answered")

    @field_validator("answers")
    @classmethod
    def _answers(cls, value: dict[str, int]) -> dict[str, int]:
        check_answers(value)
        return value


class Assessment(AssessmentBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="consultation_case.id", index=True)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    dimension_scores: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    overall_score: float
    smart_factory_level: int
    assessed_by_id: int | None = Field(default=None, foreign_key="hub_user.id")
    created_at: datetime = created_at_field()


class AssessmentPublic(AssessmentBase):
    id: int
    company_id: int
    case_id: int | None
    answers: dict[str, int]
    dimension_scores: dict[str, float]
    overall_score: float
    smart_factory_level: int
    assessed_by_id: int | None
    created_at: datetime


class QuestionPublic(SQLModel):
    id: str
    dimension: str
    text: str


class CompanyUplift(SQLModel):
    """First T0 against latest T1 of one company."""

    company_id: int
    t0_assessment_id: int
    t1_assessment_id: int
    t0_overall: float
    t1_overall: float
    overall_uplift: float
    t0_level: int
    t1_level: int
    level_uplift: int
    dimension_uplift: dict[str, float]
