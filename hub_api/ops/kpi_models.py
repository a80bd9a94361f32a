"""The funder's KPI report and the raw records behind each of its figures."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hub_api.ops.models import UsageEntry


class ServedCompany(SQLModel):
    company_id: int
    name: str
    region: str
    industry_division: str = Field(description="KSIC division: the code's first two digits")
    size_class: str
    first_time: bool
    first_activity_at: datetime


class CaseRecord(SQLModel):
    case_id: int
    company_id: int
    service_type: str
    status: str
    outcome_group: str
    created_at: datetime
    first_response_hours: float | None


class JobRunRecord(SQLModel):
    job_id: int
    company_id: int
    status: str
    submitted_at: datetime
    first_start_at: datetime | None = Field(description="First start decision ('starting' event)")
    ran_in_period: bool
    queue_wait_s: float | None = Field(description="first_start_at - submitted_at, if in period")


class UpliftRecord(SQLModel):
    company_id: int
    t1_assessed_at: datetime
    overall_uplift: float


class KpiRecords(SQLModel):
    """Every raw record the report's figures are computed from (``GET /reports/kpi/records``)."""

    start: datetime
    end: datetime
    companies: list[ServedCompany]
    cases: list[CaseRecord]
    jobs: list[JobRunRecord]
    usage: list[UsageEntry]
    uplift: list[UpliftRecord]
    granted_gpu_hours: float
    used_gpu_hours: float
    reclaimed_gpu_hours: float
    expired_gpu_hours: float
    grants_approved: list[int]


class KpiReport(SQLModel):
    start: datetime
    end: datetime
    hub_region: str
    generated_at: datetime
    smes_served: int
    smes_by_region: dict[str, int]
    smes_by_industry: dict[str, int]
    smes_by_size: dict[str, int]
    first_time_smes: int
    consultations: int
    consultations_by_service_type: dict[str, int]
    consultations_by_outcome: dict[str, int]
    median_first_response_hours: float | None
    grants_approved: int
    gpu_hours_granted: float
    gpu_hours_used: float
    gpu_hours_reclaimed: float
    gpu_hours_expired: float
    jobs_run: int
    jobs_run_by_status: dict[str, int]
    models_registered: int | None = Field(
        description="null: the MLflow model registry is not connected to the hub yet"
    )
    average_maturity_uplift: float | None
    companies_with_uplift: int
    gpu_utilization: float | None = Field(description="Mean allocated / mean capacity (0-1)")
    utilization_samples: int
    top5_gpu_hours_share: float | None
    hub_region_gpu_hours_share: float | None
    queue_wait_median_s: float | None
    queue_wait_p90_s: float | None
    sources: dict[str, str] = Field(default_factory=dict, description="How to reproduce figures")
