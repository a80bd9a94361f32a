"""Metrics on a real Ray cluster (simulated GPUs): a scripted run of jobs, then the scheduler's
and hub_api's metrics and the utilization history hold the values the run implies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hub_api.core.config import Settings
from hub_api.jobs.models import Job, JobStatus
from hub_api.ops.models import ALL, UtilizationSample
from hub_api.ops.utilization import UtilizationSampler
from scheduler.executors.ray_jobs import RayJobExecutor
from scheduler.service.metrics import PassObserver
from scheduler.service.runner import SchedulerService
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import fund, job_payload
from tests.hub_api.ops.helpers import labelled, samples_of, value
from tests.integration.conftest import RayTestCluster
from tests.integration.test_ray_jobs import drive

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SLEEP = "python -c 'import time; time.sleep(3)'"


@pytest.fixture(params=["sqlite"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def observed(
    ray_cluster: RayTestCluster, engine: Engine, settings: Settings, tmp_path: Any
) -> Iterator[tuple[SchedulerService, PassObserver]]:
    executor = RayJobExecutor(ray_cluster.dashboard_url)
    observer = PassObserver(engine, sampler=UtilizationSampler(interval_s=0))
    service = SchedulerService(
        engine=engine,
        executor=executor,
        settings=settings.model_copy(update={"data_dir": tmp_path}),
        observer=observer,
    )
    yield service, observer
    with Session(engine) as session:
        for job in session.exec(select(Job)).all():
            executor.stop(job.submission_id)


def test_metrics_after_a_scripted_run_on_ray(
    observed: tuple[SchedulerService, PassObserver],
    client: TestClient,
    world: World,
    session: Session,
) -> None:
    service, observer = observed
    fund(session, world.company_a, gpu_hours=50)
    headers = world.headers(world.engineer_a)
    ids = []
    for _ in range(5):
        payload = job_payload(template=None, entrypoint=SLEEP, gpu_type="A100")
        response = client.post("/api/v1/jobs", json=payload, headers=headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])

    def finished() -> bool:
        session.expire_all()
        jobs = session.exec(select(Job).where(col(Job.id).in_(ids))).all()
        return all(job.status.is_terminal for job in jobs)

    drive(service, finished)
    jobs = session.exec(select(Job).where(col(Job.id).in_(ids))).all()
    assert {job.status for job in jobs} == {JobStatus.succeeded}

    registry = observer.metrics.registry
    assert value(registry, "axhub_scheduler_job_starts_total", gpu_type="A100") == 5
    assert value(registry, "axhub_scheduler_queue_wait_seconds_count", gpu_type="A100") == 5
    assert value(registry, "axhub_scheduler_gpus_allocated", gpu_type="A100") == 0
    assert value(registry, "axhub_scheduler_gpu_capacity", gpu_type="A100") == 4
    assert value(registry, "axhub_scheduler_gpu_capacity", gpu_type=ALL) == 8
    passes = value(registry, "axhub_scheduler_passes_total")
    assert value(registry, "axhub_scheduler_pass_duration_seconds_count") == passes > 0

    metrics = samples_of(client.get("/metrics").text)
    company = world.company_a.id
    assert metrics[("axhub_jobs", labelled(state="succeeded", company_id=company))] == 5
    charged = sum(job.charged_gpu_seconds or 0.0 for job in jobs)
    assert charged > 0
    remaining = metrics[("axhub_budget_remaining_gpu_seconds", labelled(company_id=company))]
    assert remaining == pytest.approx(50 * 3600 - charged, abs=0.01)

    history = session.exec(
        select(UtilizationSample).where(
            UtilizationSample.gpu_type == "A100", col(UtilizationSample.company_id).is_(None)
        )
    ).all()
    assert max(s.allocated_gpus for s in history) == 4  # four ran at once, the fifth waited
    assert max(s.queued_jobs for s in history) >= 1
