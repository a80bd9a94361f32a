"""User accounts: creation by admins, updates, deactivation and password resets."""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import Session, col, select

from hub_api.audit import service as audit
from hub_api.cases.scope import company_condition
from hub_api.companies.models import Company
from hub_api.core.authz import Principal
from hub_api.core.db import commit_or_conflict
from hub_api.core.errors import ConflictError, ForbiddenError, InvalidInputError
from hub_api.core.pagination import ListParams, Page, paginate
from hub_api.core.security import generate_temporary_password, hash_password, utcnow
from hub_api.users.models import (
    PasswordReset,
    PasswordResetResult,
    Role,
    User,
    UserCreate,
    UserUpdate,
)

SORTABLE = ("email", "full_name", "role", "company_id", "created_at", "last_login_at")


def _email_conflict(email: str) -> str:
    return f"a user with e-mail {email} already exists"


def _check_company_membership(session: Session, *, role: Role, company_id: int | None) -> None:
    if role == Role.engineer:
        if company_id is None:
            raise InvalidInputError(
                "company_id is required for an engineer", field="body.company_id"
            )
        if session.get(Company, company_id) is None:
            raise InvalidInputError(f"company {company_id} does not exist", field="body.company_id")
    elif company_id is not None:
        raise InvalidInputError(
            "only engineers belong to a company; hub staff have no company_id",
            field="body.company_id",
        )


def get_user_by_email(*, session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.lower())).first()


def create_user(*, session: Session, actor: Principal | None, data: UserCreate) -> User:
    _check_company_membership(session, role=data.role, company_id=data.company_id)
    if get_user_by_email(session=session, email=data.email) is not None:
        raise ConflictError(_email_conflict(data.email))
    user = User.model_validate(
        data.model_dump(exclude={"password"}) | {"password_hash": hash_password(data.password)}
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        company_id=user.company_id,
        after=audit.snapshot(user),
    )
    commit_or_conflict(session, conflict_message=_email_conflict(user.email))
    return user


def list_users(
    *,
    session: Session,
    actor: Principal,
    params: ListParams,
    role: Role | None = None,
    company_id: int | None = None,
    is_active: bool | None = None,
    email_contains: str | None = None,
) -> Page[User]:
    conditions = []
    scope = company_condition(session, actor, User.company_id)
    if scope is not None:  # staff also see their colleagues (users without a company)
        conditions.append(or_(scope, col(User.company_id).is_(None)) if actor.is_staff else scope)
    if email_contains:
        conditions.append(col(User.email).contains(email_contains.lower()))
    return paginate(
        session,
        User,
        params,
        sortable=SORTABLE,
        filters={"role": role, "company_id": company_id, "is_active": is_active},
        conditions=conditions,
    )


def update_user(*, session: Session, actor: Principal, user: User, data: UserUpdate) -> User:
    changes = data.model_dump(exclude_unset=True)
    if user.id == actor.user_id and (
        changes.get("role", user.role) != user.role or changes.get("is_active") is False
    ):
        raise ForbiddenError("you cannot change your own role or deactivate yourself")
    role = changes.get("role") or user.role
    company_id = changes.get("company_id", user.company_id)
    if role != Role.engineer and "company_id" not in changes:
        company_id = None
    _check_company_membership(session, role=role, company_id=company_id)
    before = audit.snapshot(user)
    for key, value in changes.items():
        setattr(user, key, value)
    user.company_id = company_id
    if changes.get("is_active") is False or "role" in changes or "company_id" in changes:
        user.token_generation += 1
    user.updated_at = utcnow()
    session.add(user)
    audit.record(
        session=session,
        actor=actor,
        action="user.update",
        object_type="user",
        object_id=user.id,
        company_id=user.company_id,
        before=before,
        after=audit.snapshot(user),
    )
    commit_or_conflict(session, conflict_message="user update conflicts with existing data")
    return user


def deactivate_user(*, session: Session, actor: Principal, user: User) -> User:
    return update_user(session=session, actor=actor, user=user, data=UserUpdate(is_active=False))


def reset_password(
    *, session: Session, actor: Principal, user: User, data: PasswordReset
) -> PasswordResetResult:
    """Set a new password (or a generated temporary one); the user must change it at next login."""
    temporary = data.new_password is None
    password = data.new_password or generate_temporary_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.token_generation += 1
    user.updated_at = utcnow()
    session.add(user)
    audit.record(
        session=session,
        actor=actor,
        action="user.password_reset",
        object_type="user",
        object_id=user.id,
        company_id=user.company_id,
    )
    commit_or_conflict(session, conflict_message="password reset failed")
    return PasswordResetResult(
        user_id=user.id or 0,
        temporary_password=password if temporary else None,
        must_change_password=True,
    )
