"""The benchmark suite: the default policy against `las` and `fifo` on a grid of replays."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from scheduler.bench.__main__ import main
from scheduler.bench.perturb import perturb, write_csv
from scheduler.bench.runner import DEFAULT_POLICY, bench_policy, run_policy
from scheduler.bench.suite import (
    SUITE_POLICIES,
    _summary,
    cluster_labels,
    parse_overrides,
    run_suite,
)
from scheduler.sim import load_trace, parse_cluster
from scheduler.sim.trace import jobs_from_rows

SMALL = "1x4:A100,1x2:T4"
LARGER = "2x4:A100,1x2:T4"


def busy_trace(path: Path, jobs: int = 60, seed: int = 7) -> str:
    """Four tenants, sizes ¼ to 4 GPUs, minutes to hours: enough contention to preempt."""
    rng = random.Random(seed)
    rows = []
    for i in range(jobs):
        rows.append(
            {
                "job_id": f"j{i:03d}",
                "submit_s": f"{i * 300 + rng.randint(0, 120)}",
                "duration_s": f"{rng.choice([600, 1800, 3600, 4 * 3600, 9 * 3600])}",
                "num_gpus": rng.choice(["0.25", "1", "1", "2", "4"]),
                "tenant": f"t{rng.randint(1, 4)}",
                "gpu_type": rng.choice(["", "", "T4", "A100"]),
            }
        )
    write_csv(rows, path)
    return str(path)


@pytest.fixture
def trace(tmp_path: Path) -> str:
    return busy_trace(tmp_path / "trace.csv")


@pytest.fixture(scope="module")
def suite_of_four(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two clusters x two perturbations, serial: read by the summary's tests (not changed)."""
    trace = busy_trace(tmp_path_factory.mktemp("suite") / "trace.csv")
    return run_suite(trace, [SMALL, LARGER], [0, 1], [0], workers=1)


def replay(policy_name: str, jobs: Any, cluster: str) -> dict[str, float | int]:
    metrics, _ = run_policy(bench_policy(policy_name), jobs, parse_cluster(cluster), None)
    return metrics


def test_every_cluster_perturbation_and_limit_seed_is_one_configuration(trace: str) -> None:
    out = run_suite(trace, [SMALL, LARGER], [0, 1], [0, 1], workers=1)
    names = [row["name"] for row in out["configurations"]]
    assert len(names) == len(set(names)) == 8
    assert out["summary"]["configurations"] == 8
    assert out["clusters"] == {"6 GPUs": SMALL, "10 GPUs": LARGER}


def test_a_configuration_is_the_same_replay_as_the_benchmark_runs(trace: str) -> None:
    out = run_suite(trace, [SMALL], [0, 2], [1], workers=1)
    as_is, perturbed = out["configurations"]
    jobs = load_trace(trace, seed=1)
    perturbed_jobs = jobs_from_rows(perturb(load_trace(trace), 2), seed=1)
    for row, replayed in ((as_is, jobs), (perturbed, perturbed_jobs)):
        expected = {name: replay(name, replayed, SMALL) for name in (DEFAULT_POLICY, "las", "fifo")}
        assert row["avg_jct_s"] == {n: m["avg_jct_s"] for n, m in expected.items()}
        default, las = expected[DEFAULT_POLICY], expected["las"]
        assert row["jct_to_las"] == pytest.approx(default["avg_jct_s"] / las["avg_jct_s"])
        assert row["jain_fairness"] == default["jain_fairness"]
    assert as_is["avg_jct_s"] != perturbed["avg_jct_s"]


def test_overrides_change_the_default_policy_only(trace: str) -> None:
    plain = run_suite(trace, [SMALL], [0], [0], workers=1)["configurations"][0]
    assert plain["preemptions"] > 0  # the trace makes the default preempt
    off = parse_overrides(["preemption=false", "quota_reclaim=false"])
    changed = run_suite(trace, [SMALL], [0], [0], off, workers=1)["configurations"][0]
    assert changed["preemptions"] == 0
    assert changed["avg_jct_s"]["las"] == plain["avg_jct_s"]["las"]
    assert changed["avg_jct_s"]["fifo"] == plain["avg_jct_s"]["fifo"]


def test_worker_processes_give_the_same_result(trace: str) -> None:
    serial = run_suite(trace, [SMALL, LARGER], [0, 1], [0], workers=1)
    parallel = run_suite(trace, [SMALL, LARGER], [0, 1], [0], workers=2)
    assert parallel == serial


def test_summary_counts_the_configurations_that_meet_each_target(
    suite_of_four: dict[str, Any],
) -> None:
    out = suite_of_four
    rows, summary = out["configurations"], out["summary"]
    assert summary["met"]["avg_jct_le_las"] == sum(r["jct_to_las"] <= 1.0 for r in rows)
    assert summary["met"]["jain_fairness_ge_0.95"] == sum(r["jain_fairness"] >= 0.95 for r in rows)
    assert summary["mean_jct_to_las"] == pytest.approx(sum(r["jct_to_las"] for r in rows) / 4)


def test_summary_gives_the_second_reading_of_jain_for_every_policy_apart_from_the_targets(
    suite_of_four: dict[str, Any],
) -> None:
    rows, summary = suite_of_four["configurations"], suite_of_four["summary"]
    second = summary["jain_fairness_while_active"]
    assert set(second) == set(SUITE_POLICIES)
    for name, v in second.items():
        values = [r["jain_fairness_while_active"][name] for r in rows]
        assert all(0.0 < x <= 1.0 for x in values)
        assert v["mean"] == pytest.approx(sum(values) / len(values))
        assert v["ge_0.95"] == sum(x >= 0.95 for x in values)
    assert not any("while_active" in key for key in summary["met"])  # not a target


def test_no_configuration_goes_below_its_floor(suite_of_four: dict[str, Any]) -> None:
    assert all(r["jct_floor_to_fifo"] <= r["jct_to_fifo"] for r in suite_of_four["configurations"])


def test_half_of_fifo_counts_as_within_reach_only_above_the_floor() -> None:
    def row(floor: float) -> dict[str, Any]:
        return {
            "avg_jct_s": {DEFAULT_POLICY: 1.0}, "jct_to_las": 1.0, "jct_to_fifo": 0.7,
            "jct_floor_to_fifo": floor, "utilization_to_fifo": 1.0, "jain_fairness": 0.9,
            "preemptions": 0, "budget_overrun_gpu_s": 0.0,
            "jain_fairness_while_active": dict.fromkeys(SUITE_POLICIES, 0.99),
        }  # fmt: skip

    summary = _summary([row(0.3), row(0.5), row(0.6), row(0.99)])
    assert summary["attainable"]["avg_jct_le_0.5x_fifo"] == 2


def test_summary_brackets_each_mean_ratio_with_an_interval(suite_of_four: dict[str, Any]) -> None:
    out = suite_of_four
    rows, summary = out["configurations"], out["summary"]
    for key, (low, high) in summary["intervals"].items():
        values = [r[key] for r in rows]
        assert min(values) <= low <= sum(values) / len(values) <= high <= max(values), key


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("max_preemption_protection_s=none", None),
        ("max_preemption_protection_s=1800", 1800.0),
        ("max_preemptions_per_job=5", 5),
        ("first_gpu_preemption=true", True),
        ("policy=fair_las", "fair_las"),
        ("las_thresholds_gpu_s=[1800, 7200]", (1800.0, 7200.0)),
    ],
)
def test_an_override_is_read_as_json_and_typed_by_its_field(pair: str, expected: object) -> None:
    key = pair.partition("=")[0]
    assert parse_overrides([pair]) == {key: expected}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "bogus=1"], "FIELD one of backfill"),
        (["--set", "backfill=1"], "expected bool"),
        (["--set", "max_reservations=1.5"], "expected int"),
        (["--set", "min_runtime_s=none"], "expected float"),
        (["--set", "policy=round_robin"], "unknown policy 'round_robin'"),
        (["--perturb-seeds", "a,b"], "expected comma-separated integers"),
        (["--limit-seeds", "-1"], "expected non-negative integers"),
        (["--cluster", "4:A100"], "bad cluster spec part"),
    ],
)
def test_bad_suite_arguments_exit_2_with_a_message(
    trace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    base = ["suite", "--trace", trace, "--cluster", SMALL, "--json", str(tmp_path / "o.json")]
    with pytest.raises(SystemExit) as exc:
        main([*base, *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_suite_cli_prints_a_table_and_writes_json(
    trace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "suite.json"
    argv = ["suite", "--trace", trace, "--cluster", SMALL, "--perturb-seeds", "0,1"]
    assert main([*argv, "--set", "min_runtime_s=300", "--workers", "1", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["overrides"] == {"min_runtime_s": 300.0}
    assert [r["perturb_seed"] for r in data["configurations"]] == [0, 1]
    printed = capsys.readouterr().out
    assert "6 GPUs, perturbed 1, limits 0" in printed
    assert "targets met:" in printed
    assert "not a target: jain_fairness_while_active" in printed


def test_a_suite_whose_replay_loops_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = busy_trace(tmp_path / "busy.csv", jobs=30)  # loops with no minimum run time
    argv = ["suite", "--trace", trace, "--cluster", SMALL, "--set", "min_runtime_s=0"]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--workers", "1", "--json", str(tmp_path / "o.json")])
    assert exc.value.code == 2
    assert "preemption loop" in capsys.readouterr().err


def test_clusters_of_one_size_are_told_apart() -> None:
    labels = cluster_labels(["1x4:A100", "1x4:T4", "1x8:A100"])
    assert labels == {"1x4:A100": "4 GPUs (#1)", "1x4:T4": "4 GPUs (#2)", "1x8:A100": "8 GPUs"}
