"""Companies: onboarding, validation, duplicates, listing, updates, deletion, tenant scope."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from hub_api.audit import service as audit_service
from hub_api.audit.models import AuditEvent
from hub_api.companies.models import Company
from hub_api.users.models import Role
from tests.factories import fixed_brn
from tests.hub_api.conftest import World

URL = "/api/v1/companies"


def company_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Gimhae Food Processing",
        "business_registration_number": "220-81-62517",
        "region": "gyeongnam",
        "industry_ksic": "10719",
        "employees": 35,
        "smart_factory_level": 1,
        "contacts": [{"name": "Han", "email": "han@gfp.example", "phone": "055-123-4567"}],
    } | overrides


def test_operator_onboards_a_company(client: TestClient, world: World) -> None:
    response = client.post(URL, json=company_payload(), headers=world.headers(Role.operator))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["business_registration_number"] == "2208162517"
    assert body["contacts"][0]["name"] == "Han"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"business_registration_number": "220-81-62518"},
            "business_registration_number",
            "check digit",
        ),
        ({"business_registration_number": "12-345"}, "business_registration_number", "10 digits"),
        ({"name": "x" * 201}, "name", "at most 200"),
        ({"name": ""}, "name", "at least 1"),
        ({"employees": "many"}, "employees", "integer"),
        ({"employees": 0}, "employees", "greater than or equal to 1"),
        ({"region": "atlantis"}, "region", "seoul"),
        ({"industry_ksic": "04123"}, "industry_ksic", "KSIC"),
        ({"smart_factory_level": 9}, "smart_factory_level", "less than or equal to 5"),
        ({"contacts": [{"name": "A", "email": "not-an-email"}]}, "contacts.0.email", "email"),
        ({"contacts": [{"name": f"c{i}"} for i in range(11)]}, "contacts", "at most 10"),
    ],
)
def test_bad_company_input_names_the_field(
    client: TestClient, world: World, overrides: dict[str, Any], field: str, message: str
) -> None:
    response = client.post(
        URL, json=company_payload(**overrides), headers=world.headers(Role.admin)
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert any(e["field"] == f"body.{field}" and message in e["message"] for e in errors), errors


def test_duplicate_business_number_is_a_conflict_whatever_its_dashes(
    client: TestClient, world: World, session: Session
) -> None:
    headers = world.headers(Role.admin)
    assert client.post(URL, json=company_payload(), headers=headers).status_code == 201
    again = client.post(
        URL, json=company_payload(business_registration_number="2208162517"), headers=headers
    )
    assert again.status_code == 409
    assert "220-81-62517 already exists" in again.json()["detail"]
    count = session.exec(select(func.count()).select_from(Company)).one()
    assert count == 3  # the world's two plus one


def test_a_failure_after_insert_leaves_nothing_half_written(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_audit(**_: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(audit_service, "record", broken_audit)
    response = client.post(URL, json=company_payload(), headers=world.headers(Role.admin))
    assert response.status_code == 500
    assert "traceback" not in response.text.lower()
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Company)).one() == 2


def test_engineer_lists_only_their_own_company(client: TestClient, world: World) -> None:
    body = client.get(URL, headers=world.headers(Role.engineer)).json()
    assert [c["id"] for c in body["items"]] == [world.company_a.id]
    assert body["total"] == 1


def test_other_companys_record_is_hidden_from_an_engineer(client: TestClient, world: World) -> None:
    response = client.get(f"{URL}/{world.company_b.id}", headers=world.headers(Role.engineer))
    assert response.status_code == 404
    missing = client.get(f"{URL}/999999", headers=world.headers(Role.engineer))
    assert missing.json()["detail"] == "company 999999 not found"
    assert response.json()["detail"] == f"company {world.company_b.id} not found"


def test_lists_are_paginated_sorted_and_filtered(
    client: TestClient, world: World, session: Session
) -> None:
    headers = world.headers(Role.operator)
    for n in range(5):
        session.add(
            Company(
                name=f"Busan Shipyard Supplier {n}",
                business_registration_number=fixed_brn(500 + n),
                region="busan",
                industry_ksic="31114",
                employees=10 + n,
            )
        )
    session.commit()
    page = client.get(
        URL,
        params={"region": "busan", "sort": "-employees", "limit": 2, "offset": 1},
        headers=headers,
    ).json()
    assert page["total"] == 5
    assert [c["employees"] for c in page["items"]] == [13, 12]
    search = client.get(URL, params={"name_contains": "shipyard supplier 3"}, headers=headers)
    assert [c["employees"] for c in search.json()["items"]] == [13]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "password"}, "query.sort"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 1000}, "query.limit"),
        ({"offset": -1}, "query.offset"),
    ],
)
def test_bad_list_parameters_are_refused(
    client: TestClient, world: World, params: dict[str, Any], field: str
) -> None:
    response = client.get(URL, params=params, headers=world.headers(Role.admin))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_update_is_audited_with_before_and_after(
    client: TestClient, world: World, session: Session
) -> None:
    response = client.patch(
        f"{URL}/{world.company_a.id}",
        json={"employees": 55, "smart_factory_level": 3},
        headers=world.headers(Role.operator),
    )
    assert response.status_code == 200
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "company.update")).one()
    assert event.before is not None
    assert event.after is not None
    assert (event.before["employees"], event.after["employees"]) == (40, 55)
    assert event.actor_user_id == world.operator.id
    assert event.company_id == world.company_a.id


def test_company_with_users_cannot_be_deleted(client: TestClient, world: World) -> None:
    response = client.delete(f"{URL}/{world.company_a.id}", headers=world.headers(Role.admin))
    assert response.status_code == 409
    assert "still has 1 user" in response.json()["detail"]


def test_empty_company_is_deleted_and_audited(
    client: TestClient, world: World, session: Session
) -> None:
    created = client.post(URL, json=company_payload(), headers=world.headers(Role.admin)).json()
    response = client.delete(f"{URL}/{created['id']}", headers=world.headers(Role.admin))
    assert response.status_code == 204
    assert (
        client.get(f"{URL}/{created['id']}", headers=world.headers(Role.admin)).status_code == 404
    )
    actions = session.exec(
        select(AuditEvent.action).where(AuditEvent.object_id == str(created["id"]))
    ).all()
    assert sorted(actions) == ["company.create", "company.delete"]
