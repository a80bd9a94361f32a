"""Backfill reservations and estimated start times.

Both use the only thing the hub knows about the future: running jobs end at the latest at
their time limit. Estimates are therefore upper bounds for the release side, and a fluid
approximation for the queue side (jobs ahead in the same GPU-type pool take capacity first).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import accumulate, chain

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
    view = cap.avail_copy(nodes)
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
        if shape.multi_node:
            slots = cap.find_in(view, shape, types)
        else:  # only the nodes this release touched can newly fit the job
            touched = sorted({i for i, _, _ in shares})
            slots = cap.find_in(view, shape, types, touched)
        if slots is not None:
            return max(end, now_s), slots
    return None


class _Pool:
    """Releases and queue of one set of allowed GPU types."""

    __slots__ = (
        "ahead", "capacity", "cumulative", "ends", "first", "free", "last", "n", "now", "rate",
        "total",
    )  # fmt: skip

    def __init__(
        self, free: float, capacity: float, ends: list[float], gpus: list[float], now: float
    ):
        self.free = free
        self.capacity = capacity
        self.now = now
        k = bisect_left(ends, now)  # ends ascending: the ones already past start now
        self.ends = [now] * k + ends[k:] if k else ends
        self.cumulative = list(accumulate(gpus))
        self.n = len(ends)
        self.first = self.ends[0] if ends else now
        self.ahead = 0.0
        self.total = self.cumulative[-1] if self.cumulative else 0.0
        self.last = self.ends[-1] if self.ends else now
        # past the last known release, assume the pool turns over at its current pace
        turnover = max(3600.0, self.last - now)
        self.rate = turnover / capacity if capacity > 0 else None

    def beyond(self, need: float) -> float | None:
        """Start estimate for demand past the last known release."""
        if self.rate is None:
            return None
        return self.last + (need - self.total) * self.rate


class StartEstimator:
    """Fluid estimate of when each waiting job starts, in queue order, per GPU-type pool."""

    def __init__(self, cap: ClusterCapacity, running: Sequence[RunningJob], now_s: float) -> None:
        self.cap = cap
        self.now_s = now_s
        # per GPU type: (latest end, GPUs) of its running jobs, by end; free GPUs
        self.by_type: dict[str, list[tuple[float, float]]] = {}
        for job in running:
            if job.placement and job.placement[0].node_id in cap.index_of:
                t = cap.nodes[cap.index_of[job.placement[0].node_id]].gpu_type
                self.by_type.setdefault(t, []).append((job.expected_end_s(), job.num_gpus))
        for releases in self.by_type.values():
            releases.sort()
        self.pools: dict[tuple[str, ...], _Pool] = {}

    def _pool(self, types: tuple[str, ...]) -> _Pool:
        merged = [self.by_type.get(t, []) for t in dict.fromkeys(types)]
        releases = merged[0] if len(merged) == 1 else sorted(chain.from_iterable(merged))
        # (the same order as sorting all running jobs by (end, GPUs) and keeping these types)
        ends = [e for e, _ in releases]
        gpus = [g for _, g in releases]
        free = 0.0
        capacity = 0.0
        for t in types:
            for i in self.cap.by_type.get(t, ()):
                row = self.cap.free[i]
                if min(row, default=0) >= 0:
                    free += sum(row) / UNIT
                else:
                    free += sum(max(0, u) for u in row) / UNIT
                capacity += len(row)
        pool = self.pools[types] = _Pool(free, capacity, ends, gpus, self.now_s)
        return pool

    def estimate(self, job: PendingJob, types: tuple[str, ...]) -> float | None:
        """Start estimate for the next job in queue order (call in queue order)."""
        pool = self.pools.get(types) or self._pool(types)
        pool.ahead += job.num_gpus
        need = pool.ahead - pool.free
        if need <= 0:
            return pool.first
        k = bisect_left(pool.cumulative, need)
        if k < pool.n:
            return pool.ends[k]
        return pool.beyond(need)
