"""One scheduler leader at a time: a second instance waits until the first lets go."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from sqlalchemy.engine import Engine

from scheduler.service.leader import LeaderLock


def locks(engine: Engine, tmp_path: Path) -> tuple[LeaderLock, LeaderLock]:
    key = random.randint(1, 2**31)  # concurrent test runs share the PostgreSQL server
    lock_file = tmp_path / "scheduler.lock"
    return (
        LeaderLock(engine, lock_file=lock_file, key=key),
        LeaderLock(engine, lock_file=lock_file, key=key),
    )


def test_a_second_instance_cannot_lead_while_the_first_does(engine: Engine, tmp_path: Path) -> None:
    first, second = locks(engine, tmp_path)
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_a_waiting_instance_takes_over_when_the_leader_stops(
    engine: Engine, tmp_path: Path
) -> None:
    first, second = locks(engine, tmp_path)
    assert first.try_acquire()
    took_over = threading.Event()

    def wait_for_leadership() -> None:
        if second.acquire(poll_s=0.05):
            took_over.set()

    waiter = threading.Thread(target=wait_for_leadership, daemon=True)
    waiter.start()
    assert not took_over.wait(0.3)
    first.release()
    assert took_over.wait(5)
    second.release()


def test_waiting_can_be_cancelled(engine: Engine, tmp_path: Path) -> None:
    first, second = locks(engine, tmp_path)
    assert first.try_acquire()
    stop = threading.Event()
    stop.set()
    assert second.acquire(poll_s=0.05, stop=stop) is False
    first.release()
