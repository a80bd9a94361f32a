"""Dispatch latency: submit→RUNNING through the hub versus straight to the Ray Jobs API.

``python -m scheduler.bench dispatch --json OUT.json [--rounds 10] [--ray-address URL]``

In one process it starts (or uses) a Ray cluster with simulated GPUs, a hub_api on a fresh
SQLite database with one funded company, and the scheduler service loop; then, alternating to
share the machine's noise, it submits the same trivial entrypoint through the hub (HTTP submit
until the hub reports the job running) and straight to Ray (until Ray reports RUNNING), and
prints the medians and their ratio. Goal: ratio ≤ 1.2.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx

ENTRYPOINT = "python -c 'print(1)'"
RUNNING_OR_DONE = {"running", "succeeded", "failed"}
TARGET_RATIO = 1.2


@contextmanager
def local_ray(address: str | None) -> Iterator[str]:
    if address:
        yield address
        return
    from ray.cluster_utils import Cluster

    from hub_api.live_server import free_port

    port = free_port()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 2,
            "num_gpus": 4,
            "resources": {"gpu_type:A100": 4, "axhub_node:bench-a100-0": 1},
            "include_dashboard": True,
            "dashboard_agent_listen_port": free_port(),
            "dashboard_host": "127.0.0.1",
            "dashboard_port": port,
        },
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        cluster.shutdown()


def seed_hub(engine: object) -> None:
    """One company with an engineer and a large approved grant."""
    from sqlmodel import Session

    from hub_api.cases.models import Case, ServiceType
    from hub_api.companies.models import Company
    from hub_api.companies.validators import Region, brn_check_digit
    from hub_api.core.security import hash_password
    from hub_api.grants.models import Grant, GrantStatus, LedgerEntry, LedgerKind, Programme
    from hub_api.users.models import Role, User

    now = datetime.now(UTC)
    with Session(engine) as session:  # type: ignore[arg-type]
        company = Company(
            name="Bench Co",
            business_registration_number="123456789" + str(brn_check_digit("123456789")),
            region=Region.gyeongnam,
            industry_ksic="29229",
            employees=10,
        )
        session.add(company)
        session.flush()
        session.add(
            User(
                email="bench@example.com",
                full_name="Bench",
                role=Role.engineer,
                company_id=company.id,
                password_hash=hash_password("bench-pass-123"),
            )
        )
        case = Case(
            title="bench",
            service_type=ServiceType.quality_inspection,
            description="bench",
            company_id=company.id or 0,
        )
        programme = Programme(
            name="bench",
            funder="bench",
            project_number="BENCH-1",
            starts_on=now.date(),
            ends_on=(now + timedelta(days=30)).date(),
            pool_gpu_hours=100_000,
        )
        session.add_all([case, programme])
        session.flush()
        grant = Grant(
            programme_id=programme.id or 0,
            case_id=case.id or 0,
            company_id=company.id or 0,
            project_number="BENCH-1",
            gpu_hours=10_000,
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=30),
            purpose="benchmark",
            status=GrantStatus.approved,
        )
        session.add(grant)
        session.flush()
        session.add(
            LedgerEntry(
                company_id=company.id or 0,
                programme_id=programme.id or 0,
                grant_id=grant.id or 0,
                kind=LedgerKind.grant_credit,
                gpu_seconds=10_000 * 3600.0,
            )
        )
        session.commit()


def time_until(check: Callable[[], bool], *, poll_s: float = 0.01, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("no RUNNING within the timeout")
        time.sleep(poll_s)


def hub_reports_running(api: httpx.Client, job_url: str) -> bool:
    return api.get(job_url).json()["status"] in RUNNING_OR_DONE


def ray_reports_running(ray: Any, submission_id: str) -> bool:
    return str(ray.get_job_status(submission_id).value) in ("RUNNING", "SUCCEEDED", "FAILED")


def measure(rounds: int, ray_address: str | None) -> dict[str, float]:
    from ray.job_submission import JobSubmissionClient
    from sqlmodel import SQLModel

    from hub_api.core.config import Environment, Settings
    from hub_api.core.db import build_engine
    from hub_api.live_server import serve_in_thread
    from hub_api.main import create_app
    from hub_api.models_registry import metadata
    from scheduler.executors.ray_jobs import RayJobExecutor
    from scheduler.service.runner import SchedulerService

    assert metadata is SQLModel.metadata
    with tempfile.TemporaryDirectory() as tmp, local_ray(ray_address) as dashboard:
        settings = Settings(
            environment=Environment.test,
            data_dir=Path(tmp),
            database_url=f"sqlite:///{tmp}/bench.db",
            ray_address=dashboard,
            scheduler_poll_interval_s=0.05,
        )
        engine = build_engine(settings.database_url)
        metadata.create_all(engine)
        seed_hub(engine)
        ray = JobSubmissionClient(dashboard)
        service = SchedulerService(
            engine=engine, executor=RayJobExecutor(dashboard), settings=settings
        )
        stop = threading.Event()
        loop = threading.Thread(target=service.run_forever, args=(stop,), daemon=True)
        loop.start()
        hub_times: list[float] = []
        ray_times: list[float] = []
        try:
            with serve_in_thread(create_app(settings, engine=engine)) as url:
                api = httpx.Client(base_url=f"{url}/api/v1", timeout=30)
                token = api.post(
                    "/auth/login", json={"email": "bench@example.com", "password": "bench-pass-123"}
                ).json()["access_token"]
                api.headers["Authorization"] = f"Bearer {token}"
                for round_number in range(rounds + 1):  # round 0 warms both paths up
                    started = time.perf_counter()
                    job = api.post(
                        "/jobs",
                        json={
                            "name": f"bench {round_number}",
                            "entrypoint": ENTRYPOINT,
                            "num_gpus": 1,
                            "time_limit_s": 600,
                        },
                    ).json()
                    job_url = f"/jobs/{job['id']}"
                    time_until(partial(hub_reports_running, api, job_url))
                    hub_s = time.perf_counter() - started
                    started = time.perf_counter()
                    sid = ray.submit_job(entrypoint=ENTRYPOINT, entrypoint_num_gpus=1)
                    time_until(partial(ray_reports_running, ray, sid))
                    ray_s = time.perf_counter() - started
                    if round_number:
                        hub_times.append(hub_s)
                        ray_times.append(ray_s)
                        print(f"round {round_number}: hub {hub_s:.3f} s, ray {ray_s:.3f} s")
        finally:
            stop.set()
            loop.join(timeout=10)
    hub_median = statistics.median(hub_times)
    ray_median = statistics.median(ray_times)
    return {
        "rounds": rounds,
        "hub_median_s": hub_median,
        "ray_median_s": ray_median,
        "ratio": hub_median / ray_median,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler.bench dispatch")
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--ray-address", default=None, help="use this Ray dashboard")
    args = parser.parse_args(argv)
    result = measure(args.rounds, args.ray_address)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(
        f"hub median {result['hub_median_s']:.3f} s, Ray median {result['ray_median_s']:.3f} s, "
        f"ratio {result['ratio']:.2f} (target ≤ {TARGET_RATIO}: "
        f"{result['ratio'] / TARGET_RATIO:.2f} of target)"
    )
    return 0
