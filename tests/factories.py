"""Per-domain factories (factory_boy) writing real rows through a SQLModel session."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import factory
from sqlmodel import Session

from hub_api.auth.models import ApiToken
from hub_api.cases.models import Case, ServiceType
from hub_api.companies.models import Company
from hub_api.companies.validators import Region, brn_check_digit
from hub_api.core.config import Settings
from hub_api.core.security import create_access_token, hash_password, new_api_token_secret
from hub_api.grants.models import Grant, GrantStatus, LedgerEntry, LedgerKind, Programme
from hub_api.users.models import Role, User

DEFAULT_PASSWORD = "correct-horse-42"


@functools.cache
def default_password_hash() -> str:
    """Hashing once keeps factories fast (argon2 is deliberately slow)."""
    return hash_password(DEFAULT_PASSWORD)


def valid_brn(n: int) -> str:
    first_nine = f"{101000000 + n:09d}"
    return first_nine + str(brn_check_digit(first_nine))


def fixed_brn(n: int) -> str:
    """A valid number a test picks itself: far from the factories' sequence, which keeps
    growing over a worker's whole session."""
    return valid_brn(800_000_000 + n)


class _Base(factory.alchemy.SQLAlchemyModelFactory):  # type: ignore[misc]
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "commit"


class CompanyFactory(_Base):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Test Manufacturing {n}")
    business_registration_number = factory.Sequence(valid_brn)
    region = Region.gyeongnam
    industry_ksic = "29229"
    employees = 40
    smart_factory_level = 2
    contacts: list[dict[str, Any]] = []


class UserFactory(_Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Sequence(lambda n: f"User {n}")
    role = Role.engineer
    company_id = None
    password_hash = factory.LazyFunction(default_password_hash)


def bind_factories(session: Session) -> None:
    for factory_class in (CompanyFactory, UserFactory):
        factory_class._meta.sqlalchemy_session = session


def make_user(session: Session, role: Role, company: Company | None = None, **kw: Any) -> User:
    bind_factories(session)
    company_id = company.id if company and role == Role.engineer else None
    user: User = UserFactory(role=role, company_id=company_id, **kw)
    return user


def make_company(session: Session, **kw: Any) -> Company:
    bind_factories(session)
    company: Company = CompanyFactory(**kw)
    return company


def bearer(user: User, settings: Settings, *, minutes: int | None = None) -> dict[str, str]:
    token, _ = create_access_token(
        user_id=user.id or 0,
        generation=user.token_generation,
        secret_key=settings.secret_key,
        minutes=minutes or settings.access_token_minutes,
    )
    return {"Authorization": f"Bearer {token}"}


def make_api_token(
    session: Session, user: User, *, scopes: list[str], **kw: Any
) -> tuple[ApiToken, str]:
    from datetime import timedelta

    from hub_api.core.security import utcnow

    plaintext, lookup, digest = new_api_token_secret()
    fields = {"expires_at": utcnow() + timedelta(days=30)} | kw
    api_token = ApiToken(
        name="test",
        user_id=user.id or 0,
        lookup=lookup,
        token_digest=digest,
        scopes=scopes,
        **fields,
    )
    session.add(api_token)
    session.commit()
    return api_token, plaintext


# --- cases, programmes, grants -------------------------------------------------------------
# Default periods cover both the fixed dates tests use (2026-2027) and "now", whenever that is.
_TODAY = date.today()
PERIOD_START = min(date(2026, 1, 1), _TODAY - timedelta(days=365))
PERIOD_END = max(date(2027, 12, 31), _TODAY + timedelta(days=365))


def make_case(
    session: Session, company: Company, *, assignee: User | None = None, **kw: Any
) -> Case:
    fields: dict[str, Any] = {
        "title": "Vision inspection of machined housings",
        "service_type": ServiceType.quality_inspection,
        "description": "Scratches and burrs are found by eye; we want a camera-based check.",
        "company_id": company.id,
        "assignee_id": assignee.id if assignee else None,
    } | kw
    case = Case(**fields)
    session.add(case)
    session.commit()
    return case


def make_programme(session: Session, **kw: Any) -> Programme:
    fields: dict[str, Any] = {
        "name": "Regional AI GPU voucher 2026",
        "funder": "NIPA",
        "project_number": f"NIPA-2026-{uuid.uuid4().hex[:8]}",
        "starts_on": PERIOD_START,
        "ends_on": PERIOD_END,
        "pool_gpu_hours": 10_000.0,
    } | kw
    programme = Programme(**fields)
    session.add(programme)
    session.commit()
    return programme


def make_grant(
    session: Session,
    case: Case,
    programme: Programme,
    *,
    approved: bool = True,
    gpu_hours: float = 100.0,
    **kw: Any,
) -> Grant:
    """A grant; ``approved`` ones get their grant-credit ledger entry, like a real approval."""
    fields: dict[str, Any] = {
        "programme_id": programme.id,
        "case_id": case.id,
        "company_id": case.company_id,
        "project_number": programme.project_number,
        "gpu_hours": gpu_hours,
        "gpu_type": None,
        "valid_from": datetime.combine(PERIOD_START, time(), tzinfo=UTC),
        "valid_until": datetime.combine(PERIOD_END, time(), tzinfo=UTC),
        "purpose": "Train a defect detector on line images",
        "agreement_signed_on": date(2026, 1, 1),
        "status": GrantStatus.approved if approved else GrantStatus.proposed,
    } | kw
    grant = Grant(**fields)
    session.add(grant)
    session.flush()
    if grant.status == GrantStatus.approved:
        session.add(
            LedgerEntry(
                company_id=grant.company_id,
                programme_id=grant.programme_id,
                grant_id=grant.id or 0,
                kind=LedgerKind.grant_credit,
                gpu_seconds=gpu_hours * 3600.0,
                gpu_type=grant.gpu_type,
            )
        )
    session.commit()
    return grant
