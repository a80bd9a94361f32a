"""The KPI report for a period ``[start, end)``: computed only from records the API exposes.

Definitions (decision record 0005):

* an SME is *served* when, in the period, it opened a case, submitted a job or had a grant
  approved; *first-time* when it had none of these before the period;
* consultations are the cases opened in the period (by service type, by outcome group);
  time to first response is over those that had one;
* granted / used / reclaimed / expired GPU-hours are the ledger entries written in the period;
* a job *ran* in the period when it reported running in it; queue wait is the time from
  submission to the first start decision, for jobs first started in the period;
* concentration and the hub-region share are over the GPU-hours charged in the period.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from hub_api.assessments import service as assessments
from hub_api.cases.models import Case, CaseStatus
from hub_api.companies.models import Company
from hub_api.core.authz import Principal
from hub_api.core.config import Settings
from hub_api.core.security import as_utc, utcnow
from hub_api.grants.models import SECONDS_PER_HOUR, Grant, GrantStatus, LedgerEntry, LedgerKind
from hub_api.jobs.models import Job, JobEvent, JobEventKind
from hub_api.ops.kpi_models import (
    CaseRecord,
    JobRunRecord,
    KpiRecords,
    KpiReport,
    ServedCompany,
    UpliftRecord,
)
from hub_api.ops.usage import usage_entries
from hub_api.ops.utilization import check_range, period_utilization
from hub_api.tracking.client import TrackingRequestError, TrackingUnavailableError
from hub_api.tracking.models import MlflowTenant
from hub_api.tracking.tenancy import admin_client

SIZE_CLASSES = ((10, "micro (<10)"), (50, "small (10-49)"), (300, "medium (50-299)"))
OPEN = "open"
TOP_N = 5


def size_class(employees: int) -> str:
    for bound, name in SIZE_CLASSES:
        if employees < bound:
            return name
    return "large (300+)"


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def count_registered_models(
    *, session: Session, start: datetime, end: datetime, settings: Settings | None = None
) -> int | None:
    """Model versions registered in the period, counted in every company's MLflow workspace.

    ``None`` ("not available") when the hub has no MLflow configured or MLflow cannot be
    reached: the report then says so instead of printing a made-up 0.
    """
    client = admin_client(settings) if settings is not None else None
    if client is None:
        return None
    start_ms, end_ms = as_utc(start).timestamp() * 1000, as_utc(end).timestamp() * 1000
    count = 0
    try:
        for tenant in session.exec(select(MlflowTenant)).all():
            page_token: str | None = None
            while True:
                params: dict[str, Any] = {"max_results": 200}
                if page_token:
                    params["page_token"] = page_token
                found = client.get(
                    "/api/2.0/mlflow/model-versions/search", workspace=tenant.workspace, **params
                )
                count += sum(
                    start_ms <= float(v.get("creation_timestamp", -1)) < end_ms
                    for v in found.get("model_versions", [])
                )
                page_token = found.get("next_page_token")
                if not page_token:
                    break
    except (TrackingUnavailableError, TrackingRequestError):
        return None
    return count


def _activities(session: Session) -> dict[int, list[datetime]]:
    """Every company's dated activities: cases opened, jobs submitted, grants approved."""
    dates: dict[int, list[datetime]] = defaultdict(list)
    for company_id, at in session.exec(select(Case.company_id, Case.created_at)).all():
        dates[company_id].append(as_utc(at))
    for company_id, at in session.exec(select(Job.company_id, Job.submitted_at)).all():
        dates[company_id].append(as_utc(at))
    decided = session.exec(
        select(Grant.company_id, Grant.decided_at).where(
            col(Grant.status).in_([GrantStatus.approved, GrantStatus.expired]),
            col(Grant.decided_at).is_not(None),
        )
    ).all()
    for company_id, decided_at in decided:
        if decided_at is not None:
            dates[company_id].append(as_utc(decided_at))
    return dates


def _served(session: Session, start: datetime, end: datetime) -> list[ServedCompany]:
    served = []
    for company_id, dates in sorted(_activities(session).items()):
        if not any(start <= at < end for at in dates):
            continue
        company = session.get(Company, company_id)
        assert company is not None
        first = min(dates)
        served.append(
            ServedCompany(
                company_id=company_id,
                name=company.name,
                region=company.region.value,
                industry_division=company.industry_ksic[:2],
                size_class=size_class(company.employees),
                first_time=first >= start,
                first_activity_at=first,
            )
        )
    return served


def _cases(session: Session, start: datetime, end: datetime) -> list[CaseRecord]:
    rows = session.exec(
        select(Case)
        .where(col(Case.created_at) >= start, col(Case.created_at) < end)
        .order_by(col(Case.id))
    ).all()
    records = []
    for case in rows:
        response = (
            (as_utc(case.first_response_at) - as_utc(case.created_at)).total_seconds() / 3600
            if case.first_response_at is not None
            else None
        )
        closed = case.status in (CaseStatus.completed, CaseStatus.rejected, CaseStatus.withdrawn)
        records.append(
            CaseRecord(
                case_id=case.id or 0,
                company_id=case.company_id,
                service_type=case.service_type.value,
                status=case.status.value,
                outcome_group=case.status.value if closed else OPEN,
                created_at=as_utc(case.created_at),
                first_response_hours=round(response, 6) if response is not None else None,
            )
        )
    return records


def _jobs(session: Session, start: datetime, end: datetime) -> list[JobRunRecord]:
    first_start: dict[int, datetime] = {}
    ran: set[int] = set()
    events = session.exec(
        select(JobEvent)
        .where(col(JobEvent.kind).in_([JobEventKind.starting, JobEventKind.running]))
        .order_by(col(JobEvent.at), col(JobEvent.id))
    ).all()
    for event in events:
        at = as_utc(event.at)
        if event.kind == JobEventKind.starting:
            first_start.setdefault(event.job_id, at)
        elif start <= at < end:
            ran.add(event.job_id)
    wanted = ran | {job for job, at in first_start.items() if start <= at < end}
    if not wanted:
        return []
    jobs = session.exec(select(Job).where(col(Job.id).in_(sorted(wanted))).order_by(col(Job.id)))
    records = []
    for job in jobs.all():
        assert job.id is not None
        started = first_start.get(job.id)
        wait = (
            (started - as_utc(job.submitted_at)).total_seconds()
            if started is not None and start <= started < end
            else None
        )
        records.append(
            JobRunRecord(
                job_id=job.id,
                company_id=job.company_id,
                status=job.status.value,
                submitted_at=as_utc(job.submitted_at),
                first_start_at=started,
                ran_in_period=job.id in ran,
                queue_wait_s=round(wait, 6) if wait is not None else None,
            )
        )
    return records


def _ledger_hours(session: Session, start: datetime, end: datetime) -> dict[LedgerKind, float]:
    totals: dict[LedgerKind, float] = dict.fromkeys(LedgerKind, 0.0)
    rows = session.exec(
        select(LedgerEntry.kind, LedgerEntry.gpu_seconds).where(
            col(LedgerEntry.created_at) >= start, col(LedgerEntry.created_at) < end
        )
    ).all()
    for kind, seconds in rows:
        totals[LedgerKind(kind)] += seconds / SECONDS_PER_HOUR
    return totals


def kpi_records(
    *, session: Session, actor: Principal, start: datetime, end: datetime
) -> KpiRecords:
    start, end = check_range(start, end)
    hours = _ledger_hours(session, start, end)
    approved = session.exec(
        select(Grant.id).where(
            col(Grant.status).in_([GrantStatus.approved, GrantStatus.expired]),
            col(Grant.decided_at) >= start,
            col(Grant.decided_at) < end,
        )
    ).all()
    t1_dates = {}
    for row in assessments.uplift(session=session, actor=actor):
        t1 = session.get(assessments.Assessment, row.t1_assessment_id)
        if t1 is not None and start <= as_utc(t1.created_at) < end:
            t1_dates[row.company_id] = (as_utc(t1.created_at), row.overall_uplift)
    return KpiRecords(
        start=start,
        end=end,
        companies=_served(session, start, end),
        cases=_cases(session, start, end),
        jobs=_jobs(session, start, end),
        usage=usage_entries(session=session, start=start, end=end),
        uplift=[
            UpliftRecord(company_id=company, t1_assessed_at=at, overall_uplift=value)
            for company, (at, value) in sorted(t1_dates.items())
        ],
        granted_gpu_hours=round(hours[LedgerKind.grant_credit] + hours[LedgerKind.top_up], 6),
        used_gpu_hours=round(-(hours[LedgerKind.job_debit] + hours[LedgerKind.refund]), 6),
        reclaimed_gpu_hours=round(-hours[LedgerKind.reclaim], 6),
        expired_gpu_hours=round(-hours[LedgerKind.expiry], 6),
        grants_approved=sorted(i for i in approved if i is not None),
    )


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole > 0 else None


SOURCES = {
    "smes_served": "GET /reports/kpi/records → companies (cases, jobs, grants of each company)",
    "consultations": "GET /reports/kpi/records → cases; GET /cases",
    "gpu_hours": "GET /reports/kpi/records → usage; GET /usage?group_by=company",
    "jobs_run": "GET /reports/kpi/records → jobs; GET /jobs/{id}/events",
    "gpu_utilization": "GET /utilization?gpu_type=*",
    "average_maturity_uplift": "GET /assessments/uplift",
    "models_registered": "GET /mlflow/registered-models → versions (creation time in the period)",
}


def kpi_report(
    *,
    session: Session,
    actor: Principal,
    start: datetime,
    end: datetime,
    hub_region: str,
    records: KpiRecords | None = None,
    settings: Settings | None = None,
) -> KpiReport:
    """The figures; ``records`` (of the same period) when the caller already has them."""
    records = records or kpi_records(session=session, actor=actor, start=start, end=end)
    served, cases, jobs = records.companies, records.cases, records.jobs
    response_hours = [c.first_response_hours for c in cases if c.first_response_hours is not None]
    waits = [j.queue_wait_s for j in jobs if j.queue_wait_s is not None]
    per_company: dict[int, float] = defaultdict(float)
    for entry in records.usage:
        per_company[entry.company_id] += entry.gpu_hours
    total = sum(per_company.values())
    regions = {
        c.id: c.region.value
        for c in session.exec(select(Company).where(col(Company.id).in_(list(per_company)))).all()
    }
    top = sorted(per_company.values(), reverse=True)[:TOP_N]
    in_region = sum(h for cid, h in per_company.items() if regions.get(cid) == hub_region)
    utilization, samples = period_utilization(session=session, start=start, end=end)
    uplifts = [u.overall_uplift for u in records.uplift]
    ran = [j for j in jobs if j.ran_in_period]
    return KpiReport(
        start=records.start,
        end=records.end,
        hub_region=hub_region,
        generated_at=utcnow(),
        smes_served=len(served),
        smes_by_region=dict(sorted(Counter(c.region for c in served).items())),
        smes_by_industry=dict(sorted(Counter(c.industry_division for c in served).items())),
        smes_by_size=dict(sorted(Counter(c.size_class for c in served).items())),
        first_time_smes=sum(c.first_time for c in served),
        consultations=len(cases),
        consultations_by_service_type=dict(sorted(Counter(c.service_type for c in cases).items())),
        consultations_by_outcome=dict(sorted(Counter(c.outcome_group for c in cases).items())),
        median_first_response_hours=(
            round(statistics.median(response_hours), 6) if response_hours else None
        ),
        grants_approved=len(records.grants_approved),
        gpu_hours_granted=records.granted_gpu_hours,
        gpu_hours_used=records.used_gpu_hours,
        gpu_hours_reclaimed=records.reclaimed_gpu_hours,
        gpu_hours_expired=records.expired_gpu_hours,
        jobs_run=len(ran),
        jobs_run_by_status=dict(sorted(Counter(j.status for j in ran).items())),
        models_registered=count_registered_models(
            session=session, start=start, end=end, settings=settings
        ),
        average_maturity_uplift=round(statistics.fmean(uplifts), 6) if uplifts else None,
        companies_with_uplift=len(uplifts),
        gpu_utilization=utilization,
        utilization_samples=samples,
        top5_gpu_hours_share=_share(sum(top), total),
        hub_region_gpu_hours_share=_share(in_region, total),
        queue_wait_median_s=_round(percentile(waits, 50)),
        queue_wait_p90_s=_round(percentile(waits, 90)),
        sources=SOURCES,
    )


def _round(value: float | None) -> float | None:
    return round(value, 6) if value is not None else None
