"""Submitting, listing, cancelling and requeueing GPU jobs; code bundles; logs."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session, col, select

from hub_api.audit import service as audit
from hub_api.cases.scope import company_condition, ensure_company_in_scope
from hub_api.cluster.models import ClusterNode
from hub_api.core.authz import Principal
from hub_api.core.config import Settings
from hub_api.core.db import commit_or_conflict
from hub_api.core.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from hub_api.core.pagination import ListParams, Page, paginate
from hub_api.core.security import utcnow
from hub_api.jobs import budget
from hub_api.jobs.bundles import BundleLimits, store_bundle
from hub_api.jobs.events import transition
from hub_api.jobs.models import (
    ACTIVE_STATUSES,
    CodeBundle,
    Job,
    JobCreate,
    JobEvent,
    JobEventKind,
    JobStatus,
    PriorityClass,
)
from hub_api.jobs.templates import TEMPLATES
from scheduler.service import accounting

SORTABLE = (
    "submitted_at",
    "status",
    "name",
    "num_gpus",
    "started_at",
    "ended_at",
    "queue_position",
)
REQUEUEABLE = frozenset(
    {
        JobStatus.failed,
        JobStatus.cancelled,
        JobStatus.timed_out,
        JobStatus.preempted,
        JobStatus.rejected,
    }
)


def resolve_company(session: Session, actor: Principal, company_id: int | None) -> int:
    """Engineers act for their own company; staff must name one they may see."""
    if not actor.is_staff:
        if company_id is not None and company_id != actor.company_id:
            raise NotFoundError(f"company {company_id} not found")
        assert actor.company_id is not None
        return actor.company_id
    if company_id is None:
        raise InvalidInputError(
            "hub staff must say which company_id the job is for", field="body.company_id"
        )
    ensure_company_in_scope(session, actor, company_id, what=f"company {company_id}")
    return company_id


def upload_bundle(
    *,
    session: Session,
    settings: Settings,
    actor: Principal,
    company_id: int,
    filename: str,
    source: BinaryIO,
) -> CodeBundle:
    if not filename.lower().endswith(".zip"):
        raise InvalidInputError("code must be uploaded as a .zip file", field="file")
    limits = BundleLimits(
        max_zip_bytes=settings.job_code_max_bytes,
        max_unpacked_bytes=settings.job_code_max_unpacked_bytes,
    )
    name = f"{company_id}/{utcnow():%Y%m%d}-{secrets.token_hex(8)}"
    code_dir, unpacked = store_bundle(
        source, root=settings.code_dir.resolve(), name=name, limits=limits
    )
    bundle = CodeBundle(
        company_id=company_id,
        uploaded_by=actor.user_id,
        filename=Path(filename).name[:200],
        size_bytes=unpacked.size_bytes,
        unpacked_bytes=unpacked.unpacked_bytes,
        file_count=unpacked.file_count,
        sha256=unpacked.sha256,
        storage_path=str(code_dir),
    )
    session.add(bundle)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="code_bundle.create",
        object_type="code_bundle",
        object_id=bundle.id,
        company_id=company_id,
        after=audit.snapshot(bundle),
    )
    commit_or_conflict(session, conflict_message="could not store the code bundle; retry")
    return bundle


def _check_inventory(session: Session, data: JobCreate) -> None:
    """Refuse jobs no node of the hub can ever hold (when the inventory is known)."""
    nodes = session.exec(select(ClusterNode).where(ClusterNode.alive == True)).all()  # noqa: E712
    if not nodes:
        return
    types = sorted({node.gpu_type for node in nodes})
    if data.gpu_type is not None and data.gpu_type not in types:
        raise InvalidInputError(
            f"this hub has no '{data.gpu_type}' GPUs; available types: {', '.join(types)}",
            field="body.gpu_type",
        )
    fitting = [n for n in nodes if data.gpu_type in (None, n.gpu_type)]
    largest = max(node.gpu_count for node in fitting)
    if data.num_gpus > largest:
        kind = f"{data.gpu_type} " if data.gpu_type else ""
        raise InvalidInputError(
            f"no {kind}node has {data.num_gpus:g} GPUs; the largest has {largest}",
            field="body.num_gpus",
        )


def submit_job(
    *,
    session: Session,
    actor: Principal,
    data: JobCreate,
    company_id: int,
    requeued_from: Job | None = None,
) -> Job:
    if data.priority_class == PriorityClass.high and not actor.is_staff:
        raise ForbiddenError("priority class 'high' is set by hub staff; use 'normal' or 'low'")
    if data.template is not None and data.template not in TEMPLATES:
        raise InvalidInputError(
            f"unknown template '{data.template}'; templates: {', '.join(sorted(TEMPLATES))}",
            field="body.template",
        )
    if data.code_bundle_id is not None:
        bundle = session.get(CodeBundle, data.code_bundle_id)
        if bundle is None or bundle.company_id != company_id:
            raise InvalidInputError(
                f"code bundle {data.code_bundle_id} not found", field="body.code_bundle_id"
            )
    _check_inventory(session, data)
    need = data.num_gpus * data.time_limit_s
    now = utcnow()
    with budget.company_budget_lock(session, company_id):
        budget.check_admission(
            session, company_id=company_id, gpu_type=data.gpu_type, need_gpu_seconds=need, at=now
        )
        job = Job.model_validate(
            data.model_dump(exclude={"company_id"})
            | {
                "company_id": company_id,
                "submitted_by": actor.user_id,
                "reserved_gpu_seconds": need,
                "submitted_at": now,
            }
        )
        job.requeued_from_job_id = requeued_from.id if requeued_from else None
        session.add(job)
        session.flush()
        reason = f"requeue of job {requeued_from.id}" if requeued_from else "submitted"
        transition(session, job=job, kind=JobEventKind.queued, reason=reason, actor=actor, at=now)
        transition(
            session,
            job=job,
            kind=JobEventKind.admitted,
            reason=f"reserved {budget.gpu_hours(need)} of the company budget",
            actor=actor,
            at=now,
        )
        commit_or_conflict(session, conflict_message="could not queue the job; retry")
    return job


def list_jobs(
    *,
    session: Session,
    actor: Principal,
    params: ListParams,
    status: JobStatus | None = None,
    company_id: int | None = None,
    submitted_by: int | None = None,
    active: bool | None = None,
) -> Page[Job]:
    conditions = []
    scope = company_condition(session, actor, Job.company_id)
    if scope is not None:
        conditions.append(scope)
    if active is not None:
        statuses = list(ACTIVE_STATUSES)
        conditions.append(
            col(Job.status).in_(statuses) if active else col(Job.status).not_in(statuses)
        )
    return paginate(
        session,
        Job,
        params.model_copy(update={"sort": params.sort or "-submitted_at"}),
        sortable=SORTABLE,
        filters={"status": status, "company_id": company_id, "submitted_by": submitted_by},
        conditions=conditions,
    )


def cancel_job(*, session: Session, actor: Principal, job: Job) -> Job:
    if job.status.is_terminal:
        raise ConflictError(f"job {job.id} is already {job.status.value}; nothing to cancel")
    if job.status == JobStatus.queued:
        # the same end as on the cluster: a requeued job is charged for its earlier attempts
        accounting.finish(
            session,
            job=job,
            end=utcnow(),
            status=JobStatus.cancelled,
            kind=JobEventKind.cancelled,
            reason="cancelled while queued",
            actor=actor,
        )
    elif job.cancel_requested_at is None:
        job.cancel_requested_at = utcnow()
        transition(
            session,
            job=job,
            kind=JobEventKind.cancel_requested,
            reason=f"cancel requested while {job.status.value}",
            actor=actor,
        )
    commit_or_conflict(session, conflict_message="could not cancel the job; retry")
    return job


def requeue_job(*, session: Session, actor: Principal, job: Job) -> Job:
    """Run a finished job again as a new job (the finished one keeps its charge and history)."""
    if job.status not in REQUEUEABLE:
        allowed = ", ".join(sorted(s.value for s in REQUEUEABLE))
        raise ConflictError(
            f"job {job.id} is {job.status.value}; only {allowed} jobs can be requeued"
        )
    data = JobCreate.model_validate(
        job.model_dump(include=set(JobCreate.model_fields) - {"company_id"})
    )
    if data.priority_class == PriorityClass.high and not actor.is_staff:
        data.priority_class = PriorityClass.normal
    new_job = submit_job(
        session=session, actor=actor, data=data, company_id=job.company_id, requeued_from=job
    )
    return new_job


def list_events(*, session: Session, job: Job) -> list[JobEvent]:
    statement = (
        select(JobEvent)
        .where(JobEvent.job_id == job.id)
        .order_by(col(JobEvent.at), col(JobEvent.id))
    )
    return list(session.exec(statement).all())


def tail(text: str, lines: int) -> tuple[str, bool]:
    parts = text.splitlines(keepends=True)
    if len(parts) <= lines:
        return text, False
    return "".join(parts[-lines:]), True
