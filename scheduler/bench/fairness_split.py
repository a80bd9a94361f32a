"""Where a replay's fairness index loses: each tenant's fair share, split by what it waited with.

Why: ``jain_fairness`` integrates each tenant's x = received / fair share over the intervals
in which it had jobs waiting, so a tenant that waits a few minutes in the whole trace while
holding nothing has x = 0, and one such tenant among twenty caps the index near 0.95. The
split says which waits cost it: a job of two or more GPUs (it needs devices of one node), a
job that was preempted, or a fresh one; each while the tenant held nothing or some GPUs. The
index with one kind of wait served at fair share says what fixing it is worth (decision
0002, round "the frontier").

    python -m scheduler.bench fairness-split --trace CSV --cluster SPEC [--policy NAME]
        [--seed N] [--set FIELD=VALUE ...] [--below 0.5] --json OUT.json
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from scheduler.bench.args import cluster_spec, settings_override, trace_file
from scheduler.bench.metrics import FairnessAccumulator, Shape, jain_index
from scheduler.bench.runner import BENCH_POLICIES, DEFAULT_POLICY, bench_policy, run_policy
from scheduler.core.model import PendingJob
from scheduler.core.policies import WIDE_JOB_GPUS
from scheduler.sim.simulator import PreemptionLoopError
from scheduler.sim.trace import load_trace, parse_cluster

WIDE, PREEMPTED, FRESH = "wide job", "preempted job", "fresh job"  # what a tenant waited with
NOTHING, SOME = "nothing", "some GPUs"  # what it held meanwhile


def waiting_with(jobs: Sequence[PendingJob]) -> str:
    """What a tenant's waiting jobs are, the first that applies: a wide job (it can only
    start on one node's free devices), a preempted one, else fresh ones."""
    if any(j.num_gpus >= WIDE_JOB_GPUS for j in jobs):
        return WIDE
    if any(j.preemption_count for j in jobs):
        return PREEMPTED
    return FRESH


def cell_name(waited_with: str, held: str) -> str:
    return f"{waited_with}, holding {held}"


class FairnessSplit(FairnessAccumulator):
    """The benchmark's fairness accumulator, whose terms it leaves unchanged, plus per
    tenant the GPU-seconds received and fair share in each cell (what it waited with, what
    it held). The replay binds its live queue (``bind_pending``)."""

    def __init__(self, nodes: Sequence[tuple[str, int]], weight: Mapping[str, float]) -> None:
        super().__init__(nodes, weight)
        self.cells: dict[str, dict[str, list[float]]] = defaultdict(dict)
        self._pending: Mapping[str, PendingJob] = {}
        self._kind: dict[str, str] = {}

    def bind_pending(self, pending: Mapping[str, PendingJob]) -> None:
        self._pending = pending

    def __call__(
        self,
        t0: float,
        t1: float,
        alloc: Mapping[str, float],
        demand: Mapping[Shape, int],
        waiting: set[str],
    ) -> None:
        if waiting and t1 > t0:
            queued: dict[str, list[PendingJob]] = defaultdict(list)
            for job in self._pending.values():
                queued[job.company_id].append(job)
            self._kind = {c: waiting_with(queued[c]) for c in waiting}
        super().__call__(t0, t1, alloc, demand, waiting)

    def add(self, tenant: str, received_gpu_s: float, fair_gpu_s: float) -> None:
        super().add(tenant, received_gpu_s, fair_gpu_s)
        held = SOME if received_gpu_s > 1e-9 else NOTHING
        name = cell_name(self._kind.get(tenant, FRESH), held)
        cell = self.cells[tenant].setdefault(name, [0.0, 0.0])
        cell[0] += max(0.0, received_gpu_s)  # a float's -1e-16 of "nothing" held
        cell[1] += fair_gpu_s

    def jain_if_served(self, cells: Sequence[str]) -> float:
        """Jain's index if every tenant had received its fair share in ``cells``."""
        xs = []
        for tenant, fair in self.fair.items():
            if fair <= 1e-9:
                continue
            received = max(0.0, self.received[tenant])
            for name in cells:
                got, owed = self.cells[tenant].get(name, (0.0, 0.0))
                received += owed - got
            xs.append(received / fair)
        return jain_index(xs)


def split_replay(
    trace: str, cluster: str, policy_name: str, seed: int, overrides: dict[str, Any]
) -> dict[str, Any]:
    """Replay ``policy_name`` (the benchmark's quality run) and split its fairness terms."""
    policy = bench_policy(policy_name)
    if overrides:
        policy = replace(policy, settings=replace(policy.settings, **overrides))
    made: list[FairnessSplit] = []

    def accumulator(nodes: Sequence[tuple[str, int]], weight: Mapping[str, float]) -> Any:
        made.append(FairnessSplit(nodes, weight))
        return made[-1]

    metrics, _ = run_policy(
        policy, load_trace(trace, seed=seed), parse_cluster(cluster), None,
        accumulator=accumulator,
    )  # fmt: skip
    split = made[0]
    names = sorted({name for cells in split.cells.values() for name in cells})
    nothing = [n for n in names if n.endswith(NOTHING)]
    tenants = {
        tenant: {
            **term,
            "cells": {
                name: {"received_gpu_s": got, "fair_share_gpu_s": owed}
                for name, (got, owed) in sorted(split.cells[tenant].items())
            },
        }
        for tenant, term in split.by_tenant().items()
    }
    return {
        "policy": policy_name,
        "overrides": overrides,
        "trace": trace,
        "cluster": cluster,
        "seed": seed,
        "jain_fairness": metrics["jain_fairness"],
        "jain_if_served": {
            **{name: split.jain_if_served([name]) for name in names},
            "every wait holding nothing": split.jain_if_served(nothing),
        },
        "tenants": tenants,  # worst first
    }


def format_split(out: dict[str, Any], below: float) -> str:
    lines = [f"{out['policy']}: Jain {out['jain_fairness']:.3f}"]
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    low = {t: v for t, v in out["tenants"].items() if v["ratio"] < below}
    for tenant, term in low.items():
        lines.append(
            f"  {tenant}: x = {term['ratio']:.3f} of {term['fair_share_gpu_s'] / 3600:.1f} GPU-h"
        )
        for name, cell in term["cells"].items():
            totals[name][0] += cell["received_gpu_s"]
            totals[name][1] += cell["fair_share_gpu_s"]
    lines.append(f"tenants with x < {below:g} ({len(low)}), by what they waited with:")
    for name, (got, owed) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"  {name:<38} fair {owed / 3600:8.1f} GPU-h, received {got / 3600:8.1f}")
    lines.append("Jain if served at fair share:")
    for name, jain in out["jain_if_served"].items():
        lines.append(f"  {name:<38} {jain:.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m scheduler.bench fairness-split")
    p.add_argument("--trace", required=True, type=trace_file)
    p.add_argument("--cluster", required=True, type=cluster_spec)
    p.add_argument("--policy", default=DEFAULT_POLICY,
                   choices=[b.name for b in BENCH_POLICIES])  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the time-limit rule")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   type=settings_override, help="PolicySettings override (JSON value)")  # fmt: skip
    p.add_argument("--below", type=float, default=0.5, help="list tenants with x below this")
    p.add_argument("--json", required=True)
    args = p.parse_args(argv)
    try:
        out = split_replay(args.trace, args.cluster, args.policy, args.seed, dict(args.set))
    except PreemptionLoopError as exc:
        p.error(f"the replay stopped: {exc}")
    print(format_split(out, args.below))
    Path(args.json).write_text(json.dumps(out, indent=2, sort_keys=True))
    return 0
