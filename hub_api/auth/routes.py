from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from hub_api.auth import service
from hub_api.auth.models import (
    AccessToken,
    ApiToken,
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    LoginRequest,
)
from hub_api.core.authz import CurrentUser
from hub_api.core.config import Settings, get_settings
from hub_api.core.db import SessionDep
from hub_api.core.ratelimit import LoginRateLimiter
from hub_api.users.models import PasswordChange, ProfileUpdate, User, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_login_limiter(request: Request) -> LoginRateLimiter:
    limiter: LoginRateLimiter = request.app.state.login_limiter
    return limiter


@router.post("/login", response_model=AccessToken, summary="Log in; returns an access token")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: Annotated[LoginRateLimiter, Depends(get_login_limiter)],
    data: LoginRequest,
) -> AccessToken:
    client = request.client.host if request.client else "unknown"
    return service.login(
        session=session, settings=settings, limiter=limiter, data=data, client=client
    )


@router.get("/me", response_model=UserPublic, summary="Who am I")
def read_me(principal: CurrentUser) -> User:
    return principal.user


@router.patch("/me", response_model=UserPublic, summary="Update my profile")
def update_me(session: SessionDep, principal: CurrentUser, data: ProfileUpdate) -> User:
    return service.update_me(session=session, principal=principal, data=data)


@router.post("/password", response_model=UserPublic, summary="Change my password")
def change_password(
    session: SessionDep, principal: CurrentUser, data: PasswordChange
) -> UserPublic:
    return service.change_password(session=session, principal=principal, data=data)


@router.post(
    "/tokens",
    response_model=ApiTokenCreated,
    status_code=201,
    summary="Create a personal API token",
)
def create_api_token(
    session: SessionDep, settings: SettingsDep, principal: CurrentUser, data: ApiTokenCreate
) -> ApiTokenCreated:
    return service.create_api_token(
        session=session, settings=settings, principal=principal, data=data
    )


@router.get("/tokens", response_model=list[ApiTokenPublic], summary="List my API tokens")
def list_api_tokens(session: SessionDep, principal: CurrentUser) -> list[ApiToken]:
    return service.list_api_tokens(session=session, principal=principal)


@router.delete("/tokens/{token_id}", response_model=ApiTokenPublic, summary="Revoke an API token")
def revoke_api_token(
    session: SessionDep, principal: CurrentUser, token_id: Annotated[int, Path(ge=1)]
) -> ApiToken:
    return service.revoke_api_token(session=session, principal=principal, token_id=token_id)
