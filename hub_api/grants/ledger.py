"""The GPU-second ledger: a company's budget is the sum of its grants' entries.

The contract the jobs domain and the scheduler rely on (all keyword-only, none of them commits:
the caller commits in its own transaction):

* ``available_gpu_seconds(session=, company_id=, gpu_type=, at=)``
* ``charge_job(session=, company_id=, job_id=, gpu_seconds=, gpu_type=, at=)``
* ``refund_job(session=, company_id=, job_id=, at=, note=)``
* ``company_budget(session=, company_id=, at=)``
* ``lock_budget(session=, company_id=)`` (serialize admissions of one company)
* ``notify_budget_usage(session=, company_id=)`` (after a charge: 80 % / 100 % notices)

**GPU-type rule.** A grant for ``gpu_type=None`` ("any") pays for jobs of every GPU type. A grant
for a named type (``"A100"``) pays only for jobs that ask for that type. A job that asks for
``gpu_type=None`` (any GPU, the scheduler decides) can use only "any" grants, since it may land on
a type no typed grant covers.

A grant counts as **active** at ``at`` when it is approved and ``valid_from <= at < valid_until``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from hub_api.companies.models import Company
from hub_api.core.errors import ConflictError, InvalidInputError
from hub_api.core.security import as_utc, utcnow
from hub_api.grants.models import (
    SECONDS_PER_HOUR,
    CompanyBudget,
    Grant,
    GrantBudget,
    GrantStatus,
    LedgerEntry,
    LedgerKind,
)

EPSILON = 1e-6


def type_condition(gpu_type: str | None) -> object:
    """SQL: grants that may pay for a job asking ``gpu_type`` (see the module's rule)."""
    if gpu_type is None:
        return col(Grant.gpu_type).is_(None)
    return or_(col(Grant.gpu_type).is_(None), col(Grant.gpu_type) == gpu_type)


def active_grants(
    *, session: Session, company_id: int, gpu_type: str | None, at: datetime
) -> list[Grant]:
    """Approved grants valid at ``at`` matching ``gpu_type``, earliest-expiring first."""
    return list(
        session.exec(
            select(Grant)
            .where(
                Grant.company_id == company_id,
                Grant.status == GrantStatus.approved,
                col(Grant.valid_from) <= at,
                col(Grant.valid_until) > at,
                type_condition(gpu_type),  # type: ignore[arg-type]
            )
            .order_by(col(Grant.valid_until), col(Grant.id))
        ).all()
    )


def grant_balances(session: Session, grant_ids: list[int]) -> dict[int, float]:
    if not grant_ids:
        return {}
    rows = session.exec(
        select(LedgerEntry.grant_id, func.sum(LedgerEntry.gpu_seconds))
        .where(col(LedgerEntry.grant_id).in_(grant_ids))
        .group_by(col(LedgerEntry.grant_id))
    ).all()
    balances = dict.fromkeys(grant_ids, 0.0)
    balances.update({grant_id: float(total or 0.0) for grant_id, total in rows})
    return balances


def grant_balance(session: Session, grant_id: int) -> float:
    return grant_balances(session, [grant_id])[grant_id]


def available_gpu_seconds(
    *, session: Session, company_id: int, gpu_type: str | None, at: datetime
) -> float:
    """GPU-seconds the company may still spend on a ``gpu_type`` job at ``at`` (never < 0)."""
    grants = active_grants(session=session, company_id=company_id, gpu_type=gpu_type, at=at)
    balances = grant_balances(session, [g.id for g in grants if g.id is not None])
    return max(0.0, sum(balances.values()))


def lock_budget(*, session: Session, company_id: int) -> None:
    """Lock the company row (``SELECT … FOR UPDATE``) until the caller's transaction ends.

    Admission code calls this before reading ``available_gpu_seconds`` so that concurrent
    submissions of one company are serialized (SQLite serializes writers anyway).
    """
    session.exec(select(Company.id).where(Company.id == company_id).with_for_update()).first()


def _job_entries(session: Session, job_id: int, kind: LedgerKind) -> list[LedgerEntry]:
    return list(
        session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.job_id == job_id, LedgerEntry.kind == kind)
            .order_by(col(LedgerEntry.seq))
        ).all()
    )


def _fallback_grant(session: Session, company_id: int, gpu_type: str | None) -> Grant:
    """For a job that ran past its grants' validity: the latest-expiring used grant."""
    statuses = [GrantStatus.approved, GrantStatus.expired]
    for condition in (type_condition(gpu_type), True):
        grant = session.exec(
            select(Grant)
            .where(
                Grant.company_id == company_id,
                col(Grant.status).in_(statuses),
                condition,  # type: ignore[arg-type]
            )
            .order_by(col(Grant.valid_until).desc(), col(Grant.id).desc())
        ).first()
        if grant is not None:
            return grant
    raise ConflictError(f"company {company_id} has no approved grant to charge")


def charge_job(
    *,
    session: Session,
    company_id: int,
    job_id: int,
    gpu_seconds: float,
    gpu_type: str | None,
    at: datetime,
) -> list[LedgerEntry]:
    """Debit a finished job's actual GPU-seconds, earliest-expiring matching grant first.

    Idempotent per ``job_id``: a second call returns the first call's entries and writes nothing
    (the unique ``(job_id, kind, seq)`` constraint also stops a concurrent double charge at commit).
    What the active grants cannot cover is debited to the last one anyway, so an overrun shows
    as a negative balance. Does not commit.
    """
    existing = _job_entries(session, job_id, LedgerKind.job_debit)
    if existing:
        return existing
    if gpu_seconds < 0:
        raise InvalidInputError("gpu_seconds must not be negative")
    if gpu_seconds <= EPSILON:
        return []
    grants = active_grants(session=session, company_id=company_id, gpu_type=gpu_type, at=at)
    if not grants:
        grants = [_fallback_grant(session, company_id, gpu_type)]
    balances = grant_balances(session, [g.id for g in grants if g.id is not None])
    debits: dict[int, float] = {}
    remaining = gpu_seconds
    for grant in grants:
        assert grant.id is not None
        take = min(max(balances[grant.id], 0.0), remaining)
        if take > EPSILON:
            debits[grant.id] = take
            remaining -= take
    if remaining > EPSILON:
        last = grants[-1].id
        assert last is not None
        debits[last] = debits.get(last, 0.0) + remaining
    by_id = {g.id: g for g in grants}
    entries = [
        LedgerEntry(
            company_id=company_id,
            programme_id=by_id[grant_id].programme_id,
            grant_id=grant_id,
            job_id=job_id,
            seq=seq,
            kind=LedgerKind.job_debit,
            gpu_seconds=-amount,
            gpu_type=gpu_type,
            note=f"job {job_id}",
            created_at=as_utc(at),
        )
        for seq, (grant_id, amount) in enumerate(debits.items())
    ]
    session.add_all(entries)
    session.flush()
    return entries


def refund_job(
    *, session: Session, company_id: int, job_id: int, at: datetime, note: str | None = None
) -> list[LedgerEntry]:
    """Give a job's debits back to the grants they came from (e.g. a hub-side failure).

    Idempotent per ``job_id``; does not commit.
    """
    existing = _job_entries(session, job_id, LedgerKind.refund)
    if existing:
        return existing
    debits = [
        d for d in _job_entries(session, job_id, LedgerKind.job_debit) if d.company_id == company_id
    ]
    entries = [
        LedgerEntry(
            company_id=company_id,
            programme_id=debit.programme_id,
            grant_id=debit.grant_id,
            job_id=job_id,
            seq=debit.seq,
            kind=LedgerKind.refund,
            gpu_seconds=-debit.gpu_seconds,
            gpu_type=debit.gpu_type,
            note=note or f"refund of job {job_id}",
            created_at=as_utc(at),
        )
        for debit in debits
    ]
    session.add_all(entries)
    session.flush()
    return entries


def _hours(seconds: float) -> float:
    return round(seconds / SECONDS_PER_HOUR, 6)


def company_budget(
    *, session: Session, company_id: int, at: datetime | None = None
) -> CompanyBudget:
    """Per grant and in total: granted, used, reclaimed, expired and balance (GPU-hours)."""
    at = at or utcnow()
    grants = session.exec(
        select(Grant)
        .where(
            Grant.company_id == company_id,
            col(Grant.status).in_([GrantStatus.approved, GrantStatus.expired]),
        )
        .order_by(col(Grant.valid_until), col(Grant.id))
    ).all()
    sums: dict[int, dict[LedgerKind, float]] = defaultdict(lambda: defaultdict(float))
    rows = session.exec(
        select(LedgerEntry.grant_id, LedgerEntry.kind, func.sum(LedgerEntry.gpu_seconds))
        .where(LedgerEntry.company_id == company_id)
        .group_by(col(LedgerEntry.grant_id), col(LedgerEntry.kind))
    ).all()
    for grant_id, kind, total in rows:
        sums[grant_id][LedgerKind(kind)] = float(total or 0.0)
    items = []
    available = 0.0
    for grant in grants:
        assert grant.id is not None
        s = sums[grant.id]
        granted = s[LedgerKind.grant_credit] + s[LedgerKind.top_up]
        used = -(s[LedgerKind.job_debit] + s[LedgerKind.refund])
        balance = sum(s.values())
        active = grant.status == GrantStatus.approved and as_utc(grant.valid_from) <= as_utc(
            at
        ) < as_utc(grant.valid_until)
        available += balance if active else 0.0
        items.append(
            GrantBudget(
                grant_id=grant.id,
                programme_id=grant.programme_id,
                project_number=grant.project_number,
                status=grant.status,
                gpu_type=grant.gpu_type,
                valid_from=as_utc(grant.valid_from),
                valid_until=as_utc(grant.valid_until),
                granted_gpu_hours=_hours(granted),
                used_gpu_hours=_hours(used),
                reclaimed_gpu_hours=_hours(-s[LedgerKind.reclaim]),
                expired_gpu_hours=_hours(-s[LedgerKind.expiry]),
                balance_gpu_hours=_hours(balance),
                used_fraction=round(used / granted, 6) if granted > EPSILON else 0.0,
            )
        )
    return CompanyBudget(
        company_id=company_id,
        at=as_utc(at),
        grants=items,
        granted_gpu_hours=round(sum(i.granted_gpu_hours for i in items), 6),
        used_gpu_hours=round(sum(i.used_gpu_hours for i in items), 6),
        reclaimed_gpu_hours=round(sum(i.reclaimed_gpu_hours for i in items), 6),
        expired_gpu_hours=round(sum(i.expired_gpu_hours for i in items), 6),
        balance_gpu_hours=round(sum(i.balance_gpu_hours for i in items), 6),
        available_now_gpu_hours=_hours(max(0.0, available)),
    )


def notify_budget_usage(
    *, session: Session, company_id: int, at: datetime | None = None
) -> list[Any]:
    """The jobs domain's hook after ``charge_job``: announce 80 % / 100 % budget use.

    Implemented in ``hub_api.grants.alerts`` (imported here lazily: alerts build on this module).
    Does not commit.
    """
    from hub_api.grants.alerts import notify_budget_usage as notify

    return list(notify(session=session, company_id=company_id, at=at))
