"""Small builders for scheduler tests: terse snapshots with sensible defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from scheduler.core import (
    CompanyAccount,
    CompanyQuota,
    DeviceShare,
    GpuNode,
    PendingJob,
    PolicySettings,
    RunningJob,
    SchedulingResult,
    SchedulingSnapshot,
    schedule,
)

NOW = 100_000.0
# Builders start with the shared machinery off; each test turns on what it is about.
BARE: dict[str, object] = {
    "backfill": False,
    "preemption": False,
    "quota_reclaim": False,
    "starvation_after_s": None,
}
PLENTY = 1e12


def node(node_id: str, gpus: int = 4, gpu_type: str = "A100", draining: bool = False) -> GpuNode:
    return GpuNode(node_id, gpu_type, gpus, draining)


def pending(
    job_id: str,
    gpus: float = 1.0,
    company: str = "acme",
    *,
    limit_h: float = 1.0,
    submit: float = 0.0,
    types: tuple[str, ...] = (),
    priority: int = 0,
    multi_node: bool = False,
    attained: float = 0.0,
    preemptible: bool = True,
) -> PendingJob:
    return PendingJob(
        job_id, company, gpus, limit_h * 3600.0, NOW - 10_000.0 + submit, types, priority,
        preemptible, multi_node, attained,
    )  # fmt: skip


def running(
    job_id: str,
    on: str | Iterable[tuple[str, int, float]],
    gpus: float = 1.0,
    company: str = "acme",
    *,
    started_ago_s: float = 3600.0,
    limit_h: float = 10.0,
    priority: int = 0,
    attained: float = 0.0,
    preemptible: bool = True,
    submit: float = 0.0,
) -> RunningJob:
    """``on`` is a node id (whole devices 0..gpus-1, or device 0 for a fraction) or shares."""
    if isinstance(on, str):
        if gpus < 1:
            shares: tuple[DeviceShare, ...] = (DeviceShare(on, 0, gpus),)
        else:
            shares = tuple(DeviceShare(on, d, 1.0) for d in range(int(gpus)))
    else:
        shares = tuple(DeviceShare(n, d, f) for n, d, f in on)
    return RunningJob(
        job_id, company, gpus, shares, NOW - started_ago_s, limit_h * 3600.0,
        NOW - started_ago_s - 60.0 + submit, (), priority, preemptible, False, attained,
    )  # fmt: skip


def snapshot(
    nodes: Iterable[GpuNode],
    pending_jobs: Iterable[PendingJob] = (),
    running_jobs: Iterable[RunningJob] = (),
    *,
    policy: str = "fifo",
    budgets: Mapping[str, float] | None = None,
    quotas: Mapping[str, CompanyQuota] | None = None,
    now: float = NOW,
    **settings: object,
) -> SchedulingSnapshot:
    pend = tuple(pending_jobs)
    run = tuple(running_jobs)
    companies = {j.company_id for j in pend} | {j.company_id for j in run}
    budget = dict(budgets or {})
    accounts = {c: CompanyAccount(c, budget.get(c, PLENTY)) for c in companies | set(budget)}
    return SchedulingSnapshot(
        now_s=now,
        nodes=tuple(nodes),
        running=run,
        pending=pend,
        quotas=dict(quotas or {}),
        accounts=accounts,
        settings=PolicySettings(policy=policy, **{**BARE, **settings}),  # type: ignore[arg-type]
    )


def run_pass(*args: object, **kwargs: object) -> SchedulingResult:
    return schedule(snapshot(*args, **kwargs))  # type: ignore[arg-type]


def started(result: SchedulingResult) -> list[str]:
    return [s.job_id for s in result.starts]


def waiting(result: SchedulingResult) -> dict[str, str]:
    return {w.job_id: w.reason for w in result.waiting}


def preempted(result: SchedulingResult) -> list[str]:
    return [p.job_id for p in result.preemptions]
