"""Demo data for ``make up``: regional manufacturers and one user per role.

Idempotent: running it twice changes nothing. Passwords are for local demos only; the seed
refuses to run in production.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from hub_api.companies import service as companies
from hub_api.companies.models import Company, CompanyCreate, Contact
from hub_api.companies.validators import Region, brn_check_digit
from hub_api.core.config import Environment, Settings
from hub_api.demo.consulting import seed_consulting
from hub_api.users import service as users
from hub_api.users.models import Locale, Role, UserCreate

DEMO_PASSWORD = "axhub-demo-2026"


def _brn(first_nine: str) -> str:
    return first_nine + str(brn_check_digit(first_nine))


@dataclass(frozen=True)
class DemoCompany:
    key: str
    data: CompanyCreate
    engineer_email: str
    engineer_name: str


DEMO_COMPANIES = (
    DemoCompany(
        key="changwon",
        data=CompanyCreate(
            name="창원정밀가공 (Changwon Precision Machining)",
            business_registration_number=_brn("609812345"),
            region=Region.gyeongnam,
            industry_ksic="29229",
            employees=48,
            smart_factory_level=2,
            contacts=[Contact(name="김민수", email="ms.kim@cwpm.example", title="생산기술팀장")],
        ),
        engineer_email="engineer@changwon.example",
        engineer_name="김민수 (Kim Min-su)",
    ),
    DemoCompany(
        key="gwangju",
        data=CompanyCreate(
            name="광주오토파츠 (Gwangju Auto Parts)",
            business_registration_number=_brn("410865432"),
            region=Region.gwangju,
            industry_ksic="30399",
            employees=132,
            smart_factory_level=3,
            contacts=[Contact(name="박지현", email="jh.park@gjap.example", title="품질관리 과장")],
        ),
        engineer_email="engineer@gwangju.example",
        engineer_name="박지현 (Park Ji-hyun)",
    ),
    DemoCompany(
        key="daegu",
        data=CompanyCreate(
            name="대구스마트텍스 (Daegu Smart Textiles)",
            business_registration_number=_brn("504871122"),
            region=Region.daegu,
            industry_ksic="13221",
            employees=27,
            smart_factory_level=1,
            contacts=[Contact(name="이서연", email="sy.lee@dgst.example", title="대표")],
        ),
        engineer_email="engineer@daegu.example",
        engineer_name="이서연 (Lee Seo-yeon)",
    ),
)

DEMO_STAFF = (
    ("admin@axhub.example", "허브 관리자 (Hub Admin)", Role.admin),
    ("operator@axhub.example", "정운영 (Jung, operator)", Role.operator),
    ("consultant@axhub.example", "최컨설 (Choi, consultant)", Role.consultant),
)


@dataclass(frozen=True)
class SeedResult:
    created_companies: int
    created_users: int
    logins: list[tuple[str, str]]
    created_consulting: int = 0


def seed_demo(*, session: Session, settings: Settings) -> SeedResult:
    if settings.environment == Environment.production:
        raise RuntimeError("refusing to load demo data into a production hub")
    created_companies = created_users = 0
    logins: list[tuple[str, str]] = []
    changwon_id: int | None = None

    def ensure_user(email: str, name: str, role: Role, company_id: int | None) -> None:
        nonlocal created_users
        logins.append((role.value, email))
        if users.get_user_by_email(session=session, email=email) is None:
            users.create_user(
                session=session,
                actor=None,
                data=UserCreate(
                    email=email,
                    full_name=name,
                    role=role,
                    company_id=company_id,
                    locale=Locale.ko,
                    password=DEMO_PASSWORD,
                ),
            )
            created_users += 1

    for email, name, role in DEMO_STAFF:
        ensure_user(email, name, role, None)
    for demo in DEMO_COMPANIES:
        company = session.exec(
            select(Company).where(
                Company.business_registration_number == demo.data.business_registration_number
            )
        ).first()
        if company is None:
            company = companies.create_company(session=session, actor=None, data=demo.data)
            created_companies += 1
        ensure_user(demo.engineer_email, demo.engineer_name, Role.engineer, company.id)
        if demo.key == "changwon":
            changwon_id = company.id
    consultant = users.get_user_by_email(session=session, email="consultant@axhub.example")
    assert consultant is not None
    assert changwon_id is not None
    consulting = seed_consulting(session=session, company_id=changwon_id, consultant=consultant)
    return SeedResult(created_companies, created_users, logins, consulting)
