"""A digest of the core's decisions on fixed inputs: do two builds decide alike?

Why: the container image runs ``scheduler/core`` compiled by mypyc (``ops/compile-core.sh``)
while development and most tests run the sources. The two must make the same decisions, to
the letter of every reason. Each build prints its fingerprint; equal fingerprints mean equal
decisions on every input below. Also handy for a refactoring that must not change behaviour.

Inputs: scale snapshots (``scheduler.bench.scale``) of every policy, each pass's every start,
preemption, wait (reason, queue position, estimate) and rejection; and, given a trace, a
replay of its first jobs with every benchmark policy (all metrics but wall-clock time), which
runs thousands of passes on snapshots the simulator builds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scheduler.bench.args import positive_int, trace_file
from scheduler.bench.runner import BENCH_POLICIES, README_CLUSTER, run_policy
from scheduler.bench.scale import build_snapshot
from scheduler.core import POLICIES, SchedulingResult, StartDecision, core_build, schedule
from scheduler.sim.trace import load_trace, parse_cluster

WALL_CLOCK_METRICS = frozenset({"replay_s", "scheduler_pass_ms_avg"})


def result_record(result: SchedulingResult) -> list[Any]:
    """Every decision of one pass as plain JSON values (floats kept exact by ``repr``)."""
    return [
        result.policy,
        [[s.job_id, _placement(s), s.gpu_type, s.reason] for s in result.starts],
        [[p.job_id, p.for_job_id, p.reason] for p in result.preemptions],
        [
            [w.job_id, str(w.code), w.reason, w.queue_position, w.estimated_start_s]
            for w in result.waiting
        ],
        [[r.job_id, r.reason] for r in result.rejected],
    ]


def _placement(start: StartDecision) -> list[list[Any]]:
    return [[d.node_id, d.device_index, d.fraction] for d in start.placement]


def fingerprint(
    *, pending: int, gpus: int, seeds: Sequence[int], trace: str | None, trace_jobs: int
) -> dict[str, Any]:
    digest = hashlib.sha256()
    passes = 0
    for name in sorted(POLICIES):
        for seed in seeds:
            result = schedule(build_snapshot(pending, gpus, seed, name, companies=40))
            digest.update(json.dumps(result_record(result)).encode())
            passes += 1
    replays = 0
    if trace is not None:
        jobs = load_trace(trace)[:trace_jobs]
        nodes = parse_cluster(README_CLUSTER)
        for policy in BENCH_POLICIES:
            metrics, _ = run_policy(policy, jobs, nodes, None)
            kept = {k: v for k, v in metrics.items() if k not in WALL_CLOCK_METRICS}
            digest.update(json.dumps([policy.name, kept], sort_keys=True).encode())
            replays += 1
    return {
        "fingerprint": digest.hexdigest(),
        "core_build": core_build(),
        "scale_passes": passes,
        "replays": replays,
        "trace_jobs": trace_jobs if trace is not None else 0,
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler.bench fingerprint")
    parser.add_argument("--pending", type=positive_int, default=1500)
    parser.add_argument("--gpus", type=positive_int, default=200)
    parser.add_argument("--seeds", type=positive_int, default=2, help="snapshots per policy")
    parser.add_argument("--trace", type=trace_file, help="also replay this trace's first jobs")
    parser.add_argument("--trace-jobs", type=positive_int, default=400)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    out = fingerprint(
        pending=args.pending,
        gpus=args.gpus,
        seeds=range(args.seeds),
        trace=args.trace,
        trace_jobs=args.trace_jobs,
    )
    print(f"{out['fingerprint']}  ({out['core_build']} core)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, sort_keys=True))
    return 0
