"""The models API: a company's MLflow experiments, runs, artifacts and registered models."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import StreamingResponse

from hub_api.core.authz import Permission, Principal, require
from hub_api.core.config import Settings, get_settings
from hub_api.core.db import SessionDep
from hub_api.jobs.dependencies import JobDep
from hub_api.models import service
from hub_api.models.models import (
    ArtifactListing,
    ExperimentPublic,
    ModelVersionDetail,
    ModelVersionPublic,
    RegisteredModelDetail,
    RegisteredModelPublic,
    RegisterModel,
    RunDetail,
    RunMetrics,
    RunPublic,
    SetAlias,
)

router = APIRouter(tags=["models"])
Reader = Annotated[Principal, Depends(require(Permission.model_read))]
Writer = Annotated[Principal, Depends(require(Permission.model_register))]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CompanyQuery = Annotated[
    int | None, Query(ge=1, description="Staff: the company (default: all companies)")
]
RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{8,64}$", description="MLflow run id")]
ModelName = Annotated[str, Path(min_length=1, max_length=200)]
Version = Annotated[str, Path(pattern=r"^[0-9]{1,9}$")]
Alias = Annotated[str, Path(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")]


@router.get(
    "/mlflow/experiments",
    response_model=list[ExperimentPublic],
    summary="Your company's MLflow experiments",
)
def list_experiments(
    session: SessionDep, settings: SettingsDep, actor: Reader, company_id: CompanyQuery = None
) -> list[ExperimentPublic]:
    return service.list_experiments(
        session=session, settings=settings, actor=actor, company_id=company_id
    )


@router.get(
    "/mlflow/runs", response_model=list[RunPublic], summary="Your company's runs, newest first"
)
def list_runs(
    session: SessionDep,
    settings: SettingsDep,
    actor: Reader,
    company_id: CompanyQuery = None,
    experiment_id: Annotated[str | None, Query(pattern=r"^[0-9]{1,19}$")] = None,
    job_id: Annotated[int | None, Query(ge=1, description="Runs of this hub job")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[RunPublic]:
    return service.list_runs(
        session=session,
        settings=settings,
        actor=actor,
        company_id=company_id,
        experiment_id=experiment_id,
        job_id=job_id,
        limit=limit,
    )


@router.get(
    "/mlflow/runs/{run_id}",
    response_model=RunDetail,
    summary="A run: params, latest metrics, tags, its hub job, logged models, model versions",
)
def get_run(
    session: SessionDep,
    settings: SettingsDep,
    actor: Reader,
    run_id: RunId,
    company_id: CompanyQuery = None,
) -> RunDetail:
    return service.get_run(
        session=session, settings=settings, actor=actor, company_id=company_id, run_id=run_id
    )


@router.get(
    "/mlflow/runs/{run_id}/metrics",
    response_model=RunMetrics,
    summary="Full history of every metric of a run",
)
def get_run_metrics(
    session: SessionDep,
    settings: SettingsDep,
    actor: Reader,
    run_id: RunId,
    company_id: CompanyQuery = None,
) -> RunMetrics:
    return service.run_metrics(
        session=session, settings=settings, actor=actor, company_id=company_id, run_id=run_id
    )


@router.get(
    "/mlflow/runs/{run_id}/artifacts",
    response_model=ArtifactListing,
    summary="List a run's artifacts (logged models under logged-models/<model_id>/)",
)
def list_artifacts(
    session: SessionDep,
    settings: SettingsDep,
    actor: Reader,
    run_id: RunId,
    path: Annotated[str, Query(max_length=500)] = "",
    company_id: CompanyQuery = None,
) -> ArtifactListing:
    return service.list_artifacts(
        session=session,
        settings=settings,
        actor=actor,
        company_id=company_id,
        run_id=run_id,
        path=path,
    )


@router.get(
    "/mlflow/runs/{run_id}/artifacts/download",
    response_class=StreamingResponse,
    summary="Download one artifact file (streamed)",
)
def download_artifact(
    session: SessionDep,
    settings: SettingsDep,
    actor: Reader,
    run_id: RunId,
    path: Annotated[str, Query(min_length=1, max_length=500)],
    company_id: CompanyQuery = None,
) -> StreamingResponse:
    chunks = service.download_artifact(
        session=session,
        settings=settings,
        actor=actor,
        company_id=company_id,
        run_id=run_id,
        path=path,
    )
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(path).name) or "artifact"
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/mlflow/registered-models",
    response_model=list[RegisteredModelPublic],
    summary="Your company's registered models",
)
def list_registered_models(
    session: SessionDep, settings: SettingsDep, actor: Reader, company_id: CompanyQuery = None
) -> list[RegisteredModelPublic]:
    return service.list_registered_models(
        session=session, settings=settings, actor=actor, company_id=company_id
    )


@router.get(
    "/mlflow/registered-models/{name}",
    response_model=RegisteredModelDetail,
    summary="A registered model with all its versions and aliases",
)
def get_registered_model(
    session: SessionDep,
    settings: SettingsDep,
    actor: Reader,
    name: ModelName,
    company_id: CompanyQuery = None,
) -> RegisteredModelDetail:
    return service.get_registered_model(
        session=session, settings=settings, actor=actor, company_id=company_id, name=name
    )


@router.post(
    "/mlflow/registered-models/{name}/versions",
    response_model=ModelVersionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register a run's logged model as a new version of the model 'name'",
)
def register_model(
    session: SessionDep, settings: SettingsDep, actor: Writer, name: ModelName, data: RegisterModel
) -> ModelVersionPublic:
    return service.register_run_model(
        session=session,
        settings=settings,
        actor=actor,
        company_id=data.company_id,
        name=name,
        run_id=data.run_id,
        model_id=data.model_id,
    )


@router.get(
    "/mlflow/registered-models/{name}/versions/{version}",
    response_model=ModelVersionDetail,
    summary="A model version with its lineage: run → job → grant → case",
)
def get_model_version(
    session: SessionDep,
    settings: SettingsDep,
    actor: Reader,
    name: ModelName,
    version: Version,
    company_id: CompanyQuery = None,
) -> ModelVersionDetail:
    return service.get_model_version(
        session=session,
        settings=settings,
        actor=actor,
        company_id=company_id,
        name=name,
        version=version,
    )


@router.put(
    "/mlflow/registered-models/{name}/aliases/{alias}",
    response_model=ModelVersionDetail,
    summary="Point an alias (e.g. 'champion') at a version",
)
def set_alias(
    session: SessionDep,
    settings: SettingsDep,
    actor: Writer,
    name: ModelName,
    alias: Alias,
    data: SetAlias,
) -> ModelVersionDetail:
    return service.set_alias(
        session=session,
        settings=settings,
        actor=actor,
        company_id=data.company_id,
        name=name,
        alias=alias,
        version=data.version,
    )


@router.get(
    "/jobs/{job_id}/metrics",
    response_model=RunMetrics,
    summary="Metric history of the job's MLflow run (for charts)",
)
def get_job_metrics(
    session: SessionDep, settings: SettingsDep, actor: Reader, job: JobDep
) -> RunMetrics:
    return service.job_metrics(session=session, settings=settings, actor=actor, job=job)
