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
from tests.factories import make_api_token, valid_brn
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


# Engineers reach their own company's objects, staff reach every company's.
ENGINEER_SCOPED_READ = {
    Role.engineer: (OK, HIDDEN),
    Role.consultant: (OK, OK),
    Role.operator: (OK, OK),
    Role.admin: (OK, OK),
}

PUBLIC = "public"
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
            "business_registration_number": valid_brn(9000),
            "region": "ulsan",
            "industry_ksic": "20119",
            "employees": 80,
        },
    ),
    ("GET", "/companies/{company_id}"): Case(
        ENGINEER_SCOPED_READ, path=lambda w, s, t: company_of(w, t)
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
    ("GET", "/users/{user_id}"): Case(ENGINEER_SCOPED_READ, path=lambda w, s, t: user_of(w, t)),
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
    ("GET", "/jobs/{job_id}"): Case(ENGINEER_SCOPED_READ, path=job_of),
    ("POST", "/jobs/{job_id}/cancel"): Case(ENGINEER_SCOPED_READ, path=job_of),
    ("POST", "/jobs/{job_id}/requeue"): Case(ENGINEER_SCOPED_READ, path=finished_job_of),
    ("GET", "/jobs/{job_id}/events"): Case(ENGINEER_SCOPED_READ, path=job_of),
    ("GET", "/jobs/{job_id}/logs"): Case(ENGINEER_SCOPED_READ, path=job_of),
    ("GET", "/jobs/{job_id}/logs/stream"): Case(
        ENGINEER_SCOPED_READ, path=job_of, query={"max_wait_s": 1}
    ),
    ("GET", "/cluster/nodes"): Case(everyone()),
    ("GET", "/cluster/allocations"): Case(only(Role.operator, Role.admin)),
    ("POST", "/cluster/nodes/{node_id}/drain"): Case(
        only(Role.operator, Role.admin), path=node_of, body=lambda *_: {"reason": "maintenance"}
    ),
    ("POST", "/cluster/nodes/{node_id}/undrain"): Case(
        only(Role.operator, Role.admin), path=node_of
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
    url = API_PREFIX + path.format(company_id=1, user_id=1, token_id=1, job_id=1, node_id="n")
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
    if "{token_id}" in path:
        params = token_of(world, session, target, role)
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
