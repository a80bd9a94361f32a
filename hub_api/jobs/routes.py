from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile, status
from fastapi.responses import StreamingResponse

from hub_api.core.authz import Permission, Principal, require
from hub_api.core.config import Settings, get_settings
from hub_api.core.db import SessionDep
from hub_api.core.errors import HubError
from hub_api.core.pagination import ListParamsDep, Page
from hub_api.jobs import service
from hub_api.jobs.dependencies import ExecutorDep, JobDep
from hub_api.jobs.models import (
    CodeBundle,
    CodeBundlePublic,
    Job,
    JobCreate,
    JobEvent,
    JobEventPublic,
    JobLogs,
    JobPublic,
    JobStatus,
    JobTemplatePublic,
)
from hub_api.jobs.templates import TEMPLATES
from scheduler.executors.launch import ExecutorUnavailableError

router = APIRouter(tags=["jobs"])
Submitter = Annotated[Principal, Depends(require(Permission.job_submit))]
Reader = Annotated[Principal, Depends(require(Permission.job_read))]


class LogsUnavailableError(HubError):
    status_code = 503
    problem_type = "logs-unavailable"


@router.get("/job-templates", response_model=list[JobTemplatePublic], summary="Built-in templates")
def list_templates(_: Reader) -> list[JobTemplatePublic]:
    return [JobTemplatePublic.model_validate(t, from_attributes=True) for t in TEMPLATES.values()]


@router.post(
    "/code-bundles",
    response_model=CodeBundlePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Upload job code as a zip",
)
def upload_code_bundle(
    session: SessionDep,
    settings: Annotated[Settings, Depends(get_settings)],
    actor: Submitter,
    file: Annotated[UploadFile, File(description="A .zip of the job's code")],
    company_id: Annotated[int | None, Form()] = None,
) -> CodeBundle:
    return service.upload_bundle(
        session=session,
        settings=settings,
        actor=actor,
        company_id=service.resolve_company(session, actor, company_id),
        filename=file.filename or "code.zip",
        source=file.file,
    )


@router.post(
    "/jobs", response_model=JobPublic, status_code=status.HTTP_201_CREATED, summary="Submit a job"
)
def submit_job(session: SessionDep, actor: Submitter, data: JobCreate) -> Job:
    company_id = service.resolve_company(session, actor, data.company_id)
    return service.submit_job(session=session, actor=actor, data=data, company_id=company_id)


@router.get("/jobs", response_model=Page[JobPublic], summary="List jobs visible to you")
def list_jobs(
    session: SessionDep,
    actor: Reader,
    params: ListParamsDep,
    status: JobStatus | None = None,
    company_id: int | None = None,
    submitted_by: int | None = None,
    active: bool | None = None,
) -> Page[Job]:
    return service.list_jobs(
        session=session,
        actor=actor,
        params=params,
        status=status,
        company_id=company_id,
        submitted_by=submitted_by,
        active=active,
    )


@router.get(
    "/jobs/{job_id}",
    response_model=JobPublic,
    summary="Get a job (with queue position and wait reason)",
)
def get_job(job: JobDep) -> Job:
    return job


@router.post("/jobs/{job_id}/cancel", response_model=JobPublic, summary="Cancel a job")
def cancel_job(session: SessionDep, actor: Submitter, job: JobDep) -> Job:
    return service.cancel_job(session=session, actor=actor, job=job)


@router.post(
    "/jobs/{job_id}/requeue",
    response_model=JobPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Run a finished job again as a new job",
)
def requeue_job(session: SessionDep, actor: Submitter, job: JobDep) -> Job:
    return service.requeue_job(session=session, actor=actor, job=job)


@router.get("/jobs/{job_id}/events", response_model=list[JobEventPublic], summary="Job timeline")
def list_job_events(session: SessionDep, job: JobDep) -> list[JobEvent]:
    return service.list_events(session=session, job=job)


def _read_logs(executor: ExecutorDep, job: Job) -> str:
    if job.status == JobStatus.queued and job.attempt == 0:
        return ""
    try:
        return executor.logs(job.submission_id)
    except ExecutorUnavailableError as exc:
        raise LogsUnavailableError(f"logs are unavailable right now: {exc}") from exc


@router.get("/jobs/{job_id}/logs", response_model=JobLogs, summary="Tail of the job's log")
def get_job_logs(
    job: JobDep,
    executor: ExecutorDep,
    tail_lines: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> JobLogs:
    text, truncated = service.tail(_read_logs(executor, job), tail_lines)
    return JobLogs(job_id=job.id or 0, attempt=job.attempt, text=text, truncated=truncated)


@router.get(
    "/jobs/{job_id}/logs/stream",
    response_class=StreamingResponse,
    summary="Follow the job's log until it ends (text/plain, chunked)",
)
def follow_job_logs(
    session: SessionDep,
    job: JobDep,
    executor: ExecutorDep,
    poll_s: Annotated[float, Query(ge=0.2, le=10)] = 1.0,
    max_wait_s: Annotated[float, Query(ge=1, le=3600)] = 600,
) -> StreamingResponse:
    first = _read_logs(executor, job)
    job_id = job.id

    def follow() -> Iterator[str]:
        sent = first
        yield first
        deadline = time.monotonic() + max_wait_s
        while time.monotonic() < deadline:
            session.expire_all()
            current = session.get(Job, job_id)
            if current is None:
                return
            try:
                text = executor.logs(current.submission_id)
            except ExecutorUnavailableError:
                text = sent
            if text.startswith(sent) and len(text) > len(sent):
                yield text[len(sent) :]
                sent = text
            if current.status.is_terminal:
                return
            time.sleep(poll_s)

    return StreamingResponse(follow(), media_type="text/plain; charset=utf-8")
