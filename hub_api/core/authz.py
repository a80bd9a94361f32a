"""The one authorization layer: authentication, role permissions, token scopes, company scope.

Every non-public route depends on ``require(permission)``, which authenticates the caller
(short-lived JWT access token or personal API token), checks that the caller's role holds the
permission (403 otherwise) and that the token's scopes allow the HTTP method (403). Routes that
take an object id use loader dependencies (``CompanyDep``, ``UserDep``...) which answer 404 for
objects outside the caller's company scope, so existence does not leak across companies. The
company scope itself (engineers: their company; consultants: the companies of their assigned
cases; operators and admins: all) depends on case assignments and lives in
``hub_api.cases.scope``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, select

from hub_api.auth.models import ApiToken, TokenScope
from hub_api.core.config import Settings, get_settings
from hub_api.core.db import SessionDep
from hub_api.core.errors import AuthenticationError, ForbiddenError
from hub_api.core.security import (
    api_token_lookup,
    as_utc,
    decode_access_token,
    digest_api_token,
    digests_match,
    utcnow,
)
from hub_api.users.models import Role, User


class Permission(StrEnum):
    company_read = "company:read"
    company_create = "company:create"
    company_update = "company:update"
    company_delete = "company:delete"
    user_read = "user:read"
    user_manage = "user:manage"
    audit_read = "audit:read"
    self_service = "self:service"
    job_read = "job:read"
    job_submit = "job:submit"
    cluster_read = "cluster:read"
    cluster_manage = "cluster:manage"
    case_read = "case:read"
    case_create = "case:create"
    case_comment = "case:comment"
    case_transition = "case:transition"
    case_work = "case:work"
    assessment_read = "assessment:read"
    assessment_write = "assessment:write"
    programme_read = "programme:read"
    programme_manage = "programme:manage"
    grant_read = "grant:read"
    grant_propose = "grant:propose"
    grant_decide = "grant:decide"
    grant_manage = "grant:manage"
    budget_read = "budget:read"
    ops_read = "ops:read"
    usage_read = "usage:read"
    model_read = "model:read"
    model_register = "model:register"


_EVERYONE = {
    Permission.company_read,
    Permission.user_read,
    Permission.self_service,
    Permission.job_read,
    Permission.job_submit,
    Permission.cluster_read,
    Permission.case_read,
    Permission.case_create,
    Permission.case_comment,
    Permission.case_transition,
    Permission.assessment_read,
    Permission.programme_read,
    Permission.grant_read,
    Permission.budget_read,
    Permission.usage_read,
    Permission.model_read,
    Permission.model_register,
}
# Hub staff work cases; consultants assess and propose grants, operators decide and manage them.
_STAFF = {Permission.case_work}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.engineer: frozenset(_EVERYONE),
    Role.consultant: frozenset(
        _EVERYONE | _STAFF | {Permission.assessment_write, Permission.grant_propose}
    ),
    Role.operator: frozenset(
        _EVERYONE
        | _STAFF
        | {Permission.company_create, Permission.company_update, Permission.audit_read}
        | {Permission.programme_manage, Permission.grant_decide, Permission.grant_manage}
        | {Permission.cluster_manage}
        | {Permission.ops_read}
    ),
    Role.admin: frozenset(Permission),
}

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as every service sees it."""

    user: User
    scopes: frozenset[TokenScope]
    via_api_token: bool = False

    @property
    def user_id(self) -> int:
        assert self.user.id is not None
        return self.user.id

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def company_id(self) -> int | None:
        return self.user.company_id

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    def has(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


_bearer = HTTPBearer(auto_error=False, description="Access token or personal API token")


def _authenticate_api_token(session: Session, token: str) -> Principal:
    lookup = api_token_lookup(token)
    api_token = (
        session.exec(select(ApiToken).where(ApiToken.lookup == lookup)).first() if lookup else None
    )
    if api_token is None or not digests_match(api_token.token_digest, digest_api_token(token)):
        raise AuthenticationError("invalid API token")
    now = utcnow()
    if api_token.revoked_at is not None:
        raise AuthenticationError("API token has been revoked")
    if as_utc(api_token.expires_at) <= now:
        raise AuthenticationError("API token has expired")
    user = session.get(User, api_token.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("the token's user is deactivated")
    api_token.last_used_at = now
    session.add(api_token)
    session.commit()
    return Principal(
        user=user, scopes=frozenset(TokenScope(s) for s in api_token.scopes), via_api_token=True
    )


def _authenticate_access_token(session: Session, token: str, settings: Settings) -> Principal:
    try:
        claims = decode_access_token(token, secret_key=settings.secret_key)
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError("access token has expired; log in again") from exc
    except jwt.PyJWTError as exc:
        raise AuthenticationError("invalid access token") from exc
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("the token's user is deactivated")
    if claims.generation != user.token_generation:
        raise AuthenticationError("access token was revoked (password changed); log in again")
    return Principal(user=user, scopes=frozenset(TokenScope))


def get_principal(
    session: SessionDep,
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("authentication required: send 'Authorization: Bearer <token>'")
    token = credentials.credentials
    if api_token_lookup(token) is not None:
        return _authenticate_api_token(session, token)
    return _authenticate_access_token(session, token, settings)


def require(permission: Permission) -> Callable[..., Principal]:
    """Dependency factory: the caller must be authenticated, hold ``permission`` and a scope."""

    def dependency(
        request: Request, principal: Annotated[Principal, Depends(get_principal)]
    ) -> Principal:
        if not principal.has(permission):
            raise ForbiddenError(f"role '{principal.role}' may not perform '{permission}'")
        if request.method not in READ_METHODS and TokenScope.write not in principal.scopes:
            raise ForbiddenError("this API token has only the 'read' scope")
        return principal

    dependency.__name__ = f"require_{permission.value.replace(':', '_')}"
    return dependency


CurrentUser = Annotated[Principal, Depends(require(Permission.self_service))]
