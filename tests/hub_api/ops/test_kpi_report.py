"""The KPI report's figures equal those computed here, independently, from the raw rows; the
CSV, the XLSX (opened back with openpyxl) and the HTML page hold the same numbers."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from hub_api.assessments.models import Assessment, Phase
from hub_api.cases.models import Case
from hub_api.companies.models import Company
from hub_api.core.security import as_utc
from hub_api.grants.models import Grant, GrantStatus, LedgerEntry, LedgerKind
from hub_api.jobs.models import Job, JobEvent, JobEventKind
from hub_api.ops.models import ALL, UtilizationSample
from hub_api.users.models import Role
from tests.factories import bearer, make_user
from tests.hub_api.conftest import World
from tests.hub_api.ops import scenario
from tests.hub_api.ops.scenario import END, START

URL = "/api/v1/reports/kpi"
PERIOD = {"start": START.isoformat(), "end": END.isoformat()}


def inside(moment: datetime | None) -> bool:
    return moment is not None and START <= as_utc(moment) < END


def size(employees: int) -> str:
    if employees < 10:
        return "micro (<10)"
    if employees < 50:
        return "small (10-49)"
    if employees < 300:
        return "medium (50-299)"
    return "large (300+)"


def expected_figures(session: Session, hub_region: str) -> dict[str, Any]:
    """The report, computed straight from the table rows (not through hub_api.ops)."""
    cases = session.exec(select(Case)).all()
    jobs = session.exec(select(Job)).all()
    grants = session.exec(select(Grant)).all()
    ledger = session.exec(select(LedgerEntry)).all()
    events = session.exec(select(JobEvent)).all()
    companies = {c.id: c for c in session.exec(select(Company)).all()}

    activity: dict[int, list[datetime]] = defaultdict(list)
    for case in cases:
        activity[case.company_id].append(as_utc(case.created_at))
    for job in jobs:
        activity[job.company_id].append(as_utc(job.submitted_at))
    for grant in grants:
        if grant.status in (GrantStatus.approved, GrantStatus.expired) and grant.decided_at:
            activity[grant.company_id].append(as_utc(grant.decided_at))
    served = [companies[c] for c, dates in activity.items() if any(inside(d) for d in dates)]
    first_time = [c for c in served if min(activity[c.id or 0]) >= START]

    period_cases = [c for c in cases if inside(c.created_at)]
    closed = {"completed", "rejected", "withdrawn"}
    responses = [
        (as_utc(c.first_response_at) - as_utc(c.created_at)).total_seconds() / 3600
        for c in period_cases
        if c.first_response_at
    ]

    def hours(*kinds: LedgerKind) -> float:
        return sum(e.gpu_seconds for e in ledger if e.kind in kinds and inside(e.created_at)) / 3600

    first_start: dict[int, datetime] = {}
    for event in sorted(events, key=lambda e: (as_utc(e.at), e.id or 0)):
        if event.kind == JobEventKind.starting:
            first_start.setdefault(event.job_id, as_utc(event.at))
    ran = {e.job_id for e in events if e.kind == JobEventKind.running and inside(e.at)}
    by_id = {j.id: j for j in jobs}
    waits = [
        (first_start[j] - as_utc(by_id[j].submitted_at)).total_seconds()
        for j in first_start
        if inside(first_start[j])
    ]

    used: dict[int, float] = defaultdict(float)
    for e in ledger:
        if e.kind in (LedgerKind.job_debit, LedgerKind.refund) and inside(e.created_at):
            used[e.company_id] -= e.gpu_seconds / 3600
    total_used = sum(used.values())
    regional = sum(h for c, h in used.items() if companies[c].region.value == hub_region)

    assessments = sorted(session.exec(select(Assessment)).all(), key=lambda a: a.created_at)
    uplifts = []
    for company_id in companies:
        t0 = [a for a in assessments if a.company_id == company_id and a.phase == Phase.t0]
        t1 = [a for a in assessments if a.company_id == company_id and a.phase == Phase.t1]
        if t0 and t1 and inside(t1[-1].created_at):
            uplifts.append(t1[-1].overall_score - t0[0].overall_score)

    samples = [
        s
        for s in session.exec(select(UtilizationSample)).all()
        if s.gpu_type == ALL and s.company_id is None and inside(s.at)
    ]
    return {
        "smes_served": len(served),
        "smes_by_region": dict(Counter(c.region.value for c in served)),
        "smes_by_industry": dict(Counter(c.industry_ksic[:2] for c in served)),
        "smes_by_size": dict(Counter(size(c.employees) for c in served)),
        "first_time_smes": len(first_time),
        "consultations": len(period_cases),
        "consultations_by_service_type": dict(Counter(c.service_type.value for c in period_cases)),
        "consultations_by_outcome": dict(
            Counter(c.status.value if c.status.value in closed else "open" for c in period_cases)
        ),
        "median_first_response_hours": statistics.median(responses),
        "grants_approved": sum(
            1 for g in grants if g.status == GrantStatus.approved and inside(g.decided_at)
        ),
        "gpu_hours_granted": hours(LedgerKind.grant_credit, LedgerKind.top_up),
        "gpu_hours_used": -hours(LedgerKind.job_debit, LedgerKind.refund),
        "gpu_hours_reclaimed": -hours(LedgerKind.reclaim),
        "gpu_hours_expired": -hours(LedgerKind.expiry),
        "jobs_run": len(ran),
        "jobs_run_by_status": dict(Counter(by_id[j].status.value for j in ran)),
        "models_registered": None,
        "average_maturity_uplift": statistics.fmean(uplifts),
        "companies_with_uplift": len(uplifts),
        "gpu_utilization": sum(s.allocated_gpus for s in samples)
        / sum(s.capacity_gpus for s in samples),
        "utilization_samples": len(samples),
        "top5_gpu_hours_share": sum(sorted(used.values(), reverse=True)[:5]) / total_used,
        "hub_region_gpu_hours_share": regional / total_used,
        "queue_wait_median_s": float(np.percentile(waits, 50)),
        "queue_wait_p90_s": float(np.percentile(waits, 90)),
    }


@pytest.fixture
def quarter(session: Session) -> scenario.Scenario:
    return scenario.build(session)


@pytest.fixture
def operator_headers(session: Session, world: World) -> dict[str, str]:
    return world.headers(Role.operator)


def assert_same(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        if isinstance(value, float):
            assert actual[name] == pytest.approx(value, abs=1e-5), name
        else:
            assert actual[name] == value, name


def test_figures_equal_an_independent_computation(
    client: TestClient, quarter: scenario.Scenario, session: Session, world: World
) -> None:
    response = client.get(URL, params=PERIOD, headers=world.headers(Role.operator))
    assert response.status_code == 200, response.text
    expected = expected_figures(session, world.settings.hub_region)
    assert_same(response.json(), expected)
    # the scenario exercises every figure (none is trivially empty)
    assert expected["smes_served"] == 6
    assert expected["first_time_smes"] == 5
    assert 0 < expected["top5_gpu_hours_share"] < 1
    assert 0 < expected["hub_region_gpu_hours_share"] < 1


def test_records_reproduce_the_figures(
    client: TestClient, quarter: scenario.Scenario, world: World
) -> None:
    headers = world.headers(Role.operator)
    report = client.get(URL, params=PERIOD, headers=headers).json()
    records = client.get(URL + "/records", params=PERIOD, headers=headers).json()
    assert len(records["companies"]) == report["smes_served"]
    assert len(records["cases"]) == report["consultations"]
    assert sum(1 for j in records["jobs"] if j["ran_in_period"]) == report["jobs_run"]
    used = sum(entry["gpu_hours"] for entry in records["usage"])
    assert used == pytest.approx(report["gpu_hours_used"])
    by_company = client.get(
        "/api/v1/usage", params=PERIOD | {"group_by": "company"}, headers=headers
    ).json()
    assert by_company["total_gpu_hours"] == pytest.approx(report["gpu_hours_used"])


def test_csv_and_xlsx_hold_the_same_numbers(
    client: TestClient, quarter: scenario.Scenario, world: World
) -> None:
    headers = world.headers(Role.operator)
    report = client.get(URL, params=PERIOD, headers=headers).json()

    exported = client.get(URL, params=PERIOD | {"format": "csv"}, headers=headers)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    from_csv = {(r["metric"], r["key"]): r["value"] for r in rows}

    workbook = client.get(URL, params=PERIOD | {"format": "xlsx"}, headers=headers)
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content))["KPI"]
    header_row = next(
        i for i, row in enumerate(sheet.iter_rows(values_only=True), 1) if row[0] == "section"
    )
    from_xlsx = {
        (row[1], row[2] or ""): row[3]
        for row in sheet.iter_rows(min_row=header_row + 1, values_only=True)
    }
    assert from_xlsx.keys() == from_csv.keys()
    for name, value in report.items():
        if name in ("start", "end", "hub_region", "generated_at", "sources"):
            continue
        items = value.items() if isinstance(value, dict) else [("", value)]
        for key, figure in items:
            cell = from_xlsx[(name, key)]
            text = from_csv[(name, key)]
            if figure is None:
                assert cell is None
                assert text == ""
            else:
                assert cell == pytest.approx(figure), (name, key)
                assert float(text) == pytest.approx(figure), (name, key)
    load_workbook(io.BytesIO(workbook.content))["Jobs"]  # raw records travel along


def test_printable_html(client: TestClient, quarter: scenario.Scenario, world: World) -> None:
    page = client.get(URL, params=PERIOD | {"format": "html"}, headers=world.headers(Role.admin))
    assert page.headers["content-type"].startswith("text/html")
    assert "KPI report" in page.text
    assert "@media print" in page.text
    assert "smes served" in page.text


@pytest.mark.parametrize("role", [Role.engineer, Role.consultant])
def test_only_operators_and_admins_get_the_report(
    client: TestClient, world: World, session: Session, role: Role
) -> None:
    user = make_user(session, role, world.company_a)
    response = client.get(URL, params=PERIOD, headers=bearer(user, world.settings))
    assert response.status_code == 403


def test_an_inverted_period_is_refused(client: TestClient, world: World) -> None:
    response = client.get(
        URL,
        params={"start": END.isoformat(), "end": START.isoformat()},
        headers=world.headers(Role.operator),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.end"
