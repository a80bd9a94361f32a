"""Placement, GPU types, draining, fractions and rejection: table-driven."""

from __future__ import annotations

import pytest

from scheduler.core import WaitReason
from tests.scheduler.builders import node, pending, run_pass, running, started, waiting


def test_whole_gpu_job_best_fit_keeps_big_blocks_whole() -> None:
    nodes = [node("big", 8), node("small", 4)]
    result = run_pass(nodes, [pending("j", 2)], [running("r", "small", 2)])
    assert result.starts[0].placement[0].node_id == "small"
    assert {s.device_index for s in result.starts[0].placement} == {2, 3}


def test_fractional_jobs_share_one_device() -> None:
    result = run_pass([node("n", 1)], [pending("a", 0.5), pending("b", 0.25, submit=1)])
    assert started(result) == ["a", "b"]
    assert {s.placement[0].device_index for s in result.starts} == {0}


def test_fraction_prefers_partly_used_device() -> None:
    result = run_pass([node("n", 2)], [pending("b", 0.25)], [running("r", [("n", 1, 0.5)], 0.5)])
    assert result.starts[0].placement[0].device_index == 1


def test_fraction_does_not_fit_over_a_full_share() -> None:
    result = run_pass([node("n", 1)], [pending("b", 0.6)], [running("r", "n", 0.5)])
    assert started(result) == []
    assert "the most free on one GPU is 0.5" in waiting(result)["b"]


@pytest.mark.parametrize(
    ("nodes", "job", "expected_node"),
    [
        ([node("a", 4, "A100"), node("l", 4, "L40S")], pending("j", 1, types=("L40S",)), "l"),
        ([node("a", 4, "A100"), node("l", 4, "L40S")], pending("j", 4, types=("A100", "T4")), "a"),
        ([node("d", 4, draining=True), node("ok", 4)], pending("j", 1), "ok"),
    ],
    ids=["type-match", "alternatives", "skip-draining"],
)
def test_type_and_draining(nodes: list, job: object, expected_node: str) -> None:
    result = run_pass(nodes, [job])
    assert result.starts[0].placement[0].node_id == expected_node


# the scarce type sorts first by name and is the best fit: both used to win it
SCARCE, PLENTY = node("a10", 1, "A10"), node("t4", 4, "T4")
PLENTY_FULL = running("busy", "t4", 4, started_ago_s=60)


@pytest.mark.parametrize(
    ("nodes", "busy", "job", "expected_node"),
    [
        ([SCARCE, PLENTY], [], pending("j", 1), "t4"),
        ([SCARCE, PLENTY], [PLENTY_FULL], pending("j", 1), "a10"),
        ([SCARCE, PLENTY], [], pending("j", 0.5), "t4"),
        ([SCARCE, PLENTY], [], pending("j", 1, types=("A10", "T4")), "t4"),
        ([SCARCE, PLENTY], [], pending("j", 1, types=("A10",)), "a10"),
        (
            [node("v16", 1, "V100M16"), node("v32", 1, "V100M32"), node("t", 2, "T4")],
            [running("t0", "t", 2, started_ago_s=60)],
            pending("j", 1, types=("V100M32", "V100M16")),
            "v16",
        ),
        (
            [node("a1", 4), node("a2", 4), node("a3", 4), node("l", 8, "L40S")],
            [],
            pending("j", 8, multi_node=True),
            "l",
        ),
    ],
    ids=[
        "any-type-takes-the-plentiful-type",
        "scarce-type-when-nothing-else-fits",
        "fraction-likewise",
        "listed-types-likewise",
        "a-job-that-needs-the-scarce-type-gets-it",
        "types-of-equal-size-best-fit-then-node-order",
        "one-node-of-a-scarcer-type-before-a-gang",
    ],
)
def test_a_job_allowing_several_types_leaves_scarce_types_free(
    nodes: list, busy: list, job: object, expected_node: str
) -> None:
    result = run_pass(nodes, [job], busy)
    assert {s.node_id for s in result.starts[0].placement} == {expected_node}


def test_all_nodes_of_type_draining_waits_with_reason() -> None:
    result = run_pass([node("g", 4, "G3", draining=True)], [pending("j", 1, types=("G3",))])
    assert result.waiting[0].code is WaitReason.DRAINING
    assert "draining" in result.waiting[0].reason
    assert result.rejected == ()


@pytest.mark.parametrize(
    ("job", "fragment"),
    [
        (pending("j", 8, types=("G3",)), "largest such node has 1"),
        (pending("j", 1, types=("H100",)), "no node has GPU type H100"),
        (pending("j", 1.5), "must be whole numbers"),
        (pending("j", 16, multi_node=True), "the cluster has at most 12"),
    ],
)
def test_jobs_that_can_never_run_are_rejected(job: object, fragment: str) -> None:
    nodes = [node("a", 8), node("b", 4), node("g", 1, "G3")]
    result = run_pass(nodes, [job])
    assert len(result.rejected) == 1
    assert fragment in result.rejected[0].reason


def test_multi_gpu_waits_for_one_node_unless_gang_allowed() -> None:
    nodes = [node("a", 4), node("b", 4)]
    busy = [running("r1", "a", 2), running("r2", "b", 2)]
    no_gang = run_pass(nodes, [pending("j", 4)], busy)
    assert started(no_gang) == []
    assert "waiting for 4 GPUs on one A100 node; largest free block is 2" in waiting(no_gang)["j"]
    gang = run_pass(nodes, [pending("j", 4, multi_node=True)], busy)
    assert {s.node_id for s in gang.starts[0].placement} == {"a", "b"}


def test_never_more_than_a_node_has() -> None:
    result = run_pass(
        [node("n", 2)], [pending("a", 1), pending("b", 1, submit=1), pending("c", 1, submit=2)]
    )
    assert started(result) == ["a", "b"]
    assert "c" in waiting(result)


def test_core_is_pure_no_ray_db_or_api_imports() -> None:
    import subprocess
    import sys

    code = (
        "import sys, scheduler.core, scheduler.sim;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "{'ray', 'sqlalchemy', 'sqlmodel', 'hub_api', 'fastapi', 'psycopg', 'requests'}];"
        "print(bad); raise SystemExit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
