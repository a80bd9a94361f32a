"""Which companies' consulting records a caller may see.

* engineers: their own company;
* consultants: the companies of the cases assigned to them (their full records: cases,
  assessments, grants, budget, users, jobs, models, usage), plus every still-unassigned case
  for triage and the profile (``GET /companies/{id}``) of the company that asked;
* operators and admins: every company.

Objects outside the scope answer 404, exactly like missing ones (decision record 0001).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, or_
from sqlmodel import Session, col, select

from hub_api.cases.models import Case
from hub_api.core.authz import Principal
from hub_api.core.errors import NotFoundError
from hub_api.users.models import Role


def assigned_company_ids(session: Session, user_id: int) -> set[int]:
    rows = session.exec(select(Case.company_id).where(Case.assignee_id == user_id).distinct()).all()
    return set(rows)


def visible_company_ids(session: Session, principal: Principal) -> set[int] | None:
    """``None`` means every company."""
    if principal.role == Role.consultant:
        return assigned_company_ids(session, principal.user_id)
    if principal.is_staff:
        return None
    return {principal.company_id} if principal.company_id is not None else set()


def profile_company_ids(session: Session, principal: Principal) -> set[int] | None:
    """Companies whose profile the caller may read: its records scope, and for consultants also
    the companies of unassigned cases (to triage them)."""
    scope = visible_company_ids(session, principal)
    if scope is None or principal.role != Role.consultant:
        return scope
    triage = session.exec(
        select(Case.company_id).where(col(Case.assignee_id).is_(None)).distinct()
    ).all()
    return scope | set(triage)


def condition_for(scope: set[int] | None, column: Any) -> Any | None:
    if scope is None:
        return None
    return col(column).in_(sorted(scope)) if scope else false()


def company_condition(session: Session, principal: Principal, column: Any) -> Any | None:
    """SQL condition restricting ``column`` (a company id column) to the caller's scope."""
    return condition_for(visible_company_ids(session, principal), column)


def _ensure_in(scope: set[int] | None, company_id: int | None, what: str) -> None:
    if scope is not None and company_id not in scope:
        raise NotFoundError(f"{what} not found")


def ensure_company_in_scope(
    session: Session, principal: Principal, company_id: int | None, *, what: str
) -> None:
    _ensure_in(visible_company_ids(session, principal), company_id, what)


def ensure_profile_in_scope(session: Session, principal: Principal, company_id: int) -> None:
    """The company's profile (``GET /companies/{id}``): see :func:`profile_company_ids`."""
    _ensure_in(profile_company_ids(session, principal), company_id, f"company {company_id}")


def case_condition(session: Session, principal: Principal) -> Any | None:
    condition = company_condition(session, principal, Case.company_id)
    if condition is not None and principal.role == Role.consultant:
        return or_(col(Case.assignee_id).is_(None), condition)
    return condition


def can_see_case(session: Session, principal: Principal, case: Case) -> bool:
    if principal.role == Role.consultant and case.assignee_id is None:
        return True
    scope = visible_company_ids(session, principal)
    return scope is None or case.company_id in scope
