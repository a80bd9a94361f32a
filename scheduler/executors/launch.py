"""What the scheduler service hands an executor: a launch spec, and what it reads back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from scheduler.core.model import GpuNode

GPU_TYPE_RESOURCE_PREFIX = "gpu_type:"
NODE_RESOURCE_PREFIX = "axhub_node:"
# A token amount of the node's marker resource pins a job to that node without using it up.
NODE_PIN_AMOUNT = 0.001


def submission_id_for(job_id: str, attempt: int) -> str:
    """Deterministic per (job, attempt): a retried start can never start a job twice."""
    return f"axhub-{job_id}-a{attempt}"


@dataclass(frozen=True, slots=True)
class JobLaunch:
    job_id: str
    submission_id: str
    entrypoint: str
    num_gpus: float
    gpu_type: str | None = None
    node_id: str | None = None
    working_dir: str | None = None
    env_vars: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)


class RunState(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"

    @property
    def is_terminal(self) -> bool:
        return self in (RunState.SUCCEEDED, RunState.FAILED, RunState.STOPPED)


@dataclass(frozen=True, slots=True)
class RunStatus:
    submission_id: str
    state: RunState
    message: str = ""
    start_time_s: float | None = None
    end_time_s: float | None = None
    node_id: str | None = None
    exit_code: int | None = None
    # The cluster's own machinery died under the run (Ray: the job's supervisor actor died,
    # which is what a lost node looks like before the node list says so): not the job's fault.
    infrastructure_failed: bool = False


class ExecutorUnavailableError(RuntimeError):
    """The cluster cannot be reached; the service backs off and retries."""


class JobExecutor(Protocol):
    """Runs jobs on a cluster. Implemented for Ray (``RayJobExecutor``) and in memory for tests."""

    def start(self, launch: JobLaunch) -> None:
        """Submit ``launch``; a submission id the cluster already has is not an error."""
        ...

    def stop(self, submission_id: str) -> None:
        """Stop a run (no error if it already ended or is unknown)."""
        ...

    def statuses(self, submission_ids: Iterable[str]) -> dict[str, RunStatus]:
        """Current status of each known run; unknown ids are absent from the answer."""
        ...

    def logs(self, submission_id: str) -> str: ...

    def inventory(self) -> Sequence[GpuNode]:
        """Alive GPU nodes with their GPU type and count; a node under which a run's supervisor
        was seen to die is left out while the cluster may still list it."""
        ...
