"""Jobs on a real Ray cluster tracked in a real MLflow server: run per job, resumed after a
preemption, models registered and loaded back, and MLflow outages that never block a job."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hub_api.core.config import Settings
from hub_api.core.security import utcnow
from hub_api.jobs.models import Job, JobEventKind, JobStatus
from hub_api.tracking.models import MlflowTenant
from hub_api.tracking.tenancy import credentials
from scheduler.executors.ray_jobs import RayJobExecutor
from scheduler.service import accounting
from scheduler.service.runner import SchedulerService
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import fund
from tests.integration.conftest import MlflowTestServer, RayTestCluster
from tests.integration.test_mlflow_tenancy import as_company
from tests.integration.test_ray_jobs import drive, fetch, submit

pytestmark = [pytest.mark.integration, pytest.mark.slow]

API = "/api/v1"
LOGS_INTO_PLAIN_RUN = (
    'python -c "import mlflow, os, time; run = mlflow.start_run(); '
    "attempt = int(os.environ['AXHUB_ATTEMPT']); "
    "mlflow.log_metric('attempt_seen', attempt, step=attempt); "
    "print('RUN', run.info.run_id, flush=True); time.sleep(600)\""
)


@pytest.fixture(params=["sqlite"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(settings: Settings, mlflow_server: MlflowTestServer, tmp_path: Any) -> Settings:
    return settings.model_copy(update=mlflow_server.hub_settings() | {"data_dir": tmp_path})


@pytest.fixture
def service(
    ray_cluster: RayTestCluster,
    client: TestClient,
    world: World,
    session: Session,
    engine: Engine,
    settings: Settings,
) -> Iterator[SchedulerService]:
    fund(session, world.company_a, gpu_hours=500)
    executor = RayJobExecutor(ray_cluster.dashboard_url)
    client.app.state.executor = executor  # type: ignore[attr-defined]
    scheduler = SchedulerService(engine=engine, executor=executor, settings=settings)
    yield scheduler
    for job in session.exec(select(Job)).all():
        executor.stop(job.submission_id)


def test_template_job_logs_metrics_and_a_model_that_is_registered_and_loads_back(
    service: SchedulerService,
    client: TestClient,
    world: World,
    session: Session,
    settings: Settings,
    mlflow_server: MlflowTestServer,
) -> None:
    headers = world.headers(world.engineer_a)
    job_id = submit(
        client,
        world,
        template="predictive_maintenance",
        arguments={"epochs": "3", "samples": "1500"},
        num_gpus=0.5,
        gpu_type="A100",
    )
    drive(service, lambda: fetch(session, job_id).status.is_terminal, timeout_s=300)
    job = client.get(f"{API}/jobs/{job_id}", headers=headers).json()
    assert job["status"] == "succeeded", job["status_reason"]
    assert job["tracking_error"] is None
    run_id = job["mlflow_run_id"]
    assert run_id

    metrics = client.get(f"{API}/jobs/{job_id}/metrics", headers=headers).json()
    assert metrics["run_id"] == run_id
    assert [p["step"] for p in metrics["history"]["val_auc"]] == [1, 2, 3]
    assert metrics["history"]["axhub_gpu_seconds"][0]["value"] > 0
    assert "axhub_queue_time_s" in metrics["history"]

    runs = client.get(f"{API}/mlflow/runs", params={"job_id": job_id}, headers=headers).json()
    assert [r["run_id"] for r in runs] == [run_id]
    run = client.get(f"{API}/mlflow/runs/{run_id}", headers=headers).json()
    assert run["status"] == "FINISHED"
    assert run["job_id"] == job_id
    assert run["params"]["epochs"] == "3"
    tags = run["tags"]
    assert tags["axhub.company_id"] == str(world.company_a.id)
    assert tags["axhub.user_email"] == world.engineer_a.email
    assert (tags["axhub.gpu_type"], tags["axhub.gpu_count"]) == ("A100", "0.5")
    assert tags["axhub.final_status"] == "succeeded"
    assert tags["axhub.grant_id"]
    assert tags["axhub.case_id"]
    [logged] = run["logged_models"]

    root = client.get(f"{API}/mlflow/runs/{run_id}/artifacts", headers=headers).json()
    assert "logged-models" in [item["path"] for item in root["items"]]
    files = client.get(
        f"{API}/mlflow/runs/{run_id}/artifacts",
        params={"path": logged["artifact_path"].rstrip("/")},
        headers=headers,
    ).json()
    assert any(item["path"].endswith("/MLmodel") for item in files["items"])
    mlmodel = client.get(
        f"{API}/mlflow/runs/{run_id}/artifacts/download",
        params={"path": f"{logged['artifact_path']}MLmodel"},
        headers=headers,
    )
    assert mlmodel.status_code == 200
    assert b"flavors" in mlmodel.content

    today = datetime.now(UTC)
    period = {
        "start": (today - timedelta(days=1)).isoformat(),
        "end": (today + timedelta(days=1)).isoformat(),
    }
    operator = world.headers(world.operator)

    def models_registered() -> int:
        # the MLflow server is the session's: other tests' versions count in the hub's KPI too
        kpi = client.get(f"{API}/reports/kpi", params=period, headers=operator)
        assert kpi.status_code == 200, kpi.text
        return int(kpi.json()["models_registered"])

    registered_before = models_registered()
    version = client.post(
        f"{API}/mlflow/registered-models/spindle-failure/versions",
        json={"run_id": run_id},
        headers=headers,
    )
    assert version.status_code == 201, version.text
    assert version.json()["job_id"] == job_id
    champion = client.put(
        f"{API}/mlflow/registered-models/spindle-failure/aliases/champion",
        json={"version": version.json()["version"]},
        headers=headers,
    ).json()
    assert champion["aliases"] == ["champion"]
    lineage = champion["lineage"]
    assert lineage["job_id"] == job_id
    assert lineage["grant_ids"]
    assert lineage["case_ids"]
    model = client.get(f"{API}/mlflow/registered-models/spindle-failure", headers=headers).json()
    assert model["aliases"] == {"champion": version.json()["version"]}
    assert client.get(f"{API}/mlflow/runs/{run_id}", headers=headers).json()["model_versions"]
    assert models_registered() == registered_before + 1

    tenant = session.get(MlflowTenant, world.company_a.id)
    assert tenant is not None
    creds = credentials(tenant, settings)
    assert creds is not None
    import mlflow.pyfunc

    with as_company(mlflow_server.url, creds):
        loaded = mlflow.pyfunc.load_model("models:/spindle-failure@champion")
        prediction = np.asarray(loaded.predict(np.zeros((2, 5), dtype=np.float32)))
    assert prediction.shape[0] == 2
    assert np.isfinite(prediction).all()


def test_a_preempted_and_requeued_job_continues_the_same_run(
    service: SchedulerService, client: TestClient, world: World, session: Session, engine: Engine
) -> None:
    headers = world.headers(world.engineer_a)
    job_id = submit(client, world, template=None, entrypoint=LOGS_INTO_PLAIN_RUN, gpu_type="A100")

    def seen(steps: list[int]) -> Callable[[], bool]:
        def check() -> bool:
            history = client.get(f"{API}/jobs/{job_id}/metrics", headers=headers).json()
            points = history["history"].get("attempt_seen", [])
            return [p["step"] for p in points] == steps

        return check

    drive(service, seen([0]), timeout_s=180)
    first_run = fetch(session, job_id).mlflow_run_id
    assert first_run
    with Session(engine, expire_on_commit=False) as preempting:
        preempting.info["job_tracking"] = service.tracking
        job = preempting.get(Job, job_id)
        assert job is not None
        service.executor.stop(job.submission_id)
        accounting.requeue(
            preempting, job=job, now=utcnow(), kind=JobEventKind.preempted, reason="preempted"
        )
        preempting.commit()
    drive(service, seen([0, 1]), timeout_s=180)
    job = fetch(session, job_id)
    assert (job.attempt, job.mlflow_run_id) == (1, first_run)
    logs = client.get(f"{API}/jobs/{job_id}/logs", headers=headers).json()["text"]
    assert f"RUN {first_run}" in logs  # the job's plain mlflow.start_run() resumed the hub's run
    client.post(f"{API}/jobs/{job_id}/cancel", headers=headers)
    drive(service, lambda: fetch(session, job_id).status.is_terminal)
    run = client.get(f"{API}/mlflow/runs/{first_run}", headers=headers).json()
    assert run["status"] == "KILLED"
    assert run["tags"]["axhub.attempts"] == "2"
    assert run["tags"]["axhub.last_requeue_reason"] == "preempted"


class SwitchableProxy:
    """A TCP forwarder in front of MLflow that can be switched off: a real outage for the hub
    (connections are cut), with the same server coming back at the same address."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.down = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            if self.down:
                downstream.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for source, target in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()


def test_mlflow_down_jobs_still_run_the_hub_reports_it_and_retries(
    service: SchedulerService,
    client: TestClient,
    world: World,
    session: Session,
    engine: Engine,
    settings: Settings,
    mlflow_server: MlflowTestServer,
) -> None:
    proxy = SwitchableProxy(int(mlflow_server.url.rsplit(":", 1)[1]))
    proxy.down = True
    through_proxy = SchedulerService(
        engine=engine,
        executor=service.executor,
        settings=settings.model_copy(update={"mlflow_tracking_uri": proxy.url}),
    )
    headers = world.headers(world.engineer_a)
    sleeper = "python -c 'import time; time.sleep(15)'"
    try:
        job_id = submit(client, world, template=None, entrypoint=sleeper)
        started = time.monotonic()
        drive(through_proxy, lambda: fetch(session, job_id).status == JobStatus.running)
        assert time.monotonic() - started < 60
        job = client.get(f"{API}/jobs/{job_id}", headers=headers).json()
        assert job["mlflow_run_id"] is None
        assert "unreachable" in job["tracking_error"]
        assert "runs without MLflow tracking" in job["tracking_error"]
        metrics = client.get(f"{API}/jobs/{job_id}/metrics", headers=headers).json()
        assert metrics["history"] == {}
        assert metrics["tracking_error"] == job["tracking_error"]

        proxy.down = False  # MLflow is back: the next pass creates the run
        drive(through_proxy, lambda: fetch(session, job_id).mlflow_run_id is not None)
        job = client.get(f"{API}/jobs/{job_id}", headers=headers).json()
        assert "created run" in job["tracking_error"]

        proxy.down = True  # down again exactly when the job ends: the end is kept and retried
        drive(through_proxy, lambda: fetch(session, job_id).status.is_terminal)
        assert fetch(session, job_id).status == JobStatus.succeeded
        assert fetch(session, job_id).mlflow_end_pending
        job = client.get(f"{API}/jobs/{job_id}", headers=headers).json()
        assert "could not record the final status" in job["tracking_error"]
        assert "retries" in job["tracking_error"]

        proxy.down = False
        drive(through_proxy, lambda: not fetch(session, job_id).mlflow_end_pending)
        assert client.get(f"{API}/jobs/{job_id}", headers=headers).json()["tracking_error"] is None
        run = client.get(f"{API}/mlflow/runs/{job['mlflow_run_id']}", headers=headers).json()
        assert run["status"] == "FINISHED"
        assert run["tags"]["axhub.tracking_late"] == "true"
        assert run["metrics"]["axhub_gpu_seconds"] > 0
    finally:
        proxy.close()
