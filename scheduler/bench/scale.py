"""Pass time of the core at scale: many companies, mixed GPU types and sizes."""

from __future__ import annotations

import random
import time
from dataclasses import replace

from scheduler.bench.metrics import percentile
from scheduler.core import core_build
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

NODE_MIX = (("H100", 8, 0.2), ("A100", 8, 0.4), ("L40S", 4, 0.2), ("T4", 4, 0.2))
SIZES = ((0.25, 0.15), (0.5, 0.2), (1.0, 0.45), (2.0, 0.1), (4.0, 0.05), (8.0, 0.05))


def _size(rng: random.Random) -> float:
    x = rng.random()
    for size, p in SIZES:
        if x < p:
            return size
        x -= p
    return 1.0


def build_snapshot(
    pending: int, gpus: int, seed: int, policy: str = "las_fair", companies: int = 200
) -> SchedulingSnapshot:
    """A cluster of about ``gpus`` GPUs, ~90% busy, with ``pending`` jobs waiting."""
    rng = random.Random(seed)
    nodes: list[GpuNode] = []
    for gpu_type, per_node, share in NODE_MIX:
        for k in range(max(1, round(gpus * share / per_node))):
            nodes.append(
                GpuNode(f"{gpu_type}-{k}", gpu_type, per_node, draining=rng.random() < 0.01)
            )
    types = [t for t, _, _ in NODE_MIX]
    names = [f"company-{i:03d}" for i in range(companies)]
    now = 1_000_000.0
    running: list[RunningJob] = []
    for node in nodes:
        for dev in range(node.gpu_count):
            if rng.random() < 0.9:
                company = rng.choice(names)
                limit = 3600.0 * rng.randint(1, 48)
                running.append(
                    RunningJob(
                        f"run-{node.node_id}-{dev}", company, 1.0,
                        (DeviceShare(node.node_id, dev, 1.0),),
                        now - rng.uniform(0, limit), limit, now - limit - 10.0,
                        attained_gpu_seconds=rng.uniform(0, 7200.0),
                    )
                )  # fmt: skip
    jobs = []
    for i in range(pending):
        r = rng.random()
        allowed = (
            () if r < 0.5 else (rng.choice(types),) if r < 0.9 else tuple(rng.sample(types, 2))
        )
        jobs.append(
            PendingJob(
                f"job-{i:05d}", rng.choice(names), _size(rng), 3600.0 * rng.randint(1, 24),
                now - rng.uniform(0, 3 * 86400.0), tuple(sorted(allowed)),
                priority=rng.choice((0, 0, 0, 1)),
                attained_gpu_seconds=rng.choice((0.0, 0.0, 0.0, rng.uniform(0, 20000.0))),
            )
        )  # fmt: skip
    guaranteed = {t: sum(n.gpu_count for n in nodes if n.gpu_type == t) / companies for t in types}
    quotas = {c: CompanyQuota(c, guaranteed, None, 1.0) for c in names}
    accounts = {c: CompanyAccount(c, rng.uniform(0, 5e6), rng.uniform(0, 1e5)) for c in names}
    return SchedulingSnapshot(
        now, tuple(nodes), tuple(running), tuple(jobs), quotas, accounts, PolicySettings(policy)
    )


BASELINE_POLICY = "fifo"  # the same machinery with the simplest order: a same-process yardstick


def _timed_pass(snap: SchedulingSnapshot) -> tuple[float, float]:
    """Wall and CPU milliseconds of one pass."""
    t0, c0 = time.perf_counter(), time.process_time()
    schedule(snap)
    return (time.perf_counter() - t0) * 1000.0, (time.process_time() - c0) * 1000.0


def measure(
    pending: int, gpus: int, repeats: int = 100, policy: str = "las_fair"
) -> dict[str, float | int | str]:
    """Pass time of ``policy`` on ``repeats`` fresh snapshots, and of ``fifo`` on the same ones.

    The two passes alternate (which goes first flips every snapshot), so the ratio of the
    two holds on a noisy machine where absolute milliseconds move by 2x between runs.
    """
    times, cpu, base_times, ratios = [], [], [], []
    for seed in range(repeats):
        snap = build_snapshot(pending, gpus, seed, policy)
        base = replace(snap, settings=replace(snap.settings, policy=BASELINE_POLICY))
        if seed % 2 == 0:
            (wall, cpu_ms), (base_wall, _) = _timed_pass(snap), _timed_pass(base)
        else:
            (base_wall, _), (wall, cpu_ms) = _timed_pass(base), _timed_pass(snap)
        times.append(wall)
        cpu.append(cpu_ms)
        base_times.append(base_wall)
        ratios.append(wall / max(base_wall, 1e-9))
    return {
        "pass_ms_p50": percentile(times, 50),
        "pass_ms_p99": percentile(times, 99),
        "pass_ms_max": max(times),
        "pass_cpu_ms_p50": percentile(cpu, 50),  # CPU time: less sensitive to a busy machine
        "pass_cpu_ms_p99": percentile(cpu, 99),
        "baseline_policy": BASELINE_POLICY,
        "baseline_pass_ms_p50": percentile(base_times, 50),
        "baseline_pass_ms_p99": percentile(base_times, 99),
        "ratio_to_baseline_p50": percentile(ratios, 50),  # per snapshot, then the median
        "pending": pending,
        "gpus": gpus,
        "repeats": repeats,
        "policy": policy,
        "core_build": core_build(),  # "pure" in a checkout, "compiled" in the image
    }
