"""The scheduler service on an in-memory cluster: the same DB code paths as with Ray, fast.

(The same behaviours against a real Ray cluster are in tests/integration/test_ray_jobs.py.)
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select

from hub_api.core.config import Settings
from hub_api.grants.models import LedgerEntry, LedgerKind
from hub_api.jobs.models import Job, JobStatus
from scheduler.executors.launch import ExecutorUnavailableError, JobLaunch
from scheduler.executors.memory import InMemoryExecutor
from scheduler.service.runner import NODE_LOST_GRACE_S, PassReport, SchedulerService
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import A100_NODE, L40S_NODE, fake_cluster, fund, job_payload

URL = "/api/v1/jobs"


def submit_many(client: TestClient, world: World, count: int, **overrides: Any) -> list[int]:
    headers = world.headers(world.engineer_a)
    ids = []
    for _ in range(count):
        response = client.post(URL, json=job_payload(**overrides), headers=headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def settle(service: SchedulerService) -> None:
    """One pass decides and submits; the next one sees the runs the cluster started."""
    service.run_pass()
    service.run_pass()


def job(session: Session, job_id: int) -> Job:
    session.expire_all()
    found = session.get(Job, job_id)
    assert found is not None
    return found


@pytest.fixture
def funded(world: World, session: Session) -> World:
    fund(session, world.company_a, gpu_hours=1000)
    return world


def test_five_one_gpu_jobs_on_four_gpus(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, executor, _ = fake_cluster(engine, settings, A100_NODE)
    ids = submit_many(client, funded, 5, gpu_type="A100")
    report = service.run_pass()
    assert sorted(report.started) == ids[:4]
    waiting = job(session, ids[4])
    assert waiting.status == JobStatus.queued
    assert waiting.queue_position == 1
    assert waiting.wait_reason
    assert "GPU" in waiting.wait_reason
    executor.complete(job(session, ids[0]).submission_id)
    report = service.run_pass()
    assert report.finished == [ids[0]]
    assert report.started == [ids[4]]


def test_started_runs_become_running_and_finished_runs_are_charged_once(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, executor, clock = fake_cluster(engine, settings)
    [job_id] = submit_many(client, funded, 1, num_gpus=2)
    settle(service)
    assert job(session, job_id).status == JobStatus.running
    clock.advance(600)
    executor.complete(job(session, job_id).submission_id)
    service.run_pass()
    service.run_pass()
    finished = job(session, job_id)
    assert finished.status == JobStatus.succeeded
    assert finished.charged_gpu_seconds == pytest.approx(2 * 600, rel=0.01)
    assert finished.reserved_gpu_seconds == 0
    debits = session.exec(
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.kind == LedgerKind.job_debit)
    ).one()
    assert debits == 1


def test_a_job_asking_for_a_type_runs_on_that_type(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, executor, _ = fake_cluster(engine, settings)
    [job_id] = submit_many(client, funded, 1, gpu_type="L40S")
    service.run_pass()
    started = job(session, job_id)
    assert started.node_id == L40S_NODE.node_id
    assert started.assigned_gpu_type == "L40S"
    assert executor.runs[started.submission_id].launch.gpu_type == "L40S"


def test_time_limit_stops_the_job_and_charges_the_limit(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, executor, clock = fake_cluster(engine, settings)
    [job_id] = submit_many(client, funded, 1, time_limit_s=300)
    service.run_pass()
    clock.advance(301)
    service.run_pass()
    stopped = job(session, job_id)
    assert stopped.status == JobStatus.timed_out
    assert stopped.charged_gpu_seconds == pytest.approx(300)
    assert executor.runs[stopped.submission_id].status.state.value == "STOPPED"


def test_cancel_while_running_stops_the_run(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, executor, clock = fake_cluster(engine, settings)
    [job_id] = submit_many(client, funded, 1)
    settle(service)
    clock.advance(120)
    response = client.post(f"{URL}/{job_id}/cancel", headers=funded.headers(funded.engineer_a))
    assert response.json()["status"] == "running"
    service.run_pass()
    cancelled = job(session, job_id)
    assert cancelled.status == JobStatus.cancelled
    assert cancelled.charged_gpu_seconds == pytest.approx(120)
    assert executor.running() == []


class CrashBeforeSubmit(InMemoryExecutor):
    """The scheduler process dies right after committing its decision, before submitting."""

    def start(self, launch: JobLaunch) -> None:
        raise SystemExit("killed")


def test_crash_between_decision_and_start_runs_the_job_exactly_once(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    crashing, _, _ = fake_cluster(engine, settings)
    crashing.executor = CrashBeforeSubmit([A100_NODE, L40S_NODE])
    [job_id] = submit_many(client, funded, 1)
    with pytest.raises(SystemExit):
        crashing.run_pass()
    assert job(session, job_id).status == JobStatus.starting
    restarted, executor, _ = fake_cluster(engine, settings)
    restarted.run_pass()
    restarted.run_pass()
    submission = job(session, job_id).submission_id
    assert executor.submissions.count(submission) == 1
    assert job(session, job_id).status == JobStatus.running


def test_a_start_retried_after_an_unanswered_submit_is_not_started_twice(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, executor, _ = fake_cluster(engine, settings)
    executor.start_pending = True
    [job_id] = submit_many(client, funded, 1)
    service.run_pass()
    submission = job(session, job_id).submission_id
    executor.start(executor.runs[submission].launch)  # a retry reaches the cluster again
    service.run_pass()
    assert len([s for s in executor.runs if s == submission]) == 1


def test_a_run_the_cluster_lost_is_requeued_not_lost(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, executor, clock = fake_cluster(engine, settings)
    [job_id] = submit_many(client, funded, 1)
    settle(service)
    first = job(session, job_id).submission_id
    clock.advance(60)
    executor.forget(first)
    service.run_pass()
    requeued = job(session, job_id)
    assert requeued.attempt == 1
    assert requeued.attained_gpu_seconds == pytest.approx(60)
    assert requeued.status in (JobStatus.queued, JobStatus.starting, JobStatus.running)
    kinds = [
        e["kind"]
        for e in client.get(
            f"{URL}/{job_id}/events", headers=funded.headers(funded.engineer_a)
        ).json()
    ]
    assert "lost" in kinds
    assert "requeued" in kinds


def test_a_node_lost_under_a_job_requeues_it_and_it_waits_for_that_type(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, executor, _ = fake_cluster(engine, settings)
    [job_id] = submit_many(client, funded, 1, gpu_type="L40S")
    settle(service)
    executor.nodes = [A100_NODE]
    executor.fail(job(session, job_id).submission_id, "node died")
    service.run_pass()
    waiting = job(session, job_id)
    assert waiting.status == JobStatus.queued
    assert waiting.attempt == 1
    executor.nodes = [A100_NODE, L40S_NODE]
    settle(service)
    assert job(session, job_id).status == JobStatus.running


def supervisor_dies_under_a_running_job(
    client: TestClient, funded: World, session: Session, service: SchedulerService
) -> tuple[InMemoryExecutor, int]:
    """An L40S job runs; then the cluster reports its run failed because its supervisor
    died (as Ray reports a dead node's jobs before its node list drops the node)."""
    executor = service.executor
    assert isinstance(executor, InMemoryExecutor)
    [job_id] = submit_many(client, funded, 1, gpu_type="L40S")
    settle(service)
    executor.fail(job(session, job_id).submission_id, "supervisor died", infrastructure=True)
    return executor, job_id


def test_a_run_whose_supervisor_died_is_requeued_while_its_node_is_still_listed(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, _, _ = fake_cluster(engine, settings)
    _, job_id = supervisor_dies_under_a_running_job(client, funded, session, service)
    service.run_pass()
    lost = job(session, job_id)
    assert (lost.attempt, lost.status) == (1, JobStatus.queued)
    events = client.get(f"{URL}/{job_id}/events", headers=funded.headers(funded.engineer_a))
    [lost_event] = [e for e in events.json() if e["kind"] == "lost"]
    assert "supervisor died" in lost_event["reason"]


def test_a_node_whose_run_lost_its_supervisor_gets_no_start_in_the_same_pass(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    """The pass re-reads the inventory after the loss instead of placing on the node it read
    before (the executor has left the broken node out since)."""
    service, _, _ = fake_cluster(engine, settings)
    service.settings = service.settings.model_copy(update={"scheduler_pass_interval_s": 3600.0})
    _, job_id = supervisor_dies_under_a_running_job(client, funded, session, service)
    report = service.run_pass()
    assert report.started == []
    assert job(session, job_id).wait_reason


def test_a_repaired_node_gets_the_lost_job_again(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, _, _ = fake_cluster(engine, settings)
    executor, job_id = supervisor_dies_under_a_running_job(client, funded, session, service)
    service.run_pass()
    executor.repair(L40S_NODE.node_id)
    settle(service)
    again = job(session, job_id)
    assert (again.attempt, again.status, again.node_id) == (1, JobStatus.running, "node-l40s-0")


def test_a_run_that_failed_by_itself_on_a_listed_node_fails(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, executor, _ = fake_cluster(engine, settings)
    [job_id] = submit_many(client, funded, 1, gpu_type="L40S")
    settle(service)
    executor.fail(job(session, job_id).submission_id, "exit code 1")
    service.run_pass()
    failed = job(session, job_id)
    assert (failed.attempt, failed.status) == (0, JobStatus.failed)


def test_drained_nodes_get_no_new_jobs(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, _, _ = fake_cluster(engine, settings)
    service.run_pass()  # learn the inventory
    operator = funded.headers(funded.operator)
    drained = client.post(
        f"/api/v1/cluster/nodes/{A100_NODE.node_id}/drain", json={"reason": "fan"}, headers=operator
    )
    assert drained.status_code == 200
    [job_id] = submit_many(client, funded, 1)
    service.run_pass()
    assert job(session, job_id).node_id == L40S_NODE.node_id


def test_an_unreachable_cluster_leaves_the_api_serving(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, executor, _ = fake_cluster(engine, settings)
    executor.reachable = False
    with pytest.raises(ExecutorUnavailableError):
        service.run_pass()
    [job_id] = submit_many(client, funded, 1)
    assert (
        client.get(f"{URL}/{job_id}", headers=funded.headers(funded.engineer_a)).status_code == 200
    )
    executor.reachable = True
    settle(service)
    assert job(session, job_id).status == JobStatus.running


def test_a_database_error_in_a_pass_is_retried_not_fatal(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, _, _ = fake_cluster(engine, settings)
    [job_id] = submit_many(client, funded, 1)
    real_pass, calls = service.run_pass, []

    def flaky_pass() -> PassReport:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return real_pass()

    service.run_pass = flaky_pass  # type: ignore[method-assign]
    stop = threading.Event()
    loop = threading.Thread(target=service.run_forever, args=(stop,), daemon=True)
    loop.start()
    try:
        deadline = time.monotonic() + 30
        while job(session, job_id).status != JobStatus.running and time.monotonic() < deadline:
            time.sleep(0.1)
            session.expire_all()
    finally:
        stop.set()
        loop.join(timeout=30)
    assert job(session, job_id).status == JobStatus.running
    assert len(calls) >= 2
    assert calls[1] - calls[0] >= 1.0  # backed off before retrying


def test_a_job_whose_node_left_the_cluster_is_requeued_even_if_the_cluster_says_running(
    client: TestClient, funded: World, session: Session, engine: Engine, settings: Settings
) -> None:
    service, executor, clock = fake_cluster(engine, settings)
    [job_id] = submit_many(client, funded, 1, gpu_type="L40S")
    settle(service)
    submission = job(session, job_id).submission_id
    executor.nodes = [A100_NODE]  # the node is gone; its run is still reported RUNNING
    service.inventory = lambda: executor.nodes  # type: ignore[method-assign]  # no cache
    service.run_pass()
    assert job(session, job_id).attempt == 0  # one listing without the node is not enough
    clock.advance(NODE_LOST_GRACE_S)
    service.run_pass()
    lost = job(session, job_id)
    assert (lost.attempt, lost.status) == (1, JobStatus.queued)
    assert submission not in executor.running()  # the orphaned run was stopped
