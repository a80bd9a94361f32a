"""Loader dependency: the case in the path, or 404 if the caller may not see it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from hub_api.cases.models import Case
from hub_api.cases.scope import can_see_case
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.config import Settings
from hub_api.core.db import SessionDep
from hub_api.core.errors import NotFoundError


def load_case(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.case_read))],
    case_id: Annotated[int, Path(ge=1)],
) -> Case:
    case = session.get(Case, case_id)
    if case is None or not can_see_case(session, principal, case):
        raise NotFoundError(f"case {case_id} not found")
    return case


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


CaseDep = Annotated[Case, Depends(load_case)]
SettingsDep = Annotated[Settings, Depends(app_settings)]
