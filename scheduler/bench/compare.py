"""Paired comparison of two suite runs: is a candidate's difference bigger than the noise?

Why: the replay is chaotic. One rule or knob moves a single configuration's average JCT by
10-25 % and its Jain index by up to 0.1, either way (decision 0002). So a mean difference of
0.01 over a dozen configurations can be noise, and rounds of tuning chased such differences.
Both runs replay the same configurations (same clusters, trace perturbations and limit
seeds), so each configuration gives one paired difference, candidate minus baseline:

- ``jct``: log of the default policy's avg JCT ratio (reported as a geometric-mean ratio);
- ``jct_to_las``, ``utilization_to_fifo``, ``jain_fairness``: plain differences (``las``
  and ``fifo`` change too when the candidate changes shared machinery, so ``jct`` is the
  default policy against itself);
- ``preemptions``: log ratio.

Ratios are taken of value + 1 (seconds or preemptions), so a count that goes from 0 to 50
is a finite change, not an infinite one.

For each: the mean, a 95 % percentile bootstrap interval (configurations resampled with
replacement, seeded: the same files give the same interval), and how many configurations
moved each way. An interval that excludes "no change" is reported as a real difference, but
only from ``MIN_CONFIGURATIONS`` paired configurations on: on fewer, a percentile bootstrap
is too narrow to tell (one configuration gives an interval of zero width).

    python -m scheduler.bench compare BASELINE.json CANDIDATE.json [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# (metric, how two runs' values are compared: "log" ratio or plain "diff"erence)
METRICS: tuple[tuple[str, str], ...] = (
    ("jct", "log"),
    ("jct_to_las", "diff"),
    ("utilization_to_fifo", "diff"),
    ("jain_fairness", "diff"),
    ("preemptions", "log"),
)
# a metric whose bigger value is better (the rest: smaller is better)
HIGHER_IS_BETTER = {"utilization_to_fifo", "jain_fairness"}


MIN_CONFIGURATIONS = 8  # fewer paired configurations: no verdict


class SuiteMismatchError(ValueError):
    """The two runs did not replay the same configurations, or one is not a suite's output."""


def _value(row: dict[str, Any], metric: str, default_policy: str) -> float:
    try:
        if metric == "jct":
            return float(row["avg_jct_s"][default_policy])
        return float(row[metric])
    except (KeyError, TypeError, ValueError):
        raise SuiteMismatchError(
            f"configuration {row.get('name')!r} has no {metric} of {default_policy}"
        ) from None


def _rows(run: dict[str, Any], which: str) -> dict[str, dict[str, Any]]:
    rows = run.get("configurations")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "name" in r for r in rows):
        raise SuiteMismatchError(f"the {which} is not a suite's output (no list of configurations)")
    by_name = {str(r["name"]): r for r in rows}
    if len(by_name) != len(rows):
        raise SuiteMismatchError(f"the {which} names a configuration twice")
    if not by_name:
        raise SuiteMismatchError(f"the {which} has no configurations")
    return by_name


def bootstrap_interval(
    values: Sequence[float], resamples: int = 10_000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (seeded, deterministic)."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    rng = random.Random(seed)
    pick = rng.randrange
    means = sorted(sum(values[pick(n)] for _ in range(n)) / n for _ in range(resamples))
    tail = (1.0 - level) / 2.0
    low = means[math.floor(tail * (resamples - 1))]
    high = means[math.ceil((1.0 - tail) * (resamples - 1))]
    return low, high


def compare(
    baseline: dict[str, Any],
    candidate: dict[str, Any],
    resamples: int = 10_000,
    seed: int = 0,
    labels: tuple[str, str] = ("baseline", "candidate"),
) -> dict[str, Any]:
    """Paired differences per metric (see the module doc); raises ``SuiteMismatchError``."""
    policy = baseline.get("default_policy")
    if not isinstance(policy, str) or policy != candidate.get("default_policy"):
        raise SuiteMismatchError(
            f"default policies differ: {policy!r} and {candidate.get('default_policy')!r}"
        )
    traces = (baseline.get("trace_sha256"), candidate.get("trace_sha256"))
    if None not in traces and traces[0] != traces[1]:
        raise SuiteMismatchError(
            f"the runs replayed different traces: {baseline.get('trace')!r} and "
            f"{candidate.get('trace')!r}"
        )
    base_rows = _rows(baseline, "baseline")
    cand_rows = _rows(candidate, "candidate")
    if base_rows.keys() != cand_rows.keys():
        only_base = sorted(base_rows.keys() - cand_rows.keys())
        only_cand = sorted(cand_rows.keys() - base_rows.keys())
        raise SuiteMismatchError(
            "the runs replayed different configurations: only in the baseline "
            f"{only_base or 'none'}, only in the candidate {only_cand or 'none'}"
        )
    for name, row in base_rows.items():
        if row.get("cluster") != cand_rows[name].get("cluster"):
            raise SuiteMismatchError(f"{name}: clusters differ")
    names = sorted(base_rows)
    out: dict[str, Any] = {
        "configurations": len(names),
        "baseline": labels[0],
        "candidate": labels[1],
        "baseline_overrides": baseline.get("overrides", {}),
        "candidate_overrides": candidate.get("overrides", {}),
        "resamples": resamples,
        "metrics": {},
    }
    for metric, kind in METRICS:
        diffs = []
        for name in names:
            old = _value(base_rows[name], metric, policy)
            new = _value(cand_rows[name], metric, policy)
            diffs.append(_log_ratio(old, new) if kind == "log" else new - old)
        out["metrics"][metric] = _summarise(metric, kind, diffs, resamples, seed)
    return out


def _log_ratio(old: float, new: float) -> float:
    """log((new + 1) / (old + 1)): finite for counts that start or end at 0."""
    if old < 0 or new < 0:
        raise SuiteMismatchError(
            f"a negative value where a count or a time is expected: {old}, {new}"
        )
    return math.log((new + 1.0) / (old + 1.0))


def _summarise(
    metric: str, kind: str, diffs: list[float], resamples: int, seed: int
) -> dict[str, Any]:
    mean = sum(diffs) / len(diffs)
    low, high = bootstrap_interval(diffs, resamples, seed)
    enough = len(diffs) >= MIN_CONFIGURATIONS
    shown: Callable[[float], float] = math.exp if kind == "log" else float
    better = (lambda d: d > 1e-12) if metric in HIGHER_IS_BETTER else (lambda d: d < -1e-12)
    worse = (lambda d: d < -1e-12) if metric in HIGHER_IS_BETTER else (lambda d: d > 1e-12)
    return {
        "kind": "ratio" if kind == "log" else "difference",
        "mean": shown(mean),
        "low": shown(low),
        "high": shown(high),
        "better": sum(1 for d in diffs if better(d)),
        "worse": sum(1 for d in diffs if worse(d)),
        # the interval excludes "no change", on enough configurations to tell
        "real": enough and (low > 0 or high < 0),
        "too_few": not enough,
    }


def format_comparison(out: dict[str, Any]) -> str:
    n = out["configurations"]
    lines = [
        f"{_label(out, 'candidate')} against {_label(out, 'baseline')}: {n} paired "
        "configurations, 95 % bootstrap intervals of the mean change",
        f"{'metric':<20} {'change':>10} {'interval':>21} {'better':>7} {'worse':>6}",
    ]
    for metric, row in out["metrics"].items():
        if row["kind"] == "ratio":
            change = f"x{row['mean']:.3f}"
            interval = f"x{row['low']:.3f} .. x{row['high']:.3f}"
        else:
            change = f"{row['mean']:+.4f}"
            interval = f"{row['low']:+.4f} .. {row['high']:+.4f}"
        verdict = (
            f"  (too few configurations to tell: {MIN_CONFIGURATIONS} needed)"
            if row["too_few"]
            else ""
            if row["real"]
            else "  (within noise)"
        )
        lines.append(
            f"{metric:<20} {change:>10} {interval:>21} {row['better']:>7} {row['worse']:>6}"
            f"{verdict}"
        )
    return "\n".join(lines)


def _label(out: dict[str, Any], which: str) -> str:
    overrides = out[f"{which}_overrides"]
    settings = " ".join(f"{k}={json.dumps(v)}" for k, v in sorted(overrides.items()))
    return f"{out[which]} ({settings})" if settings else str(out[which])


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m scheduler.bench compare")
    p.add_argument("baseline", type=Path, help="a suite's JSON (the reference)")
    p.add_argument("candidate", type=Path, help="a suite's JSON on the same configurations")
    p.add_argument("--resamples", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    if args.resamples < 100:
        p.error("--resamples: at least 100")
    runs = []
    for path in (args.baseline, args.candidate):
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError too
            p.error(f"{path}: not a readable suite JSON ({exc})")
        if not isinstance(runs[-1], dict) or "configurations" not in runs[-1]:
            p.error(f"{path}: not a suite JSON (no 'configurations')")
    try:
        out = compare(
            runs[0], runs[1], args.resamples, args.seed, (str(args.baseline), str(args.candidate))
        )
    except SuiteMismatchError as exc:
        p.error(str(exc))
    print(format_comparison(out))
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(out, indent=2, sort_keys=True))
        except OSError as exc:
            p.error(f"--json {args.json}: cannot write ({exc})")
    return 0
