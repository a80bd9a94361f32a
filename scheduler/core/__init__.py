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
    "get_policy",
    "schedule",
]
