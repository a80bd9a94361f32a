"""Loader dependency: the user in the path, or 404 if outside the caller's company scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from hub_api.cases.scope import ensure_company_in_scope
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.db import SessionDep
from hub_api.core.errors import NotFoundError
from hub_api.users.models import User


def load_user(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.user_read))],
    user_id: Annotated[int, Path(ge=1)],
) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    if not (principal.is_staff and user.company_id is None):  # staff see their colleagues
        ensure_company_in_scope(session, principal, user.company_id, what=f"user {user_id}")
    return user


UserDep = Annotated[User, Depends(load_user)]
