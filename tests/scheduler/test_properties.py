"""Property-based invariants of one scheduling pass (hypothesis)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.core import (
    POLICIES,
    CompanyAccount,
    CompanyQuota,
    GpuNode,
    PendingJob,
    PolicySettings,
    RunningJob,
    SchedulingResult,
    SchedulingSnapshot,
    WaitReason,
    schedule,
)
from scheduler.core.placement import ClusterCapacity, JobShape
from tests.scheduler.builders import NOW

TYPES = ("A100", "L40S")
COMPANIES = ("a", "b", "c")
SIZES = (0.25, 0.5, 1.0, 1.0, 2.0, 4.0, 8.0)


@st.composite
def snapshots(draw: st.DrawFn, policy: str | None = None, bare: bool = False) -> SchedulingSnapshot:
    n_nodes = draw(st.integers(1, 5))
    nodes = tuple(
        GpuNode(f"n{i}", draw(st.sampled_from(TYPES)), draw(st.sampled_from((1, 2, 4, 8))),
                draining=draw(st.booleans()) and draw(st.booleans()))
        for i in range(n_nodes)
    )  # fmt: skip
    jobs = []
    for i in range(draw(st.integers(0, 25))):
        jobs.append(
            PendingJob(
                f"p{i:02d}", draw(st.sampled_from(COMPANIES)), draw(st.sampled_from(SIZES)),
                3600.0 * draw(st.integers(1, 12)), NOW - draw(st.integers(0, 400_000)),
                draw(st.sampled_from(((), ("A100",), ("L40S",), TYPES))),
                priority=draw(st.integers(0, 2)), preemptible=draw(st.booleans()),
                allow_multi_node=draw(st.booleans()),
                attained_gpu_seconds=draw(st.sampled_from((0.0, 5000.0, 50_000.0))),
            )
        )  # fmt: skip
    # running jobs: place some of the drawn jobs with a plain FIFO pass on the empty cluster
    n_running = draw(st.integers(0, len(jobs)))
    seed = SchedulingSnapshot(
        NOW, tuple(dataclasses.replace(n, draining=False) for n in nodes), (),
        tuple(jobs[:n_running]), {}, {c: CompanyAccount(c, 1e12) for c in COMPANIES},
        PolicySettings("fifo", backfill=False, preemption=False, quota_reclaim=False),
    )  # fmt: skip
    by_id = {j.job_id: j for j in jobs}
    running = []
    for start in schedule(seed).starts:
        j = by_id[start.job_id]
        ago = float(draw(st.integers(0, 20_000)))
        running.append(
            RunningJob(
                j.job_id.replace("p", "r"), j.company_id, j.num_gpus, start.placement, NOW - ago,
                j.time_limit_s, j.submit_time_s, j.gpu_types, j.priority, j.preemptible,
                j.allow_multi_node, j.attained_gpu_seconds,
                preemption_count=draw(st.sampled_from((0, 0, 3, 20))),
            )
        )  # fmt: skip
    quotas = {
        c: CompanyQuota(
            c, {t: float(draw(st.integers(0, 4))) for t in TYPES},
            draw(st.sampled_from((None, 0.0, 2.0, 8.0))),
            weight=draw(st.sampled_from((0.5, 1.0, 3.0))),
        )
        for c in COMPANIES
    }  # fmt: skip
    accounts = {
        c: CompanyAccount(c, 3600.0 * draw(st.integers(0, 200)), float(draw(st.integers(0, 10**6))))
        for c in COMPANIES
    }  # fmt: skip
    name = policy or draw(st.sampled_from(sorted(POLICIES)))
    if bare:  # nothing forbids a start: no backfill holds, no borrowing limits
        knobs = PolicySettings(name, backfill=False, preemption=False, quota_reclaim=False)
        quotas = {c: dataclasses.replace(q, borrowing_limit_gpus=None) for c, q in quotas.items()}
    else:
        knobs = PolicySettings(
            name, backfill=draw(st.booleans()), max_reservations=draw(st.integers(0, 3)),
            head_of_line_blocking=name == "fifo_strict",
            starvation_after_s=draw(st.sampled_from((None, 86_400.0))),
            starvation_preemption=draw(st.booleans()), preemption=draw(st.booleans()),
            quota_reclaim=draw(st.booleans()), min_runtime_s=draw(st.sampled_from((0.0, 600.0))),
            first_gpu_preemption=draw(st.booleans()),
            reclaim_past_protection=draw(st.booleans()),
        )  # fmt: skip
    return SchedulingSnapshot(
        NOW, nodes, tuple(running), tuple(jobs[n_running:]), quotas, accounts, knobs
    )


def _after(snap: SchedulingSnapshot, result: SchedulingResult) -> list[tuple[str, object]]:
    """(company, placement) of everything running after the pass."""
    gone = {p.job_id for p in result.preemptions}
    by_id = {j.job_id: j for j in snap.pending}
    out: list[tuple[str, object]] = [
        (r.company_id, r.placement) for r in snap.running if r.job_id not in gone
    ]
    out += [(by_id[s.job_id].company_id, s.placement) for s in result.starts]
    return out


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(snapshots())
def test_never_more_gpus_than_a_device_has_and_never_on_draining(snap: SchedulingSnapshot) -> None:
    result = schedule(snap)
    size = {n.node_id: n.gpu_count for n in snap.nodes}
    draining = {n.node_id for n in snap.nodes if n.draining}
    used: dict[tuple[str, int], float] = defaultdict(float)
    for _, placement in _after(snap, result):
        for share in placement:  # type: ignore[attr-defined]
            assert share.device_index < size[share.node_id]
            used[share.node_id, share.device_index] += share.fraction
    assert all(u <= 1.0 + 1e-9 for u in used.values())
    by_id = {j.job_id: j for j in snap.pending}
    for start in result.starts:
        job = by_id[start.job_id]
        assert not {s.node_id for s in start.placement} & draining
        assert abs(sum(s.fraction for s in start.placement) - job.num_gpus) < 1e-6
        if job.num_gpus >= 1:
            assert all(s.fraction == 1.0 for s in start.placement)
        if not job.allow_multi_node:
            assert len({s.node_id for s in start.placement}) == 1
        if job.gpu_types:
            assert start.gpu_type in job.gpu_types


@FAST
@given(snapshots())
def test_never_over_budget(snap: SchedulingSnapshot) -> None:
    result = schedule(snap)
    gone = {p.job_id for p in result.preemptions}
    by_id = {j.job_id: j for j in snap.pending}
    hold: dict[str, float] = defaultdict(float)
    for r in snap.running:
        if r.job_id in gone:  # charged when stopped; the hub stops a job at its time limit
            ran = min(snap.now_s - r.start_time_s, r.time_limit_s)
            hold[r.company_id] += r.num_gpus * ran
        else:
            hold[r.company_id] += r.num_gpus * r.time_limit_s
    fresh: dict[str, float] = defaultdict(float)
    for s in result.starts:
        job = by_id[s.job_id]
        fresh[job.company_id] += job.num_gpus * job.time_limit_s
    for company, amount in fresh.items():
        assert amount + hold[company] <= snap.accounts[company].remaining_gpu_seconds + 1e-6


@FAST
@given(snapshots(bare=True))
def test_work_conserving_when_nothing_forbids_a_start(snap: SchedulingSnapshot) -> None:
    result = schedule(snap)
    cap = ClusterCapacity(snap.nodes)
    gone = {p.job_id for p in result.preemptions}
    for r in snap.running:
        if r.job_id not in gone:
            cap.apply_running(r)
    cap.take(
        (cap.index_of[s.node_id], s.device_index, round(s.fraction * 1000))
        for st_ in result.starts
        for s in st_.placement
    )
    by_id = {j.job_id: j for j in snap.pending}
    for wait in result.waiting:
        if wait.code is WaitReason.CAPACITY:
            job = by_id[wait.job_id]
            types = cap.schedulable_types(cap.allowed_types(job))
            shape = JobShape.of(job.num_gpus, job.allow_multi_node)
            assert cap.find(shape, types, use_free=True) is None, wait


@FAST
@given(snapshots(), st.randoms(use_true_random=False))
def test_deterministic_and_independent_of_input_order(snap: SchedulingSnapshot, rnd) -> None:  # type: ignore[no-untyped-def]
    first = schedule(snap)
    assert schedule(snap) == first
    pending, running = list(snap.pending), list(snap.running)
    rnd.shuffle(pending)
    rnd.shuffle(running)
    shuffled = dataclasses.replace(snap, pending=tuple(pending), running=tuple(running))
    assert schedule(shuffled) == first


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 4),
    st.sampled_from((1, 2, 4, 8)),
    st.integers(1, 8),
    st.sampled_from(("fifo", "fair_las", "las", "quota", "las_fair")),
)
def test_guaranteed_quota_is_reached_within_one_pass(
    n_nodes: int, per_node: int, want: int, policy: str
) -> None:
    """A company below its guarantee gets its GPUs back from borrowers in one pass (the
    default policy too: its fair-share fill never stands in the way of a guarantee)."""
    want = min(want, per_node)
    nodes = tuple(GpuNode(f"n{i}", "A100", per_node) for i in range(n_nodes))
    borrowers = tuple(
        RunningJob(f"r{i}-{d}", "borrower", 1.0, (dataclasses.replace(_share(f"n{i}", d)),),
                   NOW - 7200.0 - d, 36_000.0, NOW - 8000.0)
        for i in range(n_nodes) for d in range(per_node)
    )  # fmt: skip
    quotas = {
        "owner": CompanyQuota("owner", {"A100": float(want)}),
        "borrower": CompanyQuota("borrower", {"A100": 0.0}),
    }
    job = PendingJob("mine", "owner", float(want), 3600.0, NOW - 10.0)
    snap = SchedulingSnapshot(
        NOW, nodes, borrowers, (job,), quotas,
        {c: CompanyAccount(c, 1e12) for c in quotas},
        PolicySettings(policy, preemption=False, quota_reclaim=True, max_preemptions_per_pass=16),
    )  # fmt: skip
    result = schedule(snap)
    assert [s.job_id for s in result.starts] == ["mine"]
    assert len(result.preemptions) == want


def _share(node_id: str, device: int):  # type: ignore[no-untyped-def]
    from scheduler.core import DeviceShare

    return DeviceShare(node_id, device, 1.0)


@FAST
@given(snapshots())
def test_fast_path_decides_exactly_like_the_full_path(snap: SchedulingSnapshot) -> None:
    from scheduler.core import engine

    fast = schedule(snap)
    try:
        engine._Pass.use_fast_path = False
        slow = schedule(snap)
    finally:
        engine._Pass.use_fast_path = True
    assert fast == slow


@FAST
@given(snapshots())
def test_fast_fraction_search_places_like_the_full_scan(snap: SchedulingSnapshot) -> None:
    from scheduler.core.placement import ClusterCapacity

    fast = schedule(snap)
    try:
        ClusterCapacity.fast_fraction = False
        slow = schedule(snap)
    finally:
        ClusterCapacity.fast_fraction = True
    assert fast == slow


@FAST
@given(snapshots(policy="las_fair"))
def test_las_fair_sweep_orders_like_its_per_job_keys(snap: SchedulingSnapshot) -> None:
    """The batched tiers and attribute sort keys give the order of the per-job functions."""
    from scheduler.core.admission import QuotaLedger
    from scheduler.core.policies import POLICIES, PassState

    fast = POLICIES["las_fair"]
    slow = dataclasses.replace(fast, tiers=None, within_attrs=())  # type: ignore[type-var]
    node_type = {n.node_id: n.gpu_type for n in snap.nodes}
    orders = []
    for policy in (fast, slow):
        state = PassState(snap, QuotaLedger(snap, node_type))
        orders.append([j.job_id for j in policy.order(list(snap.pending), state)])
    assert orders[0] == orders[1]


@st.composite
def fill_inputs(draw: st.DrawFn) -> tuple[list[GpuNode], list[PendingJob], dict[str, float]]:
    # three types: jobs that may use 1, 2 or 3 of them (the slack rule differs for k > 2)
    fill_types = (*TYPES, "T4")
    nodes = [
        GpuNode(f"n{i}", draw(st.sampled_from(fill_types)), draw(st.sampled_from((1, 2, 4, 8))))
        for i in range(draw(st.integers(1, 6)))
    ]
    type_choices = (
        (), ("A100",), ("L40S",), ("T4",), ("A100", "L40S"), ("L40S", "A100"), ("L40S", "T4"),
        ("A100", "L40S", "T4"),
    )  # fmt: skip
    jobs = [
        PendingJob(
            job_id=f"j{i}",
            company_id=draw(st.sampled_from(COMPANIES)),
            num_gpus=draw(st.sampled_from(SIZES)),
            time_limit_s=draw(st.sampled_from((600.0, 3600.0))),
            submit_time_s=float(i),
            gpu_types=draw(st.sampled_from(type_choices)),
        )
        for i in range(draw(st.integers(0, 25)))
    ]
    weights = {c: draw(st.sampled_from((0.1, 0.3, 1.0))) for c in COMPANIES}
    return nodes, jobs, weights


@settings(max_examples=200, deadline=None)
@given(fill_inputs())
def test_the_policy_and_the_fairness_metric_fill_alike(
    case: tuple[list[GpuNode], list[PendingJob], dict[str, float]],
) -> None:
    """las_fair's entitlement and the benchmark's jain_fairness use the same definition of a
    company's fair share (two implementations: the metric must not drift from the policy)."""
    from scheduler.bench.metrics import FairnessAccumulator
    from scheduler.core.entitlement import entitled_jobs

    nodes, jobs, weights = case
    entitled = entitled_jobs(nodes, [], jobs, weights.__getitem__)
    by_company: dict[str, float] = defaultdict(float)
    for job in jobs:
        if job.job_id in entitled:
            by_company[job.company_id] += job.num_gpus
    demand: dict[tuple[str, tuple[str, ...], float], int] = defaultdict(int)
    for job in jobs:
        demand[job.company_id, job.gpu_types, job.num_gpus] += 1
    metric = FairnessAccumulator([(n.gpu_type, n.gpu_count) for n in nodes], weights)
    shares = metric.fair_shares(demand)
    for company in COMPANIES:
        assert shares.get(company, 0.0) == pytest.approx(by_company.get(company, 0.0))
