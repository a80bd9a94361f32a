from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, status

from hub_api.companies import service
from hub_api.companies.dependencies import CompanyDep
from hub_api.companies.models import Company, CompanyCreate, CompanyPublic, CompanyUpdate
from hub_api.companies.validators import Region
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.db import SessionDep
from hub_api.core.pagination import ListParamsDep, Page
from hub_api.tracking.lifecycle import provision_after_onboarding, retire_after_deletion

router = APIRouter(prefix="/companies", tags=["companies"])


@router.post(
    "",
    response_model=CompanyPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Onboard a company",
)
def create_company(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.company_create))],
    data: CompanyCreate,
    request: Request,
    background: BackgroundTasks,
) -> Company:
    """Also provisions the company's MLflow space, after the answer (retried by the scheduler
    while MLflow is down)."""
    company = service.create_company(session=session, actor=actor, data=data)
    state = request.app.state
    if state.settings.mlflow_tracking_uri and company.id is not None:
        background.add_task(provision_after_onboarding, state.engine, state.settings, company.id)
    return company


@router.get("", response_model=Page[CompanyPublic], summary="List companies visible to you")
def list_companies(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.company_read))],
    params: ListParamsDep,
    region: Region | None = None,
    industry_ksic: Annotated[str | None, Query(max_length=6)] = None,
    name_contains: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[Company]:
    return service.list_companies(
        session=session,
        actor=actor,
        params=params,
        region=region,
        industry_ksic=industry_ksic,
        name_contains=name_contains,
    )


@router.get("/{company_id}", response_model=CompanyPublic, summary="Get one company")
def get_company(company: CompanyDep) -> Company:
    return company


@router.patch("/{company_id}", response_model=CompanyPublic, summary="Update a company")
def update_company(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.company_update))],
    company: CompanyDep,
    data: CompanyUpdate,
) -> Company:
    return service.update_company(session=session, actor=actor, company=company, data=data)


@router.delete("/{company_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a company")
def delete_company(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.company_delete))],
    company: CompanyDep,
    request: Request,
    background: BackgroundTasks,
) -> None:
    mlflow_username = service.delete_company(session=session, actor=actor, company=company)
    if mlflow_username is not None:
        background.add_task(retire_after_deletion, request.app.state.settings, mlflow_username)
