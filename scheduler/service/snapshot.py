"""Builds the core's ``SchedulingSnapshot`` from the hub's database and the live inventory."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from hub_api.cluster.models import ClusterNode
from hub_api.core.security import as_utc
from hub_api.grants import ledger
from hub_api.jobs.models import ACTIVE_STATUSES, Job, JobStatus
from scheduler.core.model import (
    CompanyAccount,
    CompanyQuota,
    DeviceShare,
    GpuNode,
    PendingJob,
    PolicySettings,
    RunningJob,
    SchedulingSnapshot,
)

USAGE_HALF_LIFE = timedelta(days=7)
USAGE_WINDOW = timedelta(days=28)


def epoch(moment: datetime) -> float:
    return as_utc(moment).timestamp()


def job_gpu_types(job: Job) -> tuple[str, ...]:
    return (job.gpu_type,) if job.gpu_type else ()


def pending_job(job: Job) -> PendingJob:
    return PendingJob(
        job_id=str(job.id),
        company_id=str(job.company_id),
        num_gpus=job.num_gpus,
        time_limit_s=float(job.time_limit_s),
        submit_time_s=epoch(job.submitted_at),
        gpu_types=job_gpu_types(job),
        priority=job.priority_class.value_for_scheduler,
        preemptible=job.preemptible,
        attained_gpu_seconds=job.attained_gpu_seconds,
    )


def running_job(job: Job, now: datetime) -> RunningJob:
    return RunningJob(
        job_id=str(job.id),
        company_id=str(job.company_id),
        num_gpus=job.num_gpus,
        placement=tuple(
            DeviceShare(
                node_id=str(share["node_id"]),
                device_index=int(share["device_index"]),
                fraction=float(share.get("fraction", 1.0)),
            )
            for share in job.placement
        ),
        start_time_s=epoch(job.started_at or now),
        time_limit_s=float(job.time_limit_s),
        submit_time_s=epoch(job.submitted_at),
        gpu_types=job_gpu_types(job),
        priority=job.priority_class.value_for_scheduler,
        preemptible=job.preemptible,
        attained_gpu_seconds=job.attained_gpu_seconds,
    )


def decayed_usage(session: Session, now: datetime) -> dict[int, float]:
    """GPU-seconds each company used in the last four weeks, halved every week (Slurm-style)."""
    usage: dict[int, float] = defaultdict(float)
    since = now - USAGE_WINDOW
    jobs = session.exec(
        select(Job).where(col(Job.ended_at) >= since, col(Job.charged_gpu_seconds).is_not(None))
    ).all()
    for job in jobs:
        age = (now - as_utc(job.ended_at or now)).total_seconds()
        decay = math.pow(0.5, age / USAGE_HALF_LIFE.total_seconds())
        usage[job.company_id] += (job.charged_gpu_seconds or 0.0) * decay
    return usage


def total_available_gpu_seconds(
    *, session: Session, company_id: int, gpu_types: Sequence[str], at: datetime
) -> float:
    """All the company's grants together: "any" grants plus each typed grant once.

    (Admission at submit checks the job's own GPU type; the core gets one number per company.)
    """
    any_type = ledger.available_gpu_seconds(
        session=session, company_id=company_id, gpu_type=None, at=at
    )
    typed = sum(
        ledger.available_gpu_seconds(session=session, company_id=company_id, gpu_type=t, at=at)
        - any_type
        for t in gpu_types
    )
    return any_type + max(0.0, typed)


def build_snapshot(
    *, session: Session, nodes: Sequence[GpuNode], now: datetime, settings: PolicySettings
) -> SchedulingSnapshot:
    known = session.exec(select(ClusterNode)).all()
    drained = {row.node_id for row in known if row.draining}
    alive = {n.node_id for n in nodes}
    # A known node that is down counts as draining: jobs of its GPU type wait for it instead of
    # being rejected as unplaceable while it restarts.
    down = tuple(
        GpuNode(row.node_id, row.gpu_type, row.gpu_count, draining=True)
        for row in known
        if row.node_id not in alive
    )
    inventory = (
        tuple(
            GpuNode(n.node_id, n.gpu_type, n.gpu_count, draining=n.draining or n.node_id in drained)
            for n in nodes
        )
        + down
    )
    jobs = session.exec(select(Job).where(col(Job.status).in_(list(ACTIVE_STATUSES)))).all()
    pending = tuple(pending_job(j) for j in jobs if j.status == JobStatus.queued)
    running = tuple(running_job(j, now) for j in jobs if j.status != JobStatus.queued)
    companies = sorted({j.company_id for j in jobs})
    usage = decayed_usage(session, now)
    accounts = {}
    gpu_types = sorted({node.gpu_type for node in inventory})
    for company_id in companies:
        available = total_available_gpu_seconds(
            session=session, company_id=company_id, gpu_types=gpu_types, at=now
        )
        # earlier runs of requeued jobs are charged when the job ends: hold them back now
        uncharged = sum(j.attained_gpu_seconds for j in jobs if j.company_id == company_id)
        accounts[str(company_id)] = CompanyAccount(
            company_id=str(company_id),
            remaining_gpu_seconds=available - uncharged,
            decayed_usage_gpu_seconds=usage.get(company_id, 0.0),
        )
    quotas = {str(c): CompanyQuota(company_id=str(c)) for c in companies}
    return SchedulingSnapshot(
        now_s=now.timestamp(),
        nodes=inventory,
        running=running,
        pending=pending,
        quotas=quotas,
        accounts=accounts,
        settings=settings,
    )
