from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from hub_api.core.authz import Permission, Principal, require
from hub_api.core.db import SessionDep
from hub_api.core.pagination import ListParamsDep, Page
from hub_api.users import service
from hub_api.users.dependencies import UserDep
from hub_api.users.models import (
    PasswordReset,
    PasswordResetResult,
    Role,
    User,
    UserCreate,
    UserPublic,
    UserUpdate,
)

router = APIRouter(prefix="/users", tags=["users"])
ManageUsers = Annotated[Principal, Depends(require(Permission.user_manage))]


@router.post(
    "", response_model=UserPublic, status_code=status.HTTP_201_CREATED, summary="Create a user"
)
def create_user(session: SessionDep, actor: ManageUsers, data: UserCreate) -> User:
    return service.create_user(session=session, actor=actor, data=data)


@router.get("", response_model=Page[UserPublic], summary="List users visible to you")
def list_users(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.user_read))],
    params: ListParamsDep,
    role: Role | None = None,
    company_id: int | None = None,
    is_active: bool | None = None,
    email_contains: Annotated[str | None, Query(max_length=320)] = None,
) -> Page[User]:
    return service.list_users(
        session=session,
        actor=actor,
        params=params,
        role=role,
        company_id=company_id,
        is_active=is_active,
        email_contains=email_contains,
    )


@router.get("/{user_id}", response_model=UserPublic, summary="Get one user")
def get_user(user: UserDep) -> User:
    return user


@router.patch("/{user_id}", response_model=UserPublic, summary="Update a user")
def update_user(session: SessionDep, actor: ManageUsers, user: UserDep, data: UserUpdate) -> User:
    return service.update_user(session=session, actor=actor, user=user, data=data)


@router.delete("/{user_id}", response_model=UserPublic, summary="Deactivate a user")
def deactivate_user(session: SessionDep, actor: ManageUsers, user: UserDep) -> User:
    return service.deactivate_user(session=session, actor=actor, user=user)


@router.post(
    "/{user_id}/password-reset",
    response_model=PasswordResetResult,
    summary="Reset a user's password (admin)",
)
def reset_password(
    session: SessionDep, actor: ManageUsers, user: UserDep, data: PasswordReset
) -> PasswordResetResult:
    return service.reset_password(session=session, actor=actor, user=user, data=data)
