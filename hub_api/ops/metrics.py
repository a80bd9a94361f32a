"""hub_api's Prometheus metrics: request latency/errors, admission refusals, and gauges read
from the database at scrape time (jobs by state and company, GPUs, nodes, budgets).

Each app has its own ``CollectorRegistry`` (several apps per test process, no global state).
``GET /metrics`` answers the text format; when ``HUB_METRICS_TOKEN`` is set it must be sent as
``Authorization: Bearer …``; in production the endpoint refuses to serve without a token set.
Label cardinality: ``company_id`` is acceptable for a regional hub (tens of companies); job ids
never become labels; ``route`` is the route template (``/api/v1/jobs/{job_id}``), not the URL.
"""

from __future__ import annotations

import hmac
import time
from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub_api import API_PREFIX
from hub_api.cluster.models import ClusterNode
from hub_api.cluster.service import allocations
from hub_api.core.config import Environment, Settings
from hub_api.core.errors import problem
from hub_api.grants.ledger import company_budget
from hub_api.grants.models import Grant, GrantStatus
from hub_api.jobs.budget import BudgetExceededError
from hub_api.jobs.models import Job
from hub_api.ops.config import OpsSettings

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_SUBMIT_ROUTE = "/api/v1/jobs"


class HubMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "axhub_http_requests",
            "HTTP requests answered, by route template, method and status code",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "axhub_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.admission_rejections = Counter(
            "axhub_job_admission_rejections",
            "Job submissions refused by the API (budget, invalid request, forbidden)",
            ["reason"],
            registry=registry,
        )


class DatabaseCollector(Collector):
    """Gauges computed from the database at each scrape (a few small aggregate queries)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with Session(self.engine) as session:
            yield from _job_gauges(session)
            yield from _gpu_gauges(session)
            yield _budget_gauge(session)


def _job_gauges(session: Session) -> Iterator[GaugeMetricFamily]:
    jobs = GaugeMetricFamily(
        "axhub_jobs", "Jobs by current state and company", labels=["state", "company_id"]
    )
    rows = session.exec(
        select(Job.status, Job.company_id, func.count()).group_by(
            col(Job.status), col(Job.company_id)
        )
    ).all()
    for status, company_id, count in rows:
        jobs.add_metric([str(getattr(status, "value", status)), str(company_id)], float(count))
    yield jobs


def _gpu_gauges(session: Session) -> Iterator[GaugeMetricFamily]:
    nodes = session.exec(select(ClusterNode)).all()
    capacity: Tally[str] = Tally()
    node_states: Tally[str] = Tally()
    for node in nodes:
        if node.alive:
            capacity[node.gpu_type] += node.gpu_count
        node_states["down" if not node.alive else "draining" if node.draining else "up"] += 1
    types = {n.node_id: n.gpu_type for n in nodes}
    allocated: dict[tuple[str, str], float] = {}
    for node_id, held in allocations(session).items():
        for job, gpus in held:
            key = (types.get(node_id, job.assigned_gpu_type or "unknown"), str(job.company_id))
            allocated[key] = allocated.get(key, 0.0) + gpus
    cap = GaugeMetricFamily("axhub_gpu_capacity", "GPUs on live nodes", labels=["gpu_type"])
    for gpu_type, count in sorted(capacity.items()):
        cap.add_metric([gpu_type], float(count))
    yield cap
    alloc = GaugeMetricFamily(
        "axhub_gpus_allocated",
        "GPUs held by starting/running jobs",
        labels=["gpu_type", "company_id"],
    )
    for (gpu_type, company), gpus in sorted(allocated.items()):
        alloc.add_metric([gpu_type, company], gpus)
    yield alloc
    state = GaugeMetricFamily("axhub_nodes", "GPU nodes by state", labels=["state"])
    for name in ("up", "draining", "down"):
        state.add_metric([name], float(node_states[name]))
    yield state


def _budget_gauge(session: Session) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(
        "axhub_budget_remaining_gpu_seconds",
        "GPU-seconds a company may still spend on its active grants",
        labels=["company_id"],
    )
    companies = session.exec(
        select(Grant.company_id).where(Grant.status == GrantStatus.approved).distinct()
    ).all()
    for company_id in sorted(companies):
        budget = company_budget(session=session, company_id=company_id)
        gauge.add_metric([str(company_id)], budget.available_now_gpu_hours * 3600)
    return gauge


class MetricsMiddleware:
    """Counts and times every request by its route template (pure ASGI: streams untouched)."""

    def __init__(self, app: ASGIApp, metrics: HubMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_template(scope)
            method = scope["method"]
            if route != "/metrics":
                self.metrics.requests.labels(method, route, str(status)).inc()
                self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
            refused = scope.get("state", {}).get("admission_refused")
            if method == "POST" and route == JOB_SUBMIT_ROUTE and 400 <= status < 500:
                reason = refused or {403: "forbidden", 422: "invalid_request"}.get(status, "other")
                self.metrics.admission_rejections.labels(reason).inc()


def _route_template(scope: Scope) -> str:
    """The matched route's template with the API prefix (``/api/v1/jobs/{job_id}``)."""
    path = getattr(scope.get("route"), "path", None)
    if path is None:
        return "unmatched"
    prefix = API_PREFIX if str(scope.get("path", "")).startswith(API_PREFIX + "/") else ""
    return prefix + path if not path.startswith(API_PREFIX) else path


def _authorized(request: Request, settings: Settings, ops: OpsSettings) -> JSONResponse | None:
    if ops.metrics_token is None:
        if settings.environment == Environment.production:
            return problem(403, "set HUB_METRICS_TOKEN to serve /metrics in production")
        return None
    sent = request.headers.get("authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {ops.metrics_token}".encode()):
        return problem(
            401,
            "send 'Authorization: Bearer <HUB_METRICS_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return None


def install_metrics(app: FastAPI, *, settings: Settings, ops: OpsSettings) -> HubMetrics:
    registry = CollectorRegistry()
    metrics = HubMetrics(registry)
    registry.register(DatabaseCollector(app.state.engine))
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.exception_handler(BudgetExceededError)
    async def _budget_refused(request: Request, exc: BudgetExceededError) -> JSONResponse:
        request.scope.setdefault("state", {})["admission_refused"] = "budget"
        return problem(
            exc.status_code, exc.detail, problem_type=exc.problem_type, instance=request.url.path
        )

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request) -> Any:
        refusal = _authorized(request, settings, ops)
        if refusal is not None:
            return refusal
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
