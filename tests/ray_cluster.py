"""A real Ray cluster for the tests, with simulated GPUs of two types on two raylets.

Started once per test session (one per xdist worker that needs it; `make test` groups those
tests on one worker) with ``ray.cluster_utils.Cluster`` on free ports, so it never collides
with a developer's ``make up`` cluster, and shut down at the end. The fixture is registered in
tests/conftest.py so that every test folder shares the same cluster.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scheduler.executors.launch import GPU_TYPE_RESOURCE_PREFIX, NODE_RESOURCE_PREFIX


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def gpu_node_args(name: str, gpu_type: str, gpus: int) -> dict[str, Any]:
    return {
        "num_cpus": 1,
        "num_gpus": gpus,
        "resources": {GPU_TYPE_RESOURCE_PREFIX + gpu_type: gpus, NODE_RESOURCE_PREFIX + name: 1},
        "object_store_memory": 80 * 2**20,
    }


@dataclass
class RayTestCluster:
    cluster: Any
    dashboard_url: str
    nodes: dict[str, Any] = field(default_factory=dict)

    def add_gpu_node(self, name: str, gpu_type: str, gpus: int) -> Any:
        node = self.cluster.add_node(
            **gpu_node_args(name, gpu_type, gpus),
            dashboard_agent_listen_port=free_port(),
            metrics_export_port=free_port(),
        )
        self.nodes[name] = node
        return node


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayTestCluster]:
    from ray.cluster_utils import Cluster

    # Job entrypoints run `python …` from the raylet's PATH: make it this virtualenv's.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

    dashboard_port = free_port()
    head_args = gpu_node_args("ray-a100-0", "A100", 4) | {
        "include_dashboard": True,
        "dashboard_agent_listen_port": free_port(),
        "metrics_export_port": free_port(),
        "dashboard_host": "127.0.0.1",
        "dashboard_port": dashboard_port,
    }
    cluster = Cluster(initialize_head=True, head_node_args=head_args)
    test_cluster = RayTestCluster(cluster, f"http://127.0.0.1:{dashboard_port}")
    test_cluster.add_gpu_node("ray-l40s-0", "L40S", 4)
    yield test_cluster
    cluster.shutdown()
