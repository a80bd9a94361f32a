"""Each policy's edge cases, table-driven with small builders."""

from __future__ import annotations

import dataclasses
import math

import pytest

from scheduler.core import CompanyQuota, GpuNode, PolicySettings, RunningJob, WaitReason
from scheduler.core.protection import protected_until_s
from tests.scheduler.builders import (
    NOW,
    node,
    pending,
    preempted,
    run_pass,
    running,
    started,
    waiting,
)

ONE_NODE = [node("n", 4)]


@pytest.mark.parametrize(
    ("policy", "jobs", "busy", "settings", "expected"),
    [
        # best-effort FIFO passes over a job that does not fit
        (
            "fifo",
            [pending("big", 4), pending("small", 1, submit=1)],
            [running("r", "n", 1)],
            {},
            ["small"],
        ),
        # strict FIFO: head-of-line blocking
        (
            "fifo_strict",
            [pending("big", 4), pending("small", 1, submit=1)],
            [running("r", "n", 1)],
            {"head_of_line_blocking": True},
            [],
        ),
        # strict priority: the higher class goes first even if submitted later
        (
            "priority",
            [pending("lo", 2), pending("hi", 2, submit=5, priority=1)],
            [running("r", "n", 1)],
            {},
            ["hi"],
        ),
        # shortest time limit first
        (
            "sjf",
            [pending("long", 3, limit_h=9), pending("short", 3, submit=5, limit_h=1)],
            [running("r", "n", 1)],
            {},
            ["short"],
        ),
        # 2D-LAS: least attained service first
        (
            "las",
            [pending("served", 3, attained=1e6), pending("fresh", 3, submit=5)],
            [running("r", "n", 1)],
            {},
            ["fresh"],
        ),
        # fair share: the company holding fewer GPUs goes first
        (
            "fair_share",
            [pending("a2", 2, "a"), pending("b1", 2, "b", submit=5)],
            [running("r", "n", 1, "a")],
            {},
            ["b1"],
        ),
        # fair_las: within a company, shortest limit first
        (
            "fair_las",
            [pending("l", 3, limit_h=20), pending("s", 3, submit=5, limit_h=1)],
            [running("r", "n", 1)],
            {},
            ["s"],
        ),
        # las_fair: the LAS level first, then the company with the lower share
        (
            "las_fair",
            [
                pending("a-served", 2, "a", attained=1e5),
                pending("a-fresh", 2, "a", submit=1),
                pending("b-fresh", 2, "b", submit=2),
            ],
            [running("r", "n", 2, "a")],
            {},
            ["b-fresh"],
        ),
    ],
    ids=["fifo", "fifo_strict", "priority", "sjf", "las", "fair_share", "fair_las", "las_fair"],
)
def test_ordering(policy: str, jobs: list, busy: list, settings: dict, expected: list) -> None:
    assert started(run_pass(ONE_NODE, jobs, busy, policy=policy, **settings)) == expected


def test_strict_fifo_says_why() -> None:
    result = run_pass(
        ONE_NODE, [pending("big", 4), pending("small", 1, submit=1)], [running("r", "n", 1)],
        policy="fifo_strict", head_of_line_blocking=True,
    )  # fmt: skip
    assert waiting(result)["small"] == "strict FIFO: waiting behind blocked job big"


@pytest.mark.parametrize(
    ("policy", "job", "victim", "settings", "expect_preempted"),
    [
        ("priority", pending("hi", 4, priority=1), running("lo", "n", 4), {}, True),
        (
            "priority",
            pending("hi", 4, priority=1),
            running("lo", "n", 4, started_ago_s=60),
            {},
            False,
        ),
        (
            "priority",
            pending("hi", 4, priority=1),
            running("lo", "n", 4, preemptible=False),
            {},
            False,
        ),
        ("priority", pending("eq", 4), running("lo", "n", 4), {}, False),
        (
            "priority",
            pending("hi", 4, priority=1),
            running("lo", "n", 4),
            {"preemption": False},
            False,
        ),
        ("las", pending("fresh", 4), running("old", "n", 4, attained=1e5), {}, True),
        (
            "las",
            pending("fresh", 4),
            running("young", "n", 4, attained=0, started_ago_s=700),
            {},
            False,
        ),
        ("fair_share", pending("b", 4, "b"), running("a", "n", 4, "a"), {}, False),
    ],
    ids=[
        "lower-class",
        "min-runtime",
        "not-preemptible",
        "same-class",
        "disabled",
        "las-level",
        "las-same-level",
        "fair-no-flip",
    ],
)
def test_preemption(
    policy: str, job: object, victim: object, settings: dict, expect_preempted: bool
) -> None:
    opts = {"preemption": True, "min_runtime_s": 600.0, **settings}
    result = run_pass(ONE_NODE, [job], [victim], policy=policy, **opts)
    assert bool(result.preemptions) is expect_preempted
    if expect_preempted:
        assert started(result) == [job.job_id]  # type: ignore[attr-defined]
        assert result.preemptions[0].reason.startswith(f"preempted by {job.job_id}")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("count", "ran_s", "settings", "expect_preempted"),
    [
        (0, 700, {}, True),
        (2, 700, {"preemption_backoff": 2.0}, False),  # protected 600 x 2^2 = 2400 s
        (2, 2500, {"preemption_backoff": 2.0}, True),
        (3, 10**6, {"max_preemptions_per_job": 3}, False),
        (2, 10**6, {"max_preemptions_per_job": 3}, True),
        (20, 3700, {"preemption_backoff": 1.25, "max_preemption_protection_s": 3600}, True),
        (20, 3500, {"preemption_backoff": 1.25, "max_preemption_protection_s": 3600}, False),
        (20, 3700, {"preemption_backoff": 1.25}, True),  # 14.5 h of back-off, capped at 1 h
        # 600 x 1.25^20 s = 14.5 h without the cap
        (20, 3700, {"preemption_backoff": 1.25, "max_preemption_protection_s": None}, False),
    ],
)
def test_preemption_churn_is_bounded_per_job(
    count: int, ran_s: float, settings: dict, expect_preempted: bool
) -> None:
    victim = dataclasses.replace(
        running("old", "n", 4, attained=1e5, started_ago_s=ran_s), preemption_count=count
    )
    opts = {"preemption": True, "min_runtime_s": 600.0, "preemption_backoff": 1.0, **settings}
    result = run_pass(ONE_NODE, [pending("fresh", 4)], [victim], policy="las", **opts)
    assert bool(result.preemptions) is expect_preempted


@pytest.mark.parametrize(
    ("count", "settings", "protected_s"),
    [
        (0, {}, 600.0),
        (2, {"preemption_backoff": 2.0}, 2400.0),
        (20, {"preemption_backoff": 1.25, "max_preemption_protection_s": 3600.0}, 3600.0),
        (20, {"preemption_backoff": 1.25, "max_preemption_protection_s": 60.0}, 600.0),
        (3, {"max_preemptions_per_job": 3}, math.inf),
        # thousands of preemptions: the back-off overflows a float, the cap still holds
        (5000, {"preemption_backoff": 1.25, "max_preemption_protection_s": 3600.0}, 3600.0),
        (5000, {"preemption_backoff": 1.25, "min_runtime_s": 0.0}, 0.0),
    ],
)
def test_protection_ends_after_the_minimum_run_time_and_its_back_off(
    count: int, settings: dict, protected_s: float
) -> None:
    job = dataclasses.replace(running("j", "n", 1, started_ago_s=0.0), preemption_count=count)
    opts = {"min_runtime_s": 600.0, "preemption_backoff": 1.0, **settings}
    until = protected_until_s(job, PolicySettings(**opts))  # type: ignore[arg-type]
    assert until - job.start_time_s == pytest.approx(protected_s)


def test_fair_share_preempts_toward_equal_shares() -> None:
    busy = [running(f"a{d}", [("n", d, 1.0)], 1, "a", started_ago_s=3600 + d) for d in range(4)]
    result = run_pass(ONE_NODE, [pending("b", 1, "b")], busy, policy="fair_share", preemption=True)
    assert started(result) == ["b"]
    assert preempted(result) == ["a0"]  # the most recently started: least progress lost
    # b would hold 2 and a 2: still <= the victim's final share, allowed
    busy2 = [*busy[1:], running("b", [("n", 0, 1.0)], 1, "b")]
    again = run_pass(ONE_NODE, [pending("b2", 1, "b")], busy2, policy="fair_share", preemption=True)
    assert preempted(again) == ["a1"]
    # b would hold 3 and a 1: that flips the imbalance, so no preemption (no ping-pong)
    busy3 = [
        *busy[2:],
        running("b", [("n", 0, 1.0)], 1, "b"),
        running("b2", [("n", 1, 1.0)], 1, "b"),
    ]
    final = run_pass(ONE_NODE, [pending("b3", 1, "b")], busy3, policy="fair_share", preemption=True)
    assert preempted(final) == []


def test_quota_reclaim_preempts_only_borrowers() -> None:
    quotas = {
        "a": CompanyQuota("a", {"A100": 2}),
        "b": CompanyQuota("b", {"A100": 2}),
    }
    busy = [running("b1", "n", 2, "b"), running("b2", [("n", 2, 1.0), ("n", 3, 1.0)], 2, "b")]
    result = run_pass(
        ONE_NODE, [pending("a1", 2, "a")], busy, policy="quota", quotas=quotas, quota_reclaim=True
    )
    assert started(result) == ["a1"]
    assert len(result.preemptions) == 1
    assert "reclaims its guaranteed GPUs" in result.preemptions[0].reason
    # within its own guarantee, b is not a borrower: no reclaim beyond the guarantee
    over = run_pass(
        ONE_NODE, [pending("a3", 4, "a")], busy, policy="quota", quotas=quotas, quota_reclaim=True
    )
    assert preempted(over) == []


def test_borrowing_limit_holds_jobs() -> None:
    quotas = {"a": CompanyQuota("a", {"A100": 1}, borrowing_limit_gpus=1)}
    result = run_pass(ONE_NODE, [pending("a1", 3, "a")], policy="quota", quotas=quotas)
    assert result.waiting[0].code is WaitReason.QUOTA
    assert "borrowing limit" in result.waiting[0].reason


@pytest.mark.parametrize(
    ("budget_h", "busy", "expect_start", "reason"),
    [
        (3.5, [], False, "company budget would be exceeded: needs 8.0 GPU-h, 3.5 GPU-h left"),
        (8.0, [], True, None),
        # a running job holds gpus x limit (1 x 5 h) until it ends and is charged
        (10.0, [running("r", "n", 1, limit_h=5)], False, "needs 8.0 GPU-h, 5.0 GPU-h left"),
    ],
)
def test_budget_admission(
    budget_h: float, busy: list, expect_start: bool, reason: str | None
) -> None:
    result = run_pass(
        ONE_NODE, [pending("j", 2, limit_h=4)], busy, budgets={"acme": budget_h * 3600}
    )
    assert (started(result) == ["j"]) is expect_start
    if reason:
        assert reason in waiting(result)["j"]
        assert result.waiting[0].estimated_start_s is None


def test_easy_backfill_never_delays_the_reserved_job() -> None:
    busy = [running("r", "n", 2, started_ago_s=600, limit_h=2)]  # ends by NOW + 1h50m
    jobs = [
        pending("head", 4),
        pending("short", 1, submit=1, limit_h=1),  # ends before the reservation: may backfill
        pending("long", 1, submit=2, limit_h=5),  # would run past it: must wait
    ]
    result = run_pass(ONE_NODE, jobs, busy, backfill=True)
    assert started(result) == ["short"]
    codes = {w.job_id: w.code for w in result.waiting}
    assert codes == {"head": WaitReason.RESERVED, "long": WaitReason.BEHIND_RESERVATION}
    head = next(w for w in result.waiting if w.job_id == "head")
    assert head.estimated_start_s == pytest.approx(NOW - 600 + 2 * 3600)


def test_without_backfill_long_jobs_start() -> None:
    busy = [running("r", "n", 2, started_ago_s=600, limit_h=2)]
    jobs = [pending("head", 4), pending("long", 1, submit=2, limit_h=5)]
    assert started(run_pass(ONE_NODE, jobs, busy)) == ["long"]


@pytest.mark.parametrize("policy", ["sjf", "fair_las"])
def test_aging_promotes_a_starving_job(policy: str) -> None:
    jobs = [
        pending("old-long", 3, limit_h=50, submit=-200_000),
        pending("new-short", 3, limit_h=1, submit=5),
    ]
    busy = [running("r", "n", 1)]
    assert started(run_pass(ONE_NODE, jobs, busy, policy=policy)) == ["new-short"]
    aged = run_pass(ONE_NODE, jobs, busy, policy=policy, starvation_after_s=24 * 3600.0)
    assert started(aged) == ["old-long"]


def test_starvation_preemption_only_of_younger_jobs() -> None:
    old = pending("old", 4, submit=-200_000)
    young = running("young", "n", 4, submit=0)
    result = run_pass(
        ONE_NODE, [old], [young], policy="fifo", preemption=True,
        starvation_after_s=24 * 3600.0, starvation_preemption=True,
    )  # fmt: skip
    assert preempted(result) == ["young"]
    assert "starvation guard" in result.preemptions[0].reason


def test_queue_positions_and_estimates() -> None:
    busy = [running("r", "n", 4, limit_h=2, started_ago_s=3600)]
    jobs = [pending(f"j{i}", 2, submit=i) for i in range(4)]
    result = run_pass(ONE_NODE, jobs, busy)
    assert [w.queue_position for w in result.waiting] == [1, 2, 3, 4]
    estimates = [w.estimated_start_s for w in result.waiting]
    assert all(e is not None and e >= NOW for e in estimates)
    assert estimates == sorted(estimates)  # type: ignore[type-var]


def test_unknown_policy_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown policy"):
        run_pass(ONE_NODE, [pending("j")], policy="nope")


@pytest.mark.parametrize(
    ("policy", "job", "victim", "fragment"),
    [
        ("priority", pending("hi", 4, priority=1), running("lo", "n", 4), "higher priority class"),
        ("las", pending("new", 4), running("old", "n", 4, attained=1e5), "2D-LAS level 0 < 2"),
        # ties in the fill go by company id: "aaa" gets the 4 GPUs, "acme" borrows them
        ("las_fair", pending("new", 4, "aaa"), running("old", "n", 4), "aaa's fair share"),
    ],
)
def test_preemption_reasons_name_the_rule(
    policy: str, job: object, victim: object, fragment: str
) -> None:
    result = run_pass(ONE_NODE, [job], [victim], policy=policy, preemption=True)
    assert fragment in result.preemptions[0].reason


def test_las_fair_serves_fair_shares_before_borrowers() -> None:
    nodes = [node("n", 8)]
    old = running("old", "n", 4, "a", attained=1e5)  # inside a's fair share, 2D-LAS level 2
    on_4_to_7 = [("n", d, 1.0) for d in range(4, 8)]
    busy = [old, running("young", on_4_to_7, 4, "c", started_ago_s=60)]  # c: outside the fill
    # a, b, c want 4 GPUs each of 8: the fill (ties by company id) entitles a and b
    result = run_pass(nodes, [pending("new", 4, "b")], busy, policy="las_fair", preemption=True)
    assert preempted(result) == ["old"]  # young is protected by min_runtime_s
    assert "2D-LAS level 0 < 2" in result.preemptions[0].reason
    # a borrower never preempts an entitled job, whatever its LAS level
    result = run_pass(nodes, [pending("new", 4, "c")], busy, policy="las_fair", preemption=True)
    assert preempted(result) == []


@pytest.mark.parametrize("small_company", ["b", "a"], ids=["other-company", "same-company"])
def test_las_fair_moves_a_narrower_entitled_job_off_the_node_a_wide_one_needs(
    small_company: str,
) -> None:
    nodes = [node("n", 8), node("s", 1)]
    # the fill puts the 1-GPU job on the 1-GPU node and a's 8-GPU job on n: both entitled,
    # but the small job runs on n, so a's job could only wait for a node that never
    # empties — whether the small job is another company's or a's own
    small = running("small", [("n", 0, 1.0)], 1, small_company, started_ago_s=1800)
    result = run_pass(nodes, [pending("wide", 8, "a")], [small], policy="las_fair", preemption=True)
    assert preempted(result) == ["small"]
    assert started(result) == ["wide"]
    assert "needs 8 GPUs of one node" in result.preemptions[0].reason


DAY_AND_A_HALF = 36 * 3600.0
LONG_RUNNER = running("long", [("n", 0, 1.0)], 1, "b", attained=1e5)  # 2D-LAS level 2
FRESH_RUNNER = running("long", [("n", 0, 1.0)], 1, "b", started_ago_s=1800)  # level 0


@pytest.mark.parametrize(
    ("waited_s", "victim", "starvation_after_s", "expect_preempted"),
    [
        pytest.param(200_000.0, LONG_RUNNER, DAY_AND_A_HALF, ["long"], id="starving-beats-level-2"),
        pytest.param(10_000.0, LONG_RUNNER, DAY_AND_A_HALF, [], id="not-yet-starving"),
        pytest.param(200_000.0, FRESH_RUNNER, DAY_AND_A_HALF, [], id="starving-but-same-level"),
        pytest.param(200_000.0, LONG_RUNNER, None, [], id="aging-off"),
    ],
)
def test_las_fair_starving_borrower_is_judged_by_las_alone(
    waited_s: float,
    victim: RunningJob,
    starvation_after_s: float | None,
    expect_preempted: list[str],
) -> None:
    # b's 1-GPU job fills first (smaller), so a's 8-GPU job no longer fits the fill: a
    # borrower, which may not preempt the entitled job — unless it has starved
    wide = pending("wide", 8, "a", submit=10_000.0 - waited_s)
    result = run_pass(
        [node("n", 8)], [wide], [victim], policy="las_fair", preemption=True,
        starvation_after_s=starvation_after_s,
    )  # fmt: skip
    assert preempted(result) == expect_preempted
    if expect_preempted:
        assert started(result) == ["wide"]
        assert "starvation guard: it has waited 55.6 h" in result.preemptions[0].reason
        assert "2D-LAS level 0 < 2" in result.preemptions[0].reason


def test_las_fair_never_moves_a_job_the_fill_does_not_place_elsewhere() -> None:
    nodes = [node("n", 8)]
    # one node only: a's 8-GPU job and its own 1-GPU job cannot both be entitled, and the
    # running job, already placed, stays in the fill: the wide job waits
    small = running("small", [("n", 0, 1.0)], 1, "a", started_ago_s=1800)
    result = run_pass(nodes, [pending("wide", 8, "a")], [small], policy="las_fair", preemption=True)
    assert preempted(result) == []


def test_fair_share_fill_gives_whole_jobs_by_gpu_type() -> None:
    from scheduler.core.entitlement import entitled_jobs

    nodes = [node("g", 8, "G2"), node("t", 1, "T4")]
    jobs = [pending("big", 8, "a", types=("G2",)), pending("s1", 1, "b"), pending("s2", 1, "c")]
    # equal weights: b and c go first (lower share after their job); s1 fits best on the
    # T4, s2 then takes a G2 GPU, and "big" no longer fits: it gets nothing, not a fraction
    assert entitled_jobs(nodes, [], jobs, lambda c: 1.0) == {"s1", "s2"}
    # a heavy weight puts a first: the G2 node is a's, c's job is left out
    heavy = entitled_jobs(nodes, [], jobs, lambda c: 100.0 if c == "a" else 1.0)
    assert heavy == {"big", "s1"}


@pytest.mark.parametrize(
    ("largest_first", "entitled"),
    [(False, {"s1", "s2"}), (True, {"big", "s1"})],
    ids=["smallest-first", "largest-first"],
)
def test_fair_share_fill_tie_break_by_next_job_size(
    largest_first: bool, entitled: set[str]
) -> None:
    from scheduler.core.entitlement import entitled_jobs

    nodes = [node("g", 8, "G2"), node("t", 1, "T4")]
    jobs = [pending("big", 8, "a", types=("G2",)), pending("s1", 1, "b"), pending("s2", 1, "c")]
    # all three companies tie at level 0; largest first gives a's 8-GPU job the G2 node
    # before c's small job spreads onto it (first-fit decreasing)
    assert entitled_jobs(nodes, [], jobs, lambda c: 1.0, largest_first) == entitled


@pytest.mark.parametrize(
    ("largest_first", "starts"),
    [(False, {"s1", "s2"}), (True, {"big", "s1"})],
    ids=["smallest-first", "largest-first"],
)
def test_las_fair_fill_largest_job_first_setting(largest_first: bool, starts: set[str]) -> None:
    nodes = [node("g", 8, "G2"), node("t", 1, "T4")]
    jobs = [pending("big", 8, "a", types=("G2",)), pending("s1", 1, "b"), pending("s2", 1, "c")]
    result = run_pass(nodes, jobs, policy="las_fair", fill_largest_job_first=largest_first)
    assert set(started(result)) == starts


def test_fair_share_fill_leaves_a_gpu_type_to_the_jobs_that_can_use_only_it() -> None:
    from scheduler.core.entitlement import entitled_jobs

    nodes = [node("t", 1, "T4"), node("g", 4, "G2")]
    jobs = [pending("flexible", 1, "a"), pending("t4-only", 1, "b", types=("T4",))]
    # a fills first (heavy weight); best fit alone would put its any-type job on the single
    # T4 and leave b's job out, though a's job fits on the G2 node just as well
    assert entitled_jobs(nodes, [], jobs, lambda c: 100.0 if c == "a" else 1.0) == {
        "flexible",
        "t4-only",
    }


def test_fair_share_fill_leaves_scarce_types_to_a_job_that_may_use_few_of_them() -> None:
    from scheduler.core.entitlement import entitled_jobs

    nodes = [node("t", 1, "T4"), node("v", 1, "V100"), node("g", 4, "G2")]
    jobs = [
        pending("any-1", 1, "a"),
        pending("any-2", 1, "a"),
        pending("t4-or-v100", 1, "b", types=("T4", "V100")),
    ]
    # b already holds a G2 (a job that may use only G2s): a fills first
    b_running = dataclasses.replace(running("b-g2", "g", 1, "b"), gpu_types=("G2",))
    # the jobs that may use fewer types reserve their demand on those types (spread evenly):
    # a's any-type jobs go to the G2 node, not onto the two 1-GPU nodes best fit would pick
    entitled = entitled_jobs(nodes, [b_running], jobs, lambda c: 100.0 if c == "a" else 1.0)
    assert entitled == {"any-1", "any-2", "t4-or-v100", "b-g2"}


def test_fair_share_fill_tries_every_type_when_no_node_of_the_roomy_ones_holds_the_job() -> None:
    from scheduler.core.entitlement import entitled_jobs

    # A has 4 GPUs in all but 2 per node; B one 4-GPU node. b's B-only job reserves 2 of B,
    # so only A has slack for a's 3-GPU job — yet no A node holds it: it goes to B
    nodes = [node("a1", 2, "A"), node("a2", 2, "A"), node("b1", 4, "B")]
    jobs = [pending("three", 3, "a", types=("A", "B")), pending("b-only", 2, "b", types=("B",))]
    assert entitled_jobs(nodes, [], jobs, lambda c: 100.0 if c == "a" else 1.0) == {"three"}


def backed_off(
    job_id: str, on: str | list[tuple[str, int, float]], company: str, *, ran_s: float = 3600.0
) -> RunningJob:
    """A 1-GPU job preempted 20 times: back-off protection 600 s x 1.25^20 = 14.5 h."""
    job = running(job_id, on, 1, company, started_ago_s=ran_s, attained=1e5)
    return dataclasses.replace(job, preemption_count=20)


FOUR_OF_A = [backed_off(f"a{d}", [("n", d, 1.0)], "a") for d in range(4)]


N4, M1, S1 = node("n", 4), node("m", 1), node("s", 1)


@pytest.mark.parametrize(
    ("nodes", "busy", "quotas", "settings", "job_attained_h", "expect_preempted"),
    [
        pytest.param(
            [N4], FOUR_OF_A, None, {}, 0.0, 1, id="back-off-yields-to-a-company-holding-none"
        ),
        pytest.param(
            [N4],
            FOUR_OF_A,
            None,
            {"first_gpu_preemption": False},
            0.0,
            0,
            id="rule-off-back-off-holds",
        ),
        pytest.param(
            [N4],
            [backed_off(f"a{d}", [("n", d, 1.0)], "a", ran_s=300.0) for d in range(4)],
            None,
            {},
            0.0,
            1,
            id="minimum-run-time-yields-too",
        ),
        pytest.param(
            [N4],
            [dataclasses.replace(j, attained_gpu_seconds=0.0) for j in FOUR_OF_A],  # level 1
            None,
            {},
            9.0,  # level 2
            0,
            id="victims-of-a-lower-las-level-hold",
        ),
        pytest.param(
            [N4, M1],
            [*FOUR_OF_A, running("b0", "m", 1, "b", started_ago_s=60)],
            None,
            {},
            0.0,
            0,
            id="company-already-holding-a-gpu",
        ),
        pytest.param(
            [S1],
            [backed_off("a0", "s", "a")],
            {"a": CompanyQuota("a", {}, None, 1.0), "b": CompanyQuota("b", {}, None, 9.0)},
            {},
            0.0,
            0,
            id="victim-company-would-hold-none",
        ),
    ],
)
def test_las_fair_first_gpu_preemption(
    nodes: list[GpuNode],
    busy: list[RunningJob],
    quotas: dict[str, CompanyQuota] | None,
    settings: dict[str, object],
    job_attained_h: float,
    expect_preempted: int,
) -> None:
    """Company b waits with nothing running; a's jobs are protected, for hours by their
    back-off or by the minimum run time. With ``first_gpu_preemption`` (the default) every
    run-time protection yields to b's entitled job, for a job of a company that keeps other
    GPUs and has received at least as much GPU-time (back-off uncapped here: the 1 h default
    cap would end it as the jobs have run an hour)."""
    opts = {
        "preemption": True, "max_preemption_protection_s": None,
        "reclaim_past_protection": False, **settings,
    }  # fmt: skip
    job = pending("b1", 1, "b", attained=job_attained_h * 3600.0)
    result = run_pass(nodes, [job], busy, policy="las_fair", quotas=quotas, **opts)
    assert len(preempted(result)) == expect_preempted
    if expect_preempted:
        assert started(result) == ["b1"]
        assert "company b holds no GPUs" in result.preemptions[0].reason
        assert "run-time protection yields" in result.preemptions[0].reason
    else:
        assert "b1" in waiting(result)


@pytest.mark.parametrize("later_s", [60.0, 7200.0], ids=["protected", "past-protection"])
def test_las_fair_first_gpu_cannot_be_taken_back(later_s: float) -> None:
    """No loop: a's job, preempted for b's first GPU, waits in the next pass, whether b's job
    is still protected or not. a keeps three GPUs, its share in the fill, so the job is a
    borrower now (a borrower never takes an entitled job), the rule does not serve a, and
    the job's 2D-LAS level is not lower than b's."""
    opts = {"preemption": True, "quota_reclaim": True, "starvation_after_s": 36 * 3600.0}
    first = run_pass([N4], [pending("b1", 1, "b")], FOUR_OF_A, policy="las_fair", **opts)
    assert started(first) == ["b1"]
    assert len(preempted(first)) == 1
    victim = next(j for j in FOUR_OF_A if j.job_id in preempted(first))
    start = first.starts[0]
    b1 = RunningJob(
        "b1", "b", 1.0, start.placement, NOW, 3600.0, NOW - 60.0, (), 0, True, False, 0.0
    )
    requeued = dataclasses.replace(
        pending(victim.job_id, 1, "a", attained=victim.attained_at(NOW)),
        preemption_count=victim.preemption_count + 1,
    )
    rest = [j for j in FOUR_OF_A if j.job_id != victim.job_id]
    second = run_pass([N4], [requeued], [*rest, b1], policy="las_fair", now=NOW + later_s, **opts)
    assert preempted(second) == []
    assert victim.job_id in waiting(second)


TWO_GPUS = node("n", 2)


def _borrower(attained_gpu_h: float, *, preemptible: bool = True) -> RunningJob:
    """Company a's second job on the 2-GPU node, started 2 min ago (inside the 10 min
    minimum run time): with b waiting, the fill gives a and b one GPU each, so it borrows."""
    return running(
        "a-young", [("n", 1, 1.0)], 1, "a", started_ago_s=120,
        attained=attained_gpu_h * 3600.0, preemptible=preemptible,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("victim", "settings", "job_attained_gpu_h", "weights", "expect_preempted"),
    [
        pytest.param(_borrower(9.0), {}, 0.0, None, True, id="more-served-borrower-yields"),
        pytest.param(
            _borrower(9.0), {"reclaim_past_protection": False}, 0.0, None, False, id="rule-off"
        ),
        pytest.param(_borrower(0.5), {}, 0.0, None, False, id="borrower-no-more-served"),
        pytest.param(_borrower(9.0), {}, 9.0, None, False, id="same-level-as-the-job"),
        pytest.param(_borrower(9.0, preemptible=False), {}, 0.0, None, False, id="not-preemptible"),
        pytest.param(_borrower(9.0), {}, 0.0, {"a": 9.0}, False, id="job-beyond-its-share"),
    ],
)
def test_las_fair_entitled_job_reclaims_past_a_more_served_borrowers_protection(
    victim: RunningJob,
    settings: dict[str, object],
    job_attained_gpu_h: float,
    weights: dict[str, float] | None,
    expect_preempted: bool,
) -> None:
    """b's job waits for the GPU a's young borrower holds; the minimum run time yields to
    it only if that borrower has received more GPU-time (a higher 2D-LAS level). (The
    first GPU at once, which would serve b holding nothing, is off: this rule alone.)"""
    old = running("a-old", [("n", 0, 1.0)], 1, "a", started_ago_s=300)  # entitled, protected
    nodes, busy, quotas = [TWO_GPUS], [old, victim], None
    if weights is not None:  # b already holds a GPU elsewhere, and a weighs 9 times b
        quotas = {c: CompanyQuota(c, {}, None, weights.get(c, 1.0)) for c in ("a", "b")}
        nodes, busy = [TWO_GPUS, node("m", 1)], [*busy, running("b0", "m", 1, "b")]
    job = pending("b1", 1, "b", attained=job_attained_gpu_h * 3600.0)
    opts = {"preemption": True, "first_gpu_preemption": False, **settings}
    result = run_pass(nodes, [job], busy, policy="las_fair", quotas=quotas, **opts)
    if expect_preempted:
        assert preempted(result) == ["a-young"]
        assert started(result) == ["b1"]
        assert "its run-time protection yields" in result.preemptions[0].reason
        assert "2D-LAS level 2 > 0" in result.preemptions[0].reason
    else:
        assert preempted(result) == []
        assert "b1" in waiting(result)


def _b_jobs(last_started_ago_s: float, last_attained_gpu_h: float) -> list[RunningJob]:
    """Company b's seven 1-GPU jobs of 2D-LAS level 0 on two 4-GPU nodes (n1 devices 1-3,
    n2 devices 0-3); the fill gives b six of the eight GPUs, so the last started, b6 on n2,
    borrows."""
    devices = [("n1", d) for d in (1, 2, 3)] + [("n2", d) for d in range(4)]
    jobs = [running(f"b{k}", [(n, d, 1.0)], 1, "b", started_ago_s=900) for k, (n, d) in
            enumerate(devices[:-1])]  # fmt: skip
    last = running(
        "b6", [("n2", 3, 1.0)], 1, "b", started_ago_s=last_started_ago_s,
        attained=last_attained_gpu_h * 3600.0,
    )  # fmt: skip
    return [*jobs, last]


@pytest.mark.parametrize(
    ("b_jobs", "victim", "reason"),
    [
        pytest.param(_b_jobs(700, 0.0), "b6", "runs beyond company b's", id="borrower"),
        pytest.param(
            _b_jobs(300, 9.0), "b6", "its run-time protection yields", id="more-served-borrower"
        ),
        pytest.param(_b_jobs(300, 0.0), "a-old", "2D-LAS level 0 < 2", id="no-borrower-free"),
    ],
)
def test_las_fair_entitled_job_takes_a_borrowers_gpu_before_an_entitled_jobs(
    b_jobs: list[RunningJob], victim: str, reason: str
) -> None:
    """c's fresh job is inside the fill (a 1, b 6, c 1 of 8 GPUs). On n1, the first node,
    a's only job has received more GPU-time (level 2): 2D-LAS alone would take it. The
    borrower b6 on n2 goes first — past its minimum run time only if it has received more
    GPU-time than c's job —, a's job only when no borrower can go."""
    a_old = running("a-old", [("n1", 0, 1.0)], 1, "a", attained=1e5)
    nodes = [node("n1", 4), node("n2", 4)]
    result = run_pass(
        nodes, [pending("c1", 1, "c")], [a_old, *b_jobs], policy="las_fair", preemption=True
    )
    assert preempted(result) == [victim]
    assert started(result) == ["c1"]
    assert reason in result.preemptions[0].reason


@pytest.mark.parametrize(
    ("policy", "victim"), [("las_fair", "b0"), ("las", "a-wide")], ids=["las_fair", "las"]
)
def test_entitled_job_takes_the_fewest_gpus_from_jobs_inside_the_fill(
    policy: str, victim: str
) -> None:
    """The fill (11 GPUs) entitles c's fresh job, a's 8-GPU job and two of b's jobs; b's
    borrower b2 is protected and has received no more GPU-time than c's job, so c must take
    a job inside the fill. a's 8-GPU job on the first node would do, as would b0 (1 GPU,
    started last of b's level-2 jobs): ``las_fair`` takes b0 — not 8 GPUs of a company's
    share to free one. ``las`` (no fill) keeps the first node where one victim suffices."""
    busy = [
        running("a-wide", "big", 8, "a", attained=1e5),
        running("b0", [("small", 0, 1.0)], 1, "b", attained=1e5, started_ago_s=3600),
        running("b1", [("small", 1, 1.0)], 1, "b", attained=1e5, started_ago_s=3700),
        running("b2", [("small", 2, 1.0)], 1, "b", started_ago_s=300),
    ]
    nodes = [node("big", 8), node("small", 3)]
    result = run_pass(nodes, [pending("c1", 1, "c")], busy, policy=policy, preemption=True)
    assert preempted(result) == [victim]
    assert started(result) == ["c1"]
    assert "2D-LAS level 0 < 2" in result.preemptions[0].reason
