"""How the Ray executor reads Ray's node list (recorded ``list_nodes`` rows, no cluster needed)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.core.model import GpuNode
from scheduler.executors.ray_jobs import BROKEN_NODE_HOLD_S, nodes_from_ray, still_broken


def ray_node(ray_id: str, name: str | None = "ray-t4-0", **overrides: Any) -> dict[str, Any]:
    resources: dict[str, float] = {"CPU": 2.0, "GPU": 1.0, "gpu_type:T4": 1.0}
    if name is not None:
        resources[f"axhub_node:{name}"] = 1.0
    return {
        "node_id": ray_id,
        "state": "ALIVE",
        "resources_total": resources,
        "start_time_ms": 1_700_000_000_000,
    } | overrides


T4 = GpuNode(node_id="ray-t4-0", gpu_type="T4", gpu_count=1)


@pytest.mark.parametrize(
    ("listed", "broken", "expected"),
    [
        pytest.param([ray_node("aa")], set(), [T4], id="alive-gpu-node"),
        pytest.param([ray_node("aa", state="DEAD")], set(), [], id="dead-node-left-out"),
        pytest.param(
            [ray_node("aa", resources_total={"CPU": 8.0})], set(), [], id="cpu-only-left-out"
        ),
        pytest.param([ray_node("aa")], {"aa"}, [], id="broken-node-left-out"),
        pytest.param(
            [ray_node("aa"), ray_node("bb", start_time_ms=1_700_000_100_000)],
            {"aa"},
            [T4],
            id="re-registered-raylet-is-not-broken",
        ),
        pytest.param(
            [ray_node("bb", start_time_ms=1_700_000_100_000), ray_node("aa")],
            set(),
            [T4],
            id="same-name-listed-twice-is-one-node",
        ),
        pytest.param(
            [ray_node("cc", name=None)],
            set(),
            [GpuNode(node_id="cc", gpu_type="T4", gpu_count=1)],
            id="unnamed-node-goes-by-ray-id",
        ),
    ],
)
def test_the_inventory_from_rays_node_list(
    listed: list[dict[str, Any]], broken: set[str], expected: list[GpuNode]
) -> None:
    nodes, _ = nodes_from_ray(listed, broken=broken)
    assert nodes == expected


def test_only_named_nodes_can_be_pinned() -> None:
    _, pinnable = nodes_from_ray([ray_node("aa"), ray_node("cc", name=None)])
    assert pinnable == {"ray-t4-0"}


@pytest.mark.parametrize(
    ("listed", "age_s", "still"),
    [
        pytest.param([ray_node("aa")], 10.0, {"aa"}, id="listed-alive-within-hold"),
        pytest.param([ray_node("aa", state="DEAD")], 10.0, set(), id="ray-declared-it-dead"),
        pytest.param([], 10.0, set(), id="no-longer-listed"),
        pytest.param([ray_node("aa")], BROKEN_NODE_HOLD_S, set(), id="hold-ran-out"),
    ],
)
def test_a_broken_node_stays_out_until_ray_drops_it_or_the_hold_runs_out(
    listed: list[dict[str, Any]], age_s: float, still: set[str]
) -> None:
    assert set(still_broken({"aa": 1000.0}, listed, now=1000.0 + age_s)) == still
