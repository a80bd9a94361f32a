"""Per-device GPU capacity of one scheduling pass, and where a job fits.

Capacity is tracked per device in integer milli-GPU units (1 device = 1000 units), so
fractional jobs share a device exactly and whole-GPU jobs take whole devices.

Two views are kept: ``free`` (really unused) and ``avail`` (free minus what backfill
reservations hold). A job that would run past the earliest reservation's start must fit in
``avail``; a job that ends before it may use ``free`` (EASY backfill).

Placement tie-break (documented in docs/scheduler.md):
- a job that allows several GPU types takes the most plentiful type that fits: its types are
  grouped by the GPUs each has in all (most first) and the rules below apply within the first
  group that fits; a job's scarce types stay free for the jobs that can run only there (a
  flexible job on the one G3 GPU left G3 jobs waiting for days in the replay, decision 0002);
- whole-GPU job: the node with the *fewest* fully free devices that still fits (best fit,
  keeps big blocks whole), then node order (GPU type, node id); its lowest-index free devices;
- fractional job: the device with the *least* free share that still fits (fills partly used
  devices first), then node order, then device index;
- gang (multi-node, whole GPUs, one GPU type): nodes with the most free devices first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import NamedTuple

from scheduler.core.model import DeviceShare, GpuNode, PendingJob, RunningJob

UNIT = 1000  # milli-GPU units per device


def to_units(fraction: float) -> int:
    return max(1, round(fraction * UNIT))


class JobShape(NamedTuple):
    """What a job asks of the cluster: either ``whole`` devices or ``units`` of one device."""

    whole: int  # number of whole devices (0 for a fractional job)
    units: int  # units of one device for a fractional job (UNIT for whole devices)
    multi_node: bool

    @staticmethod
    def of(num_gpus: float, multi_node: bool) -> JobShape:
        if num_gpus < 1.0:
            return JobShape(0, to_units(num_gpus), False)
        return JobShape(round(num_gpus), UNIT, multi_node)

    def describe(self) -> str:
        if self.whole == 0:
            return f"{self.units / UNIT:g} of one GPU"
        return f"{self.whole} GPU" + ("s" if self.whole != 1 else "")


def shape_error(num_gpus: float) -> str | None:
    """Why a GPU request is malformed, or None."""
    if num_gpus <= 0:
        return "a job must ask for more than 0 GPUs"
    if num_gpus > 1.0 and abs(num_gpus - round(num_gpus)) > 1e-9:
        return f"{num_gpus:g} GPUs: requests above one GPU must be whole numbers"
    return None


Slot = tuple[int, int, int]  # (node index, device index, units)


class ClusterCapacity:
    """Mutable capacity state of one pass (the snapshot itself stays frozen)."""

    fast_fraction = True  # tests turn it off to check that it places like the full scan

    def __init__(self, nodes: Sequence[GpuNode]) -> None:
        ordered = sorted(nodes, key=lambda n: (n.gpu_type, n.node_id))
        self.nodes: list[GpuNode] = ordered
        self.index_of: dict[str, int] = {n.node_id: i for i, n in enumerate(ordered)}
        self.free: list[list[int]] = [[UNIT] * n.gpu_count for n in ordered]
        self.avail: list[list[int]] = [[UNIT] * n.gpu_count for n in ordered]
        self.by_type: dict[str, list[int]] = {}
        self.total_by_type: dict[str, int] = {}
        for i, n in enumerate(ordered):
            self.total_by_type[n.gpu_type] = self.total_by_type.get(n.gpu_type, 0) + n.gpu_count
            if not n.draining:
                self.by_type.setdefault(n.gpu_type, []).append(i)
        self.max_node_gpus: dict[str, int] = {}
        for n in ordered:
            self.max_node_gpus[n.gpu_type] = max(self.max_node_gpus.get(n.gpu_type, 0), n.gpu_count)
        self.all_types: tuple[str, ...] = tuple(sorted(self.total_by_type))
        self._fail_cache: set[tuple[tuple[str, ...], JobShape, bool]] = set()
        self._fit_cache: dict[tuple[tuple[str, ...], JobShape], tuple[int, bool]] = {}
        self.generation = 0  # bumped on every change of capacity
        self.fail_epoch = 0  # bumped when capacity grows (release): failed fits may fit again
        self._type_nodes: dict[tuple[str, ...], list[int]] = {}
        self.free_units_total = sum(len(f) for f in self.free) * UNIT
        # (node, device) whose free share may be odd (neither <= 0 nor UNIT), per view: a
        # superset, added to on every change and pruned when read; fractional search
        self.odd_free: set[tuple[int, int]] = set()
        self.odd_avail: set[tuple[int, int]] = set()
        self._type_node_set: dict[tuple[str, ...], set[int] | None] = {}
        self._first_whole: dict[tuple[tuple[str, ...], bool], int] = {}
        self._largest: dict[tuple[tuple[str, ...], bool], float] = {}  # at _largest_at
        self._largest_type: dict[tuple[str, bool], int] = {}  # per GPU type, likewise
        self._largest_at = 0
        self._groups: dict[tuple[str, ...], list[tuple[str, ...]]] = {}  # _type_groups

    # -- bookkeeping -------------------------------------------------------------------
    def apply_running(self, job: RunningJob) -> None:
        self.generation += 1
        for share in job.placement:
            i = self.index_of.get(share.node_id)
            if i is None or share.device_index >= len(self.free[i]):
                continue  # a node that left the inventory: nothing to account on it
            u = to_units(share.fraction)
            self.free[i][share.device_index] -= u
            self.avail[i][share.device_index] -= u
            self.free_units_total -= u
            self._mark(i, share.device_index)

    def take(self, slots: Iterable[Slot]) -> None:
        self.generation += 1
        for i, d, u in slots:
            self.free[i][d] -= u
            self.avail[i][d] -= u
            self.free_units_total -= u
            if u != UNIT:
                self._mark(i, d)

    def release(self, placement: Iterable[DeviceShare]) -> None:
        self.generation += 1
        for share in placement:
            i = self.index_of.get(share.node_id)
            if i is None or share.device_index >= len(self.free[i]):
                continue
            u = to_units(share.fraction)
            self.free[i][share.device_index] += u
            self.avail[i][share.device_index] += u
            self.free_units_total += u
            self._mark(i, share.device_index)
        self._fail_cache.clear()
        self.fail_epoch += 1
        self._first_whole.clear()
        self._largest.clear()
        self._largest_type.clear()

    def reserve(self, slots: Iterable[Slot]) -> None:
        self.generation += 1
        for i, d, u in slots:
            self.avail[i][d] -= u
            if 0 < self.avail[i][d] != UNIT:
                self.odd_avail.add((i, d))
        # avail only shrinks: cached failures stay valid

    def _mark(self, i: int, d: int) -> None:
        """Note device ``d`` of node ``i`` in the views where its free share is now odd."""
        if 0 < self.free[i][d] != UNIT:
            self.odd_free.add((i, d))
        if 0 < self.avail[i][d] != UNIT:
            self.odd_avail.add((i, d))

    def to_placement(self, slots: Sequence[Slot]) -> tuple[DeviceShare, ...]:
        return tuple(DeviceShare(self.nodes[i].node_id, d, u / UNIT) for i, d, u in slots)

    # -- queries -----------------------------------------------------------------------
    def allowed_types(self, job: PendingJob) -> tuple[str, ...]:
        if not job.gpu_types:
            return self.all_types
        return tuple(sorted({t for t in job.gpu_types if t in self.total_by_type}))

    def never_fits(self, job: PendingJob) -> str | None:
        """Reason the job can never run on this inventory, or None."""
        err = shape_error(job.num_gpus)
        if err:
            return err
        types = self.allowed_types(job)
        asked = "/".join(job.gpu_types) if job.gpu_types else "any"
        if not types:
            return f"no node has GPU type {asked}"
        shape = JobShape.of(job.num_gpus, job.allow_multi_node)
        if shape.whole == 0:
            return None
        if shape.multi_node:
            if max(self.total_by_type[t] for t in types) >= shape.whole:
                return None
            most = max(self.total_by_type[t] for t in types)
            return f"needs {shape.whole} GPUs of type {asked}; the cluster has at most {most}"
        biggest = max(self.max_node_gpus[t] for t in types)
        if biggest >= shape.whole:
            return None
        kind = f"{asked} " if job.gpu_types else ""
        return (
            f"needs {shape.whole} GPUs on one {kind}node; the largest such node has {biggest}"
            " and multi-node placement is not allowed"
        )

    def find(self, shape: JobShape, types: tuple[str, ...], use_free: bool) -> list[Slot] | None:
        key = (types, shape, use_free)
        if key in self._fail_cache:
            return None
        view = self.free if use_free else self.avail
        found = self._find_in(view, shape, types)
        if found is None:
            self._fail_cache.add(key)
        return found

    def fits_free(self, shape: JobShape, types: tuple[str, ...]) -> bool:
        """Whether the job would fit on really free devices (cached per capacity state)."""
        key = (types, shape)
        hit = self._fit_cache.get(key)
        if hit is not None and hit[0] == self.generation:
            return hit[1]
        fits = self.find(shape, types, True) is not None
        self._fit_cache[key] = (self.generation, fits)
        return fits

    def avail_copy(self, nodes: Iterable[int]) -> list[list[int]]:
        """A copy of the ``avail`` view; rows outside ``nodes`` are left empty."""
        view: list[list[int]] = [[] for _ in self.nodes]
        for i in nodes:
            view[i] = list(self.avail[i])
        return view

    def find_in(
        self,
        view: list[list[int]],
        shape: JobShape,
        types: tuple[str, ...],
        only: Sequence[int] | None = None,
    ) -> list[Slot] | None:
        """Placement on an explicit view, optionally only on the node indices ``only``."""
        if only is None:
            return self._find_in(view, shape, types)
        allowed = set(types)
        sub = [i for i in only if self.nodes[i].gpu_type in allowed and not self.nodes[i].draining]
        return self._find_in(view, shape, types, sub)

    def _nodes_of(self, types: tuple[str, ...], only: list[int] | None) -> list[int]:
        if only is not None:
            return only
        nodes = self._type_nodes.get(types)
        if nodes is None:
            nodes = self._type_nodes[types] = [i for t in types for i in self.by_type.get(t, ())]
        return nodes

    def _find_in(
        self,
        view: list[list[int]],
        shape: JobShape,
        types: tuple[str, ...],
        only: list[int] | None = None,
    ) -> list[Slot] | None:
        if only is None and len(types) > 1:
            groups = self._type_groups(types)
            if len(groups) > 1:
                return self._find_by_group(view, shape, types, groups)
        if shape.whole == 0:
            return self._find_fraction(view, shape.units, types, only)
        best: int | None = None
        best_count = 1 << 30
        for i in self._nodes_of(types, only):
            count = view[i].count(UNIT)
            if shape.whole <= count < best_count:
                best, best_count = i, count
                if count == shape.whole:
                    break
        if best is not None:
            devs = [d for d, u in enumerate(view[best]) if u == UNIT][: shape.whole]
            return [(best, d, UNIT) for d in devs]
        if shape.multi_node:
            return self._find_gang(view, shape.whole, types)
        return None

    def _find_by_group(
        self,
        view: list[list[int]],
        shape: JobShape,
        types: tuple[str, ...],
        groups: list[tuple[str, ...]],
    ) -> list[Slot] | None:
        """One node (or device) in the first group of types that has one; a gang job only
        when no group has a single node for it."""
        single = shape._replace(multi_node=False) if shape.multi_node else shape
        for group in groups:
            found = self._find_in(view, single, group)
            if found is not None:
                return found
        return self._find_gang(view, shape.whole, types) if shape.multi_node else None

    def _type_groups(self, types: tuple[str, ...]) -> list[tuple[str, ...]]:
        """``types`` grouped by the GPUs of each type in all, most first (names sorted)."""
        groups = self._groups.get(types)
        if groups is None:
            by_total: dict[int, list[str]] = {}
            for t in types:
                if t in self.by_type:
                    by_total.setdefault(self.total_by_type[t], []).append(t)
            groups = [tuple(sorted(by_total[n])) for n in sorted(by_total, reverse=True)]
            self._groups[types] = groups
        return groups

    def _find_fraction(
        self, view: list[list[int]], units: int, types: tuple[str, ...], only: list[int] | None
    ) -> list[Slot] | None:
        odd = self.odd_free if view is self.free else self.odd_avail if view is self.avail else None
        if odd is not None and only is None and self.fast_fraction:
            return self._find_fraction_fast(view, units, types, odd)
        best: Slot | None = None
        best_free = UNIT + 1
        for i in self._nodes_of(types, only):
            row = view[i]
            if max(row) < units:
                continue
            for d, u in enumerate(row):
                if units <= u < best_free:
                    best, best_free = (i, d, units), u
                    if u == units:
                        return [best]
        return [best] if best is not None else None

    def _find_fraction_fast(
        self, view: list[list[int]], units: int, types: tuple[str, ...], odd: set[tuple[int, int]]
    ) -> list[Slot] | None:
        """``_find_fraction`` on the pass's own views: the same answer, without scanning
        every node. Devices whose free share is neither 0 nor UNIT are in ``odd``;
        any of them that fits beats a whole free device (UNIT) unless it has more than
        UNIT free; otherwise the first whole free device in node order wins."""
        nodes = self._nodes_of(types, None)
        in_types = self._type_node_set.get(types)
        if in_types is None:
            ascending = all(a < b for a, b in pairwise(nodes))
            in_types = self._type_node_set[types] = set(nodes) if ascending else None
        if in_types is None:  # node order not ascending (unsorted types): scan as before
            return self._find_fraction(view, units, types, nodes)
        best: Slot | None = None
        best_free = UNIT + 1
        if odd:
            least = (UNIT + 1, 0, 0)
            stale = []
            for i, d in odd:
                u = view[i][d]
                if u <= 0 or u == UNIT:
                    stale.append((i, d))
                elif units <= u and i in in_types and (u, i, d) < least:
                    least = (u, i, d)
            odd.difference_update(stale)
            if least[0] <= UNIT:
                best_free, best = least[0], (least[1], least[2], units)
        if best is not None and best_free < UNIT:
            return [best]
        # first node with a whole free device; nodes before the remembered position have
        # none (devices only fill up within a pass; release() forgets the positions)
        key = (types, view is self.free)
        start = self._first_whole.get(key, 0)
        for k in range(start, len(nodes)):
            row = view[nodes[k]]
            if UNIT in row:
                self._first_whole[key] = k
                return [(nodes[k], row.index(UNIT), units)]
        self._first_whole[key] = len(nodes)
        return [best] if best is not None else None

    def _find_gang(
        self, view: list[list[int]], whole: int, types: tuple[str, ...]
    ) -> list[Slot] | None:
        for t in types:
            nodes = self.by_type.get(t, [])
            ranked = sorted(nodes, key=lambda i: (-view[i].count(UNIT), i))
            slots: list[Slot] = []
            for i in ranked:
                for d, u in enumerate(view[i]):
                    if u == UNIT and len(slots) < whole:
                        slots.append((i, d, UNIT))
                if len(slots) == whole:
                    return slots
        return None

    def largest_block(self, shape: JobShape, types: tuple[str, ...]) -> float:
        """Largest free whole-device block on one node, or largest free share of a device."""
        key = (types, shape.whole == 0)
        hit = self._largest.get(key)
        if hit is not None and self._largest_at == self.generation:
            return hit
        if self._largest_at != self.generation:
            self._largest.clear()
            self._largest_type.clear()
            self._largest_at = self.generation
        self._largest[key] = found = self._largest_block(shape, types)
        return found

    def _largest_block(self, shape: JobShape, types: tuple[str, ...]) -> float:
        fraction = shape.whole == 0
        best = max(self._largest_of(t, fraction) for t in types) if types else 0
        return best / UNIT if fraction else float(best)

    def _largest_of(self, gpu_type: str, fraction: bool) -> int:
        """Largest free share of a device (``fraction``) or free whole devices on one node, of
        one GPU type (cached with ``largest_block``'s answers)."""
        hit = self._largest_type.get((gpu_type, fraction))
        if hit is None:
            hit = 0
            for i in self.by_type.get(gpu_type, ()):
                row = self.free[i]
                hit = max(hit, max(row, default=0) if fraction else row.count(UNIT))
            self._largest_type[(gpu_type, fraction)] = hit
        return hit

    def schedulable_types(self, types: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(t for t in types if self.by_type.get(t))
