"""Utilization over time and JCT CDF per policy, written beside the JSON."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from scheduler.sim.simulator import SimResult


def _binned(
    timeline: list[tuple[float, float]], capacity: float, bins: int = 200
) -> tuple[list[float], list[float]]:
    if not timeline:
        return [], []
    end = timeline[-1][0] or 1.0
    width = end / bins
    xs, ys = [], []
    k = 0
    level = 0.0
    for b in range(bins):
        t0, t1 = b * width, (b + 1) * width
        area, t = 0.0, t0
        while k < len(timeline) and timeline[k][0] < t1:
            area += level * (max(t, timeline[k][0]) - t)
            t = max(t, timeline[k][0])
            level = timeline[k][1]
            k += 1
        area += level * (t1 - t)
        xs.append((t0 + t1) / 2 / 3600.0)
        ys.append(area / (width * capacity) if capacity else 0.0)
    return xs, ys


def write_plot(results: Mapping[str, SimResult], path: Path) -> Path | None:
    """Write the PNG; returns None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - optional dependency
        return None
    fig, (ax_util, ax_cdf) = plt.subplots(1, 2, figsize=(14, 5))
    for name, result in results.items():
        xs, ys = _binned(result.timeline, result.capacity_gpus)
        ax_util.plot(xs, ys, label=name, linewidth=0.8)
        jct = sorted(
            (r.finish_s - r.job.submit_s) / 3600.0
            for r in result.records.values()
            if r.status == "completed" and r.finish_s is not None
        )
        if jct:
            ax_cdf.plot(jct, [(i + 1) / len(jct) for i in range(len(jct))], label=name)
    ax_util.set_xlabel("time (h)")
    ax_util.set_ylabel("GPU utilization")
    ax_util.set_title("Utilization over time")
    ax_cdf.set_xscale("log")
    ax_cdf.set_xlabel("job completion time (h, log)")
    ax_cdf.set_ylabel("fraction of jobs")
    ax_cdf.set_title("JCT CDF")
    for ax in (ax_util, ax_cdf):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
