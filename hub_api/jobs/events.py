"""Job state changes: one helper writes the timeline event and the audit event together."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from hub_api.audit import service as audit
from hub_api.core.authz import Principal
from hub_api.core.security import utcnow
from hub_api.jobs.models import Job, JobEvent, JobEventKind, JobStatus


def transition(
    session: Session,
    *,
    job: Job,
    kind: JobEventKind,
    reason: str | None,
    actor: Principal | None = None,
    status: JobStatus | None = None,
    at: datetime | None = None,
) -> JobEvent:
    """Record ``kind`` for ``job`` (and move it to ``status``); the caller commits."""
    before = job.status
    if status is not None:
        job.status = status
        job.status_reason = reason
    event = JobEvent(
        job_id=job.id or 0,
        at=at or utcnow(),
        kind=kind,
        attempt=job.attempt,
        reason=reason,
        actor_user_id=actor.user_id if actor else None,
    )
    session.add(job)
    session.add(event)
    audit.record(
        session=session,
        actor=actor,
        action=f"job.{kind.value}",
        object_type="job",
        object_id=job.id,
        company_id=job.company_id,
        before={"status": before.value},
        after={"status": job.status.value, "reason": reason, "attempt": job.attempt},
    )
    return event
