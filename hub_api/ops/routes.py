"""Operations API: utilization history, usage and statements, alerts, the KPI report.

Operators and admins (``ops:read``) see the hub-wide views; every company's own usage and
settlement statement is under ``/companies/{id}/usage`` for the company's engineers (and the
consultants assigned to it), other companies' answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, Response

from hub_api.cases.scope import ensure_company_in_scope
from hub_api.companies.models import Company
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.config import Settings, get_settings
from hub_api.core.db import SessionDep
from hub_api.core.errors import NotFoundError
from hub_api.core.security import utcnow
from hub_api.ops import alerts, kpi, kpi_export, usage, utilization
from hub_api.ops.config import OpsSettings, get_ops_settings
from hub_api.ops.kpi_models import KpiRecords, KpiReport
from hub_api.ops.models import (
    Alert,
    AlertKind,
    GpuUtilHistory,
    GroupBy,
    SettlementStatement,
    UsageEntry,
    UsageReport,
    UtilizationHistory,
    UtilizationSample,
)

router = APIRouter(tags=["operations"])
Operator = Annotated[Principal, Depends(require(Permission.ops_read))]
UsageReader = Annotated[Principal, Depends(require(Permission.usage_read))]
Ops = Annotated[OpsSettings, Depends(get_ops_settings)]
Start = Annotated[datetime | None, Query(description="Default: 30 days before end")]
End = Annotated[datetime | None, Query(description="Default: now (exclusive)")]
Step = Annotated[int | None, Query(ge=1, le=31 * 86400, description="Bucket width in seconds")]
CompanyId = Annotated[int, Path(ge=1)]


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def _period(start: Start = None, end: End = None) -> Period:
    end = end or utcnow()
    return Period(start or end - timedelta(days=30), end)


PeriodDep = Annotated[Period, Depends(_period)]


@router.get("/utilization", response_model=UtilizationHistory, summary="GPU allocation history")
def utilization_history(
    session: SessionDep,
    _: Operator,
    period: PeriodDep,
    step_s: Step = None,
    gpu_type: Annotated[str | None, Query(max_length=40, description="'*' = all types")] = None,
    company_id: Annotated[int | None, Query(ge=1)] = None,
    per_company: bool = False,
) -> UtilizationHistory:
    return utilization.utilization_history(
        session=session,
        start=period.start,
        end=period.end,
        step_s=step_s,
        gpu_type=gpu_type,
        company_id=company_id,
        per_company=per_company,
    )


@router.get(
    "/utilization/now", response_model=list[UtilizationSample], summary="Allocation right now"
)
def utilization_now(session: SessionDep, _: Operator) -> list[UtilizationSample]:
    return utilization.current_samples(session, at=utcnow())


@router.get(
    "/utilization/gpus",
    response_model=GpuUtilHistory,
    summary="Real GPU utilization (nvidia-smi / DCGM) beside the job holding each GPU",
)
def gpu_utilization(
    session: SessionDep,
    _: Operator,
    period: PeriodDep,
    step_s: Step = None,
    node_id: Annotated[str | None, Query(max_length=100)] = None,
    job_id: Annotated[int | None, Query(ge=1)] = None,
) -> GpuUtilHistory:
    return utilization.gpu_util_history(
        session=session,
        start=period.start,
        end=period.end,
        step_s=step_s,
        node_id=node_id,
        job_id=job_id,
    )


@router.get("/usage", response_model=UsageReport, summary="GPU-hours and amounts, grouped")
def usage_report(
    session: SessionDep,
    _: Operator,
    ops: Ops,
    period: PeriodDep,
    group_by: GroupBy = GroupBy.company,
    company_id: Annotated[int | None, Query(ge=1)] = None,
    programme_id: Annotated[int | None, Query(ge=1)] = None,
) -> UsageReport:
    return usage.usage_report(
        session=session,
        settings=ops,
        start=period.start,
        end=period.end,
        group_by=group_by,
        company_id=company_id,
        programme_id=programme_id,
    )


@router.get(
    "/usage/entries", response_model=list[UsageEntry], summary="The charges behind the usage"
)
def usage_entries(
    session: SessionDep,
    _: Operator,
    period: PeriodDep,
    company_id: Annotated[int | None, Query(ge=1)] = None,
    programme_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[UsageEntry]:
    return usage.usage_entries(
        session=session,
        start=period.start,
        end=period.end,
        company_id=company_id,
        programme_id=programme_id,
    )


def _visible_company(session: SessionDep, actor: Principal, company_id: int) -> None:
    ensure_company_in_scope(session, actor, company_id, what=f"company {company_id}")
    if session.get(Company, company_id) is None:
        raise NotFoundError(f"company {company_id} not found")


@router.get(
    "/companies/{company_id}/usage",
    response_model=UsageReport,
    summary="A company's own GPU usage",
)
def company_usage(
    session: SessionDep,
    actor: UsageReader,
    ops: Ops,
    company_id: CompanyId,
    period: PeriodDep,
    group_by: GroupBy = GroupBy.month,
) -> UsageReport:
    _visible_company(session, actor, company_id)
    return usage.usage_report(
        session=session,
        settings=ops,
        start=period.start,
        end=period.end,
        group_by=group_by,
        company_id=company_id,
    )


@router.get(
    "/companies/{company_id}/usage/statement",
    response_model=SettlementStatement,
    summary="Settlement statement of a company (per grant and GPU type, at the hub's rates)",
)
def company_statement(
    session: SessionDep,
    actor: UsageReader,
    ops: Ops,
    company_id: CompanyId,
    period: PeriodDep,
    programme_id: Annotated[int | None, Query(ge=1)] = None,
) -> SettlementStatement:
    _visible_company(session, actor, company_id)
    return usage.settlement_statement(
        session=session,
        settings=ops,
        company_id=company_id,
        start=period.start,
        end=period.end,
        programme_id=programme_id,
    )


@router.get("/alerts", response_model=list[Alert], summary="Current alerts, computed from state")
def current_alerts(
    session: SessionDep, _: Operator, ops: Ops, kind: AlertKind | None = None
) -> list[Alert]:
    return alerts.current_alerts(session=session, settings=ops, now=utcnow(), kind=kind)


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    html = "html"


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/reports/kpi",
    response_model=KpiReport,
    summary="The funder's KPI report (json, csv, xlsx or printable html)",
)
def kpi_report(
    session: SessionDep,
    actor: Operator,
    settings: Annotated[Settings, Depends(get_settings)],
    start: datetime,
    end: datetime,
    format: ReportFormat = ReportFormat.json,
) -> Any:
    records = kpi.kpi_records(session=session, actor=actor, start=start, end=end)
    report = kpi.kpi_report(
        session=session,
        actor=actor,
        start=start,
        end=end,
        hub_region=settings.hub_region,
        records=records,
        settings=settings,
    )
    name = f"axhub-kpi-{report.start:%Y%m%d}-{report.end:%Y%m%d}"
    if format == ReportFormat.csv:
        return Response(
            kpi_export.to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == ReportFormat.xlsx:
        return Response(
            kpi_export.to_xlsx(report, records),
            media_type=XLSX_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    if format == ReportFormat.html:
        return HTMLResponse(kpi_export.to_html(report))
    return report


@router.get(
    "/reports/kpi/records",
    response_model=KpiRecords,
    summary="The raw records every KPI figure is computed from",
)
def kpi_records(session: SessionDep, actor: Operator, start: datetime, end: datetime) -> KpiRecords:
    return kpi.kpi_records(session=session, actor=actor, start=start, end=end)
