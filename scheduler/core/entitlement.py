"""Which jobs are within their company's fair share: a shape-aware weighted max-min fill.

The default policy serves these *entitled* jobs before borrowers (as Kueue serves nominal
quota before cohort borrowing) and lets them reclaim GPUs from running borrowers.

The fill is DRF's discrete progressive filling (Ghodsi et al., NSDI 2011) over every
unfinished job, running or pending: the company with the lowest ``GPUs / weight`` (ties:
lowest ``GPUs / weight`` after its next job — highest with ``largest_first`` —, then company
id) gets its smallest job that
still fits on one schedulable node of a GPU type the job allows (a fraction shares one
device, whole GPUs take whole devices of one node, best fit); a company none of whose jobs
fits any more is saturated. A job of 8 GPUs gets an 8-GPU node or nothing, never a fraction.
A job that may use k > 1 GPU types is placed, best fit, among the types whose slack still
holds it — free GPUs minus the unfilled demand of the jobs that may use fewer than k types,
each spread evenly over its types (integers: milli-GPUs x lcm(1..K) / k) —, and among all its
types when none does or when no node of those holds it (slack counts a type's free GPUs, not
how they lie on its nodes): best fit alone put any-type jobs on a scarce type and left a
company whose jobs need that type saturated while another type idled (decision 0002).
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
    """Free capacity of one GPU type: nodes bucketed by free whole devices; opened devices
    by free milli-GPUs; free milli-GPUs; and the unfilled demand reserved on it by jobs that
    may use k types."""

    __slots__ = ("free_milli", "nodes_by_free", "opened", "opened_free", "reserved")

    def __init__(self) -> None:
        self.nodes_by_free: list[int] = [0]  # [free whole devices] -> number of nodes
        # opened devices (a fraction took part of them): the distinct free milli-GPUs among
        # them, sorted, and how many devices have each (a handful of values, however many
        # devices: fractions are quarters and halves)
        self.opened_free: list[int] = []
        self.opened: dict[int, int] = {}
        self.free_milli = 0
        # [k] = unfilled demand of the jobs that may use k GPU types, this one among them,
        # spread evenly over those types (milli-GPUs x lcm(1..K) / k: whole numbers)
        self.reserved: list[int] = []

    def add_node(self, gpus: int) -> None:
        while len(self.nodes_by_free) <= gpus:
            self.nodes_by_free.append(0)
        self.nodes_by_free[gpus] += 1
        self.free_milli += gpus * MILLI

    def open_device(self, free: int) -> None:
        """One more opened device with ``free`` milli-GPUs left (none left: forgotten)."""
        if free > 0:
            count = self.opened.get(free, 0)
            if not count:
                insort(self.opened_free, free)
            self.opened[free] = count + 1

    def close_device(self, i: int) -> None:
        """Take one device of the ``i``-th free value (the caller reopens what is left)."""
        free = self.opened_free[i]
        count = self.opened[free] - 1
        self.opened[free] = count
        if not count:
            del self.opened_free[i]


class _Shape:
    """The jobs of one company that ask the same GPUs and types, in the fill: running ones
    first (last = oldest), then pending ones (sorted when the fill first reaches them, last =
    first in order)."""

    __slots__ = (
        "allowed", "devices", "gpus", "milli", "rank", "running", "shape_id", "sorted", "taken",
        "waiting",
    )  # fmt: skip

    def __init__(
        self,
        rank: int,
        gpus: float,
        allowed: tuple[tuple[str, _Pool], ...],
        running: list[str],
        waiting: list[PendingJob],
        shape_id: int,
        milli: int,
        devices: int,
        taken: int,
    ) -> None:
        self.rank = rank  # in the order smallest first: GPUs, number of usable types, types
        self.gpus = gpus
        self.allowed = allowed  # (type, pool) usable
        self.running = running
        self.waiting = waiting
        self.shape_id = shape_id  # (GPUs, usable types): shapes that stop fitting together
        self.sorted = len(waiting) < 2
        self.milli = milli  # milli-GPUs of a fraction, 0 for whole GPUs
        self.devices = devices  # whole devices
        self.taken = taken  # milli-GPUs one job takes


def entitled_jobs(
    nodes: Iterable[GpuNode],
    running: Iterable[RunningJob],
    pending: Iterable[PendingJob],
    weight: Callable[[str], float],
    largest_first: bool = False,
) -> frozenset[str]:
    """Ids of the jobs (running and pending) inside the fair-share fill.

    ``largest_first`` breaks ties of level (in practice level 0: each company's first job)
    by the largest next job instead of the smallest (``PolicySettings.fill_largest_job_first``):
    a company whose smallest job takes a whole node gets that node before small jobs spread
    onto it, as first-fit decreasing packs. Faster, less fair: decision 0002.
    """
    pools: dict[str, _Pool] = {}
    for node in nodes:
        if node.draining or node.gpu_count <= 0:
            continue
        pools.setdefault(node.gpu_type, _Pool()).add_node(node.gpu_count)
    all_types = tuple(sorted(pools))
    # (company, gpus, types) -> (running ids, pending jobs); pending sorted only when reached
    groups: dict[tuple[str, float, tuple[str, ...]], tuple[list[str], list[PendingJob]]] = {}
    for r in sorted(running, key=_running_order):
        key = (r.company_id, r.num_gpus, r.gpu_types)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ([], [])
        group[0].append(r.job_id)
    for p in pending:
        pkey = (p.company_id, p.num_gpus, p.gpu_types)
        group = groups.get(pkey)
        if group is None:
            group = groups[pkey] = ([], [])
        group[1].append(p)

    # every (GPUs, types asked) that some node can hold, resolved once: (rank in the order
    # smallest first — GPUs, number of usable types, types —, (type, pool) usable, shape id,
    # milli-GPUs of a fraction (0 for whole GPUs), whole devices)
    found: dict[tuple[float, tuple[str, ...]], tuple[tuple[str, ...], tuple[Any, ...]]] = {}
    for gpus, types in {(gpus, types) for _, gpus, types in groups}:
        names = tuple(sorted({t for t in types if t in pools})) if types else all_types
        if names and gpus > 0:
            found[(gpus, types)] = (names, tuple((t, pools[t]) for t in names))
    ranked = sorted(found, key=lambda k: (k[0], len(found[k][0]), k[1]))
    shape_ids: dict[tuple[float, tuple[str, ...]], int] = {}  # (GPUs, usable types) -> id
    kinds: dict[tuple[float, tuple[str, ...]], tuple[Any, ...]] = {}
    for rank, (gpus, types) in enumerate(ranked):
        names, allowed = found[(gpus, types)]
        need = max(1, round(gpus * MILLI)) if gpus < 1 else 0
        shape_id = shape_ids.setdefault((gpus, names), len(shape_ids))
        devices = 1 if need else math.ceil(gpus - 1e-9)
        kinds[(gpus, types)] = (rank, allowed, shape_id, need, devices, need or devices * MILLI)

    most_types = max((len(kind[1]) for kind in kinds.values()), default=1)
    scale = math.lcm(*range(1, most_types + 1))
    for pool in pools.values():
        pool.reserved = [0] * (most_types + 1)
    # per company (by index in id order), its shapes, smallest last (consumed from the end)
    names_of = sorted({company for company, _, _ in groups})
    index_of = {c: i for i, c in enumerate(names_of)}
    shapes: list[list[_Shape]] = [[] for _ in names_of]
    demand_of: dict[int, int] = {}  # shape rank -> milli-GPUs of its unfilled jobs
    for (company, gpus, types), (run_ids, waiting) in groups.items():
        kind = kinds.get((gpus, types))
        if kind is not None:
            run_ids.reverse()
            rank, allowed, shape_id, need, devices, taken = kind
            shapes[index_of[company]].append(
                _Shape(rank, gpus, allowed, run_ids, waiting, shape_id, need, devices, taken)
            )
            demand_of[rank] = demand_of.get(rank, 0) + taken * (len(run_ids) + len(waiting))
    # a job that may use several types takes one with slack left for the jobs that may use
    # fewer types: no T4 goes to an any-type job while another type it may use has room
    for kind in kinds.values():
        demand = demand_of.get(kind[0], 0)
        if demand:
            allowed = kind[1]
            for _, pool in allowed:
                pool.reserved[len(allowed)] += demand * (scale // len(allowed))
    for rows in shapes:
        rows.sort(key=_rank, reverse=True)  # ranks are unique within a company
    entitled: list[str] = []
    weights = [max(weight(c), 1e-12) for c in names_of]
    sign = -1.0 if largest_first else 1.0  # the tie-break: smallest (or largest) next job
    heap = [(0.0, sign * rows[-1].gpus / weights[c], c) for c, rows in enumerate(shapes) if rows]
    heapq.heapify(heap)
    share_of = [0.0] * len(names_of)
    full: set[int] = set()  # shape ids that no longer fit
    turn: int | None = heapq.heappop(heap)[2] if heap else None  # whose turn it is (index)
    while turn is not None:
        c = turn
        parts = shapes[c]
        w = weights[c]
        share_gpus = share_of[c]
        back = None  # (level, level after the next job, company) when others are lower now
        while parts:
            part = parts[-1]
            allowed = part.allowed
            n_types = len(allowed)
            mine = part.taken * (scale // n_types)
            for _, pool in allowed:
                pool.reserved[n_types] -= mine  # this job's demand is being filled
            if n_types > 1 and part.shape_id not in full:  # the types whose slack holds the
                need = part.taken * scale  # job, else all of them (best fit decides)
                roomy = []
                for type_pool in allowed:
                    pool = type_pool[1]
                    left = pool.free_milli * scale - pool.reserved[1] - need
                    if left >= 0 and (n_types == 2 or left >= sum(pool.reserved[2:n_types])):
                        roomy.append(type_pool)
                if roomy and len(roomy) < n_types:
                    allowed = tuple(roomy)
            if part.shape_id in full or not (
                _place(allowed, part)  # else on all its types: no node of those held it
                or (allowed is not part.allowed and _place(part.allowed, part))
            ):
                full.add(part.shape_id)  # capacity only shrinks: this shape never fits again
                parts.pop()
                continue
            run_ids, waiting = part.running, part.waiting
            if run_ids:
                entitled.append(run_ids.pop())
            else:
                if not part.sorted:  # sort the group when the fill first reaches it
                    waiting.sort(key=_pending_order, reverse=True)
                    part.sorted = True
                entitled.append(waiting.pop().job_id)
            share_gpus += part.gpus
            if not run_ids and not waiting:
                parts.pop()
                if not parts:
                    break
            level = share_gpus / w
            if heap:
                top = heap[0]
                if top[0] <= level:  # (top[0], top[1], top[2]) < (level, after, company)?
                    after = sign * (share_gpus + parts[-1].gpus) / w
                    if top[0] < level or top[1] < after or (top[1] == after and top[2] < c):
                        back = (level, after, c)
                        break
        share_of[c] = share_gpus
        # back on the heap and the lowest off it, in one heap operation
        if back is not None:
            turn = heapq.heappushpop(heap, back)[2]
        else:
            turn = heapq.heappop(heap)[2] if heap else None
    return frozenset(entitled)


_pending_order = attrgetter("time_limit_s", "submit_time_s", "job_id")
_running_order = attrgetter("start_time_s", "job_id")
_rank = attrgetter("rank")


def _place(pools: tuple[tuple[str, _Pool], ...], shape: _Shape) -> bool:
    """Take one job of ``shape`` on one of ``pools``' nodes (best fit); False if none has room."""
    if shape.milli:
        return _place_fraction(pools, shape.milli)
    return _take_devices(pools, shape.devices) is not None


def _place_fraction(pools: tuple[tuple[str, _Pool], ...], need: int) -> bool:
    """Take ``need`` milli-GPUs of one device: the fullest opened device that still has
    room, else a device of a new node as a whole GPU would (best fit)."""
    best_free, best_i, best_pool = MILLI + 1, 0, None
    for _, pool in pools:
        values = pool.opened_free
        i = bisect_left(values, need)
        if i < len(values) and values[i] < best_free:
            best_free, best_i, best_pool = values[i], i, pool
    if best_pool is not None:
        best_pool.close_device(best_i)
        best_pool.open_device(best_free - need)
        best_pool.free_milli -= need
        return True
    opened = _take_devices(pools, 1)
    if opened is None:
        return False
    opened.open_device(MILLI - need)
    opened.free_milli += MILLI - need
    return True


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
    best_pool.free_milli -= k * MILLI
    return best_pool
