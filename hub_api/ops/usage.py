"""Usage accounting: GPU-hours charged per company, programme, grant, GPU type and month.

The raw records are the ledger's ``job_debit`` and ``refund`` entries whose ``created_at`` (the
charge, i.e. the job's end) falls in ``[start, end)``. A charge is priced at the hourly rate of
the GPU type the job actually ran on (``HUB_GPU_HOURLY_RATES``), falling back to the type it
asked for and to ``*``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, col, select

from hub_api.companies.models import Company
from hub_api.core.errors import NotFoundError
from hub_api.core.security import as_utc
from hub_api.grants.models import SECONDS_PER_HOUR, Grant, LedgerEntry, LedgerKind
from hub_api.jobs.models import Job
from hub_api.ops.config import OpsSettings
from hub_api.ops.models import (
    GroupBy,
    SettlementStatement,
    StatementLine,
    UsageEntry,
    UsageReport,
    UsageRow,
)
from hub_api.ops.utilization import check_range

ANY_TYPE = "any"
USAGE_KINDS = (LedgerKind.job_debit, LedgerKind.refund)


def usage_entries(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    company_id: int | None = None,
    programme_id: int | None = None,
) -> list[UsageEntry]:
    """Per job and grant: the GPU-hours charged in the period (debits net of refunds)."""
    start, end = check_range(start, end)
    statement = select(LedgerEntry).where(
        col(LedgerEntry.kind).in_(list(USAGE_KINDS)),
        col(LedgerEntry.created_at) >= start,
        col(LedgerEntry.created_at) < end,
    )
    if company_id is not None:
        statement = statement.where(LedgerEntry.company_id == company_id)
    if programme_id is not None:
        statement = statement.where(LedgerEntry.programme_id == programme_id)
    entries = session.exec(statement.order_by(col(LedgerEntry.id))).all()
    job_ids = {e.job_id for e in entries if e.job_id is not None}
    ran_on = {
        job.id: job.assigned_gpu_type
        for job in (
            session.exec(select(Job).where(col(Job.id).in_(sorted(job_ids)))).all()
            if job_ids
            else []
        )
    }
    merged: dict[tuple[int | None, int], UsageEntry] = {}
    for entry in entries:
        key = (entry.job_id, entry.grant_id)
        hours = -entry.gpu_seconds / SECONDS_PER_HOUR
        if key in merged:
            merged[key].gpu_hours += hours
            merged[key].charged_at = max(merged[key].charged_at, as_utc(entry.created_at))
            continue
        merged[key] = UsageEntry(
            job_id=entry.job_id,
            company_id=entry.company_id,
            programme_id=entry.programme_id,
            grant_id=entry.grant_id,
            gpu_type=ran_on.get(entry.job_id) or entry.gpu_type or ANY_TYPE,
            gpu_hours=hours,
            charged_at=as_utc(entry.created_at),
        )
    for item in merged.values():
        item.gpu_hours = round(item.gpu_hours, 6)
    return list(merged.values())


_KEYS: dict[GroupBy, Callable[[UsageEntry], str]] = {
    GroupBy.company: lambda e: str(e.company_id),
    GroupBy.programme: lambda e: str(e.programme_id),
    GroupBy.grant: lambda e: str(e.grant_id),
    GroupBy.gpu_type: lambda e: e.gpu_type,
    GroupBy.month: lambda e: f"{e.charged_at:%Y-%m}",
}


def _row(group_by: GroupBy, key: str, items: list[UsageEntry], settings: OpsSettings) -> UsageRow:
    first = items[0]
    hours = sum(i.gpu_hours for i in items)
    amount = sum(i.gpu_hours * settings.rate_for(_rate_type(i.gpu_type)) for i in items)
    return UsageRow(
        key=key,
        company_id=first.company_id if group_by == GroupBy.company else None,
        programme_id=first.programme_id if group_by == GroupBy.programme else None,
        grant_id=first.grant_id if group_by == GroupBy.grant else None,
        gpu_type=first.gpu_type if group_by == GroupBy.gpu_type else None,
        month=key if group_by == GroupBy.month else None,
        jobs=_charged_jobs(items),
        gpu_hours=round(hours, 6),
        rate_per_gpu_hour=(
            settings.rate_for(_rate_type(first.gpu_type)) if group_by == GroupBy.gpu_type else None
        ),
        amount=round(amount, 2),
    )


def _charged_jobs(items: list[UsageEntry]) -> int:
    """Jobs that cost something (a fully refunded job is not counted)."""
    return len({i.job_id for i in items if i.job_id is not None and i.gpu_hours > 1e-9})


def _rate_type(gpu_type: str) -> str | None:
    return None if gpu_type == ANY_TYPE else gpu_type


def usage_report(
    *,
    session: Session,
    settings: OpsSettings,
    start: datetime,
    end: datetime,
    group_by: GroupBy,
    company_id: int | None = None,
    programme_id: int | None = None,
) -> UsageReport:
    entries = usage_entries(
        session=session, start=start, end=end, company_id=company_id, programme_id=programme_id
    )
    groups: dict[str, list[UsageEntry]] = defaultdict(list)
    for entry in entries:
        groups[_KEYS[group_by](entry)].append(entry)
    rows = [_row(group_by, key, groups[key], settings) for key in sorted(groups)]
    return UsageReport(
        start=as_utc(start),
        end=as_utc(end),
        group_by=group_by,
        currency=settings.currency,
        rows=rows,
        total_gpu_hours=round(sum(r.gpu_hours for r in rows), 6),
        total_amount=round(sum(r.amount for r in rows), 2),
    )


def settlement_statement(
    *,
    session: Session,
    settings: OpsSettings,
    company_id: int,
    start: datetime,
    end: datetime,
    programme_id: int | None = None,
) -> SettlementStatement:
    """One line per (grant, GPU type): hours × rate, for a company (and programme)."""
    company = session.get(Company, company_id)
    if company is None:
        raise NotFoundError(f"company {company_id} not found")
    entries = usage_entries(
        session=session, start=start, end=end, company_id=company_id, programme_id=programme_id
    )
    groups: dict[tuple[int, str], list[UsageEntry]] = defaultdict(list)
    for entry in entries:
        groups[(entry.grant_id, entry.gpu_type)].append(entry)
    grant_ids = sorted({grant for grant, _ in groups})
    grants = (
        {g.id: g for g in session.exec(select(Grant).where(col(Grant.id).in_(grant_ids))).all()}
        if grant_ids
        else {}
    )
    lines = []
    for (grant_id, gpu_type), items in sorted(groups.items()):
        hours = round(sum(i.gpu_hours for i in items), 6)
        rate = settings.rate_for(_rate_type(gpu_type))
        lines.append(
            StatementLine(
                programme_id=items[0].programme_id,
                project_number=grants[grant_id].project_number if grant_id in grants else "",
                grant_id=grant_id,
                gpu_type=gpu_type,
                jobs=_charged_jobs(items),
                gpu_hours=hours,
                rate_per_gpu_hour=rate,
                amount=round(hours * rate, 2),
            )
        )
    return SettlementStatement(
        company_id=company_id,
        company_name=company.name,
        programme_id=programme_id,
        start=as_utc(start),
        end=as_utc(end),
        currency=settings.currency,
        lines=lines,
        total_gpu_hours=round(sum(line.gpu_hours for line in lines), 6),
        total_amount=round(sum(line.amount for line in lines), 2),
    )
