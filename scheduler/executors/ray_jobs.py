"""The Ray executor: starts, stops and watches hub jobs through the Ray Jobs API.

Ray queues a job that does not fit and fails it after 15 minutes pending, and cannot stop a job
that waits for resources no node has (../shared/stack-notes.md); so the hub queues on its own
side and submits only what its policy core placed. Each job is pinned with
``entrypoint_resources``: ``gpu_type:<T>`` (the node's GPU model) and, where the node carries
one, a token amount of its ``axhub_node:<name>`` marker resource.

Ray can report a dead raylet's jobs failed (their supervisor died) while its node list still
calls the raylet alive; the executor then leaves that Ray node out of its inventory, by Ray node
id so that a raylet re-registered under the same name is not. The memory lives in the process:
after a scheduler restart a start onto such a node is caught by the start timeout instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence, Set
from typing import Any

from scheduler.core.model import GpuNode
from scheduler.executors.launch import (
    GPU_TYPE_RESOURCE_PREFIX,
    NODE_PIN_AMOUNT,
    NODE_RESOURCE_PREFIX,
    ExecutorUnavailableError,
    JobLaunch,
    RunState,
    RunStatus,
)

_TRANSIENT = (ConnectionError, TimeoutError, OSError)
PER_JOB_LOOKUP_LIMIT = 8


# A Ray node under which a run's supervisor died is left out of the inventory until Ray stops
# listing it as alive, or for this long at most (a supervisor can die on a healthy node too).
BROKEN_NODE_HOLD_S = 300.0


def nodes_from_ray(
    ray_nodes: Iterable[Mapping[str, Any]], *, broken: Set[str] = frozenset()
) -> tuple[list[GpuNode], set[str]]:
    """GPU nodes from Ray's node list, and the names of those that can be pinned.

    A node's name is its ``axhub_node:<name>`` marker resource (pinnable), else its Ray node id;
    its GPU type is its ``gpu_type:<T>`` resource. Dead nodes, nodes without GPUs and the
    ``broken`` Ray node ids are left out. A raylet that re-registers under a name Ray still
    lists for its dead predecessor supersedes it: the one started last holds the name.
    """
    latest: dict[str, tuple[float, GpuNode]] = {}
    pinnable = set()
    for raw in ray_nodes:
        if raw.get("state") != "ALIVE" or str(raw["node_id"]) in broken:
            continue
        resources: Mapping[str, float] = raw.get("resources_total") or {}
        gpus = int(resources.get("GPU", 0))
        if gpus <= 0:
            continue
        names = [
            k.removeprefix(NODE_RESOURCE_PREFIX)
            for k in resources
            if k.startswith(NODE_RESOURCE_PREFIX)
        ]
        types = [
            k.removeprefix(GPU_TYPE_RESOURCE_PREFIX)
            for k in resources
            if k.startswith(GPU_TYPE_RESOURCE_PREFIX)
        ]
        node_id = names[0] if names else str(raw["node_id"])
        if names:
            pinnable.add(node_id)
        started = float(raw.get("start_time_ms") or 0)
        if node_id in latest and latest[node_id][0] > started:
            continue
        node = GpuNode(node_id=node_id, gpu_type=types[0] if types else "GPU", gpu_count=gpus)
        latest[node_id] = (started, node)
    return [latest[name][1] for name in sorted(latest)], pinnable


# Ray's ``JobErrorType`` values that mean the run's supervisor (on the job's node) died, not its
# entrypoint: the node or its raylet went away. Ray can report these before its node list marks
# the node dead, so they alone mark the run lost.
INFRASTRUCTURE_ERROR_TYPES = frozenset({"JOB_SUPERVISOR_ACTOR_DIED"})


def error_type_of(details: Any) -> str | None:
    error_type = getattr(details, "error_type", None)
    return None if error_type is None else str(getattr(error_type, "value", error_type))


def run_status_of(details: Any) -> RunStatus:
    """A ``RunStatus`` from Ray's ``JobDetails`` (``node_id``: the Ray node of the job's
    supervisor and driver)."""
    return RunStatus(
        submission_id=details.submission_id,
        state=RunState(getattr(details.status, "value", details.status)),
        message=details.message or "",
        start_time_s=details.start_time / 1000 if details.start_time else None,
        end_time_s=details.end_time / 1000 if details.end_time else None,
        node_id=details.driver_node_id,
        exit_code=details.driver_exit_code,
        infrastructure_failed=error_type_of(details) in INFRASTRUCTURE_ERROR_TYPES,
    )


def still_broken(
    broken_since: Mapping[str, float], listed: Iterable[Mapping[str, Any]], *, now: float
) -> dict[str, float]:
    """The broken Ray nodes that Ray still lists as alive and whose hold has not run out."""
    alive = {str(raw["node_id"]) for raw in listed if raw.get("state") == "ALIVE"}
    return {
        node: since
        for node, since in broken_since.items()
        if node in alive and now - since < BROKEN_NODE_HOLD_S
    }


def entrypoint_resources(launch: JobLaunch, pinnable_nodes: set[str]) -> dict[str, float]:
    resources: dict[str, float] = {}
    if launch.gpu_type and launch.num_gpus > 0:
        resources[GPU_TYPE_RESOURCE_PREFIX + launch.gpu_type] = launch.num_gpus
    if launch.node_id and launch.node_id in pinnable_nodes:
        resources[NODE_RESOURCE_PREFIX + launch.node_id] = NODE_PIN_AMOUNT
    return resources


class RayJobExecutor:
    """``JobExecutor`` over ``ray.job_submission.JobSubmissionClient`` (dashboard address)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._client: Any = None
        self._lock = threading.Lock()
        self._pinnable_nodes: set[str] = set()
        # Ray node id -> when (monotonic) a run's supervisor was seen dead on it
        self._broken_since: dict[str, float] = {}

    def _job_client(self) -> Any:
        with self._lock:
            if self._client is None:
                from ray.job_submission import JobSubmissionClient

                try:
                    self._client = JobSubmissionClient(self.address)
                except Exception as exc:  # the constructor probes the dashboard
                    raise ExecutorUnavailableError(
                        f"Ray unreachable at {self.address}: {exc}"
                    ) from exc
            return self._client

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        client = self._job_client()
        try:
            return getattr(client, method)(*args, **kwargs)
        except _TRANSIENT as exc:
            self._client = None
            raise ExecutorUnavailableError(f"Ray unreachable at {self.address}: {exc}") from exc

    def start(self, launch: JobLaunch) -> None:
        runtime_env: dict[str, Any] = {"env_vars": dict(launch.env_vars)}
        if launch.working_dir:
            runtime_env["working_dir"] = launch.working_dir
        try:
            self._call(
                "submit_job",
                entrypoint=launch.entrypoint,
                submission_id=launch.submission_id,
                runtime_env=runtime_env,
                metadata={"axhub_job_id": launch.job_id, **dict(launch.metadata)},
                entrypoint_num_gpus=launch.num_gpus or None,
                entrypoint_resources=entrypoint_resources(launch, self._pinnable_nodes) or None,
            )
        except ExecutorUnavailableError:
            raise
        except RuntimeError as exc:
            # Ray answers HTTP 500 for a submission id it already has: already started.
            if self._exists(launch.submission_id):
                return
            raise ExecutorUnavailableError(f"Ray refused {launch.submission_id}: {exc}") from exc

    def _info(self, submission_id: str) -> Any:
        try:
            return self._call("get_job_info", submission_id)
        except ExecutorUnavailableError:
            raise
        except Exception:
            return None

    def _exists(self, submission_id: str) -> bool:
        return self._info(submission_id) is not None

    def stop(self, submission_id: str) -> None:
        try:
            self._call("stop_job", submission_id)
        except ExecutorUnavailableError:
            raise
        except RuntimeError:
            pass  # unknown or already finished

    def statuses(self, submission_ids: Iterable[str]) -> dict[str, RunStatus]:
        wanted = set(submission_ids)
        if not wanted:
            return {}
        # a few runs (the usual case while jobs start): one cheap lookup each; else one list
        if len(wanted) <= PER_JOB_LOOKUP_LIMIT:
            found = [info for sid in wanted if (info := self._info(sid)) is not None]
        else:
            found = [d for d in self._call("list_jobs") if d.submission_id in wanted]
        answer = {details.submission_id: run_status_of(details) for details in found}
        for status in answer.values():
            if status.infrastructure_failed and status.node_id:
                self._broken_since.setdefault(status.node_id, time.monotonic())
        return answer

    def logs(self, submission_id: str) -> str:
        try:
            return str(self._call("get_job_logs", submission_id))
        except ExecutorUnavailableError:
            raise
        except RuntimeError:
            return ""

    def inventory(self) -> Sequence[GpuNode]:
        from ray.util.state import list_nodes

        try:
            states = list_nodes(address=self.address, detail=True, raise_on_missing_output=False)
        except Exception as exc:
            raise ExecutorUnavailableError(f"Ray unreachable at {self.address}: {exc}") from exc
        listed = [
            {
                "state": n.state,
                "node_id": n.node_id,
                "resources_total": n.resources_total,
                "start_time_ms": n.start_time_ms,
            }
            for n in states
        ]
        self._broken_since = still_broken(self._broken_since, listed, now=time.monotonic())
        nodes, self._pinnable_nodes = nodes_from_ray(listed, broken=set(self._broken_since))
        return nodes
