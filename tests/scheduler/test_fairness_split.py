"""The fairness split: each tenant's fair share by what it waited with, and its worth."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from scheduler.bench.__main__ import main
from scheduler.bench.fairness_split import (
    FRESH,
    NOTHING,
    PREEMPTED,
    SOME,
    WIDE,
    FairnessSplit,
    cell_name,
    waiting_with,
)
from scheduler.bench.runner import DEFAULT_POLICY, bench_policy, run_policy
from scheduler.sim import TraceJob, parse_cluster
from tests.scheduler.builders import pending

# a holds both 2-GPU nodes with two long jobs; b's 2-GPU job waits, holding nothing, until
# they end (FIFO never preempts)
CSV = """job_id,submit_s,duration_s,num_gpus,tenant,gpu_type
a1,0,10000,2,a,
a2,0,10000,2,a,
b1,100,1000,2,b,
"""
JOBS = [
    TraceJob("a1", 0.0, 10_000.0, 2.0, "a", (), 36_000.0),
    TraceJob("a2", 0.0, 10_000.0, 2.0, "a", (), 36_000.0),
    TraceJob("b1", 100.0, 1_000.0, 2.0, "b", (), 3_600.0),
]
TIMINGS = ("replay_s", "scheduler_pass_ms_avg")  # wall-clock: differ from run to run


def _preempted(job_id: str, gpus: float) -> object:
    return dataclasses.replace(pending(job_id, gpus), preemption_count=1)


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [
        ([pending("j", 1.0)], FRESH),
        ([pending("j", 0.25), pending("k", 0.5)], FRESH),
        ([_preempted("j", 1.0), pending("k", 0.5)], PREEMPTED),
        ([pending("j", 2.0)], WIDE),
        ([_preempted("j", 1.0), pending("k", 8.0)], WIDE),  # a wide job decides
    ],
)
def test_a_tenants_wait_is_named_by_the_first_kind_of_job_that_applies(
    jobs: list, expected: str
) -> None:
    assert waiting_with(jobs) == expected


def _split(policy: str = "fifo") -> tuple[dict, FairnessSplit]:
    made: list[FairnessSplit] = []

    def accumulator(nodes, weight):  # type: ignore[no-untyped-def]
        made.append(FairnessSplit(nodes, weight))
        return made[-1]

    metrics, _ = run_policy(
        bench_policy(policy), JOBS, parse_cluster("2x2:A"), None, accumulator=accumulator
    )
    return metrics, made[0]


def test_a_wide_job_waiting_while_its_company_holds_nothing_lands_in_its_cell() -> None:
    _, split = _split()
    # b is entitled to one of the two nodes (its level 0 is below a's after a's first job)
    # from its submission until a's jobs end, and held nothing
    assert split.cells["b"] == {
        cell_name(WIDE, NOTHING): pytest.approx([0.0, 2.0 * (10_000.0 - 100.0)])
    }
    assert "a" not in split.cells  # a never waited


def test_the_split_leaves_the_replay_and_its_index_unchanged() -> None:
    metrics, split = _split(DEFAULT_POLICY)  # b reclaims a node from a: a waits too
    plain, _ = run_policy(bench_policy(DEFAULT_POLICY), JOBS, parse_cluster("2x2:A"), None)
    assert metrics["preemptions"] > 0
    assert {k: v for k, v in metrics.items() if k not in TIMINGS} == {
        k: v for k, v in plain.items() if k not in TIMINGS
    }
    for tenant, cells in split.cells.items():  # the cells add up to the index's terms
        assert sum(c[0] for c in cells.values()) == pytest.approx(split.received[tenant])
        assert sum(c[1] for c in cells.values()) == pytest.approx(split.fair[tenant])


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([], 0.9),  # the index as it is
        ([cell_name(WIDE, NOTHING)], 1.0),  # b's only loss
        ([cell_name(FRESH, SOME)], 0.9),  # nobody lost anything there
    ],
)
def test_jain_if_served_gives_each_tenant_its_fair_share_in_those_cells(
    cells: list[str], expected: float
) -> None:
    split = FairnessSplit([("A", 4)], {"a": 0.5, "b": 0.5})
    four = {("a", (), 1.0): 4, ("b", (), 1.0): 4}  # fair shares: 2 and 2
    split.bind_pending({"b1": pending("b1", 2.0, "b")})
    split(0, 10, {"a": 4.0}, four, {"b"})  # b waits with a wide job, holding nothing
    split.bind_pending({"a1": pending("a1", 1.0, "a"), "b2": pending("b2", 1.0, "b")})
    split(10, 20, {"a": 2.0, "b": 2.0}, four, {"a", "b"})  # both at their share
    # a: x = 1; b: 20 / 40 = 0.5 (as test_jain_integrates_each_tenant_over_its_waiting_...)
    assert split.jain() == pytest.approx(0.9)
    assert split.jain_if_served(cells) == pytest.approx(expected)


def test_cli_prints_and_writes_the_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text(CSV)
    out = tmp_path / "split.json"
    argv = ["fairness-split", "--trace", str(trace), "--cluster", "2x2:A", "--json", str(out)]
    assert main([*argv, "--policy", "fifo"]) == 0
    data = json.loads(out.read_text())
    assert data["policy"] == "fifo"
    assert data["tenants"]["b"]["ratio"] == 0.0
    assert data["tenants"]["b"]["cells"][cell_name(WIDE, NOTHING)]["received_gpu_s"] == 0.0
    assert data["jain_if_served"]["every wait holding nothing"] == pytest.approx(1.0)
    printed = capsys.readouterr().out
    assert "b: x = 0.000" in printed
    assert cell_name(WIDE, NOTHING) in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--policy", "nope"], "invalid choice"),
        (["--set", "no_such_field=1"], "expected FIELD=VALUE"),
    ],
)
def test_cli_refuses_bad_input_with_a_usage_error(
    tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text(CSV)
    argv = ["fairness-split", "--trace", str(trace), "--cluster", "2x2:A", "--json", "o"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, *extra])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_exits_2_when_the_replay_loops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.scheduler.test_bench_suite import SMALL, busy_trace

    trace = busy_trace(tmp_path / "busy.csv", jobs=30)  # loops with no minimum run time
    argv = ["fairness-split", "--trace", trace, "--cluster", SMALL, "--json", "o"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--set", "min_runtime_s=0"])
    assert exit_info.value.code == 2
    assert "preemption loop" in capsys.readouterr().err
