"""A small world for API tests: two companies, an engineer in each, and one staff user per role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session

from hub_api.companies.models import Company
from hub_api.core.config import Settings
from hub_api.users.models import Role, User
from tests.factories import bearer, make_company, make_user


@dataclass
class World:
    company_a: Company
    company_b: Company
    engineer_a: User
    engineer_b: User
    consultant: User
    operator: User
    admin: User
    settings: Settings

    def user(self, role: Role) -> User:
        return {
            Role.engineer: self.engineer_a,
            Role.consultant: self.consultant,
            Role.operator: self.operator,
            Role.admin: self.admin,
        }[role]

    def headers(self, who: Role | User) -> dict[str, str]:
        user = self.user(who) if isinstance(who, Role) else who
        return bearer(user, self.settings)


@pytest.fixture
def world(session: Session, settings: Settings) -> World:
    company_a = make_company(session, name="Alpha Machining")
    company_b = make_company(session, name="Beta Textiles")
    return World(
        company_a=company_a,
        company_b=company_b,
        engineer_a=make_user(session, Role.engineer, company_a),
        engineer_b=make_user(session, Role.engineer, company_b),
        consultant=make_user(session, Role.consultant),
        operator=make_user(session, Role.operator),
        admin=make_user(session, Role.admin),
        settings=settings,
    )
