"""Choosing which running jobs to preempt so that a blocked job fits.

Victims are looked for on one node (or one device for a fractional job); gang jobs are
never placed by preemption. Among the eligible running jobs of a node, the most recently
started are taken first (least progress lost), then unneeded victims are dropped again.
The first node (in node order) where a single victim suffices wins at once; otherwise the
node needing the fewest victims, then the least GPU-seconds of progress at risk, then node
order. With ``fewest_gpus`` (an entitled job taking jobs inside the fair-share fill) the
fewest GPUs freed come right after the fewest victims, and a single victim wins at once
only if it is no bigger than the job. Eligibility (policy rank, quota reclaim, minimum run
time, preemptible) is decided by the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

from scheduler.core.model import PendingJob, RunningJob
from scheduler.core.placement import UNIT, ClusterCapacity, JobShape, Slot, to_units
from scheduler.core.policies import displaces_for_width

Eligible = Callable[[RunningJob, str], bool]

# which protection a planned preemption goes past: none; the back-off, for a company that
# holds no GPUs (``first_gpu_preemption``); the run-time protection of a borrower that has
# received more GPU-time (``reclaim_past_protection``)
PastProtection = Literal["", "first_gpu", "reclaim"]


class PlannedPreemption(NamedTuple):
    """Devices the job gets once ``victims`` are preempted, and why their protection yields."""

    slots: list[Slot]
    victims: list[RunningJob]
    past_protection: PastProtection


def _units_on(job: RunningJob, node_id: str) -> list[tuple[int, int]]:
    return [(s.device_index, to_units(s.fraction)) for s in job.placement if s.node_id == node_id]


def _fits(row: list[int], shape: JobShape) -> list[int] | None:
    if shape.whole == 0:
        best = None
        for d, u in enumerate(row):
            if u >= shape.units and (best is None or u < row[best]):
                best = d
        return [best] if best is not None else None
    devs = [d for d, u in enumerate(row) if u == UNIT]
    return devs[: shape.whole] if len(devs) >= shape.whole else None


def plan_preemption(
    shape: JobShape,
    types: Sequence[str],
    cap: ClusterCapacity,
    use_free: bool,
    jobs_on_node: dict[int, list[RunningJob]],
    eligible: Eligible,
    now_s: float,
    fewest_gpus: bool = False,
) -> tuple[list[Slot], list[RunningJob]] | None:
    view = cap.free if use_free else cap.avail
    best: tuple[tuple[int, float, float, int], list[Slot], list[RunningJob]] | None = None
    for t in types:
        for i in cap.by_type.get(t, ()):
            node_id = cap.nodes[i].node_id
            victims = jobs_on_node.get(i)  # sorted: most recently started first
            if not victims:
                continue
            row = list(view[i])
            chosen: list[RunningJob] = []
            whole_free = row.count(UNIT)
            fits = False
            for v in victims:
                if not eligible(v, t):
                    continue
                chosen.append(v)
                for d, u in _units_on(v, node_id):
                    row[d] += u
                    if shape.whole:
                        whole_free += row[d] == UNIT
                    elif row[d] >= shape.units:
                        fits = True
                if fits or (shape.whole and whole_free >= shape.whole):
                    break
            else:
                continue
            for v in sorted(chosen, key=lambda j: (j.start_time_s, j.job_id)):
                trial = list(row)
                for d, u in _units_on(v, node_id):
                    trial[d] -= u
                if _fits(trial, shape) is not None:
                    row = trial
                    chosen.remove(v)
            devs = _fits(row, shape)
            if devs is None:  # pragma: no cover - pruning keeps a fit
                continue
            lost = sum(v.num_gpus * (now_s - v.start_time_s) for v in chosen)
            freed = sum(v.num_gpus for v in chosen) if fewest_gpus else 0.0
            rank = (len(chosen), freed, lost, i)
            if best is None or rank < best[0]:
                slots = [(i, d, shape.units) for d in devs]
                best = (rank, slots, chosen)
                if len(chosen) == 1 and freed <= max(shape.whole, 1):
                    return slots, chosen  # one victim (no bigger than the job): no better
    if best is None:
        return None
    return best[1], best[2]


def rank_reason(
    name: str,
    entitled: frozenset[str] | None,
    level: Callable[[float], int],
    job: PendingJob,
    victim: RunningJob,
    now_s: float,
) -> str:
    """Why policy ``name`` ranks ``job`` above ``victim``, in words (``entitled``: the
    fair-share fill of a policy that uses it, else None)."""
    mine, theirs = level(job.attained_gpu_seconds), level(victim.attained_at(now_s))
    if entitled is not None and (job.job_id in entitled) != (victim.job_id in entitled):
        if victim.job_id in entitled:  # only a starving borrower preempts an entitled job
            waited = (now_s - job.submit_time_s) / 3600.0
            return (
                f"starvation guard: it has waited {waited:.1f} h, beyond company "
                f"{job.company_id}'s fair share, and is judged by attained GPU-time alone "
                f"(2D-LAS level {mine} < {theirs})"
            )
        return (
            f"fair share: it is within company {job.company_id}'s fair share of the "
            f"GPUs, {victim.job_id} runs beyond company {victim.company_id}'s"
        )
    if entitled is not None and displaces_for_width(job, victim, entitled):
        return (
            f"fair share on one node: it needs {job.num_gpus:g} GPUs of one node within "
            f"company {job.company_id}'s fair share; {victim.job_id} ({victim.num_gpus:g} "
            f"GPU) fits elsewhere within company {victim.company_id}'s"
        )
    if name == "priority":
        return f"higher priority class ({job.priority} > {victim.priority})"
    if name in ("las", "las_fair") or (name == "fair_las" and mine < theirs):
        return f"less attained GPU-time (2D-LAS level {mine} < {theirs})"
    if name not in ("fair_share", "fair_las"):
        return f"ranked higher by policy {name}"
    return (
        f"fair share: company {job.company_id} holds less of its share than "
        f"company {victim.company_id}"
    )
