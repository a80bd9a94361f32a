"""Concurrent submits against one budget can never overdraw it (PostgreSQL row lock; SQLite
process lock)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from hub_api.auth.models import TokenScope
from hub_api.core.authz import Principal
from hub_api.jobs import service
from hub_api.jobs.budget import BudgetExceededError
from hub_api.jobs.models import Job, JobCreate
from hub_api.users.models import User
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import fund

SUBMITTERS = 50
JOBS_THE_BUDGET_HOLDS = 10


def test_fifty_concurrent_submits_never_overdraw_the_budget(
    world: World, session: Session, engine: Engine
) -> None:
    fund(session, world.company_a, gpu_hours=JOBS_THE_BUDGET_HOLDS)
    engineer_id = world.engineer_a.id
    data = JobCreate(name="race", template="defect_classifier", num_gpus=1, time_limit_s=3600)

    def submit(_: int) -> bool:
        with Session(engine, expire_on_commit=False) as own_session:
            user = own_session.get(User, engineer_id)
            assert user is not None
            actor = Principal(user=user, scopes=frozenset(TokenScope))
            try:
                service.submit_job(
                    session=own_session, actor=actor, data=data, company_id=user.company_id or 0
                )
            except BudgetExceededError:
                return False
            return True

    with ThreadPoolExecutor(max_workers=SUBMITTERS) as pool:
        accepted = sum(pool.map(submit, range(SUBMITTERS)))

    session.expire_all()
    reserved = session.exec(select(func.sum(Job.reserved_gpu_seconds))).one()
    assert accepted == JOBS_THE_BUDGET_HOLDS
    assert reserved == JOBS_THE_BUDGET_HOLDS * 3600
