"""Benchmark traces from Alibaba's cluster-trace-gpu-v2023 ("openb") pod lists.

Why: the issue asks for the default policy's quality "on other real traces and cluster sizes:
do not tune to one file". ``../shared/traces/openb_dev.csv`` is the first half of a segment
of one openb file; ``scheduler/bench/traces/openb_heldout.csv`` is the second half, made by
this module with the same rules (``python -m scheduler.bench openb``), so that tuning on the
first half can be checked on jobs it never saw. Converting the first half with these rules
gives ``openb_dev.csv`` back line for line (``tests/scheduler/test_openb.py``).

Rules (those of ``../shared/traces/README.md``):
- a job is a GPU pod that ran: ``num_gpu`` > 0, scheduled, deleted after it was scheduled;
- jobs are taken in creation order from ``since_s`` on, skipping ``skip`` and keeping
  ``count``; ``submit_s`` counts from the first kept job's creation;
- ``duration_s`` = deletion - scheduling (pods still running at the trace's end are cut
  there, as the source records them);
- a single-GPU pod with a GPU share below 1,000 milli-GPUs is that fraction of a GPU;
- ``gpu_type`` is the pod's GPU model constraint (``A|B`` alternatives, empty = any);
- tenants: the trace has no user field, so each resource shape (QoS class, CPU, memory, GPU
  count and share, model constraint) is one workload owner. An owner already in the
  ``owners`` trace keeps its company there; a new owner is drawn, in order of first
  appearance, from ``company-01`` … ``company-NN`` with Zipf weights 1/k (seeded).
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from scheduler.bench.args import trace_file
from scheduler.bench.perturb import write_csv, zipf_companies

OwnerShape = tuple[str, str, str, str, str, str]
POD_COLUMNS = (
    "name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "qos",
    "creation_time", "deletion_time", "scheduled_time",
)  # fmt: skip


def owner_shape(pod: Mapping[str, str]) -> OwnerShape:
    """The resource shape that stands for a pod's (unrecorded) owner."""
    return (
        pod["qos"], pod["cpu_milli"], pod["memory_mib"], pod["num_gpu"], pod["gpu_milli"],
        pod["gpu_spec"],
    )  # fmt: skip


def whole(pod: Mapping[str, str], column: str) -> int:
    """A whole-number column of a pod (a clear error naming the pod, not a bare ``int()``)."""
    value = pod[column]
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"pod {pod['name']}: {column} is not a whole number: {value!r}") from None


def ran_on_gpus(pod: Mapping[str, str]) -> bool:
    """A GPU pod that was scheduled and deleted after it was scheduled."""
    if not (pod.get("scheduled_time") and pod.get("deletion_time")):
        return False
    scheduled, deleted = whole(pod, "scheduled_time"), whole(pod, "deletion_time")
    return whole(pod, "num_gpu") > 0 and deleted > scheduled


def num_gpus(pod: Mapping[str, str]) -> str:
    gpus, milli = whole(pod, "num_gpu"), whole(pod, "gpu_milli") if pod["gpu_milli"] else 1000
    return f"{milli / 1000:g}" if gpus == 1 and milli < 1000 else str(gpus)


def known_owners(
    pods: Sequence[Mapping[str, str]], trace_rows: Iterable[Mapping[str, str]]
) -> dict[OwnerShape, str]:
    """Owner shape -> company, from a trace made of these pods (joined by pod name)."""
    by_name = {pod["name"]: pod for pod in pods}
    owners: dict[OwnerShape, str] = {}
    for row in trace_rows:
        pod = by_name.get(row["job_id"])
        if pod is None:
            raise ValueError(f"job {row['job_id']} of the owners trace is not in the pod list")
        shape = owner_shape(pod)
        if owners.setdefault(shape, row["tenant"]) != row["tenant"]:
            raise ValueError(f"owner {shape} has two companies in the owners trace")
    return owners


def convert(
    pods: Sequence[Mapping[str, str]],
    *,
    since_s: int,
    skip: int,
    count: int,
    owners: Mapping[OwnerShape, str],
    companies: int = 20,
    seed: int = 2023,
) -> list[dict[str, str]]:
    """Trace rows (``job_id,submit_s,duration_s,num_gpus,tenant,gpu_type``) of the pods that
    ran on GPUs, created at ``since_s`` or later, in creation order: ``count`` after ``skip``."""
    missing = [c for c in POD_COLUMNS if pods and c not in pods[0]]
    if missing:
        raise ValueError(f"not an openb pod list: no column {', '.join(missing)}")
    kept = sorted(
        (p for p in pods if ran_on_gpus(p) and whole(p, "creation_time") >= since_s),
        key=lambda p: (whole(p, "creation_time"), p["name"]),
    )[skip : skip + count]
    if not kept:
        raise ValueError("no pod left to convert: check since_s and skip")
    names, weights = zipf_companies(companies)
    rng = random.Random(seed)
    assigned = dict(owners)
    zero = whole(kept[0], "creation_time")
    rows = []
    for pod in kept:
        shape = owner_shape(pod)
        tenant = assigned.get(shape)
        if tenant is None:
            tenant = assigned[shape] = rng.choices(names, weights)[0]
        rows.append(
            {
                "job_id": pod["name"],
                "submit_s": str(whole(pod, "creation_time") - zero),
                "duration_s": str(whole(pod, "deletion_time") - whole(pod, "scheduled_time")),
                "num_gpus": num_gpus(pod),
                "tenant": tenant,
                "gpu_type": pod["gpu_spec"],
            }
        )
    return rows


def _read(path: str) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m scheduler.bench openb",
        description="Convert an openb pod list (github.com/alibaba/clusterdata,"
        " cluster-trace-gpu-v2023/csv/openb_pod_list_*.csv) into a benchmark trace.",
    )
    p.add_argument("--pods", required=True, type=trace_file, help="openb_pod_list_*.csv")
    p.add_argument("--since-s", type=int, default=0, help="first creation time kept")
    p.add_argument("--skip", type=int, default=0, help="jobs skipped after --since-s")
    p.add_argument("--count", type=int, default=10**9, help="jobs kept after --skip")
    p.add_argument("--owners", type=trace_file, help="a trace of the same pods: its companies")
    p.add_argument("--companies", type=int, default=20)
    p.add_argument("--seed", type=int, default=2023, help="seed of the new owners' draw")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.skip < 0 or args.count < 1 or args.companies < 1:
        p.error("--skip must be >= 0, --count and --companies >= 1")
    pods = _read(args.pods)
    try:
        owners = known_owners(pods, _read(args.owners)) if args.owners else {}
        rows = convert(
            pods, since_s=args.since_s, skip=args.skip, count=args.count, owners=owners,
            companies=args.companies, seed=args.seed,
        )  # fmt: skip
    except (ValueError, KeyError) as exc:
        p.error(f"{args.pods}: {exc}")
    write_csv(rows, Path(args.out))
    print(f"{len(rows)} jobs -> {args.out}")
    return 0
