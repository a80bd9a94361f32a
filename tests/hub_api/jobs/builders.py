"""Small builders for job tests: funded companies, job payloads, a service on a fake cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from hub_api.companies.models import Company
from hub_api.core.config import Settings
from hub_api.grants.models import Grant
from hub_api.jobs.models import Job
from scheduler.core.model import GpuNode
from scheduler.executors.memory import InMemoryExecutor
from scheduler.service.runner import SchedulerService
from tests.factories import make_case, make_grant, make_programme

A100_NODE = GpuNode("node-a100-0", "A100", 4)
L40S_NODE = GpuNode("node-l40s-0", "L40S", 4)


def fund(
    session: Session, company: Company, *, gpu_hours: float, gpu_type: str | None = None
) -> Grant:
    """Give ``company`` an approved grant of ``gpu_hours`` valid around now."""
    now = datetime.now(UTC)
    return make_grant(
        session,
        make_case(session, company),
        make_programme(session, pool_gpu_hours=max(10_000.0, gpu_hours)),
        gpu_hours=gpu_hours,
        gpu_type=gpu_type,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=30),
    )


def job_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "defect model",
        "template": "defect_classifier",
        "num_gpus": 1,
        "time_limit_s": 3600,
    } | overrides


class Clock:
    """A controllable clock for the scheduler service."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def fake_cluster(
    engine: Any, settings: Settings, *nodes: GpuNode
) -> tuple[SchedulerService, InMemoryExecutor, Clock]:
    clock = Clock()
    executor = InMemoryExecutor(nodes or (A100_NODE, L40S_NODE), clock=clock.epoch)
    settings = settings.model_copy(update={"scheduler_pass_interval_s": 0.0})
    service = SchedulerService(engine=engine, executor=executor, settings=settings, clock=clock)
    return service, executor, clock


def make_job(session: Session, company: Company, *, submitted_by: int, **kw: Any) -> Job:
    """A job row as the API would have queued it (no budget check)."""
    fields: dict[str, Any] = {
        "name": "builder job",
        "template": "defect_classifier",
        "num_gpus": 1.0,
        "time_limit_s": 3600,
        "company_id": company.id,
        "submitted_by": submitted_by,
        "reserved_gpu_seconds": 3600.0,
    } | kw
    job = Job(**fields)
    session.add(job)
    session.commit()
    return job
