"""Every route × every role × own/other company: the expected authorization outcome.

``MATRIX`` must list every (method, path) of the OpenAPI schema; a new route without an entry
fails ``test_every_route_has_a_matrix_entry``. Outcomes:

* ``OK``     — authorized: the request succeeds (2xx) with the body the entry builds;
* ``DENY``   — 403: the role may not do this at all (says nothing about the object);
* ``HIDDEN`` — 404: the object belongs to another company, and its existence must not leak.

"own" targets an object of the caller's company (for staff: of company A), "other" an object of
company B (or, for API tokens, another user's token).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub_api import API_PREFIX
from hub_api.cluster.models import ClusterNode
from hub_api.jobs.models import JobStatus
from hub_api.main import create_app
from hub_api.users.models import Role
from tests.factories import fixed_brn, make_api_token, make_case
from tests.hub_api import consulting_builders as cb
from tests.hub_api.conftest import World
from tests.hub_api.jobs.builders import fund, job_payload, make_job

OK, DENY, HIDDEN = "ok", "deny", "hidden"
ROLES = tuple(Role)
TARGETS = ("own", "other")

Builder = Callable[[World, Session, str], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """Expected outcome per role as ``(own, other)``; ``path`` and ``body`` build the request."""

    expected: dict[Role, tuple[str, str]]
    path: Callable[[World, Session, str], dict[str, Any]] = lambda *_: {}
    body: Builder | None = None
    query: dict[str, Any] = field(default_factory=dict)
    files: Builder | None = None  # multipart upload instead of a JSON body


def everyone(outcome: str = OK) -> dict[Role, tuple[str, str]]:
    return dict.fromkeys(ROLES, (outcome, outcome))


def only(*roles: Role, others: str = DENY) -> dict[Role, tuple[str, str]]:
    return {role: (OK, OK) if role in roles else (others, others) for role in ROLES}


def company_of(world: World, target: str) -> dict[str, Any]:
    company = world.company_a if target == "own" else world.company_b
    return {"company_id": company.id}


def user_of(world: World, target: str) -> dict[str, Any]:
    user = world.engineer_a if target == "own" else world.engineer_b
    return {"user_id": user.id}


def token_of(world: World, session: Session, target: str, caller: Role) -> dict[str, Any]:
    owner = world.user(caller) if target == "own" else world.engineer_b
    api_token, _ = make_api_token(session, owner, scopes=["read"])
    return {"token_id": api_token.id}


def tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("main.py", "print(1)\n")
    return buffer.getvalue()


def funded_job_body(world: World, session: Session, target: str) -> dict[str, Any]:
    fund(session, world.company_a, gpu_hours=10)
    return job_payload(company_id=world.company_a.id)


def job_of(world: World, session: Session, target: str, **kw: Any) -> dict[str, Any]:
    company = world.company_a if target == "own" else world.company_b
    submitter = world.engineer_a if target == "own" else world.engineer_b
    job = make_job(session, company, submitted_by=submitter.id or 0, **kw)
    return {"job_id": job.id}


def finished_job_of(world: World, session: Session, target: str) -> dict[str, Any]:
    fund(session, world.company_a if target == "own" else world.company_b, gpu_hours=10)
    return job_of(world, session, target, status=JobStatus.cancelled, reserved_gpu_seconds=0.0)


def node_of(world: World, session: Session, target: str) -> dict[str, Any]:
    session.add(ClusterNode(node_id="node-x", gpu_type="A100", gpu_count=4))
    session.commit()
    return {"node_id": "node-x"}


# Company records: engineers see their company's, consultants the companies whose cases they
# are assigned to (the test assigns the consultant a case of company A), operators and admins
# everything.
CONSULTING_SCOPED = {
    Role.engineer: (OK, HIDDEN),
    Role.consultant: (OK, HIDDEN),
    Role.operator: (OK, OK),
    Role.admin: (OK, OK),
}
STAFF_SCOPED = CONSULTING_SCOPED | {Role.engineer: (DENY, DENY)}
DECIDERS = only(Role.operator, Role.admin)

PUBLIC = "public"
KPI_PERIOD = {"start": "2026-01-01", "end": "2026-04-01"}
RUN = "0123456789abcdef0123456789abcdef"
MATRIX: dict[tuple[str, str], Case | str] = {
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("POST", "/auth/login"): PUBLIC,
    ("GET", "/auth/me"): Case(everyone()),
    ("PATCH", "/auth/me"): Case(everyone(), body=lambda *_: {"locale": "en"}),
    ("POST", "/auth/password"): Case(
        everyone(),
        body=lambda *_: {"current_password": "correct-horse-42", "new_password": "another-pass-9"},
    ),
    ("POST", "/auth/tokens"): Case(everyone(), body=lambda *_: {"name": "cli"}),
    ("GET", "/auth/tokens"): Case(everyone()),
    ("DELETE", "/auth/tokens/{token_id}"): Case(
        {
            Role.engineer: (OK, HIDDEN),
            Role.consultant: (OK, HIDDEN),
            Role.operator: (OK, HIDDEN),
            Role.admin: (OK, OK),
        },
        # path filled by token_of(): the token must belong to the caller
    ),
    ("GET", "/companies"): Case(everyone()),
    ("POST", "/companies"): Case(
        only(Role.operator, Role.admin),
        body=lambda *_: {
            "name": "Ulsan Chemicals",
            "business_registration_number": fixed_brn(9000),
            "region": "ulsan",
            "industry_ksic": "20119",
            "employees": 80,
        },
    ),
    ("GET", "/companies/{company_id}"): Case(
        CONSULTING_SCOPED, path=lambda w, s, t: company_of(w, t)
    ),
    ("PATCH", "/companies/{company_id}"): Case(
        only(Role.operator, Role.admin),
        path=lambda w, s, t: company_of(w, t),
        body=lambda *_: {"employees": 41},
    ),
    ("DELETE", "/companies/{company_id}"): Case(
        only(Role.admin),
        path=lambda w, s, t: company_of(w, t),
    ),
    ("GET", "/users"): Case(everyone()),
    ("POST", "/users"): Case(
        only(Role.admin),
        body=lambda world, *_: {
            "email": "fresh@example.com",
            "full_name": "Fresh",
            "role": "engineer",
            "company_id": world.company_a.id,
            "password": "fresh-pass-123",
        },
    ),
    ("GET", "/users/{user_id}"): Case(CONSULTING_SCOPED, path=lambda w, s, t: user_of(w, t)),
    ("PATCH", "/users/{user_id}"): Case(
        only(Role.admin), path=lambda w, s, t: user_of(w, t), body=lambda *_: {"full_name": "R"}
    ),
    ("DELETE", "/users/{user_id}"): Case(only(Role.admin), path=lambda w, s, t: user_of(w, t)),
    ("POST", "/users/{user_id}/password-reset"): Case(
        only(Role.admin), path=lambda w, s, t: user_of(w, t), body=lambda *_: {}
    ),
    ("GET", "/audit-events"): Case(only(Role.operator, Role.admin)),
    # --- jobs and cluster ---
    ("GET", "/job-templates"): Case(everyone()),
    ("POST", "/code-bundles"): Case(everyone(), files=lambda *_: {"file": ("c.zip", tiny_zip())}),
    ("POST", "/jobs"): Case(everyone(), body=funded_job_body),
    ("GET", "/jobs"): Case(everyone()),
    ("GET", "/jobs/{job_id}"): Case(CONSULTING_SCOPED, path=job_of),
    ("POST", "/jobs/{job_id}/cancel"): Case(CONSULTING_SCOPED, path=job_of),
    ("POST", "/jobs/{job_id}/requeue"): Case(CONSULTING_SCOPED, path=finished_job_of),
    ("GET", "/jobs/{job_id}/events"): Case(CONSULTING_SCOPED, path=job_of),
    ("GET", "/jobs/{job_id}/logs"): Case(CONSULTING_SCOPED, path=job_of),
    ("GET", "/jobs/{job_id}/logs/stream"): Case(
        CONSULTING_SCOPED, path=job_of, query={"max_wait_s": 1}
    ),
    # --- models (MLflow) ------------------------------------------------------------------------
    # Without an MLflow server every MLflow id is unknown (404 for every role); their tenant
    # isolation against a real server is in tests/integration/test_mlflow_tracking.py.
    ("GET", "/jobs/{job_id}/metrics"): Case(CONSULTING_SCOPED, path=job_of),
    ("GET", "/mlflow/experiments"): Case(everyone()),
    ("GET", "/mlflow/runs"): Case(everyone()),
    ("GET", "/mlflow/runs/{run_id}"): Case(everyone(HIDDEN), path=lambda *_: {"run_id": RUN}),
    ("GET", "/mlflow/runs/{run_id}/metrics"): Case(
        everyone(HIDDEN), path=lambda *_: {"run_id": RUN}
    ),
    ("GET", "/mlflow/runs/{run_id}/artifacts"): Case(
        everyone(HIDDEN), path=lambda *_: {"run_id": RUN}
    ),
    ("GET", "/mlflow/runs/{run_id}/artifacts/download"): Case(
        everyone(HIDDEN), path=lambda *_: {"run_id": RUN}, query={"path": "model/MLmodel"}
    ),
    ("GET", "/mlflow/registered-models"): Case(everyone()),
    ("GET", "/mlflow/registered-models/{name}"): Case(
        everyone(HIDDEN), path=lambda *_: {"name": "m"}
    ),
    ("POST", "/mlflow/registered-models/{name}/versions"): Case(
        everyone(HIDDEN), path=lambda *_: {"name": "m"}, body=lambda *_: {"run_id": RUN}
    ),
    ("GET", "/mlflow/registered-models/{name}/versions/{version}"): Case(
        everyone(HIDDEN), path=lambda *_: {"name": "m", "version": "1"}
    ),
    ("PUT", "/mlflow/registered-models/{name}/aliases/{alias}"): Case(
        everyone(HIDDEN),
        path=lambda *_: {"name": "m", "alias": "champion"},
        body=lambda *_: {"version": "1"},
    ),
    ("GET", "/cluster/nodes"): Case(everyone()),
    ("GET", "/cluster/allocations"): Case(only(Role.operator, Role.admin)),
    ("POST", "/cluster/nodes/{node_id}/drain"): Case(
        only(Role.operator, Role.admin), path=node_of, body=lambda *_: {"reason": "maintenance"}
    ),
    ("POST", "/cluster/nodes/{node_id}/undrain"): Case(
        only(Role.operator, Role.admin), path=node_of
    ),
    # --- consultation cases -------------------------------------------------------------------
    ("POST", "/cases"): Case(
        everyone(),
        body=lambda w, *_: {
            "title": "Forecast demand",
            "service_type": "demand_forecasting",
            "description": "Monthly orders are volatile.",
            "company_id": w.company_a.id,
        },
    ),
    ("GET", "/cases"): Case(everyone()),
    ("GET", "/cases/caseload"): Case(only(Role.consultant, Role.operator, Role.admin)),
    ("GET", "/cases/{case_id}"): Case(CONSULTING_SCOPED, path=cb.case_path),
    ("PATCH", "/cases/{case_id}"): Case(
        CONSULTING_SCOPED, path=cb.case_path, body=lambda *_: {"title": "Renamed"}
    ),
    ("POST", "/cases/{case_id}/transitions"): Case(
        CONSULTING_SCOPED | {Role.engineer: (DENY, HIDDEN)},
        path=cb.case_path,
        body=lambda *_: {"to_status": "triaged", "reason": "clear scope"},
    ),
    ("GET", "/cases/{case_id}/transitions"): Case(CONSULTING_SCOPED, path=cb.case_path),
    ("PUT", "/cases/{case_id}/assignment"): Case(
        STAFF_SCOPED, path=cb.case_path, body=lambda w, *_: {"assignee_id": w.consultant.id}
    ),
    ("POST", "/cases/{case_id}/comments"): Case(
        CONSULTING_SCOPED, path=cb.case_path, body=lambda *_: {"body": "Any news?"}
    ),
    ("GET", "/cases/{case_id}/comments"): Case(CONSULTING_SCOPED, path=cb.case_path),
    ("POST", "/cases/{case_id}/visits"): Case(
        STAFF_SCOPED,
        path=cb.case_path,
        body=lambda *_: {"kind": "site_visit", "held_at": "2026-11-20T10:00:00Z"},
    ),
    ("GET", "/cases/{case_id}/visits"): Case(CONSULTING_SCOPED, path=cb.case_path),
    ("POST", "/cases/{case_id}/attachments"): Case(
        CONSULTING_SCOPED, path=cb.case_path, files=cb.attachment_upload
    ),
    ("GET", "/cases/{case_id}/attachments"): Case(CONSULTING_SCOPED, path=cb.case_path),
    ("GET", "/cases/{case_id}/attachments/{attachment_id}"): Case(
        CONSULTING_SCOPED, path=cb.attachment_path
    ),
    # the builder's attachment has no uploader: engineers may delete only what they uploaded
    ("DELETE", "/cases/{case_id}/attachments/{attachment_id}"): Case(
        CONSULTING_SCOPED | {Role.engineer: (DENY, HIDDEN)}, path=cb.attachment_path
    ),
    # --- maturity assessments -----------------------------------------------------------------
    ("GET", "/assessments/questionnaire"): Case(everyone()),
    ("POST", "/assessments"): Case(only(Role.consultant, Role.admin), body=cb.assessment_body),
    ("GET", "/assessments"): Case(everyone()),
    ("GET", "/assessments/uplift"): Case(everyone()),
    ("GET", "/assessments/{assessment_id}"): Case(CONSULTING_SCOPED, path=cb.assessment_path),
    # --- programmes, grants, budgets ----------------------------------------------------------
    ("POST", "/programmes"): Case(
        DECIDERS,
        body=lambda *_: {
            "name": "GPU voucher",
            "funder": "NIPA",
            "project_number": "NIPA-2026-0001",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "pool_gpu_hours": 5000,
        },
    ),
    ("GET", "/programmes"): Case(everyone()),
    ("GET", "/programmes/{programme_id}"): Case(everyone(), path=cb.programme_path),
    ("PATCH", "/programmes/{programme_id}"): Case(
        DECIDERS, path=cb.programme_path, body=lambda *_: {"pool_gpu_hours": 20000}
    ),
    ("POST", "/grants"): Case(only(Role.consultant, Role.admin), body=cb.grant_proposal),
    ("GET", "/grants"): Case(everyone()),
    ("POST", "/grants/housekeeping"): Case(DECIDERS),
    ("GET", "/grants/{grant_id}"): Case(CONSULTING_SCOPED, path=cb.grant_path),
    ("POST", "/grants/{grant_id}/approve"): Case(
        DECIDERS, path=cb.proposed_grant_path, body=lambda *_: {}
    ),
    ("POST", "/grants/{grant_id}/reject"): Case(
        DECIDERS, path=cb.proposed_grant_path, body=lambda *_: {"reason": "out of scope"}
    ),
    ("POST", "/grants/{grant_id}/cancel"): Case(
        {
            Role.engineer: (DENY, DENY),
            Role.consultant: (OK, HIDDEN),
            Role.operator: (DENY, DENY),
            Role.admin: (OK, OK),
        },
        path=cb.own_proposal_path,
        body=lambda *_: {},
    ),
    ("POST", "/grants/{grant_id}/top-ups"): Case(
        DECIDERS, path=cb.grant_path, body=lambda *_: {"gpu_hours": 10, "reason": "PoC extended"}
    ),
    ("POST", "/grants/{grant_id}/reclaims"): Case(
        DECIDERS, path=cb.grant_path, body=lambda *_: {"gpu_hours": 10, "reason": "unused"}
    ),
    ("GET", "/grants/{grant_id}/ledger"): Case(CONSULTING_SCOPED, path=cb.grant_path),
    ("GET", "/companies/{company_id}/budget"): Case(CONSULTING_SCOPED, path=cb.budget_path),
    # --- notifications (always the caller's own) ----------------------------------------------
    ("GET", "/notifications"): Case(everyone()),
    ("POST", "/notifications/read-all"): Case(everyone()),
    ("POST", "/notifications/{notification_id}/read"): Case(
        dict.fromkeys(ROLES, (OK, HIDDEN))
        # path filled by notification_of(): "own" is the caller's notification
    ),
    # --- operations (utilization, usage, alerts, KPI report) ---------------------------------
    ("GET", "/utilization"): Case(DECIDERS),
    ("GET", "/utilization/now"): Case(DECIDERS),
    ("GET", "/utilization/gpus"): Case(DECIDERS),
    ("GET", "/usage"): Case(DECIDERS),
    ("GET", "/usage/entries"): Case(DECIDERS),
    ("GET", "/alerts"): Case(DECIDERS),
    ("GET", "/reports/kpi"): Case(DECIDERS, query=KPI_PERIOD),
    ("GET", "/reports/kpi/records"): Case(DECIDERS, query=KPI_PERIOD),
    ("GET", "/companies/{company_id}/usage"): Case(CONSULTING_SCOPED, path=cb.budget_path),
    ("GET", "/companies/{company_id}/usage/statement"): Case(
        CONSULTING_SCOPED, path=cb.budget_path
    ),
}


def openapi_routes() -> set[tuple[str, str]]:
    schema = create_app().openapi()
    return {
        (method.upper(), path.removeprefix(API_PREFIX))
        for path, operations in schema["paths"].items()
        for method in operations
    }


def test_every_route_has_a_matrix_entry() -> None:
    routes = openapi_routes()
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, f"routes without an authorization matrix entry: {missing}"
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


PROTECTED = sorted(key for key, case in MATRIX.items() if case != PUBLIC)


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_protected_routes_refuse_anonymous_callers(
    client: TestClient, method: str, path: str
) -> None:
    url = API_PREFIX + re.sub(r"\{\w+\}", "1", path)
    response = client.request(method, url)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"


MATRIX_CASES = [
    pytest.param(method, path, role, target, id=f"{method} {path} {role.value} {target}")
    for (method, path) in PROTECTED
    for role in ROLES
    for target in TARGETS
    if "{" in path or target == "own"
]


@pytest.mark.parametrize(("method", "path", "role", "target"), MATRIX_CASES)
def test_authorization_matrix(
    client: TestClient,
    world: World,
    session: Session,
    method: str,
    path: str,
    role: Role,
    target: str,
) -> None:
    case = MATRIX[(method, path)]
    assert isinstance(case, Case)
    if role == Role.consultant:  # the consultant works a case of company A, none of company B
        make_case(session, world.company_a, assignee=world.consultant, title="Ongoing support")
    if "{token_id}" in path:
        params = token_of(world, session, target, role)
    elif "{notification_id}" in path:
        params = cb.notification_of(world, session, target, role)
    else:
        params = case.path(world, session, target)
    if path == "/companies/{company_id}" and method == "DELETE" and role == Role.admin:
        # a company with users cannot be deleted (409); empty the target first
        session.delete(world.engineer_a if target == "own" else world.engineer_b)
        session.commit()
    body = case.body(world, session, target) if case.body else None
    files = case.files(world, session, target) if case.files else None
    data = {"company_id": str(world.company_a.id)} if files and role != Role.engineer else None
    response = client.request(
        method,
        API_PREFIX + path.format(**params),
        json=body,
        files=files,
        data=data,
        params=case.query,
        headers=world.headers(role),
    )
    expected = case.expected[role][TARGETS.index(target)]
    outcome = {403: DENY, 404: HIDDEN}.get(response.status_code, OK)
    assert response.status_code < 500, response.text
    assert outcome == expected, f"{response.status_code}: {response.text}"
    if outcome == OK:
        assert 200 <= response.status_code < 300, response.text
