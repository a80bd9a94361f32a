"""The demo seed gives the local hub a programme, a worked case and a budget, idempotently."""

from __future__ import annotations

from sqlmodel import Session, func, select

from hub_api.cases.models import Case
from hub_api.core.config import Settings
from hub_api.demo.seed import seed_demo
from hub_api.grants.ledger import company_budget
from hub_api.grants.models import Grant, Programme


def test_seed_creates_a_budget_once(session: Session, settings: Settings) -> None:
    first = seed_demo(session=session, settings=settings)
    second = seed_demo(session=session, settings=settings)
    assert (first.created_consulting, second.created_consulting) == (3, 0)
    counts = [
        session.exec(select(func.count()).select_from(model)).one()
        for model in (Programme, Case, Grant)
    ]
    assert counts == [1, 1, 1]
    case = session.exec(select(Case)).one()
    budget = company_budget(session=session, company_id=case.company_id)
    assert budget.available_now_gpu_hours == 500.0
