"""Comparing two suite runs: paired differences and whether they exceed the replay's noise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scheduler.bench.__main__ import main
from scheduler.bench.compare import (
    MIN_CONFIGURATIONS,
    SuiteMismatchError,
    bootstrap_interval,
    compare,
)
from scheduler.bench.suite import run_suite
from tests.scheduler.test_bench_suite import SMALL, busy_trace

POLICY = "las_fair"


def config_row(name: str, jct_s: float = 10_000.0, **values: float) -> dict[str, Any]:
    """One configuration of a suite's JSON; ``values`` override the default's ratios."""
    row: dict[str, Any] = {
        "name": name,
        "cluster": "1x4:A100",
        "avg_jct_s": {POLICY: jct_s, "las": 10_000.0, "fifo": 20_000.0},
        "jct_to_las": jct_s / 10_000.0,
        "utilization_to_fifo": 1.0,
        "jain_fairness": 0.9,
        "preemptions": 100,
    }
    row.update(values)
    return row


def suite_run(rows: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    return {"default_policy": POLICY, "overrides": overrides, "configurations": rows}


def names(n: int) -> list[str]:
    return [f"config {i}" for i in range(n)]


def test_a_run_against_itself_changes_nothing() -> None:
    run = suite_run([config_row(n, jct_s=9_000.0 + 100 * i) for i, n in enumerate(names(8))])
    out = compare(run, run)
    for metric, row in out["metrics"].items():
        neutral = 1.0 if row["kind"] == "ratio" else 0.0
        assert row["mean"] == pytest.approx(neutral), metric
        assert (row["low"], row["high"]) == pytest.approx((neutral, neutral)), metric
        assert not row["real"], metric
        assert row["better"] == row["worse"] == 0, metric


def test_a_change_in_every_configuration_is_real() -> None:
    base = suite_run([config_row(n) for n in names(10)])
    faster = suite_run([config_row(n, jct_s=9_000.0) for n in names(10)])
    jct = compare(base, faster)["metrics"]["jct"]
    assert jct["mean"] == pytest.approx(0.9, rel=1e-3)
    assert jct["real"]
    assert jct["better"] == 10
    assert jct["worse"] == 0


def test_changes_that_cancel_out_are_within_noise() -> None:
    base = suite_run([config_row(n) for n in names(12)])
    mixed = suite_run(
        [
            config_row(n, jain_fairness=0.9 + (0.08 if i % 2 else -0.07))
            for i, n in enumerate(names(12))
        ]
    )
    jain = compare(base, mixed)["metrics"]["jain_fairness"]
    assert jain["mean"] == pytest.approx(0.005)
    assert jain["low"] < 0 < jain["high"]
    assert not jain["real"]
    assert (jain["better"], jain["worse"]) == (6, 6)


@pytest.mark.parametrize(
    ("metric", "value", "better"),
    [
        ("jain_fairness", 0.95, True),
        ("jain_fairness", 0.85, False),
        ("utilization_to_fifo", 1.1, True),
        ("jct_to_las", 0.9, True),
        ("jct_to_las", 1.1, False),
        ("preemptions", 50, True),
        ("preemptions", 150, False),
    ],
)
def test_better_follows_the_direction_of_each_metric(
    metric: str, value: float, better: bool
) -> None:
    base = suite_run([config_row(n) for n in names(3)])
    cand = suite_run([config_row(n, **{metric: value}) for n in names(3)])
    row = compare(base, cand)["metrics"][metric]
    assert (row["better"], row["worse"]) == ((3, 0) if better else (0, 3))


def test_runs_of_different_configurations_are_refused() -> None:
    with pytest.raises(SuiteMismatchError, match=r"only in the baseline \['config 2'\]"):
        compare(
            suite_run([config_row(n) for n in names(3)]),
            suite_run([config_row(n) for n in names(2)]),
        )


def test_bootstrap_interval_is_seeded_and_holds_the_mean() -> None:
    values = [0.1, -0.3, 0.25, 0.0, 0.4, -0.1, 0.2]
    low, high = bootstrap_interval(values, resamples=2_000, seed=3)
    assert (low, high) == bootstrap_interval(values, resamples=2_000, seed=3)
    assert low < sum(values) / len(values) < high
    noisier = [3 * v for v in values]
    assert bootstrap_interval(noisier, 2_000, 3)[1] - bootstrap_interval(noisier, 2_000, 3)[0] > (
        high - low
    )


def test_compare_cli_prints_the_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = tmp_path / "base.json", tmp_path / "cand.json"
    base.write_text(json.dumps(suite_run([config_row(n) for n in names(4)])))
    cand.write_text(
        json.dumps(suite_run([config_row(n, jct_s=8_000.0) for n in names(4)], min_runtime_s=300))
    )
    out = tmp_path / "cmp.json"
    assert main(["compare", str(base), str(cand), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "(min_runtime_s=300)" in printed
    assert "4 paired configurations" in printed
    assert json.loads(out.read_text())["metrics"]["jct"]["mean"] == pytest.approx(0.8, rel=1e-3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a readable suite JSON"),
        ("\udcff", "not a readable suite JSON"),  # written as bytes below: not UTF-8
        ('{"policies": {}}', "not a suite JSON"),
        ('{"default_policy": "las_fair", "configurations": {"a": 1}}', "not a suite's output"),
    ],
)
def test_compare_cli_exits_2_on_a_file_that_is_not_a_suite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(suite_run([config_row("config 0")])))
    if content == "\udcff":
        bad.write_bytes(b"\xff\xfe{")
    else:
        bad.write_text(content)
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(good), str(bad)])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_a_knob_tried_on_a_real_suite_is_paired_and_labelled(tmp_path: Path) -> None:
    trace = busy_trace(tmp_path / "trace.csv", jobs=30)
    base = run_suite(trace, [SMALL], [0, 1], [0], workers=1)
    knob = run_suite(trace, [SMALL], [0, 1], [0], {"min_runtime_s": 1200.0}, workers=1)
    out = compare(base, knob)
    assert out["configurations"] == 2
    assert out["candidate_overrides"] == {"min_runtime_s": 1200.0}
    assert set(out["metrics"]) == {
        "jct", "jct_to_las", "utilization_to_fifo", "jain_fairness", "preemptions",
    }  # fmt: skip


def test_a_count_that_starts_at_zero_is_a_finite_change() -> None:
    base = suite_run([config_row(n, preemptions=0) for n in names(10)])
    more = suite_run([config_row(n, preemptions=50) for n in names(10)])
    row = compare(base, more)["metrics"]["preemptions"]
    assert row["mean"] == pytest.approx(51.0)
    assert row["real"]
    assert (row["better"], row["worse"]) == (0, 10)


def test_too_few_configurations_give_no_verdict() -> None:
    few = names(MIN_CONFIGURATIONS - 1)
    base = suite_run([config_row(n) for n in few])
    faster = suite_run([config_row(n, jct_s=5_000.0) for n in few])
    row = compare(base, faster)["metrics"]["jct"]
    assert row["too_few"]
    assert not row["real"]


@pytest.mark.parametrize(
    ("baseline", "candidate", "message"),
    [
        (
            {**suite_run([config_row("a")]), "trace": "dev.csv", "trace_sha256": "1"},
            {**suite_run([config_row("a")]), "trace": "heldout.csv", "trace_sha256": "2"},
            "different traces",
        ),
        (
            suite_run([config_row("a"), config_row("a")]),
            suite_run([config_row("a")]),
            "names a configuration twice",
        ),
        (suite_run([]), suite_run([]), "no configurations"),
        (
            {"configurations": [config_row("a")]},
            {"configurations": [config_row("a")]},
            "default policies differ",
        ),
        (
            suite_run([config_row("a")]),
            suite_run([{"name": "a", "cluster": "1x4:A100"}]),
            "has no jct",
        ),
        (
            suite_run([config_row("a")]),
            suite_run([config_row("a", cluster="1x8:A100")]),
            "clusters differ",
        ),
    ],
)
def test_runs_that_cannot_be_paired_are_refused(
    baseline: dict[str, Any], candidate: dict[str, Any], message: str
) -> None:
    with pytest.raises(SuiteMismatchError, match=message):
        compare(baseline, candidate)


def test_compare_cli_exits_2_when_the_json_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run.json"
    run.write_text(json.dumps(suite_run([config_row("a")])))
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(run), str(run), "--json", str(tmp_path / "missing" / "out.json")])
    assert exc.value.code == 2
    assert "cannot write" in capsys.readouterr().err
