"""One scheduling pass: ``schedule(snapshot) -> SchedulingResult``. Pure and deterministic.

Steps, for every policy alike:

1. Reject jobs no node of the inventory can ever hold (wrong GPU type, too big, bad shape).
2. Order the rest: jobs waiting longer than ``starvation_after_s`` first (aging, by submit
   time), then the policy's order (see policies.py for each policy's keys and tie-breaks).
3. For each job in that order:
   a. head-of-line blocking (``fifo_strict``): once a job is blocked by capacity, the rest wait;
   b. budget: ``num_gpus * time_limit_s`` must fit the company's remaining GPU-seconds minus
      what its running jobs may still use;
   c. GPU type and draining nodes; borrowing limit of the company's quota;
   d. placement: one node (or one device for a fraction), gang only if allowed; a job whose
      time limit runs past a backfill reservation may not use reserved devices (EASY);
   e. otherwise preemption: victims the policy ranks lower, or (quota reclaim) jobs of
      companies borrowing that GPU type while this job stays within its company's guarantee;
      a job inside the fair-share fill looks at jobs outside it first (``try_preempt``);
      victims must be preemptible and have run ``min_runtime_s``; at most
      ``max_preemptions_per_pass`` victims per pass;
   f. otherwise the job waits; the first ``max_reservations`` capacity-blocked jobs get a
      backfill reservation (when ``backfill``).
4. Waiting jobs get a queue position (order of step 2), a reason and an estimated start.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any

from scheduler.core.admission import EPS, BudgetLedger, QuotaLedger
from scheduler.core.estimate import find_reservation
from scheduler.core.model import (
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
from scheduler.core.placement import ClusterCapacity, JobShape, Slot
from scheduler.core.policies import PassState, get_policy
from scheduler.core.preemption import (
    Eligible,
    PastProtection,
    PlannedPreemption,
    plan_preemption,
    rank_reason,
)
from scheduler.core.protection import preemptible_from_s, protected_until_s
from scheduler.core.waits import Wait, wait_decisions


class _Pass:
    use_fast_path = True  # tests turn it off to check that it decides like try_job

    def __init__(self, snap: SchedulingSnapshot) -> None:
        self.snap = snap
        self.s = snap.settings
        self.now = snap.now_s
        self.policy = get_policy(self.s.policy)
        self.cap = ClusterCapacity(snap.nodes)
        for job in snap.running:
            self.cap.apply_running(job)
        node_type = {n.node_id: n.gpu_type for n in snap.nodes}
        self.budget = BudgetLedger(snap)
        self.quota = QuotaLedger(snap, node_type)
        self.state = PassState(snap, self.quota)
        self.uses_entitlement = bool(getattr(self.policy, "uses_entitlement", False))
        self.running: dict[str, RunningJob] = {j.job_id: j for j in snap.running}
        self.started_ids: set[str] = set()
        self.starts: list[StartDecision] = []
        self.preemptions: list[PreemptDecision] = []
        self.waits: list[Wait] = []
        self.reserved_at: dict[str, float] = {}
        self.min_shadow = math.inf
        self.preempt_attempts = 0
        self.reserving = self.s.backfill and self.s.max_reservations > 0
        self.may_preempt = (self.s.preemption or self.s.quota_reclaim) and (
            self.s.max_preemptions_per_pass > 0 and self.s.max_preemption_searches_per_pass > 0
        )
        self._victims_on_node: dict[object, dict[int, list[RunningJob]]] = {}
        self._preempt_failed: set[tuple[object, ...]] = set()
        # (GPU types, GPUs, multi-node) -> [schedulable types, shape, capacity epoch at which
        # the shape was seen not to fit on free devices, ... on available devices, capacity
        # generation of the next entry, whether the shape fits on free devices then, why it
        # never fits this inventory (the job is rejected) or None, serial number (waits.py)]
        self._job_info: dict[tuple[tuple[str, ...], float, bool], list[Any]] = {}

    # -- helpers -------------------------------------------------------------------
    def victims_on_node(
        self, protection: Callable[[RunningJob, PolicySettings], float] = protected_until_s
    ) -> dict[int, list[RunningJob]]:
        """Running jobs whose ``protection`` has ended, by node: by default
        ``protected_until_s`` (preemptible, ran ``min_runtime_s`` times ``preemption_backoff``
        per earlier preemption, preempted fewer than ``max_preemptions_per_job`` times);
        ``preemptible_from_s`` for a reclaim past protection and a company's first GPU."""
        table = self._victims_on_node.get(protection)
        if table is None:
            table = {}
            now, settings = self.now, self.s
            for job in self.snap.running:
                if protection(job, settings) > now:
                    continue
                for i in {self.cap.index_of.get(s.node_id) for s in job.placement}:
                    if i is not None:
                        table.setdefault(i, []).append(job)
            for jobs in table.values():
                jobs.sort(key=lambda j: (-j.start_time_s, j.job_id))
            self._victims_on_node[protection] = table
        return table

    def holds_no_gpu(self, job: PendingJob) -> bool:
        """An entitled job of a company that holds no GPUs (``first_gpu_preemption``): when
        no other victim frees its GPUs, it may preempt, past every run-time protection and on
        devices no reservation holds, a job of a company that keeps other GPUs and that has
        received at least as much GPU-time (2D-LAS level), taking as few GPUs as it can.

        Why: a company whose jobs wait while it holds nothing gets none of its fair share,
        however short the wait; the jobs in the way are protected for minutes to an hour,
        and are often inside the fill themselves (it places them elsewhere). No loop: the
        victim's company keeps GPUs, so it cannot use this rule to take them back, nor 2D-LAS
        (its level is not lower). Measured in decision 0002 ("the first GPU at once")."""
        return (
            self.s.first_gpu_preemption
            and self.entitled(job.job_id)
            and self.quota.used_total[job.company_id] <= EPS
        )

    def reclaims_past_protection(self, job: PendingJob) -> bool:
        """An entitled job may preempt a borrower that has received more GPU-time than it at
        once (``reclaim_past_protection``): the fill depends only on the set of jobs, so the
        victim stays a borrower and cannot take the GPUs back (no loop), while the entitled
        job would otherwise wait out up to an hour of protection with nothing of its share."""
        return (
            self.s.reclaim_past_protection and self.uses_entitlement and self.entitled(job.job_id)
        )

    def order(self, candidates: Sequence[PendingJob]) -> Iterator[PendingJob]:
        limit = self.s.starvation_after_s
        if limit is None or not self.policy.global_aging:
            return self.policy.order(candidates, self.state)
        starving = [j for j in candidates if self.now - j.submit_time_s >= limit]
        if not starving:
            return self.policy.order(candidates, self.state)
        ids = {j.job_id for j in starving}
        rest = [j for j in candidates if j.job_id not in ids]
        starving.sort(key=lambda j: (j.submit_time_s, j.job_id))
        return chain(starving, self.policy.order(rest, self.state))

    def entitled(self, job_id: str) -> bool:
        """Inside the fair-share fill (only policies that use it compute it)."""
        return self.uses_entitlement and job_id in self.state.entitled

    def is_starving(self, job: PendingJob | RunningJob) -> bool:
        limit = self.s.starvation_after_s
        return limit is not None and self.now - job.submit_time_s >= limit

    def started_starving(self, job: RunningJob) -> bool:
        limit = self.s.starvation_after_s
        return limit is not None and job.start_time_s - job.submit_time_s >= limit

    def starvation_preempts(self, job: PendingJob, victim: RunningJob) -> bool:
        """A starving job may preempt any younger job (strict order by submit: no loops)."""
        return (
            self.s.starvation_preemption
            and self.is_starving(job)
            and (victim.submit_time_s, victim.job_id) > (job.submit_time_s, job.job_id)
        )

    def eligible_victim(self, job: PendingJob) -> Eligible:
        memo: dict[tuple[object, ...], bool] = {}
        level = self.state.las_level

        def check(victim: RunningJob, gpu_type: str) -> bool:
            if victim.job_id not in self.running:
                return False  # already preempted in this pass
            if self.starvation_preempts(job, victim):
                return True
            if self.s.starvation_preemption and self.started_starving(victim):
                return False  # promoted by the starvation guard: only older starving jobs
            key = (
                victim.company_id, gpu_type, victim.priority, victim.num_gpus,
                level(victim.attained_at(self.now)), self.quota.type_of(victim),
                self.entitled(victim.job_id),
            )  # fmt: skip
            hit = memo.get(key)
            if hit is None:
                hit = memo[key] = rank_check(victim, gpu_type)
            return hit

        def rank_check(victim: RunningJob, gpu_type: str) -> bool:
            if self.s.preemption and self.policy.outranks(job, victim, self.state):
                return True
            return (
                self.s.quota_reclaim
                and victim.company_id != job.company_id
                and self.quota.within_guarantee(job.company_id, gpu_type, job.num_gpus)
                and self.quota.is_borrowing(victim.company_id, self.quota.type_of(victim))
            )

        return check

    # -- the pass ------------------------------------------------------------------
    def run(self) -> SchedulingResult:
        rejected: list[RejectDecision] = []
        blocker: PendingJob | None = None
        hol = self.s.head_of_line_blocking
        waits, budget_left, job_info = self.waits, self.budget.left, self._job_info
        limited, fits_free, cap = self.quota.limited, self.cap.fits_free, self.cap
        now, capacity, behind = self.now, WaitReason.CAPACITY, WaitReason.BEHIND_RESERVATION
        budget, budget_check = WaitReason.BUDGET, self.budget.check
        # the fast path's conditions, re-read after every try_job (only it changes them)
        fast = self.use_fast_path and not self.may_preempt and not self.reserving
        min_shadow, epoch, generation = self.min_shadow, cap.fail_epoch, cap.generation
        # every pending job goes through the order: rejecting one as it comes (it changes no
        # ledger) leaves the others' order as if it had been left out beforehand
        for job in self.order(self.snap.pending):
            info = job_info.get((job.gpu_types, job.num_gpus, job.allow_multi_node))
            if info is None:
                info = self.shape_info(job)
            if info[6]:
                rejected.append(RejectDecision(job.job_id, info[6]))
                continue
            if blocker is not None:
                waits.append((job, WaitReason.HEAD_OF_LINE, blocker.job_id, (), None))
                continue
            left = budget_left.get(job.company_id)
            if left is None or job.num_gpus * job.time_limit_s > left + 1e-9:
                waits.append((job, budget, budget_check(job) or "", (), None))  # as try_job
                continue
            # Fast path, the common case deep in a long queue: no borrowing limit, the shape
            # is known not to fit (capacity only shrinks within a pass until a preemption),
            # and no preemption search or reservation is left to try. Decides exactly as
            # try_job (a property test checks it).
            if fast and info[0] and job.company_id not in limited:
                if now + job.time_limit_s <= min_shadow:
                    if info[2] == epoch:
                        waits.append((job, capacity, "", info[0], info[7]))
                        if hol:
                            blocker = job
                        continue
                elif info[3] == epoch:
                    if info[4] != generation:  # fits_free, remembered per capacity state
                        info[4], info[5] = generation, fits_free(info[1], info[0])
                    waits.append((job, behind if info[5] else capacity, "", info[0], info[7]))
                    if hol:
                        blocker = job
                    continue
            if self.try_job(job) is False and hol:
                blocker = job
            fast = self.use_fast_path and not self.may_preempt and not self.reserving
            min_shadow, epoch, generation = self.min_shadow, cap.fail_epoch, cap.generation
        return SchedulingResult(
            starts=tuple(self.starts),
            preemptions=tuple(self.preemptions),
            waiting=self.finish_waits(),
            rejected=tuple(sorted(rejected, key=lambda r: r.job_id)),
            policy=self.s.policy,
        )

    def shape_info(self, job: PendingJob) -> list[Any]:
        """``_job_info`` of the job's GPU types, GPUs and multi-node flag (computed once)."""
        key = (job.gpu_types, job.num_gpus, job.allow_multi_node)
        never = self.cap.never_fits(job)
        info: list[Any]
        serial = len(self._job_info)
        if never:
            info = [(), None, -1, -1, -1, False, never, serial]
        else:
            types = self.cap.schedulable_types(self.cap.allowed_types(job))
            shape = JobShape.of(job.num_gpus, job.allow_multi_node)
            info = [types, shape, -1, -1, -1, False, None, serial]
        self._job_info[key] = info
        return info

    def try_job(self, job: PendingJob) -> bool | None:
        """Start the job if possible. False: blocked by capacity; None: other reason."""
        left = self.budget.left.get(job.company_id)
        if left is None or job.num_gpus * job.time_limit_s > left + 1e-9:
            self.waits.append((job, WaitReason.BUDGET, self.budget.check(job) or "", (), None))
            return None
        key = (job.gpu_types, job.num_gpus, job.allow_multi_node)
        info = self._job_info.get(key) or self.shape_info(job)
        types, shape = info[0], info[1]
        if not types:
            self.waits.append((job, WaitReason.DRAINING, "", self.cap.allowed_types(job), None))
            return None
        if job.company_id in self.quota.limited:
            types, reason = self.quota.types_within_limit(job, types)
            if reason:
                self.waits.append((job, WaitReason.QUOTA, reason, (), None))
                return None
        use_free = self.now + job.time_limit_s <= self.min_shadow
        slots = self.cap.find(shape, types, use_free)
        if slots is None and types is info[0]:  # capacity only shrinks until the next release
            info[2 if use_free else 3] = self.cap.fail_epoch
        victims: list[RunningJob] = []
        past: PastProtection = ""
        if slots is None and self.may_preempt and not shape.multi_node:
            planned = self.try_preempt(job, shape, types, use_free)
            if planned is not None:
                slots, victims, past = planned
        if slots is None:
            if use_free or self.reserving:
                self.block(job, shape, types, use_free)
            elif self.cap.fits_free(shape, types):
                self.waits.append((job, WaitReason.BEHIND_RESERVATION, "", types, None))
            else:
                self.waits.append((job, WaitReason.CAPACITY, "", types, None))
            return False
        for victim in victims:
            self.evict(victim, job, past)
        placement = self.cap.to_placement(slots)
        self.cap.take(slots)
        gpu_type = self.cap.nodes[slots[0][0]].gpu_type
        self.quota.add(job.company_id, gpu_type, job.num_gpus)
        self.budget.commit(job)
        started = RunningJob(
            job.job_id, job.company_id, job.num_gpus, placement, self.now, job.time_limit_s,
            job.submit_time_s, job.gpu_types, job.priority, job.preemptible,
            job.allow_multi_node, job.attained_gpu_seconds, job.preemption_count,
        )  # fmt: skip
        self.running[job.job_id] = started
        self.started_ids.add(job.job_id)
        why = (
            f"fits on {placement[0].node_id}"
            if not victims
            else "after preempting " + ", ".join(v.job_id for v in victims)
        )
        self.starts.append(StartDecision(job.job_id, placement, gpu_type, why))
        return True

    def try_preempt(
        self, job: PendingJob, shape: JobShape, types: tuple[str, ...], use_free: bool
    ) -> PlannedPreemption | None:
        """Devices and victims that let ``job`` start, and which protection the plan goes
        past (``PlannedPreemption.past_protection``), or None."""
        if not (self.s.preemption or self.s.quota_reclaim):
            return None
        budget_left = self.s.max_preemptions_per_pass - len(self.preemptions)
        if budget_left <= 0 or self.preempt_attempts >= self.s.max_preemption_searches_per_pass:
            self.may_preempt = False
            return None
        first_gpu = self.holds_no_gpu(job)
        rank = (
            job.company_id, job.priority, self.state.las_level(job.attained_gpu_seconds),
            shape, types, use_free, self.is_starving(job), self.entitled(job.job_id), first_gpu,
        )  # fmt: skip
        if rank in self._preempt_failed:
            return None
        self.preempt_attempts += 1
        self.may_preempt = self.preempt_attempts < self.s.max_preemption_searches_per_pass
        check = self.eligible_victim(job)
        entitled = self.entitled(job.job_id)
        level = self.state.las_level
        own_level = level(job.attained_gpu_seconds)
        planned: tuple[list[Slot], list[RunningJob]] | None = None
        past: PastProtection = ""

        def borrower(victim: RunningJob, gpu_type: str) -> bool:
            return not self.entitled(victim.job_id) and check(victim, gpu_type)

        # An entitled job takes its GPUs from jobs beyond their company's fair share first
        # (Kueue's candidate order: workloads that borrow before those within their
        # quota), past the protection of one that has received more GPU-time if need be;
        # only then from jobs inside the fill (2D-LAS, width displacement, quota reclaim),
        # and then from as few GPUs as it can: a 1-GPU job takes a 1-GPU job, not a whole
        # 8-GPU one that comes first in node order (decision 0002, "borrowers first").
        if entitled:
            planned = plan_preemption(
                shape, types, self.cap, use_free, self.victims_on_node(), borrower, self.now
            )
        if planned is None and self.reclaims_past_protection(job):

            def more_served_borrower(victim: RunningJob, gpu_type: str) -> bool:
                return level(victim.attained_at(self.now)) > own_level and borrower(
                    victim, gpu_type
                )

            planned = plan_preemption(
                shape, types, self.cap, False, self.victims_on_node(preemptible_from_s),
                more_served_borrower, self.now,
            )  # fmt: skip
            past = "reclaim" if planned is not None else ""
        if planned is None:  # ... taking as few GPUs from jobs inside the fill as it can
            planned = plan_preemption(
                shape, types, self.cap, use_free, self.victims_on_node(), check, self.now,
                fewest_gpus=entitled,
            )  # fmt: skip
        if planned is None and first_gpu:
            past = "first_gpu"
            used = self.quota.used_total

            def keeps_gpus(victim: RunningJob, gpu_type: str) -> bool:
                return (
                    victim.job_id in self.running
                    and used[victim.company_id] - victim.num_gpus > EPS
                    and level(victim.attained_at(self.now)) >= own_level
                )

            planned = plan_preemption(
                shape, types, self.cap, False, self.victims_on_node(preemptible_from_s),
                keeps_gpus, self.now, fewest_gpus=True,
            )  # fmt: skip
        if planned is None or len(planned[1]) > budget_left:
            self._preempt_failed.add(rank)
            return None
        return PlannedPreemption(planned[0], planned[1], past)

    def evict(self, victim: RunningJob, job: PendingJob, past: PastProtection = "") -> None:
        """Preempt ``victim`` for ``job``; ``past``: the protection the plan went past (the
        reason says so)."""
        if past == "first_gpu":
            level = self.state.las_level
            why = (
                f"preempted by {job.job_id}: company {job.company_id} holds no GPUs and the "
                f"job is within its fair share; company {victim.company_id} keeps other GPUs "
                f"and {victim.job_id} has received at least as much GPU-time (2D-LAS level "
                f"{level(victim.attained_at(self.now))} >= {level(job.attained_gpu_seconds)})"
            )
        elif self.starvation_preempts(job, victim):
            waited = (self.now - job.submit_time_s) / 3600.0
            why = f"preempted by {job.job_id}, which has waited {waited:.1f} h (starvation guard)"
        elif self.s.preemption and self.policy.outranks(job, victim, self.state):
            entitled = self.state.entitled if self.uses_entitlement else None
            reason = rank_reason(
                self.policy.name, entitled, self.state.las_level, job, victim, self.now
            )
            why = f"preempted by {job.job_id}: {reason}"
        else:
            why = (
                f"preempted by {job.job_id}: company {job.company_id} reclaims its guaranteed "
                f"GPUs from borrowing company {victim.company_id}"
            )
        if protected_until_s(victim, self.s) > self.now:
            if past == "reclaim":
                level = self.state.las_level
                why += (
                    f" ({victim.job_id} runs beyond its company's fair share and has received "
                    f"more GPU-time (2D-LAS level {level(victim.attained_at(self.now))} > "
                    f"{level(job.attained_gpu_seconds)}): its run-time protection yields)"
                )
            elif past == "first_gpu":
                why += f" ({victim.job_id}'s run-time protection yields to a company's first GPU)"
        self.cap.release(victim.placement)
        self.quota.remove(victim.company_id, self.quota.type_of(victim), victim.num_gpus)
        self.budget.release(victim, self.now)
        del self.running[victim.job_id]
        self._preempt_failed.clear()
        self.preemptions.append(PreemptDecision(victim.job_id, job.job_id, why))

    def block(
        self, job: PendingJob, shape: JobShape, types: tuple[str, ...], use_free: bool
    ) -> None:
        if self.reserving:
            found = find_reservation(self.cap, shape, types, self.running.values(), self.now)
            if found is not None:
                shadow, slots = found
                self.cap.reserve(slots)
                self.reserved_at[job.job_id] = shadow
                self.reserving = len(self.reserved_at) < self.s.max_reservations
                self.min_shadow = min(self.min_shadow, shadow)
                node = self.cap.nodes[slots[0][0]].node_id
                why = f"next to start: {shape.describe()} reserved on {node}"
                self.waits.append((job, WaitReason.RESERVED, why, types, None))
                return
        if not use_free and self.cap.fits_free(shape, types):
            self.waits.append((job, WaitReason.BEHIND_RESERVATION, "", types, None))
            return
        self.waits.append((job, WaitReason.CAPACITY, "", types, None))

    # -- reasons and estimates -----------------------------------------------------
    def finish_waits(self) -> tuple[WaitDecision, ...]:
        return wait_decisions(
            self.waits, self.cap, list(self.running.values()), self.now, self.reserved_at,
            self.min_shadow,
        )  # fmt: skip


def schedule(snapshot: SchedulingSnapshot) -> SchedulingResult:
    """Run one scheduling pass over a frozen snapshot.

    Python's cyclic garbage collector is paused for the pass (and restored after): a pass
    allocates tens of thousands of small objects, none in reference cycles, and a full
    collection over a large snapshot would otherwise add tens of milliseconds at random.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Pass(snapshot).run()
    finally:
        if was_enabled:
            gc.enable()
