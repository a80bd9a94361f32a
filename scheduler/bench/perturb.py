"""A perturbed copy of a trace, to check that results are not tuned to one file.

Tenants are reassigned per job with Zipf weights, submit times jittered (+-30 min, so bursts
move), durations scaled by a log-normal factor (sigma 0.4) and every job's size kept.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Sequence
from pathlib import Path

from scheduler.sim.trace import TraceJob


def zipf_companies(count: int) -> tuple[list[str], list[float]]:
    """``company-01`` … ``company-NN`` and their Zipf weights 1/k: the synthetic tenants of
    the benchmark's traces (the shared trace's README)."""
    names = [f"company-{k:02d}" for k in range(1, count + 1)]
    return names, [1.0 / k for k in range(1, count + 1)]


def perturb(jobs: Sequence[TraceJob], seed: int, tenants: int = 20) -> list[dict[str, str]]:
    rng = random.Random(seed)
    names, weights = zipf_companies(tenants)
    rows = []
    for job in jobs:
        duration = max(1.0, job.duration_s * math.exp(rng.gauss(0.0, 0.4)))
        rows.append(
            {
                "job_id": job.job_id,
                "submit_s": f"{max(0.0, job.submit_s + rng.uniform(-1800, 1800)):.0f}",
                "duration_s": f"{duration:.0f}",
                "num_gpus": f"{job.num_gpus:g}",
                "tenant": rng.choices(names, weights)[0],
                "gpu_type": "|".join(job.gpu_types),
            }
        )
    rows.sort(key=lambda r: (float(r["submit_s"]), r["job_id"]))
    return rows


def write_csv(rows: Sequence[dict[str, str]], path: str | Path) -> None:
    fields = ["job_id", "submit_s", "duration_s", "num_gpus", "tenant", "gpu_type"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
