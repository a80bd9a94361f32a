"""An in-memory executor for fast unit tests of the scheduler service (never used in production).

Runs start RUNNING at once (or stay PENDING with ``start_pending=True``); tests end them with
``complete``/``fail`` and can drop nodes or make the whole cluster unreachable. Like the Ray
executor, it leaves a node out of its inventory once a run failed there for the cluster's own
fault (``fail(..., infrastructure=True)``) until ``repair`` is called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from scheduler.core.model import GpuNode
from scheduler.executors.launch import (
    ExecutorUnavailableError,
    JobLaunch,
    RunState,
    RunStatus,
)


@dataclass
class MemoryRun:
    launch: JobLaunch
    status: RunStatus
    log: str = ""


class InMemoryExecutor:
    def __init__(
        self,
        nodes: Sequence[GpuNode],
        *,
        start_pending: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.nodes = list(nodes)
        self.broken: set[str] = set()
        self.runs: dict[str, MemoryRun] = {}
        self.submissions: list[str] = []  # every start call, duplicates included
        self.reachable = True
        self.start_pending = start_pending
        self.clock = clock

    @property
    def now_s(self) -> float | None:
        return self.clock() if self.clock else None

    def _check(self) -> None:
        if not self.reachable:
            raise ExecutorUnavailableError("in-memory cluster is down")

    def start(self, launch: JobLaunch) -> None:
        self._check()
        self.submissions.append(launch.submission_id)
        if launch.submission_id in self.runs:
            return
        state = RunState.PENDING if self.start_pending else RunState.RUNNING
        self.runs[launch.submission_id] = MemoryRun(
            launch=launch,
            status=RunStatus(
                submission_id=launch.submission_id,
                state=state,
                start_time_s=None if self.start_pending else self.now_s,
                node_id=launch.node_id,
            ),
            log=f"started {launch.entrypoint}\n",
        )

    def _end(
        self,
        submission_id: str,
        state: RunState,
        message: str = "",
        *,
        infrastructure: bool = False,
    ) -> None:
        run = self.runs[submission_id]
        run.status = replace(
            run.status,
            state=state,
            end_time_s=self.now_s,
            message=message,
            infrastructure_failed=infrastructure,
        )

    def complete(self, submission_id: str) -> None:
        self._end(submission_id, RunState.SUCCEEDED)

    def fail(
        self, submission_id: str, message: str = "exit code 1", *, infrastructure: bool = False
    ) -> None:
        """End the run as failed: by its own code, or (``infrastructure``) because the cluster's
        machinery died under it, as Ray reports a dead node's jobs."""
        self._end(submission_id, RunState.FAILED, message, infrastructure=infrastructure)
        node = self.runs[submission_id].launch.node_id
        if infrastructure and node:
            self.broken.add(node)

    def repair(self, node_id: str) -> None:
        self.broken.discard(node_id)

    def begin(self, submission_id: str) -> None:
        run = self.runs[submission_id]
        run.status = replace(run.status, state=RunState.RUNNING, start_time_s=self.now_s)

    def stop(self, submission_id: str) -> None:
        self._check()
        run = self.runs.get(submission_id)
        if run is not None and not run.status.state.is_terminal:
            self._end(submission_id, RunState.STOPPED, "stopped")

    def statuses(self, submission_ids: Iterable[str]) -> dict[str, RunStatus]:
        self._check()
        return {sid: self.runs[sid].status for sid in submission_ids if sid in self.runs}

    def logs(self, submission_id: str) -> str:
        self._check()
        run = self.runs.get(submission_id)
        return run.log if run else ""

    def inventory(self) -> Sequence[GpuNode]:
        self._check()
        return [node for node in self.nodes if node.node_id not in self.broken]

    def forget(self, submission_id: str) -> None:
        """The cluster lost the run (e.g. the head restarted)."""
        self.runs.pop(submission_id, None)

    def running(self) -> list[str]:
        return [sid for sid, run in self.runs.items() if run.status.state == RunState.RUNNING]
