"""``axhub ops``: utilization, usage, statements, alerts and the KPI report over the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from hub_api import API_PREFIX

app = typer.Typer(help="Operations (over the API; run `axhub login` first).", no_args_is_help=True)

StartOpt = Annotated[str | None, typer.Option(help="ISO date/time; default 30 days before end")]
EndOpt = Annotated[str | None, typer.Option(help="ISO date/time (exclusive); default now")]


def _get(path: str, params: dict[str, Any]) -> httpx.Response:
    from hub_api.cli.main import credentials_path

    stored_path = credentials_path()
    if not stored_path.exists():
        typer.echo("not logged in: run `axhub login` first", err=True)
        raise typer.Exit(2)
    stored = json.loads(stored_path.read_text())
    try:
        response = httpx.get(
            stored["api_url"].rstrip("/") + API_PREFIX + path,
            params={k: v for k, v in params.items() if v is not None},
            headers={"Authorization": f"Bearer {stored['token']}"},
            timeout=60.0,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"hub API unreachable: {exc}", err=True)
        raise typer.Exit(1) from exc
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        typer.echo(f"error {response.status_code}: {detail}", err=True)
        raise typer.Exit(1)
    return response


def _show(path: str, **params: Any) -> None:
    typer.echo(json.dumps(_get(path, params).json(), ensure_ascii=False, indent=2))


@app.command("utilization")
def utilization(
    start: StartOpt = None,
    end: EndOpt = None,
    step_s: Annotated[int | None, typer.Option(help="Bucket width in seconds")] = None,
    gpu_type: Annotated[str | None, typer.Option(help="'*' = all types")] = None,
    company_id: int | None = None,
    per_company: bool = False,
    gpus: Annotated[bool, typer.Option(help="Real GPU utilization instead")] = False,
) -> None:
    """Allocation history (or real GPU utilization with --gpus)."""
    if gpus:
        _show("/utilization/gpus", start=start, end=end, step_s=step_s)
        return
    _show(
        "/utilization",
        start=start,
        end=end,
        step_s=step_s,
        gpu_type=gpu_type,
        company_id=company_id,
        per_company=per_company or None,
    )


@app.command("usage")
def usage(
    group_by: Annotated[str, typer.Option(help="company, programme, grant, gpu_type, month")] = (
        "company"
    ),
    start: StartOpt = None,
    end: EndOpt = None,
    company_id: int | None = None,
    programme_id: int | None = None,
) -> None:
    """GPU-hours and amounts grouped (operators); a company's own with --company-id."""
    _show(
        "/usage",
        group_by=group_by,
        start=start,
        end=end,
        company_id=company_id,
        programme_id=programme_id,
    )


@app.command("statement")
def statement(
    company_id: int,
    start: StartOpt = None,
    end: EndOpt = None,
    programme_id: int | None = None,
) -> None:
    """A company's settlement statement (per grant and GPU type, at the hub's rates)."""
    _show(
        f"/companies/{company_id}/usage/statement",
        start=start,
        end=end,
        programme_id=programme_id,
    )


@app.command("alerts")
def alerts(kind: Annotated[str | None, typer.Option(help="One kind only")] = None) -> None:
    """Current alerts: idle allocated jobs, low budgets, expiring grants, nodes down."""
    _show("/alerts", kind=kind)


@app.command("kpi")
def kpi(
    start: Annotated[str, typer.Option(help="ISO date, e.g. 2026-01-01")],
    end: Annotated[str, typer.Option(help="ISO date (exclusive), e.g. 2026-04-01")],
    format: Annotated[str, typer.Option(help="json, csv, xlsx or html")] = "json",
    out: Annotated[Path | None, typer.Option(help="Write to this file")] = None,
) -> None:
    """The funder's KPI report for a period."""
    response = _get("/reports/kpi", {"start": start, "end": end, "format": format})
    if out is None and format == "xlsx":
        typer.echo("an XLSX report needs --out FILE", err=True)
        raise typer.Exit(2)
    if out is not None:
        out.write_bytes(response.content)
        typer.echo(f"wrote {out}")
        return
    typer.echo(response.text)
