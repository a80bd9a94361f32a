"""Loader dependencies for jobs and the executor that reads their logs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from hub_api.cases.scope import ensure_company_in_scope
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.db import SessionDep
from hub_api.core.errors import NotFoundError
from hub_api.jobs.models import Job
from scheduler.executors.launch import JobExecutor


def load_job(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.job_read))],
    job_id: Annotated[int, Path(ge=1)],
) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
    ensure_company_in_scope(session, principal, job.company_id, what=f"job {job_id}")
    return job


JobDep = Annotated[Job, Depends(load_job)]


def get_executor(request: Request) -> JobExecutor:
    """The cluster executor (Ray by default; tests install another on ``app.state``)."""
    executor: JobExecutor | None = getattr(request.app.state, "executor", None)
    if executor is None:
        from scheduler.executors.ray_jobs import RayJobExecutor

        executor = RayJobExecutor(request.app.state.settings.ray_address)
        request.app.state.executor = executor
    return executor


ExecutorDep = Annotated[JobExecutor, Depends(get_executor)]
