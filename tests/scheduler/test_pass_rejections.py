"""Jobs that can never run are rejected as the main loop meets them (engine.py): the other
jobs must be ordered and decided exactly as if those jobs had been left out beforehand."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from scheduler.core import POLICIES, PendingJob, SchedulingSnapshot, schedule
from tests.scheduler.builders import NOW
from tests.scheduler.test_properties import FAST, snapshots


def _never_fitting(i: int, company: str, kind: int) -> PendingJob:
    """A job no inventory of the strategy holds: unknown GPU type, or more GPUs than any node
    (neither takes part in the fair-share fill, so only the engine's rejection tells)."""
    if kind == 0:
        return PendingJob(f"x{i}", company, 1.0, 3600.0, NOW - 100.0 * i, ("H200",))
    return PendingJob(f"x{i}", company, 64.0, 3600.0, NOW - 100.0 * i)


@FAST
@given(
    snapshots(),
    st.sampled_from(sorted(POLICIES)),
    st.lists(st.tuples(st.sampled_from(("a", "b", "c")), st.integers(0, 1)), max_size=6),
)
def test_rejecting_in_the_loop_decides_like_leaving_the_jobs_out(
    snap: SchedulingSnapshot, policy: str, extra: list[tuple[str, int]]
) -> None:
    snap = dataclasses.replace(snap, settings=dataclasses.replace(snap.settings, policy=policy))
    bad = [_never_fitting(i, company, kind) for i, (company, kind) in enumerate(extra)]
    mixed = dataclasses.replace(snap, pending=tuple(bad) + snap.pending)
    alone, both = schedule(snap), schedule(mixed)
    assert both.starts == alone.starts
    assert both.preemptions == alone.preemptions
    assert both.waiting == alone.waiting
    assert {r.job_id for r in both.rejected} == {r.job_id for r in alone.rejected} | {
        j.job_id for j in bad
    }
