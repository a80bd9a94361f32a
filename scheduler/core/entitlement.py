"""Which jobs are within their company's fair share: a shape-aware weighted max-min fill.

The default policy serves these *entitled* jobs before borrowers (as Kueue serves nominal
quota before cohort borrowing) and lets them reclaim GPUs from running borrowers.

The fill is DRF's discrete progressive filling (Ghodsi et al., NSDI 2011) over every
unfinished job, running or pending: the company with the lowest ``GPUs / weight`` (ties:
lowest ``GPUs / weight`` after its next job, then company id) gets its smallest job that
still fits on one schedulable node of a GPU type the job allows (a fraction shares one
device, whole GPUs take whole devices of one node, best fit); a company none of whose jobs
fits any more is saturated. A job of 8 GPUs gets an 8-GPU node or nothing, never a fraction.
The benchmark's ``jain_fairness`` measures against the same fill.

Draining nodes are left out; a gang job bigger than one node is never entitled (it can still
start as a borrower).

The fill depends only on the set of jobs, not on which of them run, so preempting a
non-entitled job never makes it entitled in the next pass (no ping-pong). Within one company
and shape, running jobs are entitled first, then pending jobs by (time limit, submit, id).
Cost: jobs are grouped by (company, GPUs, allowed types); a step is a heap operation and a
bucket scan per GPU type, and the fill stops when every company is saturated.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any

from scheduler.core.model import GpuNode, PendingJob, RunningJob

MILLI = 1000


class _Pool:
    """Free capacity of one GPU type: nodes bucketed by free whole devices; opened devices."""

    __slots__ = ("nodes_by_free", "partial")

    def __init__(self) -> None:
        self.nodes_by_free: list[int] = [0]  # [free whole devices] -> number of nodes
        self.partial: list[int] = []  # free milli-GPUs of opened devices, sorted

    def add_node(self, gpus: int) -> None:
        while len(self.nodes_by_free) <= gpus:
            self.nodes_by_free.append(0)
        self.nodes_by_free[gpus] += 1


def entitled_jobs(
    nodes: Iterable[GpuNode],
    running: Iterable[RunningJob],
    pending: Iterable[PendingJob],
    weight: Callable[[str], float],
) -> frozenset[str]:
    """Ids of the jobs (running and pending) inside the fair-share fill."""
    pools: dict[str, _Pool] = {}
    for node in nodes:
        if node.draining or node.gpu_count <= 0:
            continue
        pools.setdefault(node.gpu_type, _Pool()).add_node(node.gpu_count)
    all_types = tuple(sorted(pools))
    # types asked -> (usable types, (type, pool) of each)
    usable_of: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[tuple[str, _Pool], ...]]] = {}
    # (company, gpus, types) -> (running ids, pending jobs); pending sorted only when reached
    groups: dict[tuple[str, float, tuple[str, ...]], tuple[list[str], list[PendingJob]]] = {}
    for r in sorted(running, key=lambda r: (r.start_time_s, r.job_id)):
        key = (r.company_id, r.num_gpus, r.gpu_types)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ([], [])
        group[0].append(r.job_id)
    get = groups.get
    for p in pending:
        pkey = (p.company_id, p.num_gpus, p.gpu_types)
        group = get(pkey)
        if group is None:
            group = groups[pkey] = ([], [])
        group[1].append(p)

    # per company, shapes smallest first, each a list: [GPUs, number of usable types, types,
    # (type, pool) usable, running ids (last = oldest), pending jobs (sorted, last = first,
    # once the fill reaches them), shape id, sorted?, milli-GPUs of a fraction (0 for whole
    # GPUs), whole devices]
    shapes: dict[str, list[list[Any]]] = {}
    shape_ids: dict[tuple[float, tuple[str, ...]], int] = {}  # (GPUs, usable types) -> id
    sizes: dict[float, tuple[int, int]] = {}  # GPUs -> (milli-GPUs of a fraction, devices)
    for (company, gpus, types), (run_ids, waiting) in groups.items():
        found_types = usable_of.get(types)
        if found_types is None:
            names = tuple(sorted({t for t in types if t in pools})) if types else all_types
            found_types = usable_of[types] = (names, tuple((t, pools[t]) for t in names))
        names, allowed = found_types
        if allowed and gpus > 0:
            run_ids.reverse()
            size = sizes.get(gpus)
            if size is None:
                need = max(1, round(gpus * MILLI)) if gpus < 1 else 0
                size = sizes[gpus] = (need, 1 if need else math.ceil(gpus - 1e-9))
            row = [
                gpus, len(names), types, allowed, run_ids, waiting,
                shape_ids.setdefault((gpus, names), len(shape_ids)), len(waiting) < 2, *size,
            ]  # fmt: skip
            rows = shapes.get(company)
            if rows is None:
                shapes[company] = [row]
            else:
                rows.append(row)
    for rows in shapes.values():
        rows.sort()  # by (GPUs, usable types, types): unique within a company
    entitled: list[str] = []
    add = entitled.append
    weights = {c: max(weight(c), 1e-12) for c in shapes}
    heap = [(0.0, parts[0][0] / weights[c], c) for c, parts in shapes.items()]
    heapq.heapify(heap)
    pop, pushpop = heapq.heappop, heapq.heappushpop
    share_of: dict[str, float] = {}
    full: set[int] = set()  # shape ids that no longer fit
    turn: str | None = pop(heap)[2] if heap else None  # the company whose turn it is
    while turn is not None:
        company = turn
        parts = shapes[company]
        w = weights[company]
        share_gpus = share_of.get(company, 0.0)
        back = None  # (level, level after the next job, company) when others are lower now
        while parts:
            part = parts[0]
            gpus = part[0]
            if part[6] in full or not (
                _place_fraction(part[3], part[8]) if part[8] else _place_whole(part[3], part[9])
            ):
                full.add(part[6])  # capacity only shrinks: this shape never fits again
                del parts[0]
                continue
            run_ids, waiting = part[4], part[5]
            if run_ids:
                add(run_ids.pop())
            else:
                if not part[7]:  # sort the group when the fill first reaches it
                    waiting.sort(key=_pending_order, reverse=True)
                    part[7] = True
                add(waiting.pop().job_id)
            share_gpus += gpus
            if not run_ids and not waiting:
                del parts[0]
                if not parts:
                    break
            level = share_gpus / w
            if heap:
                top = heap[0]
                if top[0] < level or (
                    top[0] == level and top[1:] < ((share_gpus + parts[0][0]) / w, company)
                ):
                    back = (level, (share_gpus + parts[0][0]) / w, company)
                    break
        share_of[company] = share_gpus
        # back on the heap and the lowest off it, in one heap operation
        turn = pushpop(heap, back)[2] if back is not None else pop(heap)[2] if heap else None
    return frozenset(entitled)


_pending_order = attrgetter("time_limit_s", "submit_time_s", "job_id")


def _place_fraction(pools: tuple[tuple[str, _Pool], ...], need: int) -> bool:
    """Take ``need`` milli-GPUs of one device: the fullest opened device that still has
    room, else a device of a new node as a whole GPU would (best fit)."""
    best_free, best_row, best_i = MILLI + 1, None, 0
    for _, pool in pools:
        row = pool.partial
        i = bisect_left(row, need)
        if i < len(row) and row[i] < best_free:
            best_free, best_row, best_i = row[i], row, i
    if best_row is not None:
        del best_row[best_i]
        insort(best_row, best_free - need)
        return True
    opened = _take_devices(pools, 1)
    if opened is None:
        return False
    insort(opened.partial, MILLI - need)
    return True


def _place_whole(pools: tuple[tuple[str, _Pool], ...], k: int) -> bool:
    """Take ``k`` whole devices of one node (best fit); False if no node has them free."""
    return _take_devices(pools, k) is not None


def _take_devices(pools: tuple[tuple[str, _Pool], ...], k: int) -> _Pool | None:
    best: tuple[int, str] | None = None  # fewest free whole devices on one node, then type
    best_pool = None
    for t, pool in pools:
        counts = pool.nodes_by_free
        for free in range(k, len(counts)):
            if counts[free]:
                if best is None or (free, t) < best:
                    best, best_pool = (free, t), pool
                break
    if best is None or best_pool is None:
        return None
    free = best[0]
    best_pool.nodes_by_free[free] -= 1
    best_pool.nodes_by_free[free - k] += 1
    return best_pool
