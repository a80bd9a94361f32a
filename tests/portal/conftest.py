"""Portal tests: Streamlit's AppTest against a real hub_api served over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub_api.live_server import serve_in_thread
from scheduler.executors.memory import InMemoryExecutor
from scheduler.service.runner import SchedulerService
from tests.hub_api.jobs.builders import Clock
from tests.portal.hub_world import NODES, HubWorld, build_engine_and_settings, make_app, populate

APP = str(Path(__file__).resolve().parents[2] / "portal" / "streamlit_app.py")


@pytest.fixture(params=["sqlite"])
def db_backend(request: pytest.FixtureRequest) -> str:
    """The portal talks HTTP; one database backend is enough here."""
    return str(request.param)


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubWorld]:
    engine, settings = build_engine_and_settings(tmp_path_factory.mktemp("portal"))
    clock = Clock()
    executor = InMemoryExecutor(NODES, clock=clock.epoch)
    service = SchedulerService(engine=engine, executor=executor, settings=settings, clock=clock)
    with serve_in_thread(make_app(engine, settings, executor)) as url:
        world = HubWorld(url, engine, settings, service, executor)
        populate(world, clock)
        yield world
    engine.dispose()
