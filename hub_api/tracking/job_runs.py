"""One MLflow run per hub job: created at the first start, resumed after a requeue, closed at the
end with the hub's own numbers (queue time, GPU-seconds, final status).

MLflow never blocks scheduling: every call has a short timeout, a failure opens a circuit for
``mlflow_retry_interval_s`` (no further MLflow calls in that window), the job starts without
tracking, and ``job.tracking_error`` says so in the API. The next attempt, and every scheduler
pass while the job runs, retries creating the run; every pass also retries the final-status
writes that failed (``job.mlflow_end_pending``) and provisions the spaces of companies that were
onboarded while MLflow was down.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import structlog
from sqlmodel import Session, col, select

from hub_api.core.config import Settings
from hub_api.core.security import as_utc, utcnow
from hub_api.grants import ledger
from hub_api.grants.models import Grant, LedgerEntry, LedgerKind
from hub_api.jobs.models import Job, JobEvent, JobEventKind, JobStatus
from hub_api.tracking.client import TRACKING_ERRORS, MlflowRest, TrackingNotFoundError
from hub_api.tracking.tenancy import (
    TenantCredentials,
    admin_client,
    companies_without_tenant,
    ensure_tenant,
)
from hub_api.users.models import User

log = structlog.get_logger(__name__)

RUN_STATUS = {
    JobStatus.succeeded: "FINISHED",
    JobStatus.failed: "FAILED",
    JobStatus.timed_out: "FAILED",
    JobStatus.cancelled: "KILLED",
    JobStatus.rejected: "KILLED",
}
TAG_JOB_ID = "axhub.job_id"
END_ERROR = "could not record the final status on MLflow run"


def _ms(at: datetime) -> int:
    return int(as_utc(at).timestamp() * 1000)


def queue_seconds(session: Session, job: Job, end: datetime) -> float:
    """Time spent waiting in the hub's queue, over all attempts."""
    events = session.exec(
        select(JobEvent)
        .where(JobEvent.job_id == job.id)
        .order_by(col(JobEvent.at), col(JobEvent.id))
    ).all()
    total, waiting_since = 0.0, None
    for event in events:
        if event.kind in (JobEventKind.queued, JobEventKind.requeued):
            waiting_since = as_utc(event.at)
        elif event.kind == JobEventKind.starting and waiting_since is not None:
            total += (as_utc(event.at) - waiting_since).total_seconds()
            waiting_since = None
    if waiting_since is not None:
        total += (as_utc(end) - waiting_since).total_seconds()
    return max(0.0, total)


class JobTracking:
    """The scheduler's side of MLflow; one per scheduler service."""

    def __init__(self, settings: Settings, *, clock: Any = time.monotonic) -> None:
        self.settings = settings
        self.client: MlflowRest | None = admin_client(settings)
        self._clock = clock
        self._open_until = 0.0
        self._retried_at: dict[int, float] = {}

    @property
    def enabled(self) -> bool:
        return self.client is not None

    # ----- circuit ----------------------------------------------------------------------------
    def _available(self) -> bool:
        return self._clock() >= self._open_until

    def _trip(self, exc: Exception) -> None:
        self._open_until = self._clock() + self.settings.mlflow_retry_interval_s
        log.warning("mlflow_unavailable", error=str(exc))

    def _tenant(self, session: Session, job: Job) -> TenantCredentials:
        assert self.client is not None
        return ensure_tenant(
            session=session, settings=self.settings, client=self.client, company_id=job.company_id
        )

    def provision_missing_tenants(
        self, session: Session, *, limit: int = 20, budget_s: float = 1.0
    ) -> list[int]:
        """Spaces of companies onboarded while MLflow was down or off (see tracking.lifecycle);
        the companies provisioned now. One space costs about ten MLflow calls (seconds on a busy
        machine), so a pass spends at most ``budget_s`` here (at least one company) and the
        next passes go on. Stops at the first failure (circuit opens)."""
        if self.client is None or not self._available():
            return []
        provisioned: list[int] = []
        started = time.monotonic()
        for company_id in companies_without_tenant(session, limit=limit):
            if provisioned and time.monotonic() - started >= budget_s:
                break
            try:
                ensure_tenant(
                    session=session,
                    settings=self.settings,
                    client=self.client,
                    company_id=company_id,
                )
            except ValueError as exc:  # deleted while being provisioned
                log.info("mlflow_tenant_skipped", company_id=company_id, reason=str(exc))
                session.rollback()
                continue
            except TRACKING_ERRORS as exc:
                session.rollback()
                self._trip(exc)
                break
            session.commit()
            provisioned.append(company_id)
        return provisioned

    # ----- start ------------------------------------------------------------------------------
    def env_for_start(self, session: Session, job: Job) -> dict[str, str]:
        """Create (first attempt) or resume (requeued attempt) the job's run; the environment
        that points the job at it. Empty when tracking is off or MLflow is unreachable."""
        if self.client is None:
            return {}
        if not self._available():
            self._record_error(session, job, "MLflow was unreachable moments ago")
            return {}
        try:
            tenant = self._tenant(session, job)
            if job.mlflow_run_id is not None:
                try:
                    self._resume(job, tenant)
                except TrackingNotFoundError:
                    job.mlflow_run_id = None  # deleted in MLflow: start a fresh run
            if job.mlflow_run_id is None:
                job.mlflow_run_id = self._create(session, job, tenant)
        except TRACKING_ERRORS as exc:
            self._trip(exc)
            self._record_error(session, job, str(exc))
            return {}
        job.tracking_error = None
        session.add(job)
        session.commit()
        return self.job_env(tenant, job.mlflow_run_id)

    def job_env(self, tenant: TenantCredentials, run_id: str) -> dict[str, str]:
        assert self.client is not None
        return {
            "MLFLOW_TRACKING_URI": self.settings.mlflow_job_tracking_uri or self.client.base_url,
            "MLFLOW_WORKSPACE": tenant.workspace,
            "MLFLOW_EXPERIMENT_ID": tenant.experiment_id,
            "MLFLOW_RUN_ID": run_id,
            "MLFLOW_TRACKING_USERNAME": tenant.username,
            "MLFLOW_TRACKING_PASSWORD": tenant.password,
        }

    def _record_error(self, session: Session, job: Job, error: str) -> None:
        job.tracking_error = (
            f"MLflow tracking unavailable at the start of attempt {job.attempt}: "
            f"{error.rstrip('.')}. "
            "The job runs without MLflow tracking; the hub retries creating its run."
        )[:1000]
        session.add(job)
        session.commit()

    def _tags(self, session: Session, job: Job) -> dict[str, str]:
        user = session.get(User, job.submitted_by)
        grants = ledger.active_grants(
            session=session, company_id=job.company_id, gpu_type=job.gpu_type, at=utcnow()
        )
        tags = {
            TAG_JOB_ID: str(job.id),
            "axhub.company_id": str(job.company_id),
            "axhub.user_id": str(job.submitted_by),
            "axhub.user_email": user.email if user else "",
            "axhub.gpu_type": job.assigned_gpu_type or job.gpu_type or "any",
            "axhub.gpu_count": f"{job.num_gpus:g}",
            "axhub.attempt": str(job.attempt),
            "axhub.template": job.template or "",
            "mlflow.runName": f"job-{job.id} {job.name}"[:250],
            "mlflow.user": user.email if user else str(job.submitted_by),
        }
        if grants:
            tags["axhub.grant_id"] = str(grants[0].id)
            tags["axhub.case_id"] = str(grants[0].case_id)
        return tags

    def _create(self, session: Session, job: Job, tenant: TenantCredentials) -> str:
        assert self.client is not None
        tags = self._tags(session, job)
        created = self.client.post(
            "/api/2.0/mlflow/runs/create",
            {
                "experiment_id": tenant.experiment_id,
                "start_time": _ms(job.started_at or utcnow()),
                "run_name": tags["mlflow.runName"],
                "tags": [{"key": k, "value": v} for k, v in tags.items()],
            },
            workspace=tenant.workspace,
        )
        run_id = str(created["run"]["info"]["run_id"])
        log.info("mlflow_run_created", job_id=job.id, run_id=run_id)
        return run_id

    def _resume(self, job: Job, tenant: TenantCredentials) -> None:
        assert self.client is not None
        assert job.mlflow_run_id is not None
        self.client.post(
            "/api/2.0/mlflow/runs/update",
            {"run_id": job.mlflow_run_id, "status": "RUNNING"},
            workspace=tenant.workspace,
        )
        self._log(
            tenant,
            job.mlflow_run_id,
            tags={"axhub.attempt": str(job.attempt), "axhub.gpu_type": job.assigned_gpu_type or ""},
        )

    def _log(
        self,
        tenant: TenantCredentials,
        run_id: str,
        *,
        tags: dict[str, str] | None = None,
        metrics: dict[str, float] | None = None,
        step: int = 0,
    ) -> None:
        assert self.client is not None
        now = int(time.time() * 1000)
        self.client.post(
            "/api/2.0/mlflow/runs/log-batch",
            {
                "run_id": run_id,
                "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
                "metrics": [
                    {"key": k, "value": v, "timestamp": now, "step": step}
                    for k, v in (metrics or {}).items()
                ],
            },
            workspace=tenant.workspace,
        )

    # ----- while running: retry runs that could not be created at start -----------------------
    def retry_missing_runs(self, session: Session) -> None:
        if self.client is None or not self._available():
            return
        jobs = session.exec(
            select(Job).where(
                col(Job.status).in_([JobStatus.starting, JobStatus.running]),
                col(Job.mlflow_run_id).is_(None),
            )
        ).all()
        now = self._clock()
        for job in jobs:
            last = self._retried_at.get(job.id or 0, -1e18)
            if now - last < self.settings.mlflow_retry_interval_s:
                continue
            self._retried_at[job.id or 0] = now
            try:
                tenant = self._tenant(session, job)
                job.mlflow_run_id = self._create(session, job, tenant)
                self._log(tenant, job.mlflow_run_id, tags={"axhub.tracking_late": "true"})
            except TRACKING_ERRORS as exc:
                self._trip(exc)
                job.tracking_error = (
                    f"MLflow is still unreachable (attempt {job.attempt}): {str(exc).rstrip('.')}. "
                    "The job runs without MLflow tracking; the hub keeps retrying."
                )[:1000]
                session.add(job)
                session.commit()
                return
            job.tracking_error = (
                f"MLflow was unreachable when attempt {job.attempt} started: the hub created run "
                f"{job.mlflow_run_id} later, so metrics and models the job logs itself are "
                "missing for this attempt; the hub's numbers are recorded."
            )
            session.add(job)
            session.commit()

    # ----- end ------------------------------------------------------------------------------
    def _tenant_quiet(self, session: Session, job: Job) -> TenantCredentials | None:
        if self.client is None or job.mlflow_run_id is None or not self._available():
            return None
        try:
            return self._tenant(session, job)
        except TRACKING_ERRORS as exc:
            self._trip(exc)
            return None

    def record_requeue(self, session: Session, job: Job, reason: str) -> None:
        tenant = self._tenant_quiet(session, job)
        if tenant is None or job.mlflow_run_id is None:
            return
        try:
            self._log(
                tenant,
                job.mlflow_run_id,
                tags={"axhub.last_requeue_reason": reason[:250]},
                metrics={"axhub_requeues": float(job.attempt + 1)},
                step=job.attempt + 1,
            )
        except TRACKING_ERRORS as exc:
            self._trip(exc)

    def record_end(self, session: Session, job: Job, end: datetime) -> None:
        """Queue time, GPU-seconds and final status on the run (the caller commits). When MLflow
        cannot take them now, the job is marked and :meth:`retry_pending_ends` writes them on a
        later pass."""
        if job.mlflow_run_id is None:
            job.mlflow_end_pending = False
            return
        tenant = self._tenant_quiet(session, job)
        error: Exception | str = "MLflow unreachable"
        if tenant is not None:
            try:
                self._write_end(session, job, tenant, end)
            except TRACKING_ERRORS as exc:
                self._trip(exc)
                error = exc
            else:
                if job.mlflow_end_pending and (job.tracking_error or "").startswith(END_ERROR):
                    job.tracking_error = None
                job.mlflow_end_pending = False
                session.add(job)
                return
        job.mlflow_end_pending = True
        job.tracking_error = (
            f"{END_ERROR} {job.mlflow_run_id}: {str(error).rstrip('.')}. "
            "The hub retries until MLflow takes it."
        )[:1000]
        session.add(job)

    def _write_end(
        self, session: Session, job: Job, tenant: TenantCredentials, end: datetime
    ) -> None:
        assert self.client is not None
        assert job.mlflow_run_id is not None
        charged = session.exec(
            select(LedgerEntry.grant_id).where(
                LedgerEntry.job_id == job.id, LedgerEntry.kind == LedgerKind.job_debit
            )
        ).all()
        grant_ids = sorted(set(charged))
        tags = {"axhub.final_status": job.status.value, "axhub.attempts": str(job.attempt + 1)}
        if grant_ids:
            tags["axhub.charged_grant_ids"] = ",".join(map(str, grant_ids))
            grant = session.get(Grant, grant_ids[0])
            if grant is not None:
                tags["axhub.grant_id"] = str(grant.id)
                tags["axhub.case_id"] = str(grant.case_id)
        self._log(
            tenant,
            job.mlflow_run_id,
            tags=tags,
            metrics={
                "axhub_queue_time_s": queue_seconds(session, job, end),
                "axhub_gpu_seconds": job.attained_gpu_seconds,
            },
        )
        self.client.post(
            "/api/2.0/mlflow/runs/update",
            {
                "run_id": job.mlflow_run_id,
                "status": RUN_STATUS.get(job.status, "FAILED"),
                "end_time": _ms(end),
            },
            workspace=tenant.workspace,
        )

    def retry_pending_ends(self, session: Session, *, limit: int = 50) -> int:
        """Write the end of runs whose job ended while MLflow was down; how many succeeded.
        Stops at the first failure (the circuit is open again)."""
        if self.client is None or not self._available():
            return 0
        jobs = session.exec(
            select(Job)
            .where(col(Job.mlflow_end_pending).is_(True))
            .order_by(col(Job.ended_at))
            .limit(limit)
        ).all()
        written = 0
        for job in jobs:
            self.record_end(session, job, job.ended_at or utcnow())
            session.commit()
            if job.mlflow_end_pending:
                break
            written += 1
        return written


def tracking_of(session: Session) -> JobTracking | None:
    """The tracker the scheduler installed on this session (``session.info``)."""
    tracking = session.info.get("job_tracking")
    return tracking if isinstance(tracking, JobTracking) else None
