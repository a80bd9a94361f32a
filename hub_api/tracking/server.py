"""Starting a lean, multi-tenant MLflow tracking server (``axhub dev up`` and the tests).

* ``--enable-workspaces`` — one workspace per company (logical isolation of experiments and
  registered models, artifacts stored under ``workspaces/<name>/``);
* ``--app-name basic-auth`` — every request needs a user; the auth config sets
  ``default_permission = NO_PERMISSIONS`` and ``grant_default_workspace_access = false``, so a
  user reaches only the workspaces a role gives it;
* artifacts are *served* (``--artifacts-destination``, no ``--default-artifact-root``): jobs
  upload and download through the server, so the same permissions guard artifacts;
* lean: one worker and no job runner (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``), ≈ 0.7 GB;
* a credential check is cached for ``AUTH_CACHE_TTL_S``: without it every request pays one
  scrypt hash (~0.1 s of CPU here), and one hub page makes several MLflow requests. With one
  worker the cache never goes stale: changing or deleting a user through the API (all the hub
  does) evicts it at once (decision 0006).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

AUTH_CACHE_TTL_S = 60


def write_auth_config(path: Path, *, auth_database_uri: str, admin_username: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = {auth_database_uri}\n"
        f"admin_username = {admin_username}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = false\n"
        f"auth_cache_ttl_seconds = {AUTH_CACHE_TTL_S}\n"
    )
    return path


def server_command(
    *,
    mlflow_bin: str,
    host: str,
    port: int,
    backend_store_uri: str,
    artifacts_destination: str,
    workers: int = 1,
    allowed_hosts: str | None = None,
) -> list[str]:
    command = [
        mlflow_bin,
        "server",
        "--app-name",
        "basic-auth",
        "--enable-workspaces",
        "--backend-store-uri",
        backend_store_uri,
        "--artifacts-destination",
        artifacts_destination,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if allowed_hosts:
        command += ["--allowed-hosts", allowed_hosts]
    return command


def server_env(
    base: Mapping[str, str],
    *,
    auth_config_path: Path,
    admin_password: str,
    flask_secret: str | None = None,
) -> dict[str, str]:
    env = {
        key: value
        for key, value in base.items()
        if not key.startswith(("MLFLOW_TRACKING_", "MLFLOW_WORKSPACE"))
    }
    return env | {
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_config_path),
        "MLFLOW_AUTH_ADMIN_PASSWORD": admin_password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": flask_secret or secrets.token_urlsafe(32),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }


def local_layout(root: Path) -> dict[str, str]:
    """SQLite stores and an artifact folder under ``root`` (e.g. ``data/mlflow``)."""
    root = root.resolve()
    (root / "artifacts").mkdir(parents=True, exist_ok=True)
    return {
        "backend_store_uri": f"sqlite:///{root / 'mlflow.db'}",
        "auth_database_uri": f"sqlite:///{root / 'auth.db'}",
        "artifacts_destination": str(root / "artifacts"),
    }


def wait_ready(url: str, *, timeout_s: float = 120.0, process: object = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        poll = getattr(process, "poll", None)
        if poll is not None and poll() is not None:
            raise RuntimeError(f"MLflow server exited with code {poll()}")
        try:
            if httpx.get(f"{url.rstrip('/')}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"MLflow did not answer at {url} within {timeout_s:.0f} s")


def mlflow_executable(bin_dir: Path) -> str:
    candidate = bin_dir / "mlflow"
    return str(candidate) if candidate.exists() else "mlflow"
