"""``axhub ops`` against a real hub_api served over HTTP (demo data)."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from hub_api.cli.main import app
from hub_api.demo.seed import DEMO_PASSWORD
from tests.hub_api.test_cli import hub_env, invoke, live_hub

__all__ = ["hub_env", "live_hub"]
runner = CliRunner()


def login(url: str, email: str) -> None:
    invoke("login", "--email", email, "--password", DEMO_PASSWORD, "--api-url", url)


def test_operator_commands(live_hub: str, tmp_path: Path) -> None:
    login(live_hub, "operator@axhub.example")
    assert isinstance(json.loads(invoke("ops", "alerts")), list)
    assert json.loads(invoke("ops", "usage", "--group-by", "month"))["group_by"] == "month"
    assert "points" in json.loads(invoke("ops", "utilization", "--gpu-type", "*"))
    report = json.loads(invoke("ops", "kpi", "--start", "2026-01-01", "--end", "2027-01-01"))
    assert report["smes_served"] >= 0
    out = tmp_path / "kpi.xlsx"
    invoke(
        "ops",
        "kpi",
        "--start",
        "2026-01-01",
        "--end",
        "2027-01-01",
        "--format",
        "xlsx",
        "--out",
        str(out),
    )
    assert load_workbook(out)["KPI"]["A1"].value == "Regional AX hub — KPI report"


def test_engineers_get_the_apis_refusal(live_hub: str) -> None:
    login(live_hub, "engineer@changwon.example")
    result = runner.invoke(app, ["ops", "alerts"])
    assert result.exit_code == 1
    assert "error 403" in result.output
