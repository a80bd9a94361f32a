"""Trace CSV and cluster spec parsing, and the seeded time-limit rule.

CSV columns: ``job_id,submit_s,duration_s,num_gpus,tenant,gpu_type`` (``gpu_type`` empty =
any model, or ``A|B`` alternatives). Cluster spec: ``4x8:A100,6x4:L40S`` (nodes x GPUs per
node : type).
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from scheduler.core.model import GpuNode


@dataclass(frozen=True, slots=True)
class TraceJob:
    job_id: str
    submit_s: float
    duration_s: float
    num_gpus: float
    tenant: str
    gpu_types: tuple[str, ...]
    time_limit_s: float


def time_limit_for(job_id: str, duration_s: float, seed: int) -> float:
    """A user's time limit: duration x U(1.2, 5), rounded up to the hour (seeded per job).

    Users over-estimate by a noisy factor and round to whole hours, so the limit says
    little more than "short" or "long" — which is all the policies may know.
    """
    factor = random.Random(f"{seed}:{job_id}").uniform(1.2, 5.0)
    return max(1.0, math.ceil(duration_s * factor / 3600.0)) * 3600.0


def load_trace(path: str | Path, seed: int = 0) -> list[TraceJob]:
    with open(path, newline="") as f:
        return jobs_from_rows(csv.DictReader(f), seed)


def jobs_from_rows(rows: Iterable[Mapping[str, str]], seed: int = 0) -> list[TraceJob]:
    """Trace rows (the CSV's columns as strings) as jobs in submit order, with time limits
    from ``time_limit_for`` and ``seed``."""
    jobs = []
    for row in rows:
        duration = max(1.0, float(row["duration_s"]))
        types = tuple(sorted({t for t in (row.get("gpu_type") or "").split("|") if t}))
        jobs.append(
            TraceJob(
                job_id=row["job_id"],
                submit_s=float(row["submit_s"]),
                duration_s=duration,
                num_gpus=float(row["num_gpus"]),
                tenant=row["tenant"],
                gpu_types=types,
                time_limit_s=time_limit_for(row["job_id"], duration, seed),
            )
        )
    jobs.sort(key=lambda j: (j.submit_s, j.job_id))
    return jobs


def parse_cluster(spec: str) -> tuple[GpuNode, ...]:
    """``4x8:A100,6x4:L40S`` -> 4 nodes of 8 A100 and 6 nodes of 4 L40S."""
    nodes: list[GpuNode] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            counts, gpu_type = part.split(":")
            n_nodes, per_node = (int(x) for x in counts.lower().split("x"))
        except ValueError:
            raise ValueError(f"bad cluster spec part {part!r}; expected NxG:TYPE") from None
        if n_nodes <= 0 or per_node <= 0 or not gpu_type:
            raise ValueError(f"bad cluster spec part {part!r}")
        start = sum(1 for n in nodes if n.gpu_type == gpu_type)
        for k in range(n_nodes):
            nodes.append(GpuNode(f"{gpu_type}-{start + k}", gpu_type, per_node))
    if not nodes:
        raise ValueError("empty cluster spec")
    return tuple(nodes)
