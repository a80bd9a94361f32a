"""Login, password changes and personal API tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from hub_api.audit import service as audit
from hub_api.auth.models import (
    AccessToken,
    ApiToken,
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    LoginRequest,
)
from hub_api.core.authz import Principal
from hub_api.core.config import Settings
from hub_api.core.db import commit_or_conflict
from hub_api.core.errors import (
    AuthenticationError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    TooManyRequestsError,
)
from hub_api.core.ratelimit import LoginRateLimiter
from hub_api.core.security import (
    create_access_token,
    hash_password,
    new_api_token_secret,
    utcnow,
    verify_password,
)
from hub_api.users.models import PasswordChange, ProfileUpdate, Role, User, UserPublic
from hub_api.users.service import get_user_by_email


def login(
    *,
    session: Session,
    settings: Settings,
    limiter: LoginRateLimiter,
    data: LoginRequest,
    client: str,
) -> AccessToken:
    wait = limiter.retry_after(email=data.email, client=client)
    if wait is not None:
        raise TooManyRequestsError(
            f"too many failed logins; try again in {wait} s", headers={"Retry-After": str(wait)}
        )
    user = get_user_by_email(session=session, email=data.email)
    if not verify_password(data.password, user.password_hash if user else None) or user is None:
        limiter.record_failure(email=data.email, client=client)
        raise AuthenticationError("wrong e-mail or password")
    if not user.is_active:
        raise AuthenticationError("this account is deactivated")
    limiter.reset(email=data.email, client=client)
    token, expires = create_access_token(
        user_id=user.id or 0,
        generation=user.token_generation,
        secret_key=settings.secret_key,
        minutes=settings.access_token_minutes,
    )
    user.last_login_at = utcnow()
    session.add(user)
    session.commit()
    return AccessToken(
        access_token=token, expires_at=expires, must_change_password=user.must_change_password
    )


def update_me(*, session: Session, principal: Principal, data: ProfileUpdate) -> User:
    user = principal.user
    before = audit.snapshot(user)
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(user, key, value)
    user.updated_at = utcnow()
    session.add(user)
    audit.record(
        session=session,
        actor=principal,
        action="user.update_self",
        object_type="user",
        object_id=user.id,
        company_id=user.company_id,
        before=before,
        after=audit.snapshot(user),
    )
    commit_or_conflict(session, conflict_message="profile update failed")
    return user


def change_password(*, session: Session, principal: Principal, data: PasswordChange) -> UserPublic:
    user = principal.user
    if not verify_password(data.current_password, user.password_hash):
        raise InvalidInputError("current password is wrong", field="body.current_password")
    if data.current_password == data.new_password:
        raise InvalidInputError(
            "the new password must differ from the current one", field="body.new_password"
        )
    user.password_hash = hash_password(data.new_password)
    user.must_change_password = False
    user.token_generation += 1
    session.add(user)
    audit.record(
        session=session,
        actor=principal,
        action="user.password_change",
        object_type="user",
        object_id=user.id,
        company_id=user.company_id,
    )
    commit_or_conflict(session, conflict_message="password change failed")
    return UserPublic.model_validate(user)


def create_api_token(
    *, session: Session, settings: Settings, principal: Principal, data: ApiTokenCreate
) -> ApiTokenCreated:
    if principal.via_api_token:
        raise ForbiddenError("an API token cannot create API tokens; log in with your password")
    if data.expires_in_days > settings.api_token_max_days:
        raise InvalidInputError(
            f"API tokens may live at most {settings.api_token_max_days} days",
            field="body.expires_in_days",
        )
    plaintext, lookup, digest = new_api_token_secret()
    api_token = ApiToken(
        name=data.name,
        user_id=principal.user_id,
        lookup=lookup,
        token_digest=digest,
        scopes=[scope.value for scope in data.scopes],
        expires_at=utcnow() + timedelta(days=data.expires_in_days),
    )
    session.add(api_token)
    session.flush()
    audit.record(
        session=session,
        actor=principal,
        action="api_token.create",
        object_type="api_token",
        object_id=api_token.id,
        company_id=principal.company_id,
        after=audit.snapshot(api_token),
    )
    commit_or_conflict(session, conflict_message="could not create the API token; retry")
    return ApiTokenCreated(**ApiTokenPublic.model_validate(api_token).model_dump(), token=plaintext)


def list_api_tokens(*, session: Session, principal: Principal) -> list[ApiToken]:
    statement = (
        select(ApiToken)
        .where(ApiToken.user_id == principal.user_id)
        .order_by(col(ApiToken.created_at).desc())
    )
    return list(session.exec(statement).all())


def revoke_api_token(*, session: Session, principal: Principal, token_id: int) -> ApiToken:
    api_token = session.get(ApiToken, token_id)
    if api_token is None or (
        api_token.user_id != principal.user_id and principal.role != Role.admin
    ):
        raise NotFoundError(f"API token {token_id} not found")
    if api_token.revoked_at is None:
        before = audit.snapshot(api_token)
        api_token.revoked_at = utcnow()
        session.add(api_token)
        owner = session.get(User, api_token.user_id)
        audit.record(
            session=session,
            actor=principal,
            action="api_token.revoke",
            object_type="api_token",
            object_id=api_token.id,
            company_id=owner.company_id if owner else None,
            before=before,
            after=audit.snapshot(api_token),
        )
        commit_or_conflict(session, conflict_message="could not revoke the API token; retry")
    return api_token
