"""Company onboarding and maintenance."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from hub_api.audit import service as audit
from hub_api.cases.scope import condition_for, profile_company_ids
from hub_api.companies.models import Company, CompanyCreate, CompanyUpdate
from hub_api.companies.validators import Region, format_business_registration_number
from hub_api.core.authz import Principal
from hub_api.core.db import commit_or_conflict
from hub_api.core.errors import ConflictError
from hub_api.core.pagination import ListParams, Page, paginate
from hub_api.core.security import utcnow
from hub_api.tracking.models import MlflowTenant
from hub_api.users.models import User

SORTABLE = ("name", "region", "industry_ksic", "employees", "smart_factory_level", "created_at")


def _brn_conflict(number: str) -> str:
    return (
        f"a company with business registration number "
        f"{format_business_registration_number(number)} already exists"
    )


def create_company(*, session: Session, actor: Principal | None, data: CompanyCreate) -> Company:
    existing = session.exec(
        select(Company).where(
            Company.business_registration_number == data.business_registration_number
        )
    ).first()
    if existing is not None:
        raise ConflictError(_brn_conflict(data.business_registration_number))
    company = Company.model_validate(
        data.model_dump(exclude={"contacts"})
        | {"contacts": [c.model_dump(mode="json") for c in data.contacts]}
    )
    session.add(company)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="company.create",
        object_type="company",
        object_id=company.id,
        company_id=company.id,
        after=audit.snapshot(company),
    )
    commit_or_conflict(
        session, conflict_message=_brn_conflict(company.business_registration_number)
    )
    return company


def list_companies(
    *,
    session: Session,
    actor: Principal,
    params: ListParams,
    region: Region | None = None,
    industry_ksic: str | None = None,
    name_contains: str | None = None,
) -> Page[Company]:
    conditions = []
    scope = condition_for(profile_company_ids(session, actor), Company.id)
    if scope is not None:
        conditions.append(scope)
    if name_contains:
        conditions.append(func.lower(Company.name).contains(name_contains.lower()))
    return paginate(
        session,
        Company,
        params,
        sortable=SORTABLE,
        filters={"region": region, "industry_ksic": industry_ksic},
        conditions=conditions,
    )


def update_company(
    *, session: Session, actor: Principal, company: Company, data: CompanyUpdate
) -> Company:
    before = audit.snapshot(company)
    changes = data.model_dump(exclude_unset=True, mode="json")
    for key, value in changes.items():
        setattr(company, key, value)
    company.updated_at = utcnow()
    session.add(company)
    audit.record(
        session=session,
        actor=actor,
        action="company.update",
        object_type="company",
        object_id=company.id,
        company_id=company.id,
        before=before,
        after=audit.snapshot(company),
    )
    commit_or_conflict(session, conflict_message="company update conflicts with existing data")
    return company


def delete_company(*, session: Session, actor: Principal, company: Company) -> str | None:
    """Delete a company without users; the name of its MLflow user to retire, if it had one."""
    members = session.exec(
        select(func.count()).select_from(User).where(User.company_id == company.id)
    ).one()
    if members:
        raise ConflictError(
            f"company '{company.name}' still has {members} user(s); remove or move them first"
        )
    audit.record(
        session=session,
        actor=actor,
        action="company.delete",
        object_type="company",
        object_id=company.id,
        company_id=company.id,
        before=audit.snapshot(company),
    )
    tenant = session.get(MlflowTenant, company.id)
    if tenant is not None:
        session.delete(tenant)  # the hub's record of its MLflow space (see tracking.lifecycle)
        session.flush()
    session.delete(company)
    commit_or_conflict(session, conflict_message="company is still referenced by other records")
    return tenant.username if tenant is not None else None
