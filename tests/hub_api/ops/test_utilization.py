"""Utilization history: what a sample holds, throttling, query-time bucketing, real GPU readings
beside the job holding the GPU."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hub_api.cluster.models import ClusterNode
from hub_api.core.config import Settings
from hub_api.jobs.models import JobStatus
from hub_api.ops.gpu_exporters import GpuReading, parse_dcgm
from hub_api.ops.models import ALL, GpuUtilSample, UtilizationSample
from hub_api.ops.utilization import (
    UtilizationSampler,
    choose_step,
    current_samples,
    readings_beside_allocation,
)
from hub_api.users.models import Role
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import make_job

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def nodes(session: Session) -> None:
    session.add(ClusterNode(node_id="a100-0", gpu_type="A100", gpu_count=4))
    session.add(ClusterNode(node_id="l40s-0", gpu_type="L40S", gpu_count=4))
    session.add(ClusterNode(node_id="l40s-1", gpu_type="L40S", gpu_count=4, alive=False))
    session.commit()


def running(session: Session, world: World, company: str, node: str, devices: list[int]) -> int:
    owner = world.company_a if company == "a" else world.company_b
    job = make_job(
        session,
        owner,
        submitted_by=world.engineer_a.id or 0,
        status=JobStatus.running,
        num_gpus=len(devices),
        placement=[{"node_id": node, "device_index": d, "fraction": 1.0} for d in devices],
    )
    return job.id or 0


def test_a_sample_holds_capacity_allocation_and_queue_per_type_and_company(
    session: Session, world: World
) -> None:
    nodes(session)
    running(session, world, "a", "a100-0", [0, 1])
    running(session, world, "b", "l40s-0", [0])
    make_job(
        session, world.company_a, submitted_by=world.engineer_a.id or 0, gpu_type="L40S", num_gpus=2
    )
    make_job(session, world.company_b, submitted_by=world.engineer_b.id or 0, gpu_type=None)
    a, b = world.company_a.id, world.company_b.id
    rows = {
        (s.gpu_type, s.company_id): (
            s.capacity_gpus,
            s.allocated_gpus,
            s.queued_jobs,
            s.queued_gpus,
        )
        for s in current_samples(session, at=T0)
    }
    assert rows == {
        (ALL, None): (8, 3, 2, 3),
        ("A100", None): (4, 2, 0, 0),
        ("L40S", None): (4, 1, 1, 2),  # the dead node's GPUs are not capacity
        (ALL, a): (0, 2, 1, 2),
        (ALL, b): (0, 1, 1, 1),
        ("A100", a): (0, 2, 0, 0),
        ("L40S", a): (0, 0, 1, 2),
        ("L40S", b): (0, 1, 0, 0),
    }


@pytest.mark.parametrize(
    ("offsets_s", "written"),
    [([0, 30, 59], [0]), ([0, 60, 90, 120], [0, 60, 120]), ([0, 1000], [0, 1000])],
)
def test_samples_are_written_at_most_once_per_interval(
    session: Session, offsets_s: list[int], written: list[int]
) -> None:
    sampler = UtilizationSampler(interval_s=60)
    for offset in offsets_s:
        sampler.sample(session, now=T0 + timedelta(seconds=offset))
    stored = session.exec(select(UtilizationSample.at).distinct()).all()
    assert sorted((_utc(at) - T0).total_seconds() for at in stored) == written


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("span", "asked", "step"),
    [
        (timedelta(hours=2), None, 60),
        (timedelta(hours=2), 600, 600),
        (timedelta(days=30), None, 5184),  # never more than 500 buckets
        (timedelta(days=30), 60, 5184),
    ],
)
def test_long_ranges_are_downsampled(span: timedelta, asked: int | None, step: int) -> None:
    assert choose_step(T0, T0 + span, asked) == step


def test_history_averages_each_bucket(client: TestClient, session: Session, world: World) -> None:
    for minute in range(120):  # allocation ramps 0..7 every 15 minutes
        session.add(
            UtilizationSample(
                at=T0 + timedelta(minutes=minute),
                gpu_type=ALL,
                allocated_gpus=minute // 15,
                capacity_gpus=8,
                queued_jobs=1,
            )
        )
    session.add(
        UtilizationSample(at=T0, gpu_type=ALL, company_id=world.company_a.id, allocated_gpus=5)
    )
    session.commit()
    response = client.get(
        "/api/v1/utilization",
        params={
            "start": T0.isoformat(),
            "end": (T0 + timedelta(hours=2)).isoformat(),
            "step_s": 1800,
        },
        headers=world.headers(Role.operator),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["step_s"] == 1800
    assert [(p["allocated_gpus"], p["samples"]) for p in body["points"]] == [
        (0.5, 30),
        (2.5, 30),
        (4.5, 30),
        (6.5, 30),
    ]
    assert all(p["company_id"] is None for p in body["points"])
    per_company = client.get(
        "/api/v1/utilization",
        params={
            "start": T0.isoformat(),
            "end": (T0 + timedelta(hours=1)).isoformat(),
            "company_id": world.company_a.id,
        },
        headers=world.headers(Role.operator),
    ).json()
    assert [p["allocated_gpus"] for p in per_company["points"]] == [5]


def test_gpu_readings_are_stored_beside_the_job_holding_the_gpu(
    client: TestClient, session: Session, world: World, engine: Engine, settings: Settings
) -> None:
    nodes(session)
    job_id = running(session, world, "a", "a100-0", [1])
    readings = [GpuReading("a100-0", 0, 0.0, 3.0), GpuReading("a100-0", 1, 2.0, 512.0)]
    sampler = UtilizationSampler(interval_s=0, gpu_reader=lambda: readings)
    sampler.sample(session, now=T0)
    stored = session.exec(select(GpuUtilSample).order_by(GpuUtilSample.gpu_index)).all()  # type: ignore[arg-type]
    assert [(s.gpu_index, s.job_id, s.company_id, s.gpu_type) for s in stored] == [
        (0, None, None, "A100"),
        (1, job_id, world.company_a.id, "A100"),
    ]
    history = client.get(
        "/api/v1/utilization/gpus",
        params={
            "start": (T0 - timedelta(minutes=1)).isoformat(),
            "end": (T0 + timedelta(minutes=1)).isoformat(),
            "job_id": job_id,
        },
        headers=world.headers(Role.operator),
    ).json()
    assert [(p["gpu_index"], p["utilization_pct"], p["job_id"]) for p in history["points"]] == [
        (1, 2.0, job_id)
    ]


def test_utilization_now_and_operators_only(
    client: TestClient, session: Session, world: World
) -> None:
    nodes(session)
    now = client.get("/api/v1/utilization/now", headers=world.headers(Role.operator)).json()
    assert {(r["gpu_type"], r["capacity_gpus"]) for r in now} == {
        (ALL, 8),
        ("A100", 4),
        ("L40S", 4),
    }
    for path in ("/api/v1/utilization", "/api/v1/utilization/now", "/api/v1/utilization/gpus"):
        assert client.get(path, headers=world.headers(world.engineer_a)).status_code == 403


def test_dcgm_readings_match_the_ray_worker_pod_holding_the_gpu(
    session: Session, world: World
) -> None:
    pod = "axhub-raycluster-gpu-a100-worker-7x2kq"
    session.add(ClusterNode(node_id=pod, gpu_type="A100", gpu_count=2))
    session.commit()
    job_id = running(session, world, "a", pod, [0])
    recorded = Path(__file__).parent / "recorded" / "dcgm_exporter.txt"
    stored = readings_beside_allocation(session, parse_dcgm(recorded.read_text()), at=T0)
    assert [(s.node_id, s.gpu_index, s.utilization_pct, s.job_id) for s in stored] == [
        (pod, 0, 88.0, job_id),
        ("gpu-a100-0", 1, 0.0, None),  # an unused GPU: no pod, the host name
        ("gpu-l40s-0", 0, 12.0, None),
    ]
