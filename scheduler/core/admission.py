"""Budget and quota ledgers of one pass: the admission checks every policy shares."""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from scheduler.core.model import CompanyQuota, PendingJob, RunningJob, SchedulingSnapshot

EPS = 1e-9


@lru_cache(maxsize=4096)  # the same few amounts recur across a long queue
def _gpu_h(gpu_seconds: float) -> str:
    return f"{gpu_seconds / 3600.0:.1f} GPU-h"


@lru_cache(maxsize=4096)  # a company's many jobs that do not fit share a few such texts
def _over_budget(need: float, left: float) -> str:
    return f"company budget would be exceeded: needs {_gpu_h(need)}, {_gpu_h(max(0.0, left))} left"


class BudgetLedger:
    """Remaining budget minus what running (and just started) jobs may use in total.

    ``remaining_gpu_seconds`` is the grant minus charges of finished runs; a running job is
    charged when it ends, so until then its whole ``num_gpus * time_limit_s`` is held.
    """

    def __init__(self, snapshot: SchedulingSnapshot) -> None:
        self.left: dict[str, float] = {
            c: a.remaining_gpu_seconds for c, a in snapshot.accounts.items()
        }
        for job in snapshot.running:
            if job.company_id in self.left:
                self.left[job.company_id] -= job.num_gpus * job.time_limit_s

    @staticmethod
    def need(job: PendingJob) -> float:
        return job.num_gpus * job.time_limit_s

    def check(self, job: PendingJob) -> str | None:
        left = self.left.get(job.company_id)
        if left is None:
            return f"company {job.company_id} has no GPU-hour grant"
        need = self.need(job)
        if need > left + EPS:
            return _over_budget(need, left)
        return None

    def commit(self, job: PendingJob) -> None:
        self.left[job.company_id] -= self.need(job)

    def release(self, job: RunningJob, now_s: float) -> None:
        """A preempted job frees its hold; what it used so far will be charged."""
        if job.company_id in self.left:
            self.left[job.company_id] += job.remaining_commitment_gpu_seconds(now_s)


class QuotaLedger:
    """GPUs in use per company and GPU type against guarantees and borrowing limits."""

    def __init__(self, snapshot: SchedulingSnapshot, node_type: dict[str, str]) -> None:
        self.quotas: dict[str, CompanyQuota] = dict(snapshot.quotas)
        self.used: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.used_total: dict[str, float] = defaultdict(float)
        self.version = 0  # bumped on every change of usage (fair-share scores may change)
        self.node_type = node_type
        self.limited = {c for c, q in self.quotas.items() if q.borrowing_limit_gpus is not None}
        for job in snapshot.running:
            self.add(job.company_id, self.type_of(job), job.num_gpus)

    def type_of(self, job: RunningJob) -> str:
        if not job.placement:
            return ""
        return self.node_type.get(job.placement[0].node_id, "")

    def guaranteed(self, company: str, gpu_type: str) -> float:
        q = self.quotas.get(company)
        return q.guaranteed_gpus.get(gpu_type, 0.0) if q else 0.0

    def guaranteed_total(self, company: str) -> float:
        q = self.quotas.get(company)
        return sum(q.guaranteed_gpus.values()) if q else 0.0

    def weight(self, company: str) -> float:
        q = self.quotas.get(company)
        return q.weight if q and q.weight > 0 else 1.0

    def borrowed(self, company: str) -> float:
        return sum(
            max(0.0, used - self.guaranteed(company, t)) for t, used in self.used[company].items()
        )

    def add(self, company: str, gpu_type: str, gpus: float) -> None:
        self.version += 1
        self.used[company][gpu_type] += gpus
        self.used_total[company] += gpus

    def remove(self, company: str, gpu_type: str, gpus: float) -> None:
        self.version += 1
        self.used[company][gpu_type] -= gpus
        self.used_total[company] -= gpus

    def within_guarantee(self, company: str, gpu_type: str, gpus: float) -> bool:
        return self.used[company][gpu_type] + gpus <= self.guaranteed(company, gpu_type) + EPS

    def is_borrowing(self, company: str, gpu_type: str) -> bool:
        return self.used[company][gpu_type] > self.guaranteed(company, gpu_type) + EPS

    def types_within_limit(
        self, job: PendingJob, types: tuple[str, ...]
    ) -> tuple[tuple[str, ...], str | None]:
        """The GPU types on which the job stays within its company's borrowing limit."""
        q = self.quotas.get(job.company_id)
        if q is None or q.borrowing_limit_gpus is None:
            return types, None
        borrowed = self.borrowed(job.company_id)
        ok = []
        for t in types:
            used = self.used[job.company_id][t]
            g = self.guaranteed(job.company_id, t)
            extra = max(0.0, used + job.num_gpus - g) - max(0.0, used - g)
            if borrowed + extra <= q.borrowing_limit_gpus + EPS:
                ok.append(t)
        if ok:
            return tuple(ok), None
        return (), (
            f"company borrowing limit reached: borrows {borrowed:g} GPUs above its guarantee, "
            f"limit {q.borrowing_limit_gpus:g}"
        )
