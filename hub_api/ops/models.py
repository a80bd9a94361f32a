"""Utilization history (tables) and the answers of the operations API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

ALL = "*"  # gpu_type of the series that sums every type


class UtilizationSample(SQLModel, table=True):
    """One sample of one series: a GPU type (``*`` = all) for one company (null = all companies).

    Type-wide rows carry the capacity and the queue; company rows what that company holds and
    has queued. Written by the scheduler at the end of a pass, at most once per
    ``HUB_UTILIZATION_SAMPLE_INTERVAL_S``.
    """

    __tablename__ = "utilization_sample"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    gpu_type: str = Field(max_length=40, index=True)
    company_id: int | None = Field(default=None, index=True)  # kept after a company is deleted
    allocated_gpus: float = 0.0
    capacity_gpus: float = 0.0
    queued_jobs: int = 0
    queued_gpus: float = 0.0


class GpuUtilSample(SQLModel, table=True):
    """A real utilization reading of one GPU (nvidia-smi or DCGM), beside who held it then."""

    __tablename__ = "gpu_util_sample"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    node_id: str = Field(max_length=100, index=True)
    gpu_index: int
    gpu_type: str | None = Field(default=None, max_length=40)
    utilization_pct: float
    memory_used_mib: float | None = None
    job_id: int | None = Field(default=None, index=True)
    company_id: int | None = Field(default=None, index=True)


class UtilizationPoint(SQLModel):
    """A bucket of the history: averages of the samples that fall in ``[at, at + step_s)``."""

    at: datetime
    gpu_type: str
    company_id: int | None
    allocated_gpus: float
    capacity_gpus: float
    queued_jobs: float
    queued_gpus: float
    samples: int


class UtilizationHistory(SQLModel):
    start: datetime
    end: datetime
    step_s: int
    points: list[UtilizationPoint]


class GpuUtilPoint(SQLModel):
    at: datetime
    node_id: str
    gpu_index: int
    gpu_type: str | None
    utilization_pct: float
    memory_used_mib: float | None
    job_id: int | None
    company_id: int | None
    samples: int


class GpuUtilHistory(SQLModel):
    start: datetime
    end: datetime
    step_s: int
    points: list[GpuUtilPoint]


class GroupBy(StrEnum):
    company = "company"
    programme = "programme"
    grant = "grant"
    gpu_type = "gpu_type"
    month = "month"


class UsageRow(SQLModel):
    """GPU-hours charged (job debits net of refunds) for one group in the period."""

    key: str
    company_id: int | None = None
    programme_id: int | None = None
    grant_id: int | None = None
    gpu_type: str | None = None
    month: str | None = None
    jobs: int
    gpu_hours: float
    rate_per_gpu_hour: float | None = Field(
        default=None, description="Only when grouped by gpu_type"
    )
    amount: float


class UsageReport(SQLModel):
    start: datetime
    end: datetime
    group_by: GroupBy
    currency: str
    rows: list[UsageRow]
    total_gpu_hours: float
    total_amount: float


class StatementLine(SQLModel):
    programme_id: int
    project_number: str
    grant_id: int
    gpu_type: str
    jobs: int
    gpu_hours: float
    rate_per_gpu_hour: float
    amount: float


class SettlementStatement(SQLModel):
    company_id: int
    company_name: str
    programme_id: int | None
    start: datetime
    end: datetime
    currency: str
    lines: list[StatementLine]
    total_gpu_hours: float
    total_amount: float


class UsageEntry(SQLModel):
    """One charged job (all its ledger entries in the period), the raw record behind usage."""

    job_id: int | None
    company_id: int
    programme_id: int
    grant_id: int
    gpu_type: str
    gpu_hours: float
    charged_at: datetime


class AlertKind(StrEnum):
    idle_allocated_job = "idle_allocated_job"
    budget_low = "budget_low"
    grant_expiring = "grant_expiring"
    node_down = "node_down"


class AlertSeverity(StrEnum):
    warning = "warning"
    critical = "critical"


class Alert(SQLModel):
    kind: AlertKind
    severity: AlertSeverity
    object_type: str
    object_id: str
    company_id: int | None
    message: str
    since: datetime | None
    value: float | None = None
