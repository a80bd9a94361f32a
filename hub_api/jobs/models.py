"""GPU training jobs, their event timeline and uploaded code bundles."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator, model_validator
from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from hub_api.core.models import FORBID_EXTRA, created_at_field, enum_type, timestamp_field
from scheduler.executors.launch import submission_id_for

MAX_GPUS_PER_JOB = 64
MIN_TIME_LIMIT_S = 60
MAX_TIME_LIMIT_S = 7 * 24 * 3600
MAX_ENV_VARS = 50
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Set by the hub or by Ray; a job may not override them.
RESERVED_ENV_PREFIXES = ("AXHUB_", "MLFLOW_", "RAY_", "CUDA_", "NVIDIA_")


class JobStatus(StrEnum):
    queued = "queued"
    starting = "starting"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    timed_out = "timed_out"
    preempted = "preempted"
    rejected = "rejected"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def holds_budget(self) -> bool:
        return self in ACTIVE_STATUSES


ACTIVE_STATUSES = frozenset({JobStatus.queued, JobStatus.starting, JobStatus.running})
TERMINAL_STATUSES = frozenset(
    {
        JobStatus.succeeded,
        JobStatus.failed,
        JobStatus.cancelled,
        JobStatus.timed_out,
        JobStatus.preempted,
        JobStatus.rejected,
    }
)


class PriorityClass(StrEnum):
    """``high`` is reserved to hub staff (e.g. a deadline-bound PoC)."""

    low = "low"
    normal = "normal"
    high = "high"

    @property
    def value_for_scheduler(self) -> int:
        return {"low": -10, "normal": 0, "high": 10}[self.value]


class JobEventKind(StrEnum):
    queued = "queued"
    admitted = "admitted"
    starting = "starting"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    cancel_requested = "cancel_requested"
    timed_out = "timed_out"
    preempted = "preempted"
    requeued = "requeued"
    rejected = "rejected"
    lost = "lost"


class JobBase(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    template: str | None = Field(default=None, max_length=60, description="Built-in template")
    entrypoint: str | None = Field(
        default=None, max_length=2000, description="Command run in the code's folder"
    )
    code_bundle_id: int | None = Field(default=None, foreign_key="code_bundle.id")
    num_gpus: float = Field(
        default=1.0, gt=0, le=MAX_GPUS_PER_JOB, description="Whole GPUs, or a share ≤ 1"
    )
    gpu_type: str | None = Field(default=None, max_length=40, description="None = any type")
    time_limit_s: int = Field(ge=MIN_TIME_LIMIT_S, le=MAX_TIME_LIMIT_S)
    priority_class: PriorityClass = Field(
        default=PriorityClass.normal, sa_type=enum_type(PriorityClass)
    )
    preemptible: bool = True


class JobCreate(JobBase):
    model_config = FORBID_EXTRA

    company_id: int | None = Field(default=None, description="Staff only: the company")
    env_vars: dict[str, str] = Field(default_factory=dict)
    arguments: dict[str, str] = Field(
        default_factory=dict, description="Template arguments, e.g. {'epochs': '3'}"
    )

    @field_validator("num_gpus")
    @classmethod
    def _gpu_shape(cls, value: float) -> float:
        if value > 1 and value != int(value):
            raise ValueError("more than one GPU must be a whole number (e.g. 2, 4, 8)")
        if value < 1 and round(value, 4) != value:
            raise ValueError("a GPU share has at most 4 decimals (e.g. 0.25)")
        return value

    @field_validator("env_vars")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_ENV_VARS:
            raise ValueError(f"at most {MAX_ENV_VARS} environment variables")
        for name, content in value.items():
            if not _ENV_NAME.match(name):
                raise ValueError(f"'{name}' is not a valid environment variable name")
            if name.upper().startswith(RESERVED_ENV_PREFIXES):
                raise ValueError(f"'{name}' is set by the hub and cannot be overridden")
            if len(content) > 4096:
                raise ValueError(f"value of '{name}' is longer than 4096 characters")
        return value

    @field_validator("arguments")
    @classmethod
    def _arguments(cls, value: dict[str, str]) -> dict[str, str]:
        for name, content in value.items():
            if not re.match(r"^[a-z][a-z0-9_-]{0,30}$", name):
                raise ValueError(f"'{name}' is not a valid argument name")
            if not re.match(r"^[A-Za-z0-9._-]{1,64}$", content):
                raise ValueError(f"argument '{name}' must be a plain value (letters, digits, ._-)")
        return value

    @model_validator(mode="after")
    def _what_to_run(self) -> JobCreate:
        if self.template is None and self.entrypoint is None:
            raise ValueError("give either a template or an entrypoint (with a code bundle)")
        if self.template is not None and (self.entrypoint or self.code_bundle_id):
            raise ValueError("a template job takes no entrypoint or code bundle")
        if self.arguments and self.template is None:
            raise ValueError("arguments are for templates; put them in the entrypoint")
        return self


class Job(JobBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    submitted_by: int = Field(foreign_key="hub_user.id", index=True)
    status: JobStatus = Field(default=JobStatus.queued, sa_type=enum_type(JobStatus), index=True)
    status_reason: str | None = Field(default=None, max_length=500)
    env_vars: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    arguments: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempt: int = 0
    reserved_gpu_seconds: float = 0.0
    attained_gpu_seconds: float = 0.0
    charged_gpu_seconds: float | None = None
    submitted_at: datetime = created_at_field()
    started_at: datetime | None = timestamp_field()
    ended_at: datetime | None = timestamp_field()
    cancel_requested_at: datetime | None = timestamp_field()
    node_id: str | None = Field(default=None, max_length=100)
    assigned_gpu_type: str | None = Field(default=None, max_length=40)
    placement: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    queue_position: int | None = None
    wait_code: str | None = Field(default=None, max_length=40)
    wait_reason: str | None = Field(default=None, max_length=500)
    estimated_start_at: datetime | None = timestamp_field()
    exit_code: int | None = None
    requeued_from_job_id: int | None = Field(default=None, foreign_key="job.id")
    run_token: str = Field(
        default_factory=lambda: secrets.token_hex(4),
        max_length=16,
        description="Makes submission ids unique across hubs sharing a cluster and DB resets",
    )
    mlflow_run_id: str | None = Field(default=None, max_length=64, index=True)
    tracking_error: str | None = Field(default=None, max_length=1000)
    mlflow_end_pending: bool = Field(
        default=False,
        index=True,
        description="The final status could not be written to the MLflow run yet; retried",
    )

    @property
    def submission_id(self) -> str:
        """The cluster's id for the current attempt: the same on every retry of one start."""
        return submission_id_for(f"{self.id}-{self.run_token}", self.attempt)


class JobPublic(JobBase):
    id: int
    company_id: int
    submitted_by: int
    status: JobStatus
    status_reason: str | None
    env_vars: dict[str, str]
    arguments: dict[str, str]
    attempt: int
    reserved_gpu_seconds: float
    attained_gpu_seconds: float
    charged_gpu_seconds: float | None
    submitted_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    node_id: str | None
    assigned_gpu_type: str | None
    queue_position: int | None
    wait_code: str | None
    wait_reason: str | None
    estimated_start_at: datetime | None
    exit_code: int | None
    requeued_from_job_id: int | None
    mlflow_run_id: str | None = Field(default=None, description="The job's MLflow run")
    tracking_error: str | None = Field(
        default=None, description="Why the job is not (fully) tracked in MLflow, if it is not"
    )


class JobEvent(SQLModel, table=True):
    __tablename__ = "job_event"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    kind: JobEventKind = Field(sa_type=enum_type(JobEventKind))
    attempt: int = 0
    reason: str | None = Field(default=None, max_length=500)
    actor_user_id: int | None = None


class JobEventPublic(SQLModel):
    id: int
    at: datetime
    kind: JobEventKind
    attempt: int
    reason: str | None
    actor_user_id: int | None


class CodeBundle(SQLModel, table=True):
    __tablename__ = "code_bundle"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    uploaded_by: int = Field(foreign_key="hub_user.id")
    filename: str = Field(max_length=200)
    size_bytes: int
    unpacked_bytes: int
    file_count: int
    sha256: str = Field(max_length=64)
    storage_path: str = Field(max_length=500)
    created_at: datetime = created_at_field()


class CodeBundlePublic(SQLModel):
    id: int
    company_id: int
    filename: str
    size_bytes: int
    unpacked_bytes: int
    file_count: int
    sha256: str
    created_at: datetime


class JobTemplatePublic(SQLModel):
    name: str
    title_ko: str
    title_en: str
    description: str
    default_num_gpus: float
    default_time_limit_s: int
    arguments: dict[str, str]


class JobLogs(SQLModel):
    job_id: int
    attempt: int
    text: str
    truncated: bool
