"""Ordering policies: which pending job to try next, and whom a job may preempt.

A policy only orders and ranks; admission (budget, quota), placement, backfill,
aging and preemption mechanics are shared (see engine.py).

Tie-break order (every policy ends with it, so output is deterministic):
``submit_time_s`` ascending, then ``job_id`` ascending. Companies with equal fair-share
score are ordered by ``company_id``.

- ``fifo`` / ``fifo_strict``: submit time.
- ``priority``: priority class (higher first), then submit time. Preempts lower classes.
- ``sjf``: shortest time limit first (``sjf_oracle`` in the bench passes true durations).
- ``las``: Tiresias 2D-LAS: queue level of attained GPU-seconds (``las_thresholds_gpu_s``),
  then submit time. A job preempts running jobs in a higher (more served) level.
- ``quota``: jobs whose company stays within its guarantee first, then borrowing jobs;
  submit time within each. (Reclaim of guaranteed GPUs is the shared quota machinery.)
- ``fair_share``: the company with the lowest score ``(allocated GPUs + decayed usage /
  horizon) / weight`` goes next (re-evaluated after every start); FIFO within a company.
  A job may preempt another company's job if, after the swap, its company's score is still
  <= the victim company's score (Kueue's LessThanOrEqualToFinalShare), so no ping-pong.
- ``fair_las``: ``fair_share`` across companies; within a company 2D-LAS level, then
  shortest time limit, then submit time. Preempts within a company by LAS level, across
  companies by the fair-share rule (or, for a lower LAS level, Kueue's LessThanInitialShare).
- ``las_fair`` (default, see docs/decisions/0002): jobs inside the fair-share fill
  (entitlement.py: each company's weighted max-min share, water-filled with whole jobs by
  GPU type and shape) go first, then borrowers — Kueue's nominal quota before cohort
  borrowing; inside each tier 2D-LAS level (less attained GPU-time first, as Tiresias), then
  the company with the lowest fair-share score (re-evaluated after every start), then within
  a company shortest time limit, then submit time. Preemption: an entitled job preempts
  running borrowers, before it considers any entitled victim (one that has received more
  GPU-time at once, past its protection: ``reclaim_past_protection``; engine.py,
  ``try_preempt``); a borrower never preempts an entitled job;
  an entitled job of a company that holds no GPUs may take one past every protection
  (``first_gpu_preemption``); otherwise 2D-LAS levels.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from operator import attrgetter
from typing import Protocol

from scheduler.core.admission import QuotaLedger
from scheduler.core.entitlement import entitled_jobs
from scheduler.core.model import PendingJob, RunningJob, SchedulingSnapshot


@dataclass
class PassState:
    """What a policy may read during a pass (the ledger is updated as jobs start)."""

    snapshot: SchedulingSnapshot
    quota: QuotaLedger

    def __post_init__(self) -> None:
        horizon = max(1.0, self.snapshot.settings.fair_share_usage_horizon_s)
        self._usage = {
            c: a.decayed_usage_gpu_seconds / horizon for c, a in self.snapshot.accounts.items()
        }
        self._weight: dict[str, float] = {}
        self._entitled: frozenset[str] | None = None

    @property
    def entitled(self) -> frozenset[str]:
        """Jobs (running and pending) inside the fair-share fill (entitlement.py), per pass."""
        if self._entitled is None:
            snap = self.snapshot
            self._entitled = entitled_jobs(
                snap.nodes, snap.running, snap.pending, self.quota.weight,
                snap.settings.fill_largest_job_first,
            )  # fmt: skip
        return self._entitled

    @property
    def now_s(self) -> float:
        return self.snapshot.now_s

    def is_starving(self, job: PendingJob) -> bool:
        limit = self.snapshot.settings.starvation_after_s
        return limit is not None and self.snapshot.now_s - job.submit_time_s >= limit

    def las_level(self, attained_gpu_seconds: float) -> int:
        if attained_gpu_seconds <= 0.0:
            return 0
        return bisect_right(self.snapshot.settings.las_thresholds_gpu_s, attained_gpu_seconds)

    def company_score(self, company: str, extra_gpus: float = 0.0) -> float:
        """Fair-share score: (allocated GPUs + decayed usage / horizon) / weight."""
        weight = self._weight.get(company)
        if weight is None:
            weight = self._weight[company] = self.quota.weight(company)
        allocated = self.quota.used_total[company] + extra_gpus
        return (allocated + self._usage.get(company, 0.0)) / weight


class OrderingPolicy(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def global_aging(self) -> bool:
        """True: the engine puts starving jobs first overall; False: the policy ages them."""
        ...

    def order(self, jobs: Sequence[PendingJob], state: PassState) -> Iterator[PendingJob]:
        """Yield pending jobs in the order they should be tried (may look at ``state``)."""
        ...

    def outranks(self, job: PendingJob, victim: RunningJob, state: PassState) -> bool:
        """Whether ``job`` may preempt ``victim`` under this policy."""
        ...


def _submit_key(job: PendingJob) -> tuple[float, str]:
    return (job.submit_time_s, job.job_id)


@dataclass(frozen=True)
class SortedPolicy:
    """A policy whose order is one static sort key."""

    name: str
    key: Callable[[PendingJob, PassState], tuple[float | int | str, ...]]
    preempts: Callable[[PendingJob, RunningJob, PassState], bool] | None = None

    @property
    def global_aging(self) -> bool:
        # a property, not a class attribute: a compiled dataclass (mypyc, docs/decisions/0002)
        # would take an unannotated class attribute for a field with a default
        return True  # starving jobs go first in the whole queue (engine does it)

    def order(self, jobs: Sequence[PendingJob], state: PassState) -> Iterator[PendingJob]:
        return iter(sorted(jobs, key=lambda j: self.key(j, state)))

    def outranks(self, job: PendingJob, victim: RunningJob, state: PassState) -> bool:
        return self.preempts(job, victim, state) if self.preempts else False


def _fifo_key(j: PendingJob, s: PassState) -> tuple[float | int | str, ...]:
    return _submit_key(j)


def _priority_key(j: PendingJob, s: PassState) -> tuple[float | int | str, ...]:
    return (-j.priority, j.submit_time_s, j.job_id)


def _sjf_key(j: PendingJob, s: PassState) -> tuple[float | int | str, ...]:
    return (j.time_limit_s, j.submit_time_s, j.job_id)


def _las_key(j: PendingJob, s: PassState) -> tuple[float | int | str, ...]:
    return (s.las_level(j.attained_gpu_seconds), j.submit_time_s, j.job_id)


def _quota_key(j: PendingJob, s: PassState) -> tuple[float | int | str, ...]:
    within = s.quota.used_total[j.company_id] + j.num_gpus <= s.quota.guaranteed_total(j.company_id)
    return (0 if within else 1, j.submit_time_s, j.job_id)


def _fair_las_key(j: PendingJob, s: PassState) -> tuple[float | int | str, ...]:
    return (s.las_level(j.attained_gpu_seconds), j.time_limit_s, j.submit_time_s, j.job_id)


def _priority_preempts(job: PendingJob, victim: RunningJob, s: PassState) -> bool:
    return job.priority > victim.priority


def _las_preempts(job: PendingJob, victim: RunningJob, s: PassState) -> bool:
    return s.las_level(job.attained_gpu_seconds) < s.las_level(victim.attained_at(s.now_s))


def _fair_preempts(job: PendingJob, victim: RunningJob, s: PassState) -> bool:
    if job.company_id == victim.company_id:
        return False
    mine = s.company_score(job.company_id, job.num_gpus)
    theirs = s.company_score(victim.company_id, -victim.num_gpus)
    return mine <= theirs


def _fair_las_preempts(job: PendingJob, victim: RunningJob, s: PassState) -> bool:
    """Fair-share swap, or a less-served job taking over from a more-served one.

    Within a company: a lower 2D-LAS level preempts (fairness across companies unchanged).
    Across companies: Kueue's LessThanOrEqualToFinalShare, or, for a lower LAS level,
    LessThanInitialShare (the preemptor's company stays below the victim's current share).
    """
    if job.company_id == victim.company_id:
        return _las_preempts(job, victim, s)
    mine = s.company_score(job.company_id, job.num_gpus)
    if mine <= s.company_score(victim.company_id, -victim.num_gpus):
        return True
    return _las_preempts(job, victim, s) and mine < s.company_score(victim.company_id)


Tiers = dict[int, tuple[dict[str, list[PendingJob]], set[str]]]  # tier -> (queues, aged)


def _oldest_fresh_submit(state: PassState) -> float:
    """Jobs submitted at or before this are starving (aging)."""
    limit = state.snapshot.settings.starvation_after_s
    return -math.inf if limit is None else state.now_s - limit


def _company_queues(
    jobs: Sequence[PendingJob], state: PassState
) -> tuple[dict[str, list[PendingJob]], set[str]]:
    """Each company's jobs (input order), and the companies that have a starving job."""
    queues: dict[str, list[PendingJob]] = {}
    for job in jobs:
        queue = queues.get(job.company_id)
        if queue is None:
            queues[job.company_id] = [job]
        else:
            queue.append(job)
    oldest = _oldest_fresh_submit(state)
    return queues, {j.company_id for j in jobs if j.submit_time_s <= oldest}


@dataclass(frozen=True)
class FairSharePolicy:
    """Lowest-score company next; ``within`` orders one company's own jobs.

    ``within_attrs``: when ``within`` is a plain tuple of job attributes, their names (the
    queue is then sorted once per attribute, last first, with ``operator.attrgetter``: the
    same order without a Python call or a key tuple per job).
    ``tiers``: groups the jobs by tier in one sweep (same result as ``tier`` per job).
    """

    name: str
    within: Callable[[PendingJob, PassState], tuple[float | int | str, ...]]
    preempts: Callable[[PendingJob, RunningJob, PassState], bool] | None = _fair_preempts
    tier: Callable[[PendingJob, PassState], int] | None = None  # lower tiers go first
    uses_entitlement: bool = False  # reads PassState.entitled (the fair-share fill)
    within_attrs: tuple[str, ...] = ()
    tiers: Callable[[Sequence[PendingJob], PassState], Tiers] | None = None

    @property
    def global_aging(self) -> bool:
        return False  # starving jobs go first within their company's queue

    def order(self, jobs: Sequence[PendingJob], state: PassState) -> Iterator[PendingJob]:
        if self.tier is None:
            return self._fair_order(*_company_queues(jobs, state), state)
        if self.tiers is not None:
            grouped = self.tiers(jobs, state)
        else:
            tiers: dict[int, list[PendingJob]] = {}
            for job in jobs:
                tiers.setdefault(self.tier(job, state), []).append(job)
            grouped = {t: _company_queues(tier_jobs, state) for t, tier_jobs in tiers.items()}
        return chain.from_iterable(self._fair_order(*grouped[t], state) for t in sorted(grouped))

    def _fair_order(
        self, queues: dict[str, list[PendingJob]], aged: set[str], state: PassState
    ) -> Iterator[PendingJob]:
        """``queues``: each company's jobs; ``aged``: companies with a starving job."""
        heads: dict[str, int] = {}
        heap: list[tuple[float, str]] = []
        limit = state.snapshot.settings.starvation_after_s
        oldest = -math.inf if limit is None else state.now_s - limit
        within = self.within
        # one stable sort per attribute, last first: the order of the tuple key, with the
        # sort's fast single-type comparisons instead of a tuple per job
        plain = [attrgetter(a) for a in reversed(self.within_attrs)]
        score = state.company_score
        for company, queue in queues.items():
            if len(queue) > 1:
                if plain:
                    for by in plain:
                        queue.sort(key=by)
                    if company in aged:  # stable: starving jobs first, each part as before
                        queue.sort(key=lambda j: j.submit_time_s > oldest)
                elif company in aged:
                    queue.sort(key=lambda j: (j.submit_time_s > oldest, *within(j, state)))
                else:
                    queue.sort(key=lambda j: within(j, state))
            heads[company] = 0
            heap.append((score(company), company))
        heapq.heapify(heap)
        ledger = state.quota
        while heap:
            _, company = heapq.heappop(heap)
            queue = queues[company]
            i = heads[company]
            seen = ledger.version
            # keep serving this company while it still has the lowest (score, id): same order
            # as re-pushing it after every job, without the heap traffic
            for job in islice(queue, i, None):
                yield job
                i += 1
                if ledger.version == seen:
                    continue  # nothing started or stopped: scores unchanged, still the lowest
                seen = ledger.version
                if i == len(queue):
                    break
                key = (score(company), company)
                if heap and heap[0] < key:
                    heapq.heappush(heap, key)
                    break
            heads[company] = i

    def outranks(self, job: PendingJob, victim: RunningJob, state: PassState) -> bool:
        return self.preempts(job, victim, state) if self.preempts else False


def _las_tier(j: PendingJob, s: PassState) -> int:
    return s.las_level(j.attained_gpu_seconds)


def _entitled_las_tier(j: PendingJob, s: PassState) -> int:
    """Jobs within their company's fair share first, then borrowers; 2D-LAS level inside."""
    return s.las_level(j.attained_gpu_seconds) + (0 if j.job_id in s.entitled else 1_000)


def _entitled_las_tiers(jobs: Sequence[PendingJob], s: PassState) -> Tiers:
    """``_entitled_las_tier`` of every job, grouped by company, in one sweep (hot path)."""
    entitled = s.entitled
    bounds = s.snapshot.settings.las_thresholds_gpu_s
    oldest = _oldest_fresh_submit(s)
    tiers: Tiers = {}
    for job in jobs:
        a = job.attained_gpu_seconds
        tier = (0 if a <= 0.0 else bisect_right(bounds, a)) + (
            0 if job.job_id in entitled else 1_000
        )
        group = tiers.get(tier)
        if group is None:
            group = tiers[tier] = ({}, set())
        queue = group[0].get(job.company_id)
        if queue is None:
            group[0][job.company_id] = [job]
        else:
            queue.append(job)
        if job.submit_time_s <= oldest:
            group[1].add(job.company_id)
    return tiers


WIDE_JOB_GPUS = 2.0  # a job of this many GPUs or more needs devices of one node


def displaces_for_width(job: PendingJob, victim: RunningJob, entitled: frozenset[str]) -> bool:
    """Both entitled, ``job`` wide and wider than ``victim``, whatever their companies.

    The fill placed both side by side, so the narrower job fits elsewhere within its
    company's share; the wide one can only wait for a whole node to empty, which on a busy
    cluster it never does (small jobs take every device freed). A company's own small job
    is no exception: it blocks the company's wide job just the same. Measured in decision
    0002.
    """
    return (
        job.num_gpus >= WIDE_JOB_GPUS
        and job.num_gpus > victim.num_gpus
        and job.job_id in entitled
        and victim.job_id in entitled
    )


def _entitled_las_preempts(job: PendingJob, victim: RunningJob, s: PassState) -> bool:
    """A job within its fair share reclaims GPUs from borrowers (jobs outside the fill);
    nobody but another entitled job preempts an entitled one: a wider one
    (``displaces_for_width``) or one of a lower 2D-LAS level — except a borrower that has
    waited past ``starvation_after_s``, which is judged by 2D-LAS alone (Tiresias' guard).

    Why the exception: the fill may never reach a borrower's job — typically an 8-GPU job
    of a busy company whose only fitting node holds another company's long entitled 1-GPU
    job — and without it such a job waited until the whole queue drained (25 days on the
    17-GPU replay). Measured in decision 0002."""
    mine, theirs = job.job_id in s.entitled, victim.job_id in s.entitled
    if mine != theirs:
        if theirs and job.submit_time_s <= _oldest_fresh_submit(s):
            return _las_preempts(job, victim, s)
        return mine
    if mine and displaces_for_width(job, victim, s.entitled):
        return True
    return _las_preempts(job, victim, s)


def _limit_key(j: PendingJob, s: PassState) -> tuple[float | int | str, ...]:
    return (j.time_limit_s, j.submit_time_s, j.job_id)


POLICIES: dict[str, OrderingPolicy] = {
    "fifo": SortedPolicy("fifo", _fifo_key),
    "fifo_strict": SortedPolicy("fifo_strict", _fifo_key),
    "priority": SortedPolicy("priority", _priority_key, _priority_preempts),
    "sjf": SortedPolicy("sjf", _sjf_key),
    "las": SortedPolicy("las", _las_key, _las_preempts),
    "quota": SortedPolicy("quota", _quota_key),
    "fair_share": FairSharePolicy(
        "fair_share", _fifo_key, within_attrs=("submit_time_s", "job_id")
    ),
    "fair_las": FairSharePolicy("fair_las", _fair_las_key, _fair_las_preempts),
    "las_fair": FairSharePolicy(
        "las_fair",
        _limit_key,
        _entitled_las_preempts,
        _entitled_las_tier,
        uses_entitlement=True,
        within_attrs=("time_limit_s", "submit_time_s", "job_id"),
        tiers=_entitled_las_tiers,
    ),
}


def get_policy(name: str) -> OrderingPolicy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(sorted(POLICIES))}") from None
