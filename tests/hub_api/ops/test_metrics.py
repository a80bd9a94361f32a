"""Metrics appear with the right values after a scripted run of jobs (in-memory cluster).

The same script on a real Ray cluster is tests/integration/test_metrics_ray.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hub_api.core.config import Environment, Settings
from hub_api.jobs.models import Job, JobStatus
from hub_api.main import create_app
from hub_api.ops.config import get_ops_settings
from hub_api.ops.models import ALL, UtilizationSample
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import A100_NODE, L40S_NODE, fund, job_payload
from tests.hub_api.ops.helpers import labelled, observed_cluster, samples_of, value

URL = "/api/v1/jobs"


def submit(client: TestClient, world: World, **overrides: object) -> int:
    response = client.post(
        URL, json=job_payload(**overrides), headers=world.headers(world.engineer_a)
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_scripted_run_of_jobs(
    client: TestClient, world: World, session: Session, engine: Engine, settings: Settings
) -> None:
    fund(session, world.company_a, gpu_hours=10)
    ids = [submit(client, world, gpu_type="A100") for _ in range(5)]
    too_big = client.post(
        URL,
        json=job_payload(num_gpus=4, time_limit_s=4 * 3600),
        headers=world.headers(world.engineer_a),
    )
    assert too_big.status_code == 422
    assert "budget" in too_big.text
    forbidden = client.post(
        URL, json=job_payload(priority_class="high"), headers=world.headers(world.engineer_a)
    )
    assert forbidden.status_code == 403
    service, executor, clock, observer = observed_cluster(engine, settings, A100_NODE, L40S_NODE)

    service.run_pass()  # four start on the 4 A100s, one waits
    service.run_pass()  # the cluster reports them running
    clock.advance(600)
    first_two = [j.submission_id for j in session.exec(select(Job).where(col(Job.id).in_(ids[:2])))]
    for submission in first_two:
        executor.complete(submission)
    service.run_pass()  # two finish (charged 600 GPU-s each), the fifth starts after 600 s
    service.run_pass()

    registry = observer.metrics.registry
    assert value(registry, "axhub_scheduler_passes_total") == 4
    assert value(registry, "axhub_scheduler_pass_duration_seconds_count") == 4
    assert value(registry, "axhub_scheduler_job_starts_total", gpu_type="A100") == 5
    assert value(registry, "axhub_scheduler_queue_wait_seconds_count", gpu_type="A100") == 5
    waited = value(registry, "axhub_scheduler_queue_wait_seconds_sum", gpu_type="A100")
    assert 600 <= waited < 605
    assert (
        value(registry, "axhub_scheduler_queue_wait_seconds_bucket", gpu_type="A100", le="300.0")
        == 4
    )
    assert value(registry, "axhub_scheduler_gpus_allocated", gpu_type="A100") == 3
    assert value(registry, "axhub_scheduler_gpus_allocated", gpu_type=ALL) == 3
    assert value(registry, "axhub_scheduler_gpu_capacity", gpu_type=ALL) == 8
    assert value(registry, "axhub_scheduler_queued_jobs", gpu_type=ALL) == 0
    assert value(registry, "axhub_scheduler_rejections_total", reason="no_fitting_node") == 0

    text = client.get("/metrics").text
    metrics = samples_of(text)
    a = world.company_a.id
    assert metrics[("axhub_jobs", labelled(state="running", company_id=a))] == 3
    assert metrics[("axhub_jobs", labelled(state="succeeded", company_id=a))] == 2
    assert metrics[("axhub_gpus_allocated", labelled(gpu_type="A100", company_id=a))] == 3
    assert metrics[("axhub_gpu_capacity", labelled(gpu_type="A100"))] == 4
    assert metrics[("axhub_nodes", labelled(state="up"))] == 2
    assert metrics[("axhub_budget_remaining_gpu_seconds", labelled(company_id=a))] == pytest.approx(
        10 * 3600 - 2 * 600, abs=1
    )
    assert metrics[("axhub_job_admission_rejections_total", labelled(reason="budget"))] == 1
    assert metrics[("axhub_job_admission_rejections_total", labelled(reason="forbidden"))] == 1
    posted = labelled(method="POST", route="/api/v1/jobs", status="201")
    assert metrics[("axhub_http_requests_total", posted)] == 5
    timed = labelled(method="POST", route="/api/v1/jobs")
    assert metrics[("axhub_http_request_duration_seconds_count", timed)] == 7
    assert not any("job_id" in dict(labels) for _, labels in metrics)

    history = session.exec(
        select(UtilizationSample).where(
            UtilizationSample.gpu_type == ALL, col(UtilizationSample.company_id).is_(None)
        )
    ).all()
    assert [(s.allocated_gpus, s.queued_jobs) for s in history] == [(4, 1), (4, 1), (3, 0), (3, 0)]
    assert {job.status for job in session.exec(select(Job)).all()} == {
        JobStatus.running,
        JobStatus.succeeded,
    }


def test_scheduler_rejections_are_counted(
    world: World, session: Session, engine: Engine, settings: Settings
) -> None:
    from tests.hub_api.jobs.builders import make_job

    make_job(
        session, world.company_a, submitted_by=world.engineer_a.id or 0, num_gpus=8, gpu_type="A100"
    )
    service, _, _, observer = observed_cluster(engine, settings, A100_NODE)
    service.run_pass()
    assert (
        value(
            observer.metrics.registry, "axhub_scheduler_rejections_total", reason="no_fitting_node"
        )
        == 1
    )


@pytest.fixture
def metrics_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HUB_METRICS_TOKEN", "scrape-secret")
    get_ops_settings.cache_clear()
    yield "scrape-secret"
    get_ops_settings.cache_clear()


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 401), ("Bearer wrong", 401), ("Bearer scrape-secret", 200)],
)
def test_metrics_endpoint_wants_the_token_when_set(
    metrics_token: str, settings: Settings, engine: Engine, header: str | None, status: int
) -> None:
    with TestClient(create_app(settings, engine=engine)) as client:
        headers = {"Authorization": header} if header else {}
        assert client.get("/metrics", headers=headers).status_code == status


def test_production_without_a_metrics_token_serves_nothing(
    settings: Settings, engine: Engine
) -> None:
    production = settings.model_copy(update={"environment": Environment.production})
    with TestClient(create_app(production, engine=engine)) as client:
        assert client.get("/metrics").status_code == 403


def test_the_scheduler_exports_which_build_of_the_core_runs() -> None:
    from scheduler.service.metrics import SchedulerMetrics

    registry = SchedulerMetrics().registry
    # a checkout runs the sources; the image's compiled build reports "compiled"
    assert value(registry, "axhub_scheduler_core_info", build="pure") == 1
