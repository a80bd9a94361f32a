"""The interface between scheduling decisions and whatever runs the jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from scheduler.core.model import DeviceShare, PendingJob, RunningJob


class Executor(Protocol):
    """Runs jobs. The scheduler service binds Ray to it; the simulator a simulated clock."""

    def start(self, job: PendingJob, placement: tuple[DeviceShare, ...]) -> None:
        """Start ``job`` on exactly ``placement`` (idempotent per job id)."""
        ...

    def stop(self, job_id: str, reason: str) -> None:
        """Stop (preempt or cancel) a running job; it may be started again later."""
        ...

    def list_running(self) -> Sequence[RunningJob]:
        """Jobs the executor currently runs, with their placements."""
        ...
