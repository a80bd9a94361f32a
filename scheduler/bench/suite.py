"""The default policy against `las` and `fifo` on a grid of clusters and perturbed traces.

Why: the replay is chaotic — one rule or knob moves a single configuration's average JCT by
10-25 % and its Jain index by 0.1 (decision 0002) — so a candidate change must be judged on
many configurations at once, never on one file. A configuration is one cluster, one
perturbation seed of the trace (0 = the trace as it is, n > 0 = ``perturb(trace, n)``) and
one time-limit seed. Each is replayed with the default policy (``--set`` overrides its
settings), ``las`` and ``fifo`` in the quality run; the summary gives the means of the
default's ratios and how many configurations meet each target.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeGuard

from scheduler.bench.compare import bootstrap_interval
from scheduler.bench.perturb import perturb
from scheduler.bench.runner import DEFAULT_POLICY, bench_policy, run_policy
from scheduler.core.model import PolicySettings
from scheduler.core.policies import get_policy
from scheduler.sim.trace import jobs_from_rows, load_trace, parse_cluster

SUITE_POLICIES = (DEFAULT_POLICY, "las", "fifo")


@dataclass(frozen=True)
class SuiteConfig:
    cluster: str
    cluster_label: str  # "21 GPUs" (the spec is in the output's "clusters")
    perturb_seed: int
    limit_seed: int

    @property
    def name(self) -> str:
        trace = "trace" if self.perturb_seed == 0 else f"perturbed {self.perturb_seed}"
        return f"{self.cluster_label}, {trace}, limits {self.limit_seed}"


def cluster_labels(specs: Sequence[str]) -> dict[str, str]:
    """``spec -> "21 GPUs"``; clusters of the same size are told apart by their position."""
    sizes = {spec: int(sum(n.gpu_count for n in parse_cluster(spec))) for spec in specs}
    labels = {}
    for i, spec in enumerate(specs, start=1):
        same = sum(1 for size in sizes.values() if size == sizes[spec])
        labels[spec] = f"{sizes[spec]} GPUs" + (f" (#{i})" if same > 1 else "")
    return labels


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` pairs of ``PolicySettings`` fields, each VALUE read as JSON (``none`` =
    no value, a bare word = a string) and checked against the field's type."""
    by_name = {f.name: f for f in fields(PolicySettings)}
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        field = by_name.get(key.strip())
        if not sep or field is None:
            raise ValueError(
                f"--set {pair!r}: expected FIELD=VALUE, FIELD one of {', '.join(sorted(by_name))}"
            )
        out[field.name] = _typed_value(field.name, str(field.type), raw.strip())
    if "policy" in out:
        get_policy(out["policy"])  # an unknown name fails here, naming the known ones
    return out


def _typed_value(name: str, annotation: str, text: str) -> Any:
    try:
        value = None if text.lower() == "none" else json.loads(text)
    except json.JSONDecodeError:
        value = text  # a bare word, such as a policy name
    base = annotation.split("|")[0].split("[")[0].strip()
    expected = {"bool": bool, "int": int, "float": float, "str": str, "tuple": tuple}.get(base)
    if value is None and "None" in annotation:
        return None
    if expected is bool and isinstance(value, bool):
        return value
    if expected is int and _is_number(value) and isinstance(value, int):
        return value
    if expected is float and _is_number(value):
        return float(value)
    if expected is str and isinstance(value, str):
        return value
    if expected is tuple and isinstance(value, list) and all(map(_is_number, value)):
        return tuple(float(v) for v in value)
    raise ValueError(f"--set {name}={text}: expected {annotation}")


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _replay(task: tuple[str, SuiteConfig, str, dict[str, Any]]) -> dict[str, float | int]:
    trace, config, policy_name, overrides = task
    if config.perturb_seed:
        jobs = jobs_from_rows(
            perturb(load_trace(trace), config.perturb_seed), seed=config.limit_seed
        )
    else:
        jobs = load_trace(trace, seed=config.limit_seed)
    policy = bench_policy(policy_name)
    if overrides:
        policy = replace(policy, settings=replace(policy.settings, **overrides))
    metrics, _ = run_policy(policy, jobs, parse_cluster(config.cluster), None)
    return metrics


def run_suite(
    trace: str,
    clusters: Sequence[str],
    perturb_seeds: Sequence[int],
    limit_seeds: Sequence[int],
    overrides: dict[str, Any] | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    labels = cluster_labels(clusters)
    configs = [
        SuiteConfig(c, labels[c], p, s)
        for c in clusters
        for p in perturb_seeds
        for s in limit_seeds
    ]
    tasks = [
        (trace, cfg, name, (overrides or {}) if name == DEFAULT_POLICY else {})
        for cfg in configs
        for name in SUITE_POLICIES
    ]
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    if workers == 1:
        results = [_replay(t) for t in tasks]
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_replay, tasks))
    by_task = {(t[1], t[2]): m for t, m in zip(tasks, results, strict=True)}
    rows = [_row(cfg, {n: by_task[cfg, n] for n in SUITE_POLICIES}) for cfg in configs]
    return {
        "default_policy": DEFAULT_POLICY,
        "trace": str(trace),
        # compare refuses to pair runs of different traces (the names of configurations do
        # not say which trace they replayed)
        "trace_sha256": hashlib.sha256(Path(trace).read_bytes()).hexdigest(),
        "overrides": overrides or {},
        "clusters": {label: spec for spec, label in labels.items()},
        "configurations": rows,
        "summary": _summary(rows),
    }


def _row(cfg: SuiteConfig, m: dict[str, dict[str, float | int]]) -> dict[str, Any]:
    d, las, fifo = m[DEFAULT_POLICY], m["las"], m["fifo"]
    return {
        "name": cfg.name,
        "cluster": cfg.cluster,
        "perturb_seed": cfg.perturb_seed,
        "limit_seed": cfg.limit_seed,
        "avg_jct_s": {n: float(m[n]["avg_jct_s"]) for n in SUITE_POLICIES},
        "jct_to_las": float(d["avg_jct_s"]) / float(las["avg_jct_s"]),
        "jct_to_fifo": float(d["avg_jct_s"]) / float(fifo["avg_jct_s"]),
        # the jobs' mean duration / FIFO's avg JCT: no policy's jct_to_fifo goes below it
        "jct_floor_to_fifo": float(d["avg_duration_s"]) / float(fifo["avg_jct_s"]),
        "utilization_to_fifo": float(d["utilization"]) / float(fifo["utilization"]),
        "jain_fairness": float(d["jain_fairness"]),
        # a second reading of the index (not the target; scheduler/bench/metrics.py)
        "jain_fairness_while_active": {
            n: float(m[n]["jain_fairness_while_active"]) for n in SUITE_POLICIES
        },
        "preemptions": int(d["preemptions"]),
        "budget_overrun_gpu_s": float(d["budget_overrun_gpu_s"]),
    }


def _summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)

    def mean(key: str) -> float:
        return sum(float(r[key]) for r in rows) / n

    return {
        "configurations": n,
        "mean_avg_jct_s": sum(r["avg_jct_s"][DEFAULT_POLICY] for r in rows) / n,
        "mean_jct_to_las": mean("jct_to_las"),
        "geomean_jct_to_las": math.exp(sum(math.log(r["jct_to_las"]) for r in rows) / n),
        "mean_jct_to_fifo": mean("jct_to_fifo"),
        "mean_utilization_to_fifo": mean("utilization_to_fifo"),
        "mean_jain_fairness": mean("jain_fairness"),
        "preemptions": sum(r["preemptions"] for r in rows),
        # 95 % bootstrap intervals of the means above (configurations resampled, seeded):
        # how far the grid's noise leaves each mean from its target
        "intervals": {
            key: list(bootstrap_interval([float(r[key]) for r in rows]))
            for key in ("jct_to_las", "jct_to_fifo", "utilization_to_fifo", "jain_fairness")
        },
        # configurations where 0.5 x FIFO's avg JCT is above the jobs' mean duration (else
        # no policy can meet that target there)
        "attainable": {
            "avg_jct_le_0.5x_fifo": sum(r["jct_floor_to_fifo"] <= 0.5 for r in rows),
        },
        "met": {
            "avg_jct_le_0.5x_fifo": sum(r["jct_to_fifo"] <= 0.5 for r in rows),
            "avg_jct_le_las": sum(r["jct_to_las"] <= 1.0 for r in rows),
            "utilization_ge_fifo": sum(r["utilization_to_fifo"] >= 1.0 for r in rows),
            "jain_fairness_ge_0.95": sum(r["jain_fairness"] >= 0.95 for r in rows),
            "zero_budget_overrun": sum(r["budget_overrun_gpu_s"] == 0 for r in rows),
        },
        # the second reading of the index, for every suite policy: mean, and how many
        # configurations reach 0.95 (not a target: scheduler/bench/metrics.py)
        "jain_fairness_while_active": {
            name: {
                "mean": sum(r["jain_fairness_while_active"][name] for r in rows) / n,
                "ge_0.95": sum(r["jain_fairness_while_active"][name] >= 0.95 for r in rows),
            }
            for name in SUITE_POLICIES
        },
    }


def format_table(out: dict[str, Any]) -> str:
    lines = [f"{label}: {spec}" for label, spec in out["clusters"].items()]
    lines += [
        f"{'configuration':<36} {'JCT h':>6} {'÷las':>6} {'÷fifo':>6} {'util÷':>6} {'Jain':>5}"
    ]
    for r in out["configurations"]:
        lines.append(
            f"{r['name']:<36} {r['avg_jct_s'][DEFAULT_POLICY] / 3600:6.2f} "
            f"{r['jct_to_las']:6.3f} {r['jct_to_fifo']:6.3f} {r['utilization_to_fifo']:6.3f} "
            f"{r['jain_fairness']:5.2f}"
        )
    s = out["summary"]
    n = s["configurations"]
    lines.append(
        f"{'mean of ' + str(n):<36} {s['mean_avg_jct_s'] / 3600:6.2f} "
        f"{s['mean_jct_to_las']:6.3f} {s['mean_jct_to_fifo']:6.3f} "
        f"{s['mean_utilization_to_fifo']:6.3f} {s['mean_jain_fairness']:5.3f}"
    )
    shown = {"jct_to_las": "÷las", "jct_to_fifo": "÷fifo", "utilization_to_fifo": "util÷"}
    lines.append(
        "95 % intervals of the means (bootstrap): "
        + ", ".join(
            f"{shown.get(k, 'Jain')} {low:.3f}-{high:.3f}"
            for k, (low, high) in s["intervals"].items()
        )
    )
    lines.append("targets met: " + ", ".join(f"{k} {v}/{n}" for k, v in s["met"].items()))
    lines.append(
        "within reach of any policy (the jobs' mean duration is below the target): "
        + ", ".join(f"{k} {v}/{n}" for k, v in s["attainable"].items())
    )
    lines.append(
        "not a target: jain_fairness_while_active mean (configurations >= 0.95): "
        + ", ".join(
            f"{name} {v['mean']:.3f} ({v['ge_0.95']}/{n})"
            for name, v in s["jain_fairness_while_active"].items()
        )
    )
    return "\n".join(lines)
