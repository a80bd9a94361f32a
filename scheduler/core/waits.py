"""Wait records of a pass turned into decisions: queue position, reason, estimated start."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from scheduler.core.estimate import StartEstimator, _Pool
from scheduler.core.model import PendingJob, RunningJob, WaitDecision, WaitReason
from scheduler.core.placement import ClusterCapacity, JobShape

# (job, code, text or blocking job id, allowed GPU types, a number unique to the job's GPU
# types, GPUs and multi-node flag or None), in queue order; the number saves building and
# hashing that key again for each of thousands of capacity waits
Wait = tuple[PendingJob, WaitReason, str, tuple[str, ...], int | None]


def fmt_in(t: float, now: float) -> str:
    return f"in {(t - now) / 3600.0:.1f} h"


def wait_decisions(
    waits: Sequence[Wait],
    cap: ClusterCapacity,
    running: Sequence[RunningJob],
    now: float,
    reserved_at: dict[str, float],
    min_shadow: float,
) -> tuple[WaitDecision, ...]:
    """One decision per wait record, in queue order (position 1 is next)."""
    estimator = StartEstimator(cap, list(running), now)
    estimate = estimator.estimate
    pools, new_pool = estimator.pools, estimator._pool
    texts: dict[tuple[tuple[str, ...], float, bool], str] = {}
    behind = (
        f"free GPUs are reserved for an earlier job from {fmt_in(min_shadow, now)}"
        "; this job's time limit runs past that"
    )
    capacity, reserved = WaitReason.CAPACITY, WaitReason.RESERVED
    behind_code, draining = WaitReason.BEHIND_RESERVATION, WaitReason.DRAINING
    head_of_line = WaitReason.HEAD_OF_LINE
    decision = tuple.__new__  # WaitDecision(...) without its Python-level __new__
    # per (types, GPUs, multi-node): (reason text, pool), for capacity waits
    shared: dict[tuple[tuple[str, ...], float, bool] | int, tuple[str, _Pool]] = {}
    out: list[WaitDecision] = []
    append = out.append
    when: float | None
    for position, (job, code, text, types, serial) in enumerate(waits, start=1):
        if code is capacity:
            key = serial if serial is not None else (types, job.num_gpus, job.allow_multi_node)
            hit = shared.get(key)
            if hit is None:
                shape = (types, job.num_gpus, job.allow_multi_node)
                text = texts.get(shape) or texts.setdefault(shape, capacity_text(cap, job, types))
                hit = shared[key] = (text, pools.get(types) or new_pool(types))
            text, pool = hit
            # StartEstimator.estimate, inlined
            ahead = pool.ahead = pool.ahead + job.num_gpus
            need = ahead - pool.free
            if need <= 0:
                when = pool.first
            elif need <= pool.total:
                when = pool.ends[bisect_left(pool.cumulative, need)]
            elif pool.rate is not None:
                when = pool.last + (need - pool.total) * pool.rate
            else:
                when = None
        elif code is reserved:
            estimate(job, types)
            when = reserved_at[job.job_id]
            text = f"{text} {fmt_in(when, now)}"
        elif code is behind_code:
            text, when = behind, estimate(job, types)
        else:
            when = None
            if code is draining:
                text = f"all {'/'.join(types)} nodes are draining"
            elif code is head_of_line:
                text = f"strict FIFO: waiting behind blocked job {text}"
        append(decision(WaitDecision, (job.job_id, code, text, position, when)))
    return tuple(out)


def capacity_text(cap: ClusterCapacity, job: PendingJob, types: tuple[str, ...]) -> str:
    """E.g. ``waiting for 8 GPUs on one A100 node; largest free block is 4``."""
    shape = JobShape.of(job.num_gpus, job.allow_multi_node)
    where = "/".join(types)
    largest = cap.largest_block(shape, types)
    if shape.whole == 0:
        return (
            f"waiting for {shape.describe()} on a {where} GPU; "
            f"the most free on one GPU is {largest:g}"
        )
    scope = "across" if shape.multi_node else "on one"
    return f"waiting for {shape.describe()} {scope} {where} node; largest free block is {largest:g}"
