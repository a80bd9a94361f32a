"""Budget admission: a job reserves ``num_gpus * time_limit`` of its company's GPU-hour grants.

Admission locks the company's row (``SELECT … FOR UPDATE`` on PostgreSQL; one process-wide lock
per company on SQLite, which has no row locks), then compares the job's need with what the
company's grants still hold minus what its active jobs have reserved. Concurrent submits are
therefore serialized per company and can never overdraw a budget.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from hub_api.companies.models import Company
from hub_api.core.errors import HubError, NotFoundError
from hub_api.grants import ledger
from hub_api.jobs.models import ACTIVE_STATUSES, Job

_sqlite_company_locks: defaultdict[int, threading.Lock] = defaultdict(threading.Lock)
_sqlite_guard = threading.Lock()


class BudgetExceededError(HubError):
    status_code = 422
    problem_type = "budget-exceeded"


def gpu_hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} GPU-h"


@contextmanager
def company_budget_lock(session: Session, company_id: int) -> Iterator[None]:
    """Hold the company's budget lock for the rest of the transaction."""
    if session.get_bind().dialect.name == "sqlite":
        with _sqlite_guard:
            lock = _sqlite_company_locks[company_id]
        with lock:
            yield
        return
    locked = session.exec(
        select(Company.id).where(Company.id == company_id).with_for_update()
    ).first()
    if locked is None:
        raise NotFoundError(f"company {company_id} not found")
    yield


def reserved_gpu_seconds(
    session: Session, *, company_id: int, exclude_job_id: int | None = None
) -> float:
    statement = select(func.coalesce(func.sum(Job.reserved_gpu_seconds), 0.0)).where(
        Job.company_id == company_id, col(Job.status).in_(list(ACTIVE_STATUSES))
    )
    if exclude_job_id is not None:
        statement = statement.where(Job.id != exclude_job_id)
    return float(session.exec(statement).one())


def check_admission(
    session: Session,
    *,
    company_id: int,
    gpu_type: str | None,
    need_gpu_seconds: float,
    at: datetime,
) -> None:
    """Raise ``BudgetExceededError`` unless the need fits (call under ``company_budget_lock``)."""
    available = ledger.available_gpu_seconds(
        session=session, company_id=company_id, gpu_type=gpu_type, at=at
    )
    reserved = reserved_gpu_seconds(session, company_id=company_id)
    left = available - reserved
    if need_gpu_seconds > left + 1e-6:
        kind = f"{gpu_type} " if gpu_type else ""
        raise BudgetExceededError(
            f"company budget would be exceeded: needs {gpu_hours(need_gpu_seconds)}, "
            f"{gpu_hours(max(0.0, left))} left ({gpu_hours(available)} of {kind}grants "
            f"available, {gpu_hours(reserved)} reserved by active jobs)"
        )
