"""``axhub dev up``: the whole hub on one machine, supervised until Ctrl-C.

Starts a local Ray cluster with simulated GPUs of two types on two raylets (head: 4 × "A100",
second raylet: 4 × "L40S"), a lean MLflow server (one workspace per company, basic auth,
SQLite + artifacts under data/mlflow), hub_api, the scheduler service and the Streamlit portal;
stops them all on exit. Each raylet gets its own dashboard-agent port, or job submission and
logs break ("No available agent to submit job"; see ../shared/stack-notes.md).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import typer

from hub_api.core.config import DEFAULT_MLFLOW_ADMIN_PASSWORD
from hub_api.tracking import server as mlflow_server

app = typer.Typer(help="Run the whole hub locally.", no_args_is_help=True)

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class LocalRaylet:
    node_name: str
    gpu_type: str
    gpus: int
    head: bool

    def start_command(self, *, ray_port: int, dashboard_port: int, agent_port: int) -> list[str]:
        resources = {f"gpu_type:{self.gpu_type}": self.gpus, f"axhub_node:{self.node_name}": 1}
        common = [
            str(BIN / "ray"),
            "start",
            "--block",
            "--num-cpus=2",
            f"--num-gpus={self.gpus}",
            f"--resources={json.dumps(resources)}",
            "--disable-usage-stats",
            f"--dashboard-agent-listen-port={agent_port}",
            "--metrics-export-port=0",
        ]
        if self.head:
            return [
                *common,
                "--head",
                f"--port={ray_port}",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={dashboard_port}",
            ]
        return [
            *common,
            f"--address=127.0.0.1:{ray_port}",
        ]


LOCAL_RAYLETS = (
    LocalRaylet("local-a100-0", "A100", 4, head=True),
    LocalRaylet("local-l40s-0", "L40S", 4, head=False),
)


def wait_http(url: str, *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not answer at {url} within {timeout_s:.0f} s")


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def portal_command(*, port: int) -> list[str]:
    app_path = Path(__file__).resolve().parents[2] / "portal" / "streamlit_app.py"
    return [
        str(BIN / "streamlit"),
        "run",
        str(app_path),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--client.toolbarMode",
        "viewer",
        "--browser.gatherUsageStats",
        "false",
    ]


def mlflow_command(env: dict[str, str], *, port: int) -> tuple[list[str], dict[str, str]]:
    """The lean local MLflow server (see ``hub_api.tracking.server``) and its environment."""
    root = Path(env.get("HUB_DATA_DIR", "data")) / "mlflow"
    layout = mlflow_server.local_layout(root)
    config = mlflow_server.write_auth_config(
        root / "auth.ini",
        auth_database_uri=layout["auth_database_uri"],
        admin_username=env.get("HUB_MLFLOW_ADMIN_USERNAME", "admin"),
    )
    password = env.get("HUB_MLFLOW_ADMIN_PASSWORD", DEFAULT_MLFLOW_ADMIN_PASSWORD)
    command = mlflow_server.server_command(
        mlflow_bin=mlflow_server.mlflow_executable(BIN),
        host="127.0.0.1",
        port=port,
        backend_store_uri=layout["backend_store_uri"],
        artifacts_destination=layout["artifacts_destination"],
    )
    return command, mlflow_server.server_env(env, auth_config_path=config, admin_password=password)


@app.command("up")
def up(
    api_port: int = 8000,
    ray_port: Annotated[int, typer.Option(help="Ray GCS port")] = 6380,
    dashboard_port: int = 8265,
    agent_port: Annotated[
        int, typer.Option(help="Dashboard agent port of the head; the worker uses the next one")
    ] = 52365,
    with_ray: Annotated[bool, typer.Option(help="Start the local Ray cluster")] = True,
    mlflow_port: int = 5000,
    portal_port: int = 8501,
    with_portal: Annotated[bool, typer.Option(help="Start the Streamlit portal")] = True,
    with_mlflow: Annotated[bool, typer.Option(help="Start the local MLflow server")] = True,
) -> None:
    """Start Ray (simulated GPUs), MLflow, hub_api and the scheduler; Ctrl-C stops everything."""
    env = os.environ | {
        "HUB_RAY_ADDRESS": f"http://127.0.0.1:{dashboard_port}",
        # job entrypoints run `python …` from the raylets' PATH: make it this virtualenv's
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if with_mlflow:
        env.setdefault("HUB_MLFLOW_TRACKING_URI", f"http://127.0.0.1:{mlflow_port}")
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    logs = Path(env.get("HUB_DATA_DIR", "data")) / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def launch(name: str, command: list[str], own_env: dict[str, str] | None = None) -> None:
        out = (logs / f"{name}.log").open("ab")
        process = subprocess.Popen(command, env=own_env or env, stdout=out, stderr=out)
        processes.append((name, process))

    def shutdown() -> None:
        for name, process in reversed(processes):
            if process.poll() is None:
                typer.echo(f"stopping {name}")
                process.terminate()
        for _name, process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    axhub = shutil.which("axhub", path=str(BIN)) or str(BIN / "axhub")
    try:
        if with_ray and http_ok(f"http://127.0.0.1:{dashboard_port}/api/version"):
            typer.echo(f"using the Ray cluster already answering on :{dashboard_port}")
        elif with_ray:
            typer.echo("starting Ray: 4 × A100 (head) + 4 × L40S (second raylet), simulated")
            # `ray start --block` stays in the foreground: stopping it stops its raylet, so
            # Ctrl-C never touches other Ray clusters on the machine (no `ray stop`).
            for raylet, port in zip(LOCAL_RAYLETS, (agent_port, agent_port + 1), strict=True):
                command = raylet.start_command(
                    ray_port=ray_port, dashboard_port=dashboard_port, agent_port=port
                )
                launch(f"ray-{raylet.node_name}", command)
                if raylet.head:
                    wait_http(
                        f"http://127.0.0.1:{dashboard_port}/api/version",
                        timeout_s=120,
                        what="Ray dashboard",
                    )
        if with_mlflow and http_ok(f"http://127.0.0.1:{mlflow_port}/health"):
            typer.echo(f"using the MLflow server already answering on :{mlflow_port}")
        elif with_mlflow:
            typer.echo("starting MLflow: a workspace per company, basic auth, data/mlflow")
            launch("mlflow", *mlflow_command(env, port=mlflow_port))
            mlflow_server.wait_ready(f"http://127.0.0.1:{mlflow_port}", timeout_s=180)
        launch("hub-api", [axhub, "serve", "--host", "127.0.0.1", "--port", str(api_port)])
        wait_http(f"http://127.0.0.1:{api_port}/api/v1/health/ready", timeout_s=60, what="hub_api")
        launch("scheduler", [axhub, "scheduler", "run"])
        launch("grants-housekeeping", [axhub, "grants", "housekeeping", "--every", "3600"])
        if with_portal:
            portal_env = env | {"AXHUB_API_URL": f"http://127.0.0.1:{api_port}"}
            launch("portal", portal_command(port=portal_port), portal_env)
            typer.echo(f"portal       http://127.0.0.1:{portal_port}")
        typer.echo(f"hub_api      http://127.0.0.1:{api_port}/docs")
        if with_ray:
            typer.echo(f"Ray          http://127.0.0.1:{dashboard_port}")
        if with_mlflow:
            typer.echo(f"MLflow       {env['HUB_MLFLOW_TRACKING_URI']} (user: admin)")
        typer.echo(f"logs         {logs}/")
        typer.echo("Ctrl-C stops everything.")
        while all(process.poll() is None for _, process in processes):
            time.sleep(1)
        failed = [name for name, process in processes if process.poll() is not None]
        typer.echo(f"{', '.join(failed)} exited; see {logs}/", err=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        shutdown()
