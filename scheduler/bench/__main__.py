"""Scheduler benchmark CLI.

Replay:  python -m scheduler.bench --trace CSV --cluster SPEC --json OUT.json
Scale:   python -m scheduler.bench scale --pending 10000 --gpus 1000 [--compiled] --json OUT.json
Dispatch: python -m scheduler.bench dispatch --json OUT.json (hub vs Ray submit→RUNNING)
Perturb: python -m scheduler.bench perturb --trace CSV --seed 1 --out OUT.csv
Fingerprint: python -m scheduler.bench fingerprint [--trace CSV] (digest of the decisions)
Fairness split: python -m scheduler.bench fairness-split --trace CSV --cluster SPEC
             [--policy NAME] [--set FIELD=VALUE ...] --json OUT.json (where Jain loses)
Suite:   python -m scheduler.bench suite --trace CSV --cluster SPEC [--cluster SPEC ...]
             --perturb-seeds 0,1,2,3 [--limit-seeds 0] [--set FIELD=VALUE ...] --json OUT.json
Compare: python -m scheduler.bench compare BASELINE.json CANDIDATE.json [--json OUT.json]
             (two suites, paired by configuration: differences with bootstrap intervals)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scheduler.bench.args import (
    cluster_spec,
    positive_int,
    seeds,
    settings_override,
    trace_file,
)
from scheduler.bench.perturb import perturb, write_csv
from scheduler.bench.plot import write_plot
from scheduler.bench.runner import BENCH_POLICIES, DEFAULT_POLICY, run_policy
from scheduler.bench.scale import measure
from scheduler.sim.simulator import PreemptionLoopError, SimResult
from scheduler.sim.trace import load_trace, parse_cluster

TARGET_PASS_MS = 50.0
TARGET_REPLAY_S = 60.0


def _targets(policies: dict[str, dict[str, float | int]]) -> dict[str, dict[str, float | bool]]:
    d, fifo, las = policies[DEFAULT_POLICY], policies["fifo"], policies["las"]
    checks = {
        "avg_jct_le_0.5x_fifo": (d["avg_jct_s"], 0.5 * fifo["avg_jct_s"], True),
        "avg_jct_le_las": (d["avg_jct_s"], las["avg_jct_s"], True),
        "utilization_ge_fifo": (d["utilization"], fifo["utilization"], False),
        "jain_fairness_ge_0.95": (d["jain_fairness"], 0.95, False),
        "replay_s_le_60": (max(p["replay_s"] for p in policies.values()), TARGET_REPLAY_S, True),
    }
    out: dict[str, dict[str, float | bool]] = {}
    for name, (value, target, lower_is_better) in checks.items():
        ratio = float(value) / float(target) if target else 0.0
        met = ratio <= 1.0 if lower_is_better else ratio >= 1.0
        out[name] = {"value": float(value), "target": float(target), "ratio": ratio, "met": met}
    # no policy's avg JCT goes below the jobs' mean duration: is 0.5 x FIFO's within reach?
    floor = float(d["avg_duration_s"])
    out["avg_jct_le_0.5x_fifo"]["attainable"] = floor <= 0.5 * float(fifo["avg_jct_s"])
    out["avg_jct_le_0.5x_fifo"]["floor_ratio"] = (
        floor / (0.5 * float(fifo["avg_jct_s"])) if fifo["avg_jct_s"] else 0.0
    )
    overrun = float(d["budget_overrun_gpu_s"])
    out["zero_budget_overrun"] = {
        "value": overrun,
        "target": 0.0,
        "ratio": 0.0,
        "met": overrun == 0,
    }
    return out


def replay(args: argparse.Namespace) -> int:
    jobs = load_trace(args.trace, seed=args.seed)
    nodes = parse_cluster(args.cluster)
    names = args.policies.split(",") if args.policies else [p.name for p in BENCH_POLICIES]
    chosen = [p for p in BENCH_POLICIES if p.name in names]
    policies: dict[str, dict[str, float | int]] = {}
    results: dict[str, SimResult] = {}
    for policy in chosen:
        metrics, result = run_policy(policy, jobs, nodes, None, args.checkpoint_interval)
        policies[policy.name] = metrics
        results[policy.name] = result
        print(
            f"{policy.name:12s} avg_jct={metrics['avg_jct_s']:9.0f}s "
            f"p99={metrics['p99_jct_s']:9.0f}s util={metrics['utilization']:.3f} "
            f"jain={metrics['jain_fairness']:.3f} ftf={metrics['max_finish_time_fairness']:.2f} "
            f"slowdown wide={metrics['wide_jobs_avg_bounded_slowdown']:.2f} "
            f"preempt={metrics['preemptions']} completed={metrics['completed']} "
            f"rejected={metrics['rejected']} replay={metrics['replay_s']:.1f}s",
            file=sys.stderr,
        )
    tight: dict[str, dict[str, float | int]] = {}
    if args.tight_grant_fraction > 0:
        for policy in chosen:
            metrics, _ = run_policy(
                policy, jobs, nodes, args.tight_grant_fraction, args.checkpoint_interval
            )
            tight[policy.name] = metrics
            print(
                f"tight {policy.name:12s} completed={metrics['completed']} "
                f"refused={metrics['refused_budget']} "
                f"overrun={metrics['budget_overrun_gpu_s']:.0f}",
                file=sys.stderr,
            )
    out: dict[str, object] = {
        "default_policy": DEFAULT_POLICY,
        "trace": str(args.trace),
        "cluster": args.cluster,
        "seed": args.seed,
        "checkpoint_interval_s": args.checkpoint_interval,
        "time_limit_rule": "ceil(duration * U(1.2, 5) / 1h) h, seeded per job",
        "policies": policies,
        # the terms of jain_fairness: per tenant, received / fair share while it had jobs
        # waiting (worst first), to see which companies the index is about
        "fairness_by_tenant": {name: r.fairness_by_tenant for name, r in results.items()},
    }
    if tight:
        out["tight_budget"] = {"grant_fraction": args.tight_grant_fraction, "policies": tight}
    if {DEFAULT_POLICY, "fifo", "las"} <= policies.keys():
        targets = _targets(policies)
        if tight:
            worst = max(float(m["budget_overrun_gpu_s"]) for m in tight.values())
            targets["zero_budget_overrun_tight"] = {
                "value": worst, "target": 0.0, "ratio": 0.0, "met": worst == 0,
            }  # fmt: skip
        out["targets"] = targets
        for name, t in targets.items():
            flag = "OK  " if t["met"] else "MISS"
            note = ""
            if t.get("attainable") is False:
                note = (
                    f"; out of reach of any policy: the jobs' mean duration alone is "
                    f"{t['floor_ratio']:.3f} x the target"
                )
            value, target = f"{t['value']:.4g}", f"{t['target']:.4g}"
            print(f"{flag} {name}: {value} vs {target} (ratio {t['ratio']:.3f}{note})")
    if {DEFAULT_POLICY, "fifo", "las"} <= policies.keys():
        print(
            "not a target: jain_fairness_while_active (over each tenant's whole active time) "
            + ", ".join(
                f"{name} {float(policies[name]['jain_fairness_while_active']):.3f}"
                for name in (DEFAULT_POLICY, "las", "fifo")
            ),
            file=sys.stderr,
        )
    if DEFAULT_POLICY in results:
        worst_terms = list(results[DEFAULT_POLICY].fairness_by_tenant.items())[:3]
        print(
            f"{DEFAULT_POLICY} worst fairness terms (received / fair share while waiting): "
            + ", ".join(
                f"{c} {t['ratio']:.2f} of {t['fair_share_gpu_s'] / 3600:.1f} GPU-h"
                for c, t in worst_terms
            ),
            file=sys.stderr,
        )
    json_path = Path(args.json)
    json_path.write_text(json.dumps(out, indent=2, sort_keys=True))
    if not args.no_plot:
        plot = write_plot(results, json_path.with_suffix(".png"))
        if plot:
            print(f"plot: {plot}", file=sys.stderr)
    return 0


def scale(args: argparse.Namespace) -> int:
    out = measure(args.pending, args.gpus, args.repeats, args.policy)
    _print_pass_time(out)
    if args.compiled and out["core_build"] != "compiled":
        from scheduler.bench.compiled import CompileError, compile_copy, measure_compiled

        with tempfile.TemporaryDirectory(prefix="compiled-core-") as tmp:
            try:
                compiled = measure_compiled(
                    compile_copy(Path(tmp)),
                    pending=args.pending, gpus=args.gpus, repeats=args.repeats,
                    policy=args.policy,
                )  # fmt: skip
            except CompileError as exc:
                print(f"compiled build: {exc}", file=sys.stderr)
                return 1
        _print_pass_time(compiled)
        out["compiled"] = compiled
        out["compiled_to_pure_p50"] = compiled["pass_ms_p50"] / out["pass_ms_p50"]
        print(f"compiled / pure p50 = {out['compiled_to_pure_p50']:.2f} (one process each)")
    Path(args.json).write_text(json.dumps(out, indent=2, sort_keys=True))
    return 0


def _print_pass_time(out: dict[str, Any]) -> None:
    p99 = float(out["pass_ms_p99"])
    print(
        f"{out['core_build']} core: pass p50={out['pass_ms_p50']:.1f} ms p99={p99:.1f} ms"
        f" (ratio {p99 / TARGET_PASS_MS:.3f} to the {TARGET_PASS_MS:g} ms target);"
        f" {out['baseline_policy']} on the same snapshots p50={out['baseline_pass_ms_p50']:.1f}"
        f" ms: {out['policy']} / {out['baseline_policy']} = {out['ratio_to_baseline_p50']:.2f}"
        " (same process, interleaved)"
    )


def suite(argv: Sequence[str]) -> int:
    from scheduler.bench.suite import format_table, run_suite

    sp = argparse.ArgumentParser(prog="python -m scheduler.bench suite")
    sp.add_argument("--trace", required=True, type=trace_file)
    sp.add_argument("--cluster", action="append", required=True, type=cluster_spec,
                    help="repeat for several")  # fmt: skip
    sp.add_argument("--perturb-seeds", type=seeds, default=[0], help="0 = the trace as is")
    sp.add_argument("--limit-seeds", type=seeds, default=[0], help="seeds of the limit rule")
    sp.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    type=settings_override,
                    help="PolicySettings override for the default policy (JSON value)")  # fmt: skip
    sp.add_argument("--workers", type=int, default=None, help="processes (default: CPUs)")
    sp.add_argument("--json", required=True)
    args = sp.parse_args(argv)
    overrides = dict(args.set)
    try:
        out = run_suite(
            args.trace, args.cluster, args.perturb_seeds, args.limit_seeds, overrides, args.workers
        )
    except PreemptionLoopError as exc:
        sp.error(f"a replay stopped: {exc}")
    print(format_table(out))
    Path(args.json).write_text(json.dumps(out, indent=2, sort_keys=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "dispatch":
        from scheduler.bench.dispatch import main as dispatch_main

        return dispatch_main(argv[1:])
    if argv and argv[0] == "fingerprint":
        from scheduler.bench.fingerprint import main as fingerprint_main

        return fingerprint_main(argv[1:])
    if argv and argv[0] == "openb":
        from scheduler.bench.openb import main as openb_main

        return openb_main(argv[1:])
    if argv and argv[0] == "perturb":
        pp = argparse.ArgumentParser(prog="python -m scheduler.bench perturb")
        pp.add_argument("--trace", required=True, type=trace_file)
        pp.add_argument("--seed", type=int, default=1)
        pp.add_argument("--out", required=True)
        pargs = pp.parse_args(argv[1:])
        write_csv(perturb(load_trace(pargs.trace), pargs.seed), pargs.out)
        return 0
    if argv and argv[0] == "suite":
        return suite(argv[1:])
    if argv and argv[0] == "compare":
        from scheduler.bench.compare import main as compare_main

        return compare_main(argv[1:])
    if argv and argv[0] == "fairness-split":
        from scheduler.bench.fairness_split import main as split_main

        return split_main(argv[1:])
    if argv and argv[0] == "scale":
        sp = argparse.ArgumentParser(prog="python -m scheduler.bench scale")
        sp.add_argument("--pending", type=positive_int, default=10000)
        sp.add_argument("--gpus", type=positive_int, default=1000)
        sp.add_argument("--repeats", type=positive_int, default=100)  # p99 of 100: not the max
        sp.add_argument("--policy", default=DEFAULT_POLICY)
        sp.add_argument("--compiled", action="store_true",
                        help="also build the image's compiled core in a temporary copy and"
                        " measure it (needs a checkout and a C compiler)")  # fmt: skip
        sp.add_argument("--json", required=True)
        return scale(sp.parse_args(argv[1:]))
    p = argparse.ArgumentParser(prog="python -m scheduler.bench")
    p.add_argument("--trace", required=True, type=trace_file)
    p.add_argument("--cluster", required=True, type=cluster_spec, help="e.g. 4x8:A100,6x4:L40S")
    p.add_argument("--json", required=True)
    p.add_argument("--seed", type=int, default=0, help="seed of the time-limit rule")
    p.add_argument("--policies", default="", help="comma-separated subset (default: all)")
    p.add_argument("--checkpoint-interval", type=float, default=1800.0)
    p.add_argument("--tight-grant-fraction", type=float, default=0.6)
    p.add_argument("--no-plot", action="store_true")
    return replay(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
