"""Backfill reservations and estimated start times.

Both use the only thing the hub knows about the future: running jobs end at the latest at
their time limit. Estimates are therefore upper bounds for the release side, and a fluid
approximation for the queue side (jobs ahead in the same GPU-type pool take capacity first).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import accumulate

from scheduler.core.model import PendingJob, RunningJob
from scheduler.core.placement import UNIT, ClusterCapacity, JobShape, Slot, to_units


def find_reservation(
    cap: ClusterCapacity,
    shape: JobShape,
    types: tuple[str, ...],
    running: Iterable[RunningJob],
    now_s: float,
) -> tuple[float, list[Slot]] | None:
    """Earliest time (and devices) at which the job fits if running jobs end at their limits."""
    nodes = {i for t in types for i in cap.by_type.get(t, ())}
    if not nodes:
        return None
    view = [list(row) for row in cap.avail]
    releases = []
    for job in running:
        shares = [
            (cap.index_of[s.node_id], s.device_index, to_units(s.fraction))
            for s in job.placement
            if cap.index_of.get(s.node_id) in nodes
        ]
        if shares:
            releases.append((job.expected_end_s(), job.job_id, shares))
    releases.sort()
    for end, _, shares in releases:
        for i, d, u in shares:
            view[i][d] += u
        slots = cap._find_in(view, shape, types)
        if slots is not None:
            return max(end, now_s), slots
    return None


class StartEstimator:
    """Fluid estimate of when each waiting job starts, in queue order, per GPU-type pool."""

    def __init__(self, cap: ClusterCapacity, running: Sequence[RunningJob], now_s: float) -> None:
        self.cap = cap
        self.now_s = now_s
        self.type_of_job: list[tuple[float, float, str]] = []
        for job in running:
            if job.placement and job.placement[0].node_id in cap.index_of:
                t = cap.nodes[cap.index_of[job.placement[0].node_id]].gpu_type
                self.type_of_job.append((job.expected_end_s(), job.num_gpus, t))
        self.type_of_job.sort()
        self.pools: dict[tuple[str, ...], tuple[float, list[float], list[float], float]] = {}
        self.ahead: dict[tuple[str, ...], float] = {}

    def _pool(self, types: tuple[str, ...]) -> tuple[float, list[float], list[float], float]:
        pool = self.pools.get(types)
        if pool is None:
            tset = set(types)
            ends = [e for e, _, t in self.type_of_job if t in tset]
            gpus = [g for _, g, t in self.type_of_job if t in tset]
            free = 0.0
            capacity = 0.0
            for t in types:
                for i in self.cap.by_type.get(t, ()):
                    free += sum(max(0, u) for u in self.cap.free[i]) / UNIT
                    capacity += len(self.cap.free[i])
            pool = (free, ends, list(accumulate(gpus)), capacity)
            self.pools[types] = pool
        return pool

    def estimate(self, job: PendingJob, types: tuple[str, ...]) -> float | None:
        if not types:
            return None
        free, ends, cumulative, capacity = self._pool(types)
        if capacity <= 0:
            return None
        ahead = self.ahead.get(types, 0.0) + job.num_gpus
        self.ahead[types] = ahead
        need = ahead - free
        if not ends:
            return self.now_s if need <= 0 else None
        if need <= 0:
            return max(self.now_s, ends[0])
        k = bisect_left(cumulative, need)
        if k < len(ends):
            return max(self.now_s, ends[k])
        turnover = max(3600.0, (ends[-1] - self.now_s))
        overflow = need - cumulative[-1]
        return ends[-1] + (overflow / capacity) * turnover
