"""Every command line the chart runs exists in the installed programs (a renamed CLI option
would otherwise surface only as a crash loop in the cluster)."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from hub_api.cli.main import app
from hub_api.core.config import Environment, Settings
from hub_api.ops.config import OpsSettings
from hub_api.tracking.server import server_command, write_auth_config
from tests.helm.conftest import CHART, REPO, Helm, load_values

GPU = CHART / "ci" / "gpu-cluster-values.yaml"


def _source(package: str, relative: str) -> str:
    """A file of an installed package, read without importing the package (seconds each)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None, package
    assert spec.origin is not None, package
    return (Path(spec.origin).parent / relative).read_text()


def _workload_containers(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every container and init container of the chart's Deployments, StatefulSets and
    (Cron)Jobs."""
    containers = []
    for doc in docs:
        if doc["kind"] in {"Deployment", "StatefulSet", "Job", "CronJob"}:
            spec = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
            pod = spec["template"]["spec"]
            containers += pod["containers"] + pod.get("initContainers", [])
    return containers


def _commands(helm: Helm) -> dict[str, list[str]]:
    return {
        container["name"]: container["command"]
        for container in _workload_containers(helm.template(GPU).docs)
        if "command" in container
    }


def _flags(command: list[str]) -> list[str]:
    return [arg for arg in command if arg.startswith("--")]


@pytest.mark.parametrize(
    ("container", "path"),
    [
        ("api", ["serve"]),
        ("scheduler", ["scheduler", "run"]),
        ("db-upgrade", ["db", "upgrade"]),
        ("housekeeping", ["grants", "housekeeping"]),
    ],
)
def test_axhub_commands_and_options_exist(helm: Helm, container: str, path: list[str]) -> None:
    command = _commands(helm)[container]
    assert command[: 1 + len(path)] == ["axhub", *path]
    click_command: Any = typer.main.get_command(app)
    for name in path:
        click_command = click_command.commands[name]
    known = {opt for param in click_command.params for opt in param.opts + param.secondary_opts}
    assert set(_flags(command)) <= known


def test_mlflow_server_options_exist(helm: Helm) -> None:
    command = _commands(helm)["mlflow"]
    assert command[:2] == ["mlflow", "server"]
    # Importing mlflow.cli takes seconds: read the parameters of its `server` function instead
    # (click passes `--allowed-hosts` as `allowed_hosts`).
    tree = ast.parse(_source("mlflow", "cli/__init__.py"))
    (server,) = [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "server"
    ]
    params = {arg.arg for arg in server.args.args + server.args.kwonlyargs}
    missing = [f for f in _flags(command) if f.removeprefix("--").replace("-", "_") not in params]
    assert missing == []


def test_streamlit_options_exist_and_the_app_is_where_the_chart_runs_it(helm: Helm) -> None:
    command = _commands(helm)["portal"]
    assert command[:2] == ["streamlit", "run"]
    assert (REPO / command[2]).is_file()  # the image's working directory is the repo root
    source = _source("streamlit", "config.py")
    missing = [flag for flag in _flags(command) if f'"{flag.removeprefix("--")}"' not in source]
    assert missing == []


def _ini_pairs(text: str) -> set[tuple[str, str]]:
    return {
        (key.strip(), value.strip())
        for key, _, value in (line.partition(" = ") for line in text.splitlines())
        if value
    }


def test_mlflow_runs_as_the_hub_starts_it_locally(helm: Helm, tmp_path: Path) -> None:
    """Same flags and auth settings as ``hub_api.tracking.server`` (workspaces + basic-auth,
    served artifacts, lean), so the tenancy the integration tests prove holds in the cluster."""
    local = server_command(
        mlflow_bin="mlflow",
        host="h",
        port=1,
        backend_store_uri="b",
        artifacts_destination="a",
        allowed_hosts="x",
    )
    assert set(_flags(local)) <= set(_flags(_commands(helm)["mlflow"]))
    docs = helm.template(GPU).docs
    (auth,) = [
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-auth")
    ]
    local_ini = write_auth_config(tmp_path / "a.ini", auth_database_uri="x", admin_username="admin")
    policy = {
        "default_permission",
        "grant_default_workspace_access",
        "authorization_function",
        "auth_cache_ttl_seconds",
    }
    wanted = {pair for pair in _ini_pairs(local_ini.read_text()) if pair[0] in policy}
    assert len(wanted) == len(policy)
    assert wanted <= _ini_pairs(auth["data"]["basic_auth.ini"])


@pytest.mark.parametrize(
    "values", sorted((CHART / "ci").glob("*-values.yaml")), ids=lambda p: p.stem
)
def test_the_hub_accepts_the_settings_the_chart_gives_it(
    helm: Helm, values: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ConfigMap + Secret parse into the hub's settings, production checks included."""
    docs = helm.template(values).docs
    (config,) = [
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-config")
    ]
    (secret,) = [d for d in docs if d["kind"] == "Secret"]
    env = {**config["data"], **secret["stringData"]}
    for name in [n for n in os.environ if n.startswith("HUB_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    ops = OpsSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.environment == Environment.production
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.ray_address.endswith("-head-svc.axhub.svc:8265")
    assert str(settings.mlflow_tracking_uri).endswith(".svc:5000")
    assert ops.gpu_hourly_rates == load_values(values)["config"]["gpuHourlyRates"]
    attachments = load_values(values)["config"]["attachments"]
    assert settings.attachment_storage == attachments["storage"]
    if attachments["storage"] == "s3":
        assert settings.s3_bucket == attachments["s3"]["bucket"]
        assert settings.s3_access_key_id is not None


def _image_check_commands() -> list[str]:
    """The commands ops/check-image.sh runs with --help in a built image."""
    script = (REPO / "ops" / "check-image.sh").read_text()
    loop = re.search(r"for command in (.*?); do", script, re.DOTALL)
    assert loop is not None, "ops/check-image.sh lost its loop over the chart's commands"
    return re.findall(r'"([^"]+)"', loop.group(1))


def test_the_image_check_covers_every_program_the_chart_runs_in_the_hub_image(
    helm: Helm,
) -> None:
    hub_image = load_values(GPU)["image"]["repository"]
    docs: list[dict[str, Any]] = helm.template(GPU).docs
    checked = _image_check_commands()
    run_in_hub_image = [
        " ".join(container["command"])
        for container in _workload_containers(docs)
        if container["image"].startswith(hub_image) and "command" in container
    ]
    # KubeRay starts each Ray pod with `ray start`
    run_in_hub_image += ["ray start" for doc in docs if doc["kind"] == "RayCluster"]
    assert len(run_in_hub_image) >= 6, run_in_hub_image
    unchecked = [
        command
        for command in run_in_hub_image
        if not any(command == c or command.startswith(c + " ") for c in checked)
    ]
    assert not unchecked, f"ops/check-image.sh does not run these with --help: {unchecked}"
