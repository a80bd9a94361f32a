"""The scheduler service loop: reconcile with the cluster, run the core, apply its decisions.

Order of one pass (``SchedulerService.run_pass``):

1. read the inventory from the executor and store it (drain flags are the hub's own);
2. reconcile every starting/running job with the executor's view: mark started runs running,
   finished runs finished (and charge them), resubmit decided-but-never-submitted starts
   (same submission id, so never twice), requeue jobs whose node was lost;
3. stop jobs past their time limit and jobs whose cancel was requested;
4. build the snapshot and run the pure core;
5. apply preemptions (stop, requeue), then starts (commit the decision first, then submit),
   rejections and the waiting jobs' positions, reasons and estimated starts.

A decision is committed before it is submitted: a crash in between leaves a ``starting`` job
that the next pass (of this or the next leader) submits with the same submission id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from hub_api.cluster.service import sync_inventory
from hub_api.core.config import Settings
from hub_api.core.security import as_utc, utcnow
from hub_api.jobs.events import transition
from hub_api.jobs.models import CodeBundle, Job, JobEvent, JobEventKind, JobStatus
from hub_api.jobs.templates import TEMPLATES
from hub_api.tracking.job_runs import JobTracking
from scheduler.core import PolicySettings, SchedulingResult, core_build, schedule
from scheduler.core.model import GpuNode
from scheduler.executors.launch import (
    ExecutorUnavailableError,
    JobExecutor,
    JobLaunch,
    RunState,
)
from scheduler.service import accounting
from scheduler.service.snapshot import build_snapshot

log = structlog.get_logger(__name__)

# A decided start that the cluster still holds as PENDING after this long lost its node.
START_TIMEOUT_S = 120.0
# A running job whose node has been missing from the cluster's node list this long is lost, even
# while the cluster's job API still calls it running (Ray notices a dead raylet's jobs late).
NODE_LOST_GRACE_S = 20.0


@dataclass
class PassReport:
    started: list[int] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)
    preempted: list[int] = field(default_factory=list)
    waiting: int = 0
    duration_s: float = 0.0
    result: SchedulingResult | None = None


class SchedulerService:
    def __init__(
        self,
        *,
        engine: Engine,
        executor: JobExecutor,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        observer: Callable[[PassReport, datetime], None] | None = None,
    ) -> None:
        self.engine = engine
        self.observer = observer  # end-of-pass hook: metrics, utilization samples
        self.executor = executor
        self.settings = settings
        self.clock = clock
        self.policy = PolicySettings(policy=settings.scheduler_policy)
        self.runs_dir = (settings.data_dir / "runs").resolve()
        self._nodes: list[GpuNode] = []
        self._nodes_read_at = -1e9
        self._node_absent_since: dict[str, datetime] = {}
        self.tracking = JobTracking(settings)

    def inventory(self, *, refresh: bool = False) -> list[GpuNode]:
        """The cluster's nodes, re-read at most once per ``pass_interval`` (reading Ray's node
        list costs more than the rest of a pass) unless ``refresh``."""
        interval = self.settings.scheduler_pass_interval_s
        if refresh or time.monotonic() - self._nodes_read_at >= interval:
            self._nodes = list(self.executor.inventory())
            self._nodes_read_at = time.monotonic()
        return self._nodes

    # ----- one pass -------------------------------------------------------------------------
    def run_pass(self) -> PassReport:
        started = time.perf_counter()
        report = PassReport()
        now = self.clock()
        nodes = self.inventory()
        with Session(self.engine, expire_on_commit=False) as session:
            session.info["job_tracking"] = self.tracking  # accounting records run ends on it
            sync_inventory(session=session, nodes=nodes, at=now)
            session.commit()
            if self._reconcile(session, nodes, now, report):
                # a run's node broke under it: place nothing there in this pass
                nodes = self.inventory(refresh=True)
                sync_inventory(session=session, nodes=nodes, at=now)
                session.commit()
            self.tracking.provision_missing_tenants(session)
            self.tracking.retry_missing_runs(session)
            self.tracking.retry_pending_ends(session)
            self._enforce_limits_and_cancels(session, now, report)
            snapshot = build_snapshot(session=session, nodes=nodes, now=now, settings=self.policy)
            result = schedule(snapshot)
            report.result = result
            self._apply(session, result, now, report)
        report.duration_s = time.perf_counter() - started
        if self.observer is not None:
            self.observer(report, now)
        return report

    # ----- reconcile ------------------------------------------------------------------------
    def _reconcile(
        self, session: Session, nodes: list[GpuNode], now: datetime, report: PassReport
    ) -> bool:
        """Bring active jobs in line with the cluster; True if a run's node broke under it
        (the executor's inventory has changed since ``nodes`` was read)."""
        active = session.exec(
            select(Job).where(col(Job.status).in_([JobStatus.starting, JobStatus.running]))
        ).all()
        if not active:
            return False
        statuses = self.executor.statuses(job.submission_id for job in active)
        alive = {node.node_id for node in nodes}
        gone = self._nodes_gone(active, alive, now)
        for job in active:
            status = statuses.get(job.submission_id)
            if status is None:
                self._missing_run(session, job, now, alive)
            elif job.node_id in gone and not status.state.is_terminal:
                self._stop_lost(
                    session, job, now, f"node {job.node_id} left the cluster under the job"
                )
            elif status.state == RunState.RUNNING and job.status == JobStatus.starting:
                accounting.mark_running(session, job=job, status=status, now=now)
            elif status.state == RunState.PENDING and job.status == JobStatus.starting:
                decided = as_utc(job.started_at or now)
                if (now - decided).total_seconds() > START_TIMEOUT_S:
                    reason = f"did not start within {START_TIMEOUT_S:.0f} s on {job.node_id}"
                    self._stop_lost(session, job, now, reason)
            elif status.state.is_terminal:
                accounting.record_end(session, job=job, status=status, now=now, alive=alive)
                report.finished.append(job.id or 0)
            session.commit()
        return any(status.infrastructure_failed for status in statuses.values())

    def _stop_lost(self, session: Session, job: Job, now: datetime, reason: str) -> None:
        """Stop what the cluster still holds of a lost run and queue the job again."""
        self.executor.stop(job.submission_id)
        accounting.requeue(session, job=job, now=now, kind=JobEventKind.lost, reason=reason)

    def _nodes_gone(self, active: Sequence[Job], alive: set[str], now: datetime) -> set[str]:
        """Nodes of active jobs missing from the node list for ``NODE_LOST_GRACE_S`` or more
        (a grace, so one incomplete listing never requeues a healthy job)."""
        missing = {job.node_id for job in active if job.node_id and job.node_id not in alive}
        self._node_absent_since = {node: self._node_absent_since.get(node, now) for node in missing}
        return {
            node
            for node, since in self._node_absent_since.items()
            if (now - since).total_seconds() >= NODE_LOST_GRACE_S
        }

    def _missing_run(self, session: Session, job: Job, now: datetime, alive: set[str]) -> None:
        if job.status == JobStatus.starting and job.node_id in alive:
            log.info("resubmitting_decided_start", job_id=job.id, submission=job.submission_id)
            self._submit(session, job)
            return
        accounting.requeue(
            session,
            job=job,
            now=now,
            kind=JobEventKind.lost,
            reason="the cluster lost the run (head restart or node loss)",
        )

    def _enforce_limits_and_cancels(
        self, session: Session, now: datetime, report: PassReport
    ) -> None:
        running = session.exec(
            select(Job).where(col(Job.status).in_([JobStatus.starting, JobStatus.running]))
        ).all()
        for job in running:
            if job.cancel_requested_at is not None:
                self.executor.stop(job.submission_id)
                accounting.finish(
                    session,
                    job=job,
                    end=now,
                    status=JobStatus.cancelled,
                    kind=JobEventKind.cancelled,
                    reason="cancelled by user",
                )
            elif job.status == JobStatus.running and job.started_at is not None:
                elapsed = (now - as_utc(job.started_at)).total_seconds()
                if elapsed >= job.time_limit_s:
                    self.executor.stop(job.submission_id)
                    accounting.finish(
                        session,
                        job=job,
                        end=now,
                        status=JobStatus.timed_out,
                        kind=JobEventKind.timed_out,
                        reason=f"stopped at its time limit of {job.time_limit_s} s",
                    )
                    report.finished.append(job.id or 0)
            session.commit()

    # ----- apply ----------------------------------------------------------------------------
    def _apply(
        self, session: Session, result: SchedulingResult, now: datetime, report: PassReport
    ) -> None:
        for preemption in result.preemptions:
            job = session.get(Job, int(preemption.job_id))
            if job is None or job.status not in (JobStatus.starting, JobStatus.running):
                continue
            self.executor.stop(job.submission_id)
            accounting.requeue(
                session, job=job, now=now, kind=JobEventKind.preempted, reason=preemption.reason
            )
            session.commit()
            report.preempted.append(job.id or 0)
        for start in result.starts:
            job = session.get(Job, int(start.job_id))
            if job is None or job.status != JobStatus.queued:
                continue
            job.placement = [
                {"node_id": s.node_id, "device_index": s.device_index, "fraction": s.fraction}
                for s in start.placement
            ]
            job.node_id = start.placement[0].node_id if start.placement else None
            job.assigned_gpu_type = start.gpu_type
            job.started_at = now  # decision time; replaced by the cluster's start time
            job.queue_position = job.wait_code = job.wait_reason = job.estimated_start_at = None
            transition(
                session,
                job=job,
                kind=JobEventKind.starting,
                reason=start.reason,
                status=JobStatus.starting,
            )
            session.commit()  # the decision is durable before it is submitted
            self._submit(session, job)
            report.started.append(job.id or 0)
        for rejection in result.rejected:
            job = session.get(Job, int(rejection.job_id))
            if job is None or job.status != JobStatus.queued:
                continue
            job.reserved_gpu_seconds = 0.0
            job.ended_at = now
            transition(
                session,
                job=job,
                kind=JobEventKind.rejected,
                reason=rejection.reason,
                status=JobStatus.rejected,
            )
        for wait in result.waiting:
            job = session.get(Job, int(wait.job_id))
            if job is None or job.status != JobStatus.queued:
                continue
            estimated = accounting.from_epoch(wait.estimated_start_s)
            if (job.queue_position, job.wait_code, job.wait_reason) != (
                wait.queue_position,
                wait.code.value,
                wait.reason,
            ) or job.estimated_start_at != estimated:
                job.queue_position = wait.queue_position
                job.wait_code = wait.code.value
                job.wait_reason = wait.reason
                job.estimated_start_at = estimated
                session.add(job)
        report.waiting = len(result.waiting)
        session.commit()

    def _submit(self, session: Session, job: Job) -> None:
        try:
            self.executor.start(self._launch(session, job))
        except ExecutorUnavailableError as exc:
            log.warning("start_deferred", job_id=job.id, error=str(exc))

    def _launch(self, session: Session, job: Job) -> JobLaunch:
        env = dict(job.env_vars) | {
            "AXHUB_JOB_ID": str(job.id),
            "AXHUB_COMPANY_ID": str(job.company_id),
            "AXHUB_ATTEMPT": str(job.attempt),
        }
        env |= self.tracking.env_for_start(session, job)  # MLflow run: created or resumed
        working_dir: Path | None
        if job.template is not None:
            template = TEMPLATES[job.template]
            working_dir = template.materialize(self.runs_dir / f"job-{job.id}")
            arguments = template.arguments | job.arguments
            entrypoint = template.entrypoint + "".join(
                f" --{name} {value}" for name, value in sorted(arguments.items())
            )
        else:
            bundle = session.get(CodeBundle, job.code_bundle_id) if job.code_bundle_id else None
            working_dir = Path(bundle.storage_path) if bundle else None
            entrypoint = job.entrypoint or ""
        return JobLaunch(
            job_id=str(job.id),
            submission_id=job.submission_id,
            entrypoint=entrypoint,
            num_gpus=job.num_gpus,
            gpu_type=job.assigned_gpu_type,
            node_id=job.node_id,
            working_dir=str(working_dir) if working_dir else None,
            env_vars=env,
            metadata={"company_id": str(job.company_id), "attempt": str(job.attempt)},
        )

    # ----- loop -----------------------------------------------------------------------------
    def latest_event_id(self) -> int:
        with Session(self.engine) as session:
            latest = session.exec(select(func.max(JobEvent.id))).one()
            return int(latest or 0)

    def watch_starts(self) -> None:
        """Between passes: mark submitted runs running as soon as the cluster reports it (only
        the ``starting`` jobs' statuses are read, so users see RUNNING without a full pass)."""
        with Session(self.engine, expire_on_commit=False) as session:
            starting = session.exec(select(Job).where(Job.status == JobStatus.starting)).all()
            statuses = self.executor.statuses(job.submission_id for job in starting)
            for job in starting:
                status = statuses.get(job.submission_id)
                if status is not None and status.state == RunState.RUNNING:
                    accounting.mark_running(session, job=job, status=status, now=self.clock())
            session.commit()

    def has_starting_jobs(self) -> bool:
        with Session(self.engine) as session:
            return (
                session.exec(select(Job.id).where(Job.status == JobStatus.starting)).first()
                is not None
            )

    def run_forever(self, stop: threading.Event) -> None:
        """Pass on every change (polled cheaply) and at least every ``pass_interval``; back off
        exponentially (up to 30 s) while the cluster is unreachable."""
        backoff = 0.0
        last_pass = 0.0
        seen_event = -1
        log.info("scheduler_loop_started", policy=self.policy.policy, core=core_build())
        while not stop.is_set():
            now = time.monotonic()
            try:
                latest = self.latest_event_id()
                due = (
                    latest != seen_event
                    or now - last_pass >= self.settings.scheduler_pass_interval_s
                )
                if not due and now >= last_pass + backoff and self.has_starting_jobs():
                    self.watch_starts()
                elif due and now >= last_pass + backoff:
                    report = self.run_pass()
                    last_pass, backoff = time.monotonic(), 0.0
                    seen_event = self.latest_event_id()
                    if report.started or report.finished or report.preempted:
                        log.info(
                            "pass",
                            started=report.started,
                            finished=report.finished,
                            preempted=report.preempted,
                            waiting=report.waiting,
                            ms=round(report.duration_s * 1000, 1),
                        )
            except ExecutorUnavailableError as exc:
                backoff = min(30.0, max(1.0, backoff * 2))
                last_pass = time.monotonic()
                log.warning("cluster_unreachable", error=str(exc), retry_in_s=backoff)
            except SQLAlchemyError as exc:
                # the database restarting, or a write that lost a race with the API: the pass's
                # open transaction is rolled back and the next pass reconciles from the DB
                backoff = min(30.0, max(1.0, backoff * 2))
                last_pass = time.monotonic()
                log.warning("database_error", error=str(exc).splitlines()[0], retry_in_s=backoff)
            stop.wait(self.settings.scheduler_poll_interval_s)
