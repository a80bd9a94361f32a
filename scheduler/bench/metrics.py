"""Quality metrics of one replay.

- ``utilization``: allocated GPU-seconds / (capacity x makespan).
- ``jain_fairness``: Jain's index over tenants of x = R / F, where over the intervals in
  which the tenant had jobs waiting, R integrates the GPUs it held and F its weighted
  max-min fair share. The share is water-filled by grant weight over the GPUs of every
  tenant's unfinished jobs, respecting GPU types: progressive filling in quanta of 1/4 GPU,
  always to the tenant with the lowest share/weight that can still use a free GPU of a type
  its jobs allow (its most type-constrained demand first, on the type with most room).
- ``max_finish_time_fairness``: Themis' rho: worst tenant's mean JCT divided by its mean JCT
  when run alone on an equal slice (capacity / tenants) of the cluster; the alone run is a
  fluid FIFO list schedule (a job of g GPUs on slice s runs duration x max(1, g / s)).
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

from scheduler.sim.simulator import SimResult
from scheduler.sim.trace import TraceJob


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, math.ceil(q / 100.0 * len(ordered)) - 1)
    return ordered[min(k, len(ordered) - 1)]


def water_fill(
    capacity: float, demand: Mapping[str, float], weight: Mapping[str, float]
) -> dict[str, float]:
    """Weighted max-min fair shares of ``capacity`` for the given demands."""
    active = sorted((d / weight[c], c) for c, d in demand.items() if d > 0)
    share: dict[str, float] = {}
    left = capacity
    w_left = sum(weight[c] for _, c in active)
    for k, (ratio, c) in enumerate(active):
        level = left / w_left if w_left > 0 else 0.0
        if ratio <= level:
            share[c] = demand[c]
            left -= demand[c]
            w_left -= weight[c]
        else:
            for _, rest in active[k:]:
                share[rest] = weight[rest] * level
            break
    return share


class FairnessAccumulator:
    """Integrates received GPUs vs water-filled fair share while a tenant has jobs waiting."""

    def __init__(self, capacity_by_type: Mapping[str, float], weight: Mapping[str, float]) -> None:
        self.capacity_by_type = dict(capacity_by_type)
        self.capacity = sum(capacity_by_type.values())
        self.quantum = max(0.25, self.capacity / 400.0)
        self.weight = dict(weight)
        self.received: dict[str, float] = defaultdict(float)
        self.fair: dict[str, float] = defaultdict(float)

    def __call__(
        self,
        t0: float,
        t1: float,
        alloc: Mapping[str, float],
        demand: Mapping[tuple[str, tuple[str, ...]], float],
        waiting: set[str],
    ) -> None:
        if not waiting:
            return
        dt = t1 - t0
        share = self.fair_shares(demand)
        for c in waiting:
            self.received[c] += alloc.get(c, 0.0) * dt
            self.fair[c] += share.get(c, 0.0) * dt

    def fair_shares(self, demand: Mapping[tuple[str, tuple[str, ...]], float]) -> dict[str, float]:
        """Type-constrained weighted max-min shares by progressive filling."""
        free = dict(self.capacity_by_type)
        classes: dict[str, list[tuple[int, tuple[str, ...], float]]] = defaultdict(list)
        for (tenant, types), gpus in demand.items():
            if gpus > 1e-9:
                usable = tuple(t for t in (types or tuple(free)) if t in free)
                if usable:
                    classes[tenant].append((len(usable), usable, gpus))
        share: dict[str, float] = defaultdict(float)
        heap = []
        for tenant, parts in classes.items():
            parts.sort()
            heap.append((0.0, tenant))
        heapq.heapify(heap)
        q = self.quantum
        while heap:
            _, tenant = heapq.heappop(heap)
            parts = classes[tenant]
            got = False
            for k, (n, types, left) in enumerate(parts):
                t = max(types, key=lambda x: free[x])
                if free[t] <= 1e-9:
                    continue
                amount = min(q, left, free[t])
                free[t] -= amount
                share[tenant] += amount
                parts[k] = (n, types, left - amount)
                if left - amount <= 1e-9:
                    parts.pop(k)
                got = True
                break
            if got and parts:
                heapq.heappush(heap, (share[tenant] / self.weight.get(tenant, 1.0), tenant))
        return share

    def jain(self) -> float:
        xs = [max(0.0, self.received[c]) / f for c, f in self.fair.items() if f > 1e-9]
        squares = sum(x * x for x in xs)
        if not xs or squares == 0:
            return 1.0  # nobody waited, or all waiting tenants were treated alike (nothing)
        return sum(xs) ** 2 / (len(xs) * squares)


def alone_mean_jct(jobs: Sequence[TraceJob], slice_gpus: float) -> float:
    """Mean JCT of ``jobs`` run alone, FIFO, on a fluid slice of ``slice_gpus`` GPUs."""
    free = slice_gpus
    ends: list[tuple[float, float]] = []
    total = 0.0
    now = 0.0
    for job in sorted(jobs, key=lambda j: (j.submit_s, j.job_id)):
        need = min(job.num_gpus, slice_gpus)
        now = max(now, job.submit_s)
        while ends and (ends[0][0] <= now or free + 1e-9 < need):
            end, gpus = heapq.heappop(ends)
            free += gpus
            now = max(now, end)
        run = job.duration_s * max(1.0, job.num_gpus / slice_gpus)
        heapq.heappush(ends, (now + run, need))
        free -= need
        total += now + run - job.submit_s
    return total / len(jobs) if jobs else 0.0


def compute_metrics(
    result: SimResult,
    grants: Mapping[str, float],
    fairness: FairnessAccumulator,
) -> dict[str, float | int]:
    recs = list(result.records.values())
    done = [r for r in recs if r.status == "completed"]
    jct = [r.finish_s - r.job.submit_s for r in done if r.finish_s is not None]
    wait = [r.first_start_s - r.job.submit_s for r in done if r.first_start_s is not None]
    if done:
        first = min(r.job.submit_s for r in recs)
        makespan = max(r.finish_s or 0.0 for r in done) - first
    else:
        makespan = 0.0
    capacity_gpu_s = result.capacity_gpus * makespan
    by_tenant: dict[str, list[float]] = defaultdict(list)
    tenant_jobs: dict[str, list[TraceJob]] = defaultdict(list)
    for r in done:
        by_tenant[r.job.tenant].append((r.finish_s or 0.0) - r.job.submit_s)
        tenant_jobs[r.job.tenant].append(r.job)
    n_tenants = max(1, len(tenant_jobs))
    slice_gpus = result.capacity_gpus / n_tenants
    rho = 0.0
    for tenant, jcts in by_tenant.items():
        alone = alone_mean_jct(tenant_jobs[tenant], slice_gpus)
        if alone > 0:
            rho = max(rho, (sum(jcts) / len(jcts)) / alone)
    overrun = sum(max(0.0, used - grants.get(c, 0.0)) for c, used in result.charged_gpu_s.items())
    return {
        "jobs": len(recs),
        "completed": len(done),
        "rejected": sum(1 for r in recs if r.status == "rejected"),
        "refused_budget": sum(1 for r in recs if r.status == "refused"),
        "avg_jct_s": sum(jct) / len(jct) if jct else 0.0,
        "p50_jct_s": percentile(jct, 50),
        "p95_jct_s": percentile(jct, 95),
        "p99_jct_s": percentile(jct, 99),
        "avg_wait_s": sum(wait) / len(wait) if wait else 0.0,
        "makespan_s": makespan,
        "utilization": result.allocated_gpu_s / capacity_gpu_s if capacity_gpu_s > 0 else 0.0,
        "jain_fairness": fairness.jain(),
        "max_finish_time_fairness": rho,
        "budget_overrun_gpu_s": overrun,
        "preemptions": result.preemptions,
        "lost_gpu_s": result.lost_gpu_s,
        "replay_s": result.replay_s,
        "scheduler_passes": result.passes,
        "scheduler_pass_ms_avg": 1000.0 * result.pass_time_s / max(1, result.passes),
    }
