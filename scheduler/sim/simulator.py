"""Event-driven replay: arrivals and completions call the core, a simulated executor applies.

The core sees only what the hub would see (time limits, never true durations). Preemption
loses the progress since the job's last checkpoint (``checkpoint_interval_s``); the job
goes back to the queue with its original submit time and the service it received.
Budgets: a company's runs are charged when they end (completion or preemption).
"""

from __future__ import annotations

import heapq
import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from scheduler.core.engine import schedule
from scheduler.core.model import (
    CompanyAccount,
    CompanyQuota,
    DeviceShare,
    GpuNode,
    PendingJob,
    PolicySettings,
    RunningJob,
    SchedulingSnapshot,
)
from scheduler.core.protection import protected_until_s
from scheduler.sim.trace import TraceJob

# (t0, t1, allocated GPUs per tenant, unfinished (waiting + running) jobs counted per shape
#  (tenant, allowed GPU types; () = any, GPUs per job), tenants with waiting jobs)
Allocation = Mapping[str, float]
Demand = Mapping[tuple[str, tuple[str, ...], float], int]
IntervalObserver = Callable[[float, float, Allocation, Demand, set[str]], None]
# passes at one simulated instant after which the replay calls it a preemption loop: a pass
# that preempts passes again at once, so with no minimum run time two jobs can take each
# other's GPUs forever without the clock moving
MAX_PASSES_AT_ONE_INSTANT = 1_000


class PreemptionLoopError(RuntimeError):
    """Jobs kept preempting each other without simulated time passing."""


@dataclass(frozen=True)
class SimConfig:
    settings: PolicySettings
    grants_gpu_s: Mapping[str, float]
    quotas: Mapping[str, CompanyQuota] = field(default_factory=dict)
    checkpoint_interval_s: float = 1800.0
    usage_half_life_s: float = 24 * 3600.0


@dataclass
class JobRecord:
    job: TraceJob
    status: str = "pending"  # pending | running | completed | rejected | refused
    reason: str = ""
    first_start_s: float | None = None
    finish_s: float | None = None
    remaining_work_s: float = 0.0
    run_limit_s: float = 0.0
    attained_gpu_s: float = 0.0
    preemptions: int = 0
    version: int = 0


@dataclass
class SimResult:
    records: dict[str, JobRecord]
    capacity_gpus: float
    charged_gpu_s: dict[str, float]
    allocated_gpu_s: float
    lost_gpu_s: float
    preemptions: int
    passes: int
    pass_time_s: float
    replay_s: float
    timeline: list[tuple[float, float]]  # (time, allocated GPUs) after each event
    # per tenant, while it had jobs waiting: GPU-seconds received and fair share (the bench's
    # fairness metric fills it; the replay itself does not)
    fairness_by_tenant: dict[str, dict[str, float]] = field(default_factory=dict)


class SimulatedExecutor:
    """Implements scheduler.executors.base.Executor on simulated time."""

    def __init__(self, sim: _Simulation) -> None:
        self.sim = sim
        self.running: dict[str, RunningJob] = {}

    def start(self, job: PendingJob, placement: tuple[DeviceShare, ...]) -> None:
        self.sim.on_start(job, placement)

    def stop(self, job_id: str, reason: str) -> None:
        self.sim.on_stop(job_id)

    def list_running(self) -> Sequence[RunningJob]:
        return tuple(self.running.values())


class _Simulation:
    def __init__(
        self, jobs: Sequence[TraceJob], nodes: Sequence[GpuNode], config: SimConfig
    ) -> None:
        self.jobs = sorted(jobs, key=lambda j: (j.submit_s, j.job_id))
        self.nodes = tuple(nodes)
        self.cfg = config
        self.capacity = float(sum(n.gpu_count for n in nodes))
        self.records = {
            j.job_id: JobRecord(j, remaining_work_s=j.duration_s, run_limit_s=j.time_limit_s)
            for j in self.jobs
        }
        self.pending: dict[str, PendingJob] = {}
        self.executor = SimulatedExecutor(self)
        self.completions: list[tuple[float, int, str, int]] = []
        self.seq = 0
        self.now = 0.0
        self.charged: dict[str, float] = defaultdict(float)
        self.usage: dict[str, float] = defaultdict(float)
        self.alloc: dict[str, float] = defaultdict(float)
        self.demand: dict[tuple[str, tuple[str, ...], float], int] = defaultdict(int)
        self.waiting: dict[str, int] = defaultdict(int)
        self.allocated_gpu_s = 0.0
        self.lost_gpu_s = 0.0
        self.preemptions = 0
        self.passes = 0
        self.pass_time = 0.0
        self.timeline: list[tuple[float, float]] = []
        self.wake_s = math.inf  # next pass without an event: a running job's protection ends

    # -- executor callbacks ------------------------------------------------------------
    def on_start(self, job: PendingJob, placement: tuple[DeviceShare, ...]) -> None:
        rec = self.records[job.job_id]
        del self.pending[job.job_id]
        self.waiting[job.company_id] -= 1
        rec.status = "running"
        if rec.first_start_s is None:
            rec.first_start_s = self.now
        running = RunningJob(
            job.job_id, job.company_id, job.num_gpus, placement, self.now, job.time_limit_s,
            job.submit_time_s, job.gpu_types, job.priority, job.preemptible,
            job.allow_multi_node, job.attained_gpu_seconds, job.preemption_count,
        )  # fmt: skip
        self.executor.running[job.job_id] = running
        self.alloc[job.company_id] += job.num_gpus
        rec.version += 1
        end = self.now + min(rec.remaining_work_s, job.time_limit_s)
        heapq.heappush(self.completions, (end, self.seq, job.job_id, rec.version))
        self.seq += 1

    def on_stop(self, job_id: str) -> None:
        run = self.executor.running.pop(job_id)
        rec = self.records[job_id]
        ran = self.now - run.start_time_s
        ckpt = self.cfg.checkpoint_interval_s
        kept = math.floor(ran / ckpt) * ckpt if ckpt > 0 else 0.0
        self.lost_gpu_s += run.num_gpus * (ran - kept)
        self._close_run(run, ran)
        rec.remaining_work_s -= kept
        rec.run_limit_s -= kept
        rec.attained_gpu_s += run.num_gpus * ran
        rec.preemptions += 1
        rec.version += 1
        rec.status = "pending"
        self.preemptions += 1
        self._enqueue(rec)

    # -- bookkeeping -------------------------------------------------------------------
    def _close_run(self, run: RunningJob, ran: float) -> None:
        self.charged[run.company_id] += run.num_gpus * ran
        self.allocated_gpu_s += run.num_gpus * ran
        self.alloc[run.company_id] -= run.num_gpus

    def _enqueue(self, rec: JobRecord) -> None:
        j = rec.job
        self.pending[j.job_id] = PendingJob(
            j.job_id, j.tenant, j.num_gpus, rec.run_limit_s, j.submit_s, j.gpu_types,
            attained_gpu_seconds=rec.attained_gpu_s, preemption_count=rec.preemptions,
        )  # fmt: skip
        self.waiting[j.tenant] += 1

    def _advance(self, t: float, observer: IntervalObserver | None) -> None:
        dt = t - self.now
        if dt > 0:
            if observer is not None:
                waiting = {c for c, n in self.waiting.items() if n > 0}
                observer(self.now, t, self.alloc, self.demand, waiting)
            decay = 0.5 ** (dt / self.cfg.usage_half_life_s)
            for c in set(self.usage) | set(self.alloc):
                self.usage[c] = self.usage[c] * decay + self.alloc[c] * dt
        self.now = t

    def _snapshot(self) -> SchedulingSnapshot:
        accounts = {
            c: CompanyAccount(c, grant - self.charged[c], self.usage[c])
            for c, grant in self.cfg.grants_gpu_s.items()
        }
        return SchedulingSnapshot(
            now_s=self.now,
            nodes=self.nodes,
            running=tuple(self.executor.list_running()),
            pending=tuple(self.pending.values()),
            quotas=self.cfg.quotas,
            accounts=accounts,
            settings=self.cfg.settings,
        )

    def _pass(self) -> int:
        t0 = time.perf_counter()
        result = schedule(self._snapshot())
        self.pass_time += time.perf_counter() - t0
        self.passes += 1
        for rej in result.rejected:
            rec = self.records[rej.job_id]
            rec.status, rec.reason = "rejected", rej.reason
            del self.pending[rej.job_id]
            self.waiting[rec.job.tenant] -= 1
            self.demand[rec.job.tenant, rec.job.gpu_types, rec.job.num_gpus] -= 1
        for pre in result.preemptions:
            self.executor.stop(pre.job_id, pre.reason)
        for start in result.starts:
            self.executor.start(self.pending[start.job_id], start.placement)
        if result.preemptions:
            # the service passes again within seconds: the victims, requeued, may start on
            # GPUs that are free now instead of waiting for the next arrival or completion
            self.wake_s = self.now
        else:
            self.wake_s = self._next_protection_end() if self.pending else math.inf
        return len(result.starts) + len(result.preemptions)

    def _next_protection_end(self) -> float:
        """When the next running job becomes preemptible (the service passes every few
        seconds; the replay passes at events, so a job blocked only by a victim's minimum
        run time must get a pass when that protection ends)."""
        s = self.cfg.settings
        if not (s.preemption or s.quota_reclaim) or s.min_runtime_s <= 0:
            return math.inf
        ends = [protected_until_s(run, s) for run in self.executor.running.values()]
        return min((t for t in ends if t > self.now), default=math.inf)

    def run(self, observer: IntervalObserver | None) -> SimResult:
        wall = time.perf_counter()
        # an observer that asks for them gets the live queue (read-only): which jobs wait
        # (the benchmark's fairness split, scheduler/bench/fairness_split.py)
        bind_pending = getattr(observer, "bind_pending", None)
        if bind_pending is not None:
            bind_pending(self.pending)
        arrivals = 0
        instant, passes_at_instant = -math.inf, 0
        while arrivals < len(self.jobs) or self.completions:
            t_arr = self.jobs[arrivals].submit_s if arrivals < len(self.jobs) else math.inf
            t_end = self.completions[0][0] if self.completions else math.inf
            self._advance(min(t_arr, t_end, self.wake_s), observer)
            self.wake_s = math.inf
            while self.completions and self.completions[0][0] <= self.now:
                _, _, job_id, version = heapq.heappop(self.completions)
                rec = self.records[job_id]
                if version != rec.version or rec.status != "running":
                    continue
                run = self.executor.running.pop(job_id)
                ran = self.now - run.start_time_s
                self._close_run(run, ran)
                rec.attained_gpu_s += run.num_gpus * ran
                rec.remaining_work_s -= ran
                rec.status, rec.finish_s = "completed", self.now
                self.demand[run.company_id, rec.job.gpu_types, run.num_gpus] -= 1
            while arrivals < len(self.jobs) and self.jobs[arrivals].submit_s <= self.now:
                rec = self.records[self.jobs[arrivals].job_id]
                self.demand[rec.job.tenant, rec.job.gpu_types, rec.job.num_gpus] += 1
                self._enqueue(rec)
                arrivals += 1
            if self.pending:
                self._pass()
                if self.now != instant:
                    instant, passes_at_instant = self.now, 0
                passes_at_instant += 1
                if passes_at_instant > MAX_PASSES_AT_ONE_INSTANT:
                    raise PreemptionLoopError(
                        f"preemption loop at {self.now:.0f} s: {MAX_PASSES_AT_ONE_INSTANT} passes "
                        f"without time passing ({self.preemptions} preemptions so far); "
                        "a minimum run time (min_runtime_s > 0) bounds the churn"
                    )
            self.timeline.append((self.now, sum(self.alloc.values())))
        for job_id in list(self.pending):
            rec = self.records[job_id]
            rec.status = "refused"
            rec.reason = "cannot start: company budget exhausted (or no capacity) at end of replay"
        return SimResult(
            records=self.records,
            capacity_gpus=self.capacity,
            charged_gpu_s=dict(self.charged),
            allocated_gpu_s=self.allocated_gpu_s,
            lost_gpu_s=self.lost_gpu_s,
            preemptions=self.preemptions,
            passes=self.passes,
            pass_time_s=self.pass_time,
            replay_s=time.perf_counter() - wall,
            timeline=self.timeline,
        )


def simulate(
    jobs: Sequence[TraceJob],
    nodes: Sequence[GpuNode],
    config: SimConfig,
    observer: IntervalObserver | None = None,
) -> SimResult:
    """Replay ``jobs`` on ``nodes`` until the queue drains."""
    return _Simulation(jobs, nodes, config).run(observer)


def with_true_limits(jobs: Sequence[TraceJob]) -> list[TraceJob]:
    """Oracle variant: time limits equal true durations (for the ``sjf_oracle`` reference)."""
    return [replace(j, time_limit_s=j.duration_s) for j in jobs]
