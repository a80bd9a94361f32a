"""The ``axhub`` CLI: database set-up and demo data on a real SQLite file, and API commands
against a real hub_api served over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub_api.cli.main import app
from hub_api.core.config import Settings, get_settings
from hub_api.demo.seed import DEMO_PASSWORD
from hub_api.live_server import serve_in_thread
from hub_api.main import create_app
from tests.factories import fixed_brn

runner = CliRunner()


@pytest.fixture
def hub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HUB_DATABASE_URL", "")
    monkeypatch.setenv("AXHUB_CONFIG_DIR", str(tmp_path / "config"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def live_hub(hub_env: Path) -> Iterator[str]:
    invoke("db", "upgrade")
    invoke("seed-demo")
    with serve_in_thread(create_app(Settings())) as url:
        yield url


def test_db_upgrade_and_seed_demo_are_idempotent(hub_env: Path) -> None:
    assert "database at head" in invoke("db", "upgrade")
    first = invoke("seed-demo")
    assert "3 companies and 6 users created" in first
    assert "engineer@changwon.example" in first
    assert "0 companies and 0 users created" in invoke("seed-demo")
    assert (hub_env / "data" / "hub.db").exists()


def test_login_stores_a_token_and_admin_commands_work(live_hub: str, hub_env: Path) -> None:
    invoke(
        "login",
        "--email",
        "admin@axhub.example",
        "--password",
        DEMO_PASSWORD,
        "--api-url",
        live_hub,
    )
    stored = json.loads((hub_env / "config" / "credentials.json").read_text())
    assert stored["token"].startswith("axh_")
    companies = json.loads(invoke("companies", "list", "--region", "gwangju"))
    assert [c["name"] for c in companies["items"]] == ["광주오토파츠 (Gwangju Auto Parts)"]
    created = json.loads(
        invoke(
            "companies",
            "create",
            "--name",
            "Jeonju Paper",
            "--brn",
            fixed_brn(77),
            "--region",
            "jeonbuk",
            "--ksic",
            "17110",
            "--employees",
            "20",
        )
    )
    assert created["region"] == "jeonbuk"
    users = json.loads(invoke("users", "list", "--role", "engineer"))
    assert users["total"] == 3
    assert "logged out" in invoke("logout")
    assert not (hub_env / "config" / "credentials.json").exists()


def test_api_errors_are_shown_as_the_api_message(live_hub: str) -> None:
    invoke(
        "login",
        "--email",
        "operator@axhub.example",
        "--password",
        DEMO_PASSWORD,
        "--api-url",
        live_hub,
    )
    result = runner.invoke(
        app,
        [
            "companies",
            "create",
            "--name",
            "X",
            "--brn",
            "123-45-67890",
            "--region",
            "seoul",
            "--ksic",
            "29229",
            "--employees",
            "5",
        ],
    )
    assert result.exit_code == 1
    assert "error 422" in result.output
    assert "check digit" in result.output
    assert "Traceback" not in result.output


def test_wrong_password_fails_cleanly(live_hub: str) -> None:
    result = runner.invoke(
        app,
        [
            "login",
            "--email",
            "admin@axhub.example",
            "--password",
            "nope-nope-1",
            "--api-url",
            live_hub,
        ],
    )
    assert result.exit_code == 1
    assert "wrong e-mail or password" in result.output


def test_commands_need_a_login_first(hub_env: Path) -> None:
    result = runner.invoke(app, ["companies", "list"])
    assert result.exit_code == 2
    assert "axhub login" in result.output
