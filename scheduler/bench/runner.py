"""Runs every policy on the same trace and cluster, in a quality and a tight-budget run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from scheduler.bench.metrics import FairnessAccumulator, compute_metrics
from scheduler.core.model import CompanyQuota, GpuNode, PolicySettings
from scheduler.sim.simulator import SimConfig, SimResult, simulate, with_true_limits
from scheduler.sim.trace import TraceJob

DEFAULT_POLICY = "las_fair"
# the cluster the shared trace's README suggests (21 GPUs; the Makefile's CLUSTER_README)
README_CLUSTER = "1x8:G2,1x4:G2,1x4:T4,1x2:P100,1x1:V100M16,1x1:V100M32,1x1:G3"

_OFF = {"backfill": False, "starvation_after_s": None, "preemption": False, "quota_reclaim": False}


@dataclass(frozen=True)
class BenchPolicy:
    name: str
    settings: PolicySettings
    oracle_limits: bool = False  # time limits = true durations (reference only)


BENCH_POLICIES: tuple[BenchPolicy, ...] = (
    BenchPolicy("fifo", PolicySettings(policy="fifo", **_OFF)),  # type: ignore[arg-type]
    BenchPolicy(
        "fifo_strict",
        PolicySettings(policy="fifo_strict", head_of_line_blocking=True, **_OFF),  # type: ignore[arg-type]
    ),
    BenchPolicy("sjf_oracle", PolicySettings(policy="sjf", **_OFF), oracle_limits=True),  # type: ignore[arg-type]
    BenchPolicy("priority", PolicySettings(policy="priority", quota_reclaim=False)),
    BenchPolicy("fair_share", PolicySettings(policy="fair_share", quota_reclaim=False)),
    BenchPolicy("quota", PolicySettings(policy="quota", preemption=False)),
    BenchPolicy(
        "las",
        PolicySettings(
            policy="las",
            backfill=False,
            quota_reclaim=False,
            starvation_after_s=None,
            max_preemptions_per_pass=64,
            preemption_backoff=1.0,  # Tiresias as published: no backoff
        ),
    ),
    BenchPolicy("fair_las", PolicySettings(policy="fair_las")),
    BenchPolicy(DEFAULT_POLICY, PolicySettings(policy=DEFAULT_POLICY)),
)


def bench_policy(name: str) -> BenchPolicy:
    """The benchmark's policy of that name (``KeyError`` names the known ones)."""
    for policy in BENCH_POLICIES:
        if policy.name == name:
            return policy
    raise KeyError(f"unknown bench policy {name!r}; known: {[p.name for p in BENCH_POLICIES]}")


def tenant_demand(jobs: Sequence[TraceJob]) -> dict[str, float]:
    demand: dict[str, float] = defaultdict(float)
    for j in jobs:
        demand[j.tenant] += j.num_gpus * j.duration_s
    return dict(demand)


def make_quotas(nodes: Sequence[GpuNode], weights: dict[str, float]) -> dict[str, CompanyQuota]:
    """Each company is guaranteed its weight's share of every GPU type; borrowing unlimited."""
    per_type: dict[str, float] = defaultdict(float)
    for n in nodes:
        per_type[n.gpu_type] += n.gpu_count
    total_w = sum(weights.values()) or 1.0
    return {
        c: CompanyQuota(
            c, {t: cap * w / total_w for t, cap in per_type.items()}, None, weight=w / total_w
        )
        for c, w in weights.items()
    }


def run_policy(
    policy: BenchPolicy,
    jobs: Sequence[TraceJob],
    nodes: Sequence[GpuNode],
    grant_fraction: float | None,
    checkpoint_interval_s: float = 1800.0,
    accumulator: Callable[
        [Sequence[tuple[str, int]], Mapping[str, float]], FairnessAccumulator
    ] = FairnessAccumulator,
) -> tuple[dict[str, float | int], SimResult]:
    """``grant_fraction``: grants as a fraction of demand; None = ample (10x limits).
    ``accumulator`` builds the fairness metric's accumulator (a subclass may record more)."""
    demand = tenant_demand(jobs)
    grants: dict[str, float]
    if grant_fraction is None:
        grants = defaultdict(float)
        for j in jobs:
            grants[j.tenant] += 10.0 * j.num_gpus * j.time_limit_s
    else:
        grants = defaultdict(float, {c: d * grant_fraction for c, d in demand.items()})
    weights = dict(grants)  # fair-share weight = grant (policy quotas and the metric alike)
    quotas = make_quotas(nodes, weights)
    total_w = sum(weights.values()) or 1.0
    fairness = accumulator(
        [(n.gpu_type, n.gpu_count) for n in nodes], {c: w / total_w for c, w in weights.items()}
    )
    replay_jobs = with_true_limits(jobs) if policy.oracle_limits else list(jobs)
    config = SimConfig(policy.settings, dict(grants), quotas, checkpoint_interval_s)
    result = simulate(replay_jobs, nodes, config, fairness)
    result.fairness_by_tenant = fairness.by_tenant()
    return compute_metrics(result, grants, fairness), result
