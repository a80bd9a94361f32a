"""Discrete-event replay of a job trace through the same scheduling core."""

from scheduler.sim.simulator import JobRecord, SimConfig, SimResult, simulate
from scheduler.sim.trace import TraceJob, load_trace, parse_cluster

__all__ = [
    "JobRecord",
    "SimConfig",
    "SimResult",
    "TraceJob",
    "load_trace",
    "parse_cluster",
    "simulate",
]
