"""GPU jobs end to end on a real Ray cluster: HTTP submit → scheduler → Ray Jobs API → back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hub_api.core.config import Settings
from hub_api.jobs.models import Job, JobStatus
from scheduler.executors.launch import ExecutorUnavailableError, JobLaunch
from scheduler.executors.ray_jobs import RayJobExecutor
from scheduler.service.runner import SchedulerService
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import fund, job_payload
from tests.integration.conftest import RayTestCluster, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

URL = "/api/v1/jobs"
SLEEP = "python -c 'import time; time.sleep({s}); print(\"slept {s}\")'"


@pytest.fixture(params=["sqlite"])
def db_backend(request: pytest.FixtureRequest) -> str:
    """Ray tests run on SQLite; budget concurrency on PostgreSQL is tested separately."""
    return str(request.param)


class OffsetClock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def hub(
    ray_cluster: RayTestCluster,
    client: TestClient,
    world: World,
    session: Session,
    engine: Engine,
    settings: Settings,
    tmp_path: Any,
) -> Iterator[tuple[SchedulerService, OffsetClock]]:
    fund(session, world.company_a, gpu_hours=500)
    settings = settings.model_copy(update={"data_dir": tmp_path})
    executor = RayJobExecutor(ray_cluster.dashboard_url)
    client.app.state.executor = executor  # type: ignore[attr-defined]
    clock = OffsetClock()
    service = SchedulerService(engine=engine, executor=executor, settings=settings, clock=clock)
    yield service, clock
    for job in session.exec(select(Job)).all():
        executor.stop(job.submission_id)


def submit(client: TestClient, world: World, **overrides: Any) -> int:
    response = client.post(
        URL, json=job_payload(**overrides), headers=world.headers(world.engineer_a)
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def fetch(session: Session, job_id: int) -> Job:
    session.expire_all()
    job = session.get(Job, job_id)
    assert job is not None
    return job


def drive(service: SchedulerService, until: Callable[[], bool], *, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        service.run_pass()
        if until():
            return
        time.sleep(0.3)
    raise AssertionError("condition not reached in time")


def test_template_job_runs_on_ray_and_its_logs_are_readable(
    hub: tuple[SchedulerService, OffsetClock], client: TestClient, world: World, session: Session
) -> None:
    service, _ = hub
    job_id = submit(client, world, arguments={"epochs": "1", "samples": "200"}, num_gpus=0.5)
    drive(service, lambda: fetch(session, job_id).status.is_terminal, timeout_s=180)
    job = fetch(session, job_id)
    assert job.status == JobStatus.succeeded, job.status_reason
    assert job.charged_gpu_seconds is not None
    assert job.charged_gpu_seconds > 0
    logs = client.get(f"{URL}/{job_id}/logs", headers=world.headers(world.engineer_a)).json()
    assert "val_accuracy" in logs["text"]
    kinds = [
        e["kind"]
        for e in client.get(
            f"{URL}/{job_id}/events", headers=world.headers(world.engineer_a)
        ).json()
    ]
    assert kinds == ["queued", "admitted", "starting", "running", "succeeded"]


def test_five_one_gpu_jobs_on_four_gpus_one_waits_then_runs(
    hub: tuple[SchedulerService, OffsetClock], client: TestClient, world: World, session: Session
) -> None:
    service, _ = hub
    ids = [
        submit(client, world, template=None, entrypoint=SLEEP.format(s=4), gpu_type="A100")
        for _ in range(5)
    ]
    service.run_pass()
    statuses = [fetch(session, i).status for i in ids]
    assert statuses.count(JobStatus.queued) == 1
    waiting = fetch(session, ids[4])
    assert waiting.wait_reason
    assert "A100" in waiting.wait_reason or "GPU" in waiting.wait_reason
    drive(service, lambda: all(fetch(session, i).status.is_terminal for i in ids))
    assert {fetch(session, i).status for i in ids} == {JobStatus.succeeded}


def test_a_job_asking_for_l40s_runs_on_the_l40s_raylet(
    hub: tuple[SchedulerService, OffsetClock],
    client: TestClient,
    world: World,
    session: Session,
    ray_cluster: RayTestCluster,
) -> None:
    service, _ = hub
    job_id = submit(client, world, template=None, entrypoint=SLEEP.format(s=1), gpu_type="L40S")
    drive(service, lambda: fetch(session, job_id).status.is_terminal)
    job = fetch(session, job_id)
    assert job.status == JobStatus.succeeded
    assert job.node_id == "ray-l40s-0"
    status = service.executor.statuses([job.submission_id])[job.submission_id]
    from ray.util.state import list_nodes

    names = {
        n.node_id: [k for k in n.resources_total if k.startswith("axhub_node:")]
        for n in list_nodes(address=ray_cluster.dashboard_url)
    }
    assert names[status.node_id] == ["axhub_node:ray-l40s-0"], names


def test_time_limit_kills_the_run(
    hub: tuple[SchedulerService, OffsetClock], client: TestClient, world: World, session: Session
) -> None:
    service, clock = hub
    job_id = submit(client, world, template=None, entrypoint=SLEEP.format(s=300), time_limit_s=60)
    drive(service, lambda: fetch(session, job_id).status == JobStatus.running)
    clock.offset = timedelta(seconds=61)
    service.run_pass()
    job = fetch(session, job_id)
    assert job.status == JobStatus.timed_out
    assert job.charged_gpu_seconds == pytest.approx(60, abs=1)
    deadline = time.monotonic() + 30
    while (
        service.executor.statuses([job.submission_id])[job.submission_id].state.value != "STOPPED"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.5)


def test_cancel_while_pending_and_while_running(
    hub: tuple[SchedulerService, OffsetClock], client: TestClient, world: World, session: Session
) -> None:
    service, _ = hub
    ids = [
        submit(client, world, template=None, entrypoint=SLEEP.format(s=120), gpu_type="A100")
        for _ in range(5)
    ]
    service.run_pass()
    headers = world.headers(world.engineer_a)
    pending = client.post(f"{URL}/{ids[4]}/cancel", headers=headers).json()
    assert pending["status"] == "cancelled"
    drive(service, lambda: fetch(session, ids[0]).status == JobStatus.running)
    client.post(f"{URL}/{ids[0]}/cancel", headers=headers)
    service.run_pass()
    cancelled = fetch(session, ids[0])
    assert cancelled.status == JobStatus.cancelled
    deadline = time.monotonic() + 30
    sid = cancelled.submission_id
    while service.executor.statuses([sid])[sid].state.value != "STOPPED":
        assert time.monotonic() < deadline
        time.sleep(0.5)


class DiesBeforeSubmit(RayJobExecutor):
    def start(self, launch: JobLaunch) -> None:
        raise SystemExit("scheduler killed")


def test_scheduler_killed_between_decision_and_start_runs_the_job_once(
    hub: tuple[SchedulerService, OffsetClock],
    client: TestClient,
    world: World,
    session: Session,
    engine: Engine,
    ray_cluster: RayTestCluster,
) -> None:
    service, _ = hub
    dying = SchedulerService(
        engine=engine,
        executor=DiesBeforeSubmit(ray_cluster.dashboard_url),
        settings=service.settings,
    )
    job_id = submit(client, world, template=None, entrypoint=SLEEP.format(s=1))
    with pytest.raises(SystemExit):
        dying.run_pass()
    assert fetch(session, job_id).status == JobStatus.starting
    drive(service, lambda: fetch(session, job_id).status.is_terminal)
    job = fetch(session, job_id)
    assert job.status == JobStatus.succeeded
    from ray.job_submission import JobSubmissionClient

    submissions = [
        j
        for j in JobSubmissionClient(ray_cluster.dashboard_url).list_jobs()
        if j.submission_id == job.submission_id
    ]
    assert len(submissions) == 1


def test_a_raylet_stopped_under_a_running_job_requeues_it(
    hub: tuple[SchedulerService, OffsetClock],
    client: TestClient,
    world: World,
    session: Session,
    ray_cluster: RayTestCluster,
) -> None:
    service, _ = hub
    t4 = ray_cluster.add_gpu_node("ray-t4-0", "T4", 1)
    service.run_pass()  # learn the inventory
    job_id = submit(client, world, template=None, entrypoint=SLEEP.format(s=600), gpu_type="T4")
    drive(service, lambda: fetch(session, job_id).status == JobStatus.running)
    ray_cluster.cluster.remove_node(t4)
    # Ray needs its health checks to declare the raylet dead (seconds alone, minutes on a
    # loaded 2-core CI machine): allow for that, the behaviour is what is tested
    drive(
        service,
        lambda: fetch(session, job_id).attempt == 1 or fetch(session, job_id).status.is_terminal,
        timeout_s=300,
    )
    job = fetch(session, job_id)
    assert job.attempt == 1, f"{job.status}: {job.status_reason}"
    assert job.status == JobStatus.queued  # no T4 node left to start it on
    assert job.attained_gpu_seconds > 0
    ray_cluster.add_gpu_node("ray-t4-0", "T4", 1)
    drive(service, lambda: fetch(session, job_id).status == JobStatus.running, timeout_s=120)
    service.executor.stop(fetch(session, job_id).submission_id)


def test_ray_unreachable_the_api_serves_and_the_scheduler_recovers(
    hub: tuple[SchedulerService, OffsetClock],
    client: TestClient,
    world: World,
    session: Session,
    engine: Engine,
) -> None:
    service, _ = hub
    down = SchedulerService(
        engine=engine,
        executor=RayJobExecutor(f"http://127.0.0.1:{free_port()}"),
        settings=service.settings,
    )
    job_id = submit(client, world, template=None, entrypoint=SLEEP.format(s=1))
    with pytest.raises(ExecutorUnavailableError):
        down.run_pass()
    response = client.get(f"{URL}/{job_id}", headers=world.headers(world.engineer_a))
    assert response.json()["status"] == "queued"
    drive(service, lambda: fetch(session, job_id).status.is_terminal)
    assert fetch(session, job_id).status == JobStatus.succeeded
