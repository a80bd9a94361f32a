"""How the Ray executor reads Ray's job records (recorded ``JobDetails``, no cluster needed)."""

from __future__ import annotations

from typing import Any

import pytest
from ray.job_submission import JobDetails, JobStatus, JobType

from scheduler.executors.launch import RunState
from scheduler.executors.ray_jobs import RayJobExecutor


def details(**overrides: Any) -> JobDetails:
    fields: dict[str, Any] = {
        "type": JobType.SUBMISSION,
        "entrypoint": "python train.py",
        "submission_id": "axhub-7-a0",
        "status": JobStatus.FAILED,
        "message": "Job supervisor actor died: the node died",
        "start_time": 1_700_000_000_000,
        "end_time": 1_700_000_060_000,
        "driver_exit_code": None,
    }
    return JobDetails(**(fields | overrides))


class RecordedClient:
    def __init__(self, job: JobDetails) -> None:
        self.job = job

    def get_job_info(self, submission_id: str) -> JobDetails:
        assert submission_id == self.job.submission_id
        return self.job


def status_of(job: JobDetails) -> Any:
    executor = RayJobExecutor("http://127.0.0.1:1")
    executor._client = RecordedClient(job)
    return executor.statuses([job.submission_id])[job.submission_id]


@pytest.mark.parametrize(
    ("error_type", "infrastructure_failed"),
    [
        ("JOB_SUPERVISOR_ACTOR_DIED", True),
        ("JOB_ENTRYPOINT_COMMAND_ERROR", False),
        ("RUNTIME_ENV_SETUP_FAILURE", False),
        (None, False),
    ],
)
def test_a_failed_run_is_the_clusters_fault_only_when_its_supervisor_died(
    error_type: str | None, infrastructure_failed: bool
) -> None:
    status = status_of(details(error_type=error_type))
    assert status.state == RunState.FAILED
    assert status.infrastructure_failed is infrastructure_failed


def test_times_and_exit_code_are_read_in_seconds() -> None:
    status = status_of(details(status=JobStatus.SUCCEEDED, driver_exit_code=0, message=""))
    assert (status.state, status.exit_code) == (RunState.SUCCEEDED, 0)
    assert (status.start_time_s, status.end_time_s) == (1_700_000_000.0, 1_700_000_060.0)


def test_the_node_under_a_dead_supervisor_leaves_the_inventory() -> None:
    executor = RayJobExecutor("http://127.0.0.1:1")
    executor._client = RecordedClient(
        details(error_type="JOB_SUPERVISOR_ACTOR_DIED", driver_node_id="aa")
    )
    executor.statuses(["axhub-7-a0"])
    assert set(executor._broken_since) == {"aa"}


def test_a_run_failing_by_itself_leaves_its_node_in_the_inventory() -> None:
    executor = RayJobExecutor("http://127.0.0.1:1")
    executor._client = RecordedClient(
        details(error_type="JOB_ENTRYPOINT_COMMAND_ERROR", driver_node_id="aa")
    )
    executor.statuses(["axhub-7-a0"])
    assert executor._broken_since == {}
