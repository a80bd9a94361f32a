"""How long a running job is protected from preemption (churn bound; docs/scheduler.md)."""

from __future__ import annotations

import math

from scheduler.core.model import PolicySettings, RunningJob


def protected_until_s(job: RunningJob, settings: PolicySettings) -> float:
    """When ``job`` may first be preempted: ``inf`` if never.

    ``min_runtime_s`` after its start, times ``preemption_backoff`` per earlier preemption,
    at most ``max_preemption_protection_s`` but never below ``min_runtime_s``; never once it
    has been preempted ``max_preemptions_per_job`` times or if it is not preemptible. The
    engine and the replay's wake-ups use this one rule, so they agree to the last bit.
    """
    ends = min_runtime_ends_s(job, settings)
    if not job.preemption_count or ends == math.inf:
        return ends
    protection = settings.min_runtime_s
    try:
        backed_off = protection * settings.preemption_backoff**job.preemption_count
    except OverflowError:  # thousands of preemptions (no minimum run time): beyond any cap
        backed_off = math.inf if protection > 0 else 0.0
    longest = settings.max_preemption_protection_s
    if longest is not None:
        backed_off = min(backed_off, longest)
    return job.start_time_s + max(protection, backed_off)


def min_runtime_ends_s(job: RunningJob, settings: PolicySettings) -> float:
    """When ``job`` has run ``min_runtime_s`` since its start (``inf`` if it may never be
    preempted)."""
    if not job.preemptible:
        return math.inf
    cap = settings.max_preemptions_per_job
    if cap is not None and job.preemption_count >= cap:
        return math.inf
    return job.start_time_s + settings.min_runtime_s


def preemptible_from_s(job: RunningJob, settings: PolicySettings) -> float:
    """``-inf`` if ``job`` may be preempted at all (``inf`` if never: not preemptible, or
    preempted ``max_preemptions_per_job`` times): no run time protects it, which holds only
    against a reclaim past protection (``reclaim_past_protection``) and a company's first
    GPU (``first_gpu_preemption``)."""
    return -math.inf if min_runtime_ends_s(job, settings) != math.inf else math.inf
