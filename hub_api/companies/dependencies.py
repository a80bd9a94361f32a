"""Loader dependency: the company in the path, or 404 if the caller may not see it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from hub_api.cases.scope import ensure_profile_in_scope
from hub_api.companies.models import Company
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.db import SessionDep
from hub_api.core.errors import NotFoundError


def load_company(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.company_read))],
    company_id: Annotated[int, Path(ge=1)],
) -> Company:
    ensure_profile_in_scope(session, principal, company_id)
    company = session.get(Company, company_id)
    if company is None:
        raise NotFoundError(f"company {company_id} not found")
    return company


CompanyDep = Annotated[Company, Depends(load_company)]
