"""Ending runs: charge GPU-seconds exactly once per job, or requeue with the usage carried over.

A job's runs (attempts) accumulate ``attained_gpu_seconds``; the ledger is charged once, when
the job reaches a terminal state, with the total. While a preempted job waits again it keeps a
reservation that covers its earlier runs plus a full new run, so its company's budget can never
be overdrawn in between.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import UTC, datetime

from sqlmodel import Session

from hub_api.core.authz import Principal
from hub_api.core.security import as_utc
from hub_api.grants import ledger
from hub_api.jobs.events import transition
from hub_api.jobs.models import Job, JobEventKind, JobStatus
from hub_api.tracking.job_runs import tracking_of
from scheduler.executors.launch import RunState, RunStatus


def run_gpu_seconds(job: Job, end: datetime) -> float:
    if job.started_at is None or job.status not in (JobStatus.starting, JobStatus.running):
        return 0.0
    seconds = max(0.0, (as_utc(end) - as_utc(job.started_at)).total_seconds())
    return job.num_gpus * min(seconds, float(job.time_limit_s))


def finish(
    session: Session,
    *,
    job: Job,
    end: datetime,
    status: JobStatus,
    kind: JobEventKind,
    reason: str,
    actor: Principal | None = None,
) -> None:
    """Terminal state: charge the total GPU-seconds of all runs once; release the reservation.
    Also used by the API (a requeued job cancelled while it waits): without the scheduler's
    tracker on the session, the end of the job's MLflow run is left to the scheduler's retry."""
    total = job.attained_gpu_seconds + run_gpu_seconds(job, end)
    job.attained_gpu_seconds = total
    job.charged_gpu_seconds = total
    job.reserved_gpu_seconds = 0.0
    job.ended_at = end
    ledger.charge_job(
        session=session,
        company_id=job.company_id,
        job_id=job.id or 0,
        gpu_seconds=total,
        gpu_type=job.gpu_type,  # the grants that admitted it (see hub_api.grants.ledger)
        at=end,
    )
    transition(session, job=job, kind=kind, reason=reason, actor=actor, status=status, at=end)
    notify = getattr(ledger, "notify_budget_usage", None)
    if notify is not None:
        notify(session=session, company_id=job.company_id)
    tracking = tracking_of(session)
    if tracking is not None:
        tracking.record_end(session, job, end)  # queue time, GPU-seconds, status on the run
    else:
        job.mlflow_end_pending = job.mlflow_run_id is not None


def requeue(session: Session, *, job: Job, now: datetime, kind: JobEventKind, reason: str) -> None:
    """Stop counting this run, keep its usage for the final charge, and queue the job again
    (or fail it when it is not preemptible)."""
    if not job.preemptible and kind != JobEventKind.preempted:
        finish(session, job=job, end=now, status=JobStatus.failed, kind=kind, reason=reason)
        return
    job.attained_gpu_seconds += run_gpu_seconds(job, now)
    transition(session, job=job, kind=kind, reason=reason, status=JobStatus.preempted, at=now)
    tracking = tracking_of(session)
    if tracking is not None:
        tracking.record_requeue(session, job, reason)  # the next attempt resumes the same run
    job.attempt += 1
    job.reserved_gpu_seconds = job.attained_gpu_seconds + job.num_gpus * job.time_limit_s
    job.started_at = None
    job.placement = []
    job.node_id = job.assigned_gpu_type = None
    job.cancel_requested_at = None
    transition(
        session,
        job=job,
        kind=JobEventKind.requeued,
        reason=f"attempt {job.attempt}",
        status=JobStatus.queued,
        at=now,
    )


def from_epoch(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def mark_running(session: Session, *, job: Job, status: RunStatus, now: datetime) -> None:
    """The cluster runs a decided start: record when it really started."""
    job.started_at = from_epoch(status.start_time_s) or now
    transition(
        session,
        job=job,
        kind=JobEventKind.running,
        reason=f"running on {job.node_id}",
        status=JobStatus.running,
    )


def record_end(
    session: Session, *, job: Job, status: RunStatus, now: datetime, alive: Set[str]
) -> None:
    """A run the cluster reports ended: succeeded, failed, stopped outside the hub — or, when
    a preemptible job failed because its node is gone (``alive`` = nodes listed now) or the
    cluster's machinery died under it, lost and queued again."""
    start = from_epoch(status.start_time_s) or job.started_at or now
    end = from_epoch(status.end_time_s) or now
    job.started_at = start
    job.exit_code = status.exit_code
    lost = job.node_id not in alive or status.infrastructure_failed
    if status.state == RunState.FAILED and lost and job.preemptible:
        requeue(
            session,
            job=job,
            now=end,
            kind=JobEventKind.lost,
            reason=f"node {job.node_id} was lost under the job"
            + (f" ({status.message})"[:400] if status.message else ""),
        )
        return
    if status.state == RunState.SUCCEEDED:
        final, kind, reason = JobStatus.succeeded, JobEventKind.succeeded, "exited with code 0"
    elif status.state == RunState.FAILED:
        final, kind, reason = JobStatus.failed, JobEventKind.failed, status.message or "failed"
    else:
        final, kind, reason = JobStatus.cancelled, JobEventKind.cancelled, "stopped outside the hub"
    finish(session, job=job, end=end, status=final, kind=kind, reason=reason[:480])
