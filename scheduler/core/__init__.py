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
    container image builds them: ``ops/compile-core.sh``), ``"pure"`` when its sources are,
    ``"partial"`` for a mix (a module added after the build). Both builds decide alike (``python -m
    scheduler.bench fingerprint``); the compiled pass is faster (docs/scheduler.md)."""
    import importlib
    import pkgutil

    compiled = {
        not (importlib.import_module(f"{__name__}.{info.name}").__file__ or "").endswith(".py")
        for info in pkgutil.iter_modules(__path__)
    }
    return "partial" if len(compiled) > 1 else "compiled" if True in compiled else "pure"


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
