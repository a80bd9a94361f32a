"""Pure, deterministic scheduling policy core: ``schedule(SchedulingSnapshot)``.

No I/O, no Ray, no database: the scheduler service and the simulator both build a frozen
:class:`SchedulingSnapshot` and apply the returned :class:`SchedulingResult`.
"""

from scheduler.core.engine import schedule
from scheduler.core.model import (
    CompanyAccount,
    CompanyQuota,
    DeviceShare,
    GpuNode,
    PendingJob,
    PolicySettings,
    PreemptDecision,
    RejectDecision,
    RunningJob,
    SchedulingResult,
    SchedulingSnapshot,
    StartDecision,
    WaitDecision,
    WaitReason,
)
from scheduler.core.policies import POLICIES, OrderingPolicy, get_policy


def core_build() -> str:
    """``"compiled"`` when the mypyc extension modules of this package are loaded (the
    container image builds them: ``ops/compile-core.sh``), else ``"pure"`` (the sources).
    Both decide identically (``python -m scheduler.bench fingerprint``); the compiled
    pass is faster (docs/scheduler.md, "Pass time")."""
    from scheduler.core import engine

    return "pure" if engine.__file__ is None or engine.__file__.endswith(".py") else "compiled"


__all__ = [
    "POLICIES",
    "CompanyAccount",
    "CompanyQuota",
    "DeviceShare",
    "GpuNode",
    "OrderingPolicy",
    "PendingJob",
    "PolicySettings",
    "PreemptDecision",
    "RejectDecision",
    "RunningJob",
    "SchedulingResult",
    "SchedulingSnapshot",
    "StartDecision",
    "WaitDecision",
    "WaitReason",
    "core_build",
    "get_policy",
    "schedule",
]
