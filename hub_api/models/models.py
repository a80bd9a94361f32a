"""Shapes of the models API: a company's MLflow experiments, runs, artifacts and registry."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlmodel import SQLModel

from hub_api.core.models import FORBID_EXTRA


class ExperimentPublic(SQLModel):
    company_id: int
    experiment_id: str
    name: str
    lifecycle_stage: str
    created_at: datetime | None


class MetricPoint(SQLModel):
    step: int
    value: float
    timestamp: datetime


class LoggedModelPublic(SQLModel):
    model_id: str
    name: str
    status: str | None
    artifact_path: str = Field(description="Download prefix: logged-models/<model_id>/")


class ModelVersionRef(SQLModel):
    name: str
    version: str
    aliases: list[str] = Field(default_factory=list)


class RunPublic(SQLModel):
    company_id: int
    run_id: str
    experiment_id: str
    name: str | None
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    job_id: int | None = Field(description="The hub job that made this run")
    params: dict[str, str]
    metrics: dict[str, float] = Field(description="Latest value of each metric")
    tags: dict[str, str]


class RunDetail(RunPublic):
    logged_models: list[LoggedModelPublic]
    model_versions: list[ModelVersionRef]


class RunMetrics(SQLModel):
    run_id: str | None
    job_id: int | None = None
    history: dict[str, list[MetricPoint]]
    tracking_error: str | None = None


class ArtifactEntry(SQLModel):
    path: str
    is_dir: bool
    size_bytes: int | None


class ArtifactListing(SQLModel):
    run_id: str
    path: str
    items: list[ArtifactEntry]


class ModelVersionPublic(SQLModel):
    company_id: int
    name: str
    version: str
    status: str | None
    run_id: str | None
    model_id: str | None
    source: str | None
    aliases: list[str]
    created_at: datetime | None
    job_id: int | None = Field(default=None, description="The hub job whose run made it")


class RegisteredModelPublic(SQLModel):
    company_id: int
    name: str
    description: str | None
    aliases: dict[str, str] = Field(description="alias → version")
    latest_versions: list[ModelVersionPublic]
    created_at: datetime | None


class RegisteredModelDetail(RegisteredModelPublic):
    versions: list[ModelVersionPublic]


class Lineage(SQLModel):
    job_id: int | None
    job_name: str | None
    job_status: str | None
    grant_ids: list[int]
    case_ids: list[int]


class ModelVersionDetail(ModelVersionPublic):
    lineage: Lineage


class RegisterModel(SQLModel):
    model_config = FORBID_EXTRA

    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]{8,64}$")
    model_id: str | None = Field(
        default=None,
        max_length=64,
        description="Which logged model of the run; default: the run's only (or newest) one",
    )
    company_id: int | None = Field(default=None, description="Staff only: the company")


class SetAlias(SQLModel):
    model_config = FORBID_EXTRA

    version: str = Field(pattern=r"^[0-9]{1,9}$")
    company_id: int | None = Field(default=None, description="Staff only: the company")
