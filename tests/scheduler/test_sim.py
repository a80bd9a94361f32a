"""Simulator, trace parsing and benchmark CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from scheduler.bench.__main__ import _targets, main
from scheduler.bench.metrics import (
    FairnessAccumulator,
    Shape,
    alone_mean_jct,
    bounded_slowdown,
    percentile,
    water_fill,
)
from scheduler.bench.runner import (
    BENCH_POLICIES,
    DEFAULT_POLICY,
    README_CLUSTER,
    bench_policy,
    run_policy,
)
from scheduler.core import PolicySettings
from scheduler.executors.base import Executor
from scheduler.sim import SimConfig, TraceJob, load_trace, parse_cluster, simulate
from scheduler.sim.simulator import PreemptionLoopError, SimulatedExecutor
from scheduler.sim.trace import time_limit_for

TRACE = Path(__file__).resolve().parents[3] / "shared" / "traces" / "openb_dev.csv"
HELDOUT_TRACE = Path(__file__).resolve().parents[2] / "scheduler/bench/traces/openb_heldout.csv"

CSV = """job_id,submit_s,duration_s,num_gpus,tenant,gpu_type
j1,0,3600,1,t1,
j2,10,600,0.5,t2,T4
j3,20,7200,2,t1,A100|T4
j4,30,100,8,t2,T4
j5,40,1800,4,t3,
j6,50,60,0.25,t3,
"""


def _job(job_id: str, submit: float, duration: float, gpus: float, tenant: str) -> TraceJob:
    return TraceJob(job_id, submit, duration, gpus, tenant, (), time_limit_for(job_id, duration, 0))


def test_parse_cluster() -> None:
    nodes = parse_cluster("2x8:A100,1x4:L40S")
    assert [(n.node_id, n.gpu_count, n.gpu_type) for n in nodes] == [
        ("A100-0", 8, "A100"), ("A100-1", 8, "A100"), ("L40S-0", 4, "L40S"),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="bad cluster spec"):
        parse_cluster("2x:A100")


@pytest.mark.parametrize("duration", [1.0, 653.0, 7160.0, 200_000.0])
def test_time_limits_are_noisy_hour_multiples_above_the_duration(duration: float) -> None:
    limits = {time_limit_for(f"j{i}", duration, seed=3) for i in range(50)}
    assert all(lim % 3600 == 0 and lim >= 1.2 * duration for lim in limits)
    assert time_limit_for("j1", duration, 3) == time_limit_for("j1", duration, 3)
    if duration > 7000:
        assert len(limits) > 1


def test_load_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    jobs = load_trace(path)
    assert [j.job_id for j in jobs] == ["j1", "j2", "j3", "j4", "j5", "j6"]
    assert jobs[2].gpu_types == ("A100", "T4")
    assert jobs[0].gpu_types == ()


def test_replay_completes_everything_it_can_and_rejects_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    jobs = load_trace(path)
    nodes = parse_cluster("1x4:T4,1x2:A100")
    for policy in BENCH_POLICIES:
        metrics, result = run_policy(policy, jobs, nodes, None)
        assert metrics["completed"] == 5, policy.name
        assert metrics["rejected"] == 1  # 8 GPUs of T4 on a 4-GPU node
        assert "largest such node has 4" in result.records["j4"].reason
        assert metrics["budget_overrun_gpu_s"] == 0


def test_preemption_loses_progress_since_the_last_checkpoint() -> None:
    jobs = [_job("long", 0, 10_000, 1, "a"), _job("short", 4000, 100, 1, "b")]
    settings = PolicySettings("las", backfill=False, min_runtime_s=0, starvation_after_s=None)
    config = SimConfig(settings, {"a": 1e9, "b": 1e9}, checkpoint_interval_s=1500)
    result = simulate(jobs, parse_cluster("1x1:A100"), config)
    assert result.preemptions == 1
    assert result.lost_gpu_s == pytest.approx(1000)  # ran 4000 s, checkpoint at 3000 s
    long_job = result.records["long"]
    assert long_job.status == "completed"
    assert long_job.finish_s == pytest.approx(4100 + 10_000 - 3000)


def test_a_job_blocked_only_by_a_victims_minimum_run_time_starts_when_it_ends() -> None:
    # no arrival or completion happens at 600 s; the service passes every few seconds, so
    # the replay must pass when the long job's protection ends, not when it finishes
    jobs = [_job("long", 0, 10_000, 1, "a"), _job("short", 100, 100, 1, "b")]
    settings = PolicySettings(
        "las", backfill=False, min_runtime_s=600, starvation_after_s=None,
        las_thresholds_gpu_s=(300.0,),
    )  # fmt: skip
    config = SimConfig(settings, {"a": 1e9, "b": 1e9})
    result = simulate(jobs, parse_cluster("1x1:A100"), config)
    assert result.records["short"].first_start_s == pytest.approx(600)
    assert result.preemptions == 1


def test_a_preempted_job_restarts_at_once_on_a_gpu_that_is_free() -> None:
    # "pinned" needs the A100 that "flex" (any model) holds while the T4 is free: the
    # service passes again within seconds, so "flex" moves to the T4 right away instead of
    # waiting for the next arrival or completion (2,100 s, when "pinned" ends)
    jobs = [
        TraceJob("busy", 0, 1000, 1, "a", ("T4",), 3600),
        _job("flex", 0, 10_000, 1, "a"),
        TraceJob("pinned", 2000, 100, 1, "b", ("A100",), 3600),
    ]
    settings = PolicySettings(
        "las", backfill=False, min_runtime_s=0, starvation_after_s=None,
        las_thresholds_gpu_s=(300.0,),
    )  # fmt: skip
    config = SimConfig(settings, {"a": 1e9, "b": 1e9}, checkpoint_interval_s=1500)
    result = simulate(jobs, parse_cluster("1x1:A100,1x1:T4"), config)
    assert result.preemptions == 1
    assert result.records["pinned"].first_start_s == pytest.approx(2000)
    # ran 2,000 s, kept the checkpoint at 1,500 s, restarted at 2,000 s with 8,500 s to go
    assert result.records["flex"].finish_s == pytest.approx(2000 + 8500)


def test_a_preemption_loop_without_a_minimum_run_time_stops_the_replay_with_a_reason(
    tmp_path: Path,
) -> None:
    # with no minimum run time the default policy's jobs on this busy trace take each
    # other's GPUs pass after pass at one instant (found by `suite --set min_runtime_s=0`,
    # which hung): the replay must stop and say why, not spin
    from tests.scheduler.test_bench_suite import SMALL, busy_trace

    policy = bench_policy(DEFAULT_POLICY)
    policy = dataclasses.replace(
        policy, settings=dataclasses.replace(policy.settings, min_runtime_s=0.0)
    )
    jobs = load_trace(busy_trace(tmp_path / "busy.csv", jobs=30))
    with pytest.raises(PreemptionLoopError, match="min_runtime_s > 0"):
        run_policy(policy, jobs, parse_cluster(SMALL), None)


def test_tight_grants_are_never_overdrawn() -> None:
    jobs = [_job(f"j{i}", 100 * i, 3000 + 500 * i, 1 + i % 2, f"t{i % 3}") for i in range(30)]
    default = bench_policy(DEFAULT_POLICY)
    metrics, _ = run_policy(default, jobs, parse_cluster("1x4:A100"), 0.6)
    assert metrics["budget_overrun_gpu_s"] == 0
    assert metrics["refused_budget"] > 0
    assert metrics["completed"] + metrics["refused_budget"] == 30


def test_simulated_executor_is_an_executor() -> None:
    executor: Executor = SimulatedExecutor.__new__(SimulatedExecutor)
    executor.running = {}  # type: ignore[attr-defined]
    assert list(executor.list_running()) == []


def test_metric_helpers() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile([], 99) == 0.0
    share = water_fill(10, {"a": 2, "b": 20, "c": 20}, {"a": 1, "b": 1, "c": 2})
    assert share == pytest.approx({"a": 2, "b": 8 / 3, "c": 16 / 3})
    assert alone_mean_jct([_job("x", 0, 100, 2, "a")], slice_gpus=1) == pytest.approx(200)


@pytest.mark.parametrize(
    ("jct_s", "duration_s", "expected"),
    [
        (100.0, 100.0, 1.0),  # ran at once
        (300.0, 100.0, 3.0),  # waited twice its run
        (50.0, 2.0, 5.0),  # a 2 s job counts as 10 s: not 25
        (5.0, 2.0, 1.0),  # never below 1
    ],
)
def test_bounded_slowdown(jct_s: float, duration_s: float, expected: float) -> None:
    assert bounded_slowdown(jct_s, duration_s) == pytest.approx(expected)


def test_slowdowns_of_a_replay_and_of_its_wide_jobs() -> None:
    # one 2-GPU node: the 2-GPU job waits (FIFO) until the 1-GPU job ends at 1,000 s
    jobs = [_job("one", 0, 1000, 1, "a"), _job("two", 10, 1000, 2, "b")]
    metrics, _ = run_policy(bench_policy("fifo"), jobs, parse_cluster("1x2:A"), None)
    assert metrics["wide_jobs_avg_bounded_slowdown"] == pytest.approx(1990 / 1000)
    assert metrics["avg_bounded_slowdown"] == pytest.approx((1.0 + 1.99) / 2)
    assert metrics["p99_bounded_slowdown"] == pytest.approx(1.99)


def test_no_policy_finishes_jobs_faster_on_average_than_their_mean_duration() -> None:
    jobs = [_job(f"j{i}", 30.0 * i, 600.0 + 120.0 * i, 1 + i % 2, f"t{i % 3}") for i in range(12)]
    durations = [j.duration_s for j in jobs]
    for policy in BENCH_POLICIES:
        metrics, _ = run_policy(policy, jobs, parse_cluster("1x2:A"), None)
        assert metrics["avg_duration_s"] == pytest.approx(sum(durations) / len(durations))
        assert metrics["avg_jct_s"] >= metrics["avg_duration_s"], policy.name


@pytest.mark.parametrize(
    ("fifo_jct_s", "avg_duration_s", "attainable"),
    [
        (10_000.0, 3_000.0, True),  # FIFO queues: half of its JCT is above the durations
        (10_000.0, 5_000.0, True),  # exactly at the floor
        (10_000.0, 9_000.0, False),  # FIFO leaves almost no queue to shorten
    ],
)
def test_the_half_of_fifo_target_says_whether_any_policy_could_meet_it(
    fifo_jct_s: float, avg_duration_s: float, attainable: bool
) -> None:
    base = {"avg_jct_s": fifo_jct_s, "utilization": 0.5, "jain_fairness": 0.5, "replay_s": 1.0}
    policies: dict[str, dict[str, float | int]] = {
        "fifo": dict(base),
        "las": dict(base),
        DEFAULT_POLICY: {**base, "avg_duration_s": avg_duration_s, "budget_overrun_gpu_s": 0.0},
    }
    target = _targets(policies)["avg_jct_le_0.5x_fifo"]
    assert target["attainable"] is attainable
    assert target["floor_ratio"] == pytest.approx(avg_duration_s / (0.5 * fifo_jct_s))


def test_fair_share_respects_job_shapes_and_gpu_types() -> None:
    # one 8-GPU node of type A: b's 1-GPU job goes first (lower share after its job), so
    # a's only job (all 8 GPUs) no longer fits — a gets nothing, not a fraction of the node
    acc = FairnessAccumulator([("A", 8)], {"a": 0.5, "b": 0.5})
    assert acc.fair_shares({("a", ("A",), 8.0): 1, ("b", (), 1.0): 10}) == {"b": 8.0}
    # a second node of type B that only b's jobs may use: a's 8-GPU job now fits
    acc = FairnessAccumulator([("A", 8), ("B", 2)], {"a": 0.5, "b": 0.5})
    shares = acc.fair_shares({("a", ("A",), 8.0): 1, ("b", (), 1.0): 10})
    assert shares == {"a": 8.0, "b": 2.0}
    # fractions share one device; demand caps the share; weights split the rest 3:1
    acc = FairnessAccumulator([("A", 1), ("B", 4)], {"a": 0.75, "b": 0.25})
    shares = acc.fair_shares(
        {("a", ("A",), 0.5): 3, ("b", ("A",), 0.5): 1, ("a", ("B",), 1.0): 9, ("b", (), 1.0): 9}
    )
    assert shares == {"a": 0.5 + 3.0, "b": 0.5 + 1.0}


@pytest.mark.parametrize(
    ("t4_only", "any_type", "expected"),
    [
        # the any-type job leaves the one T4 to the job that may use only a T4
        (1, 1, {"a": 1.0, "b": 1.0}),
        # T4-only demand beyond the T4s: the any-type jobs take G2s, the T4-only job waits
        (2, 4, {"a": 4.0, "b": 1.0}),
    ],
)
def test_fair_share_places_an_any_type_job_where_it_takes_no_type_others_need(
    t4_only: int, any_type: int, expected: dict[str, float]
) -> None:
    # a (heavy weight) fills first; best fit alone would put its first any-type job on
    # the 1-GPU T4 node, leaving b nothing though a's job fits on the G2 node as well
    acc = FairnessAccumulator([("T4", 1), ("G2", 4)], {"a": 0.9, "b": 0.1})
    shares = acc.fair_shares({("a", (), 1.0): any_type, ("b", ("T4",), 1.0): t4_only})
    assert shares == expected


def test_fair_share_leaves_scarce_types_to_a_job_that_may_use_few_of_them() -> None:
    # b's second job may use a T4 or a V100 (one each); a's two any-type jobs go to the G2
    # node, though best fit alone would take the two 1-GPU nodes first and leave b's out
    acc = FairnessAccumulator([("T4", 1), ("V100", 1), ("G2", 4)], {"a": 0.9, "b": 0.1})
    demand = {("a", (), 1.0): 2, ("b", ("G2",), 1.0): 1, ("b", ("T4", "V100"), 1.0): 1}
    assert acc.fair_shares(demand) == {"a": 2.0, "b": 2.0}


def test_fair_share_tries_every_type_when_no_node_of_the_roomy_ones_holds_the_job() -> None:
    # A: 4 GPUs on two nodes; B: one 4-GPU node, 2 of it reserved by b's B-only job. Only A
    # has slack for a's 3-GPU job, but no A node holds 3: the job takes B, b's waits
    acc = FairnessAccumulator([("A", 2), ("A", 2), ("B", 4)], {"a": 0.9, "b": 0.1})
    demand = {("a", ("A", "B"), 3.0): 1, ("b", ("B",), 2.0): 1}
    assert acc.fair_shares(demand) == {"a": 3.0}


def test_jain_integrates_each_tenant_over_its_waiting_intervals() -> None:
    acc = FairnessAccumulator([("A", 4)], {"a": 0.5, "b": 0.5})
    four: dict[Shape, int] = {("a", (), 1.0): 4, ("b", (), 1.0): 4}  # fair shares: 2 and 2
    acc(0, 10, {"a": 4.0}, four, {"b"})  # a runs 4, none waiting; b waits with nothing
    acc(10, 20, {"a": 2.0, "b": 2.0}, four, {"a", "b"})  # both wait, both at their share
    acc(20, 30, {"b": 4.0}, {("b", (), 1.0): 4}, set())  # nobody waits: not counted
    # a: 20 / 20 = 1; b: (0 + 20) / (20 + 20) = 0.5; Jain = 1.5^2 / (2 * 1.25) = 0.9
    assert acc.received == {"a": 20.0, "b": 20.0}
    assert acc.fair == {"a": 20.0, "b": 40.0}
    assert acc.jain() == pytest.approx(0.9)


def test_jain_while_active_integrates_over_every_interval_with_unfinished_jobs() -> None:
    acc = FairnessAccumulator([("A", 4)], {"a": 0.5, "b": 0.5})
    four: dict[Shape, int] = {("a", (), 1.0): 4, ("b", (), 1.0): 4}  # fair shares: 2 and 2
    acc(0, 10, {"a": 4.0}, four, {"b"})  # a holds 4 of its share 2, b nothing of its 2
    acc(10, 20, {"a": 2.0, "b": 2.0}, four, {"a", "b"})  # both at their share
    acc(20, 50, {"b": 4.0}, {("b", (), 1.0): 4}, set())  # nobody waits: b's 4 is its share
    # a: (40 + 20) / (20 + 20) = 1.5; b: (0 + 20 + 120) / (20 + 20 + 120) = 0.875
    assert acc.active_received == {"a": 60.0, "b": 140.0}
    assert acc.active_fair == {"a": 40.0, "b": 160.0}
    assert acc.jain_while_active() == pytest.approx(2.375**2 / (2 * (1.5**2 + 0.875**2)))
    # the reading counts only the waiting intervals: b's first wait weighs as
    # much as its second, and the interval in which nobody waited not at all
    assert acc.jain() == pytest.approx(0.9)


def test_both_readings_of_jain_are_one_when_nobody_ever_waits() -> None:
    jobs = [TraceJob(f"j{i}", 10.0 * i, 600.0, 1.0, f"t{i % 3}", (), 3600.0) for i in range(6)]
    metrics, _ = run_policy(bench_policy(DEFAULT_POLICY), jobs, parse_cluster("1x8:A100"), None)
    assert metrics["jain_fairness"] == 1.0  # no tenant waited: no terms
    assert metrics["jain_fairness_while_active"] == 1.0  # every tenant held its whole demand


def test_bench_cli_writes_json_and_plot(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    out = tmp_path / "out.json"
    assert main(["--trace", str(path), "--cluster", "1x4:T4,1x2:A100", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["default_policy"] == DEFAULT_POLICY
    required = {
        "jobs", "completed", "rejected", "avg_jct_s", "p50_jct_s", "p95_jct_s", "p99_jct_s",
        "avg_wait_s", "makespan_s", "utilization", "jain_fairness", "max_finish_time_fairness",
        "budget_overrun_gpu_s", "preemptions", "lost_gpu_s", "replay_s", "avg_bounded_slowdown",
        "p99_bounded_slowdown", "wide_jobs_avg_bounded_slowdown", "jain_fairness_while_active",
    }  # fmt: skip
    for name in ("fifo", "fifo_strict", "sjf_oracle", "las", DEFAULT_POLICY):
        assert required <= data["policies"][name].keys()
    assert len({p["completed"] for p in data["policies"].values()}) == 1
    assert "targets" in data
    assert "tight_budget" in data
    assert out.with_suffix(".png").exists()


def test_bench_json_lists_the_terms_of_each_policys_jain_index(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    out = tmp_path / "out.json"
    argv = ["--trace", str(path), "--cluster", "1x4:T4,1x2:A100", "--json", str(out)]
    assert main([*argv, "--policies", "fifo,las", "--no-plot"]) == 0
    data = json.loads(out.read_text())
    for name in ("fifo", "las"):
        terms = data["fairness_by_tenant"][name]
        xs = [t["ratio"] for t in terms.values()]
        assert xs == sorted(xs)  # worst first
        for t in terms.values():
            assert t["ratio"] == pytest.approx(t["received_gpu_s"] / t["fair_share_gpu_s"])
        jain = sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs)) if xs else 1.0
        assert jain == pytest.approx(data["policies"][name]["jain_fairness"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trace", "/no/such.csv", "--cluster", "1x8:A100", "--json", "o"], "no such trace"),
        (["--trace", str(TRACE), "--cluster", "8:A100", "--json", "o"], "bad cluster spec"),
        (["scale", "--pending", "0", "--json", "o"], "positive integer"),
        (["fingerprint", "--trace", "/no/such.csv"], "no such trace"),
        (["fingerprint", "--seeds", "none"], "positive integer"),
        (["suite", "--trace", str(TRACE), "--cluster", "1x8:A100", "--perturb-seeds", "-1",
          "--json", "o"], "non-negative"),
    ],
)  # fmt: skip
def test_bench_cli_refuses_bad_input_with_a_usage_error(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from scheduler.bench.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_bench_scale_mode(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    args = ["scale", "--pending", "300", "--gpus", "64", "--repeats", "3", "--json", str(out)]
    assert main(args) == 0
    data = json.loads(out.read_text())
    assert data["pass_ms_p50"] > 0
    assert data["pass_ms_p99"] >= data["pass_ms_p50"]
    assert data["baseline_policy"] == "fifo"
    assert 0 < data["baseline_pass_ms_p50"] <= data["baseline_pass_ms_p99"]
    assert data["ratio_to_baseline_p50"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("trace", [TRACE, HELDOUT_TRACE], ids=["dev", "held-out"])
def test_real_trace_subset_every_policy_completes_the_same_jobs(trace: Path) -> None:
    if not trace.exists():
        pytest.skip("shared trace not present")
    jobs = load_trace(trace)[:600]
    nodes = parse_cluster(README_CLUSTER)
    completed = {}
    for policy in BENCH_POLICIES:
        metrics, _ = run_policy(policy, jobs, nodes, None)
        completed[policy.name] = metrics["completed"]
        assert metrics["budget_overrun_gpu_s"] == 0
        assert metrics["completed"] + metrics["rejected"] == len(jobs)
    assert len(set(completed.values())) == 1, completed
