"""A real Ray cluster for the tests, with simulated GPUs of two types on two raylets.

Started once per test session with ``ray.cluster_utils.Cluster`` on free ports (so it never
collides with a developer's ``make up`` cluster), and shut down at the end.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.hub_api.conftest import world
from tests.ray_cluster import RayTestCluster, free_port

__all__ = ["RayTestCluster", "free_port", "world"]


# ----- MLflow --------------------------------------------------------------------------------
MLFLOW_ADMIN_PASSWORD = "test-mlflow-admin-password-0123"


@dataclass
class MlflowTestServer:
    """A real multi-tenant MLflow server (workspaces + basic auth), lean, on a free port."""

    url: str
    admin_username: str
    admin_password: str
    process: Any

    def hub_settings(self) -> dict[str, Any]:
        return {
            "mlflow_tracking_uri": self.url,
            "mlflow_admin_username": self.admin_username,
            "mlflow_admin_password": self.admin_password,
            "mlflow_timeout_s": 5.0,
            "mlflow_retry_interval_s": 0.0,
        }


@contextmanager
def running_mlflow(
    root: Path,
    *,
    backend_store_uri: str,
    auth_database_uri: str,
    artifacts_destination: str,
    extra_env: dict[str, str] | None = None,
) -> Iterator[MlflowTestServer]:
    """An MLflow server as the hub runs it (hub_api/tracking/server.py), on a free port."""
    import subprocess

    from hub_api.tracking import server

    config = server.write_auth_config(
        root / "auth.ini", auth_database_uri=auth_database_uri, admin_username="admin"
    )
    port = free_port()
    command = server.server_command(
        mlflow_bin=server.mlflow_executable(Path(sys.executable).parent),
        host="127.0.0.1",
        port=port,
        backend_store_uri=backend_store_uri,
        artifacts_destination=artifacts_destination,
    )
    env = server.server_env(
        os.environ, auth_config_path=config, admin_password=MLFLOW_ADMIN_PASSWORD
    ) | (extra_env or {})
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        server.wait_ready(url, timeout_s=180, process=process)
        yield MlflowTestServer(url, "admin", MLFLOW_ADMIN_PASSWORD, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowTestServer]:
    from hub_api.tracking import server

    root = tmp_path_factory.mktemp("mlflow")
    layout = server.local_layout(root)
    with running_mlflow(
        root,
        backend_store_uri=layout["backend_store_uri"],
        auth_database_uri=layout["auth_database_uri"],
        artifacts_destination=layout["artifacts_destination"],
    ) as running:
        yield running
