"""Maturity assessments: scoring into dimensions and smart-factory levels, T0 → T1 uplift."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub_api.assessments.questionnaire import QUESTIONS, Dimension, score
from hub_api.users.models import Role
from tests.factories import make_case
from tests.hub_api.conftest import World

URL = "/api/v1/assessments"


def answers(default: int, **overrides: int) -> dict[str, int]:
    return {q.id: default for q in QUESTIONS} | overrides


@pytest.mark.parametrize(
    ("given", "overall", "level"),
    [
        (answers(0), 0.0, 1),
        (answers(1), 20.0, 2),
        (answers(3), 60.0, 4),
        (answers(5), 100.0, 5),
        # only the shop-floor dimensions (readiness, data, automation & AI) set the level
        (answers(0, s1=5, s2=5, s3=5, h1=5, h2=5, h3=5, g1=5, g2=5, g3=5), 50.0, 1),
    ],
)
def test_answers_score_into_dimensions_and_a_level(
    given: dict[str, int], overall: float, level: int
) -> None:
    result = score(given)
    assert set(result.dimensions) == {d.value for d in Dimension}
    assert (result.overall, result.smart_factory_level) == (overall, level)


def record(
    client: TestClient, world: World, case_id: int | None, phase: str, given: dict[str, int]
) -> Any:
    return client.post(
        URL,
        json={"case_id": case_id, "phase": phase, "answers": given},
        headers=world.headers(Role.consultant),
    )


def test_uplift_compares_first_t0_with_latest_t1(
    client: TestClient, world: World, session: Session
) -> None:
    case = make_case(session, world.company_a, assignee=world.consultant)
    assert record(client, world, case.id, "T0", answers(1)).status_code == 201
    record(client, world, case.id, "T1", answers(2))
    record(client, world, case.id, "T1", answers(3, a2=5))
    rows = client.get(URL + "/uplift", headers=world.headers(Role.engineer)).json()
    assert len(rows) == 1
    row = rows[0]
    assert (row["t0_level"], row["t1_level"], row["level_uplift"]) == (2, 4, 2)
    assert row["dimension_uplift"]["automation_and_ai"] == pytest.approx(53.33)
    assert row["dimension_uplift"]["green_digitalisation"] == 40.0


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"s1": 3}, "unanswered questions"),
        (answers(2, zz=1), "unknown questions: zz"),
        (answers(2, a1=6), "answers must be 0 to 5: a1"),
    ],
)
def test_incomplete_or_bad_answers_are_refused(
    client: TestClient, world: World, session: Session, given: dict[str, int], message: str
) -> None:
    case = make_case(session, world.company_a, assignee=world.consultant)
    response = record(client, world, case.id, "T0", given)
    assert response.status_code == 422
    assert message in response.text


def test_only_the_assigned_consultant_assesses(
    client: TestClient, world: World, session: Session
) -> None:
    case = make_case(session, world.company_a)
    response = record(client, world, case.id, "T0", answers(2))
    assert response.status_code == 403


def test_another_companys_assessments_are_hidden(
    client: TestClient, world: World, session: Session
) -> None:
    case = make_case(session, world.company_a, assignee=world.consultant)
    created = record(client, world, case.id, "T0", answers(2)).json()
    other = world.headers(world.engineer_b)
    assert client.get(f"{URL}/{created['id']}", headers=other).status_code == 404
    assert client.get(URL, headers=other).json()["total"] == 0
    assert client.get(URL + "/uplift", headers=other).json() == []
