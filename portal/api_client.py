"""The portal's one way to the hub: a typed wrapper around ``hub_api.client.HubClient``.

Pages call these methods and never build URLs or parse responses themselves. Every error comes
back as ``HubApiError`` carrying the API's own message (RFC 9457 ``detail``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hub_api.client import HubApiError, HubClient

__all__ = ["DEFAULT_API_URL", "HubApiError", "MetricPoint", "PortalClient", "parse_metric_lines"]

DEFAULT_API_URL = "http://127.0.0.1:8000"

Json = dict[str, Any]


@dataclass(frozen=True)
class MetricPoint:
    step: int
    name: str
    value: float


@dataclass
class JobMetrics:
    points: list[MetricPoint] = field(default_factory=list)
    source: str = "logs"  # "mlflow" when the hub's metrics endpoint answered

    @property
    def names(self) -> list[str]:
        return sorted({p.name for p in self.points})


def parse_metric_lines(text: str) -> list[MetricPoint]:
    """Per-epoch JSON lines the job templates print: ``{"step": 1, "train_loss": 0.4, ...}``."""
    points: list[MetricPoint] = []
    for line in text.splitlines():
        line = line.strip()
        if not (line.startswith("{") and '"step"' in line):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        step = record.get("step")
        if not isinstance(step, int):
            continue
        for name, value in record.items():
            if name != "step" and isinstance(value, int | float) and not isinstance(value, bool):
                points.append(MetricPoint(step, name, float(value)))
    return points


def _metrics_from_api(body: Json) -> list[MetricPoint]:
    """``RunMetrics``: ``{"history": {name: [{"step", "value", "timestamp"}]}, ...}``."""
    return [
        MetricPoint(int(item["step"]), str(name), float(item["value"]))
        for name, history in (body.get("history") or {}).items()
        for item in history
    ]


class PortalClient(HubClient):
    """Everything the portal asks the hub; one instance per browser session."""

    def __init__(self, base_url: str | None = None, **kwargs: Any) -> None:
        self.base_url = base_url or os.environ.get("AXHUB_API_URL", DEFAULT_API_URL)
        super().__init__(self.base_url, **kwargs)
        self.metrics_endpoint_available: bool | None = None
        self.models_endpoint_available: bool | None = None

    def _get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=clean)

    def _all(self, path: str, **params: Any) -> list[Json]:
        """Every item of a paginated list (pages of 200)."""
        items: list[Json] = []
        offset = 0
        while True:
            page = self._get(path, limit=200, offset=offset, **params)
            items.extend(page["items"])
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return items

    # --- account --------------------------------------------------------------------------
    def logout(self) -> None:
        self.set_token(None)

    def update_profile(self, **fields: Any) -> Json:
        result: Json = self.request("PATCH", "/auth/me", json=fields)
        return result

    def notifications(self, *, unread: bool | None = None) -> list[Json]:
        return list(self._get("/notifications", unread=unread, limit=50)["items"])

    def mark_all_read(self) -> None:
        self.request("POST", "/notifications/read-all")

    # --- companies and users ----------------------------------------------------------------
    def companies(self) -> list[Json]:
        return self._all("/companies", sort="name")

    def update_company(self, company_id: int, data: Json) -> Json:
        result: Json = self.request("PATCH", f"/companies/{company_id}", json=data)
        return result

    def users(self, **filters: Any) -> list[Json]:
        return self._all("/users", sort="email", **filters)

    def update_user(self, user_id: int, data: Json) -> Json:
        result: Json = self.request("PATCH", f"/users/{user_id}", json=data)
        return result

    # --- budget and grants ------------------------------------------------------------------
    def budget(self, company_id: int) -> Json:
        result: Json = self._get(f"/companies/{company_id}/budget")
        return result

    def grants(self, **filters: Any) -> list[Json]:
        return self._all("/grants", sort="-created_at", **filters)

    def get_grant(self, grant_id: int) -> Json:
        result: Json = self._get(f"/grants/{grant_id}")
        return result

    def grant_ledger(self, grant_id: int) -> list[Json]:
        return list(self._get(f"/grants/{grant_id}/ledger"))

    def propose_grant(self, data: Json) -> Json:
        result: Json = self.request("POST", "/grants", json=data)
        return result

    def decide_grant(
        self, grant_id: int, decision: str, reason: str | None = None, **agreement: Any
    ) -> Json:
        """``decision``: approve, reject or cancel; approval carries ``agreement_number`` and
        ``agreement_signed_on`` (ISO date) unless the proposal had them."""
        body: Json = ({"reason": reason} if reason else {}) | {
            k: v for k, v in agreement.items() if v
        }
        result: Json = self.request("POST", f"/grants/{grant_id}/{decision}", json=body)
        return result

    def programmes(self) -> list[Json]:
        return self._all("/programmes", sort="name")

    # --- cases ------------------------------------------------------------------------------
    def cases(self, **filters: Any) -> list[Json]:
        return self._all("/cases", sort="-created_at", **filters)

    def case(self, case_id: int) -> Json:
        result: Json = self._get(f"/cases/{case_id}")
        return result

    def create_case(self, data: Json) -> Json:
        result: Json = self.request("POST", "/cases", json=data)
        return result

    def transition_case(self, case_id: int, to_status: str, reason: str, **extra: Any) -> Json:
        body = {"to_status": to_status, "reason": reason} | extra
        result: Json = self.request("POST", f"/cases/{case_id}/transitions", json=body)
        return result

    def case_transitions(self, case_id: int) -> list[Json]:
        return list(self._get(f"/cases/{case_id}/transitions"))

    def comments(self, case_id: int) -> list[Json]:
        return list(self._get(f"/cases/{case_id}/comments"))

    def add_comment(self, case_id: int, body: str, visibility: str = "shared") -> Json:
        result: Json = self.request(
            "POST", f"/cases/{case_id}/comments", json={"body": body, "visibility": visibility}
        )
        return result

    def attachments(self, case_id: int) -> list[Json]:
        return list(self._get(f"/cases/{case_id}/attachments"))

    def add_attachment(self, case_id: int, filename: str, content: bytes, mime: str) -> Json:
        files = {"file": (filename, content, mime)}
        result: Json = self.request("POST", f"/cases/{case_id}/attachments", files=files)
        return result

    def attachment_bytes(self, case_id: int, attachment_id: int) -> bytes:
        response = self._http.get(f"/cases/{case_id}/attachments/{attachment_id}")
        if response.status_code >= 400:
            raise HubApiError(response.status_code, response.text or response.reason_phrase)
        return response.content

    def caseload(self) -> list[Json]:
        return list(self._get("/cases/caseload"))

    # --- assessments ------------------------------------------------------------------------
    def questionnaire(self) -> list[Json]:
        return list(self._get("/assessments/questionnaire"))

    def assessments(self, **filters: Any) -> list[Json]:
        return self._all("/assessments", sort="created_at", **filters)

    def create_assessment(self, case_id: int, phase: str, answers: dict[str, int]) -> Json:
        body = {"case_id": case_id, "phase": phase, "answers": answers}
        result: Json = self.request("POST", "/assessments", json=body)
        return result

    # --- jobs -------------------------------------------------------------------------------
    def templates(self) -> list[Json]:
        return list(self._get("/job-templates"))

    def jobs(self, **filters: Any) -> list[Json]:
        return self._all("/jobs", sort="-submitted_at", **filters)

    def job(self, job_id: int) -> Json:
        result: Json = self._get(f"/jobs/{job_id}")
        return result

    def submit_job(self, data: Json) -> Json:
        result: Json = self.request("POST", "/jobs", json=data)
        return result

    def upload_code(self, filename: str, content: bytes) -> Json:
        files = {"file": (filename, content, "application/zip")}
        result: Json = self.request("POST", "/code-bundles", files=files)
        return result

    def cancel_job(self, job_id: int) -> Json:
        result: Json = self.request("POST", f"/jobs/{job_id}/cancel")
        return result

    def job_events(self, job_id: int) -> list[Json]:
        return list(self._get(f"/jobs/{job_id}/events"))

    def job_logs(self, job_id: int, tail_lines: int = 200) -> Json:
        result: Json = self._get(f"/jobs/{job_id}/logs", tail_lines=tail_lines)
        return result

    def job_metrics(self, job_id: int) -> JobMetrics:
        """The job's MLflow metric history (``GET /jobs/{id}/metrics``); while that has nothing
        (tracking off or unavailable, or an older hub without the route) the per-epoch JSON
        lines the job printed to its log."""
        if self.metrics_endpoint_available is not False:
            try:
                body = self._get(f"/jobs/{job_id}/metrics")
                self.metrics_endpoint_available = True
                points = _metrics_from_api(body)
                if points:
                    return JobMetrics(points, source="mlflow")
            except HubApiError as exc:
                if exc.status == 404 and "job" in exc.detail.lower():
                    raise
                if exc.status in (404, 405):
                    self.metrics_endpoint_available = False
                elif exc.status != 503:
                    raise
        logs = self.job_logs(job_id, tail_lines=10_000)
        return JobMetrics(parse_metric_lines(logs["text"]), source="logs")

    # --- cluster ----------------------------------------------------------------------------
    def nodes(self) -> list[Json]:
        return list(self._get("/cluster/nodes"))

    def allocations(self) -> list[Json]:
        return list(self._get("/cluster/allocations"))

    def utilization(self, *, hours: int = 24) -> list[Json] | None:
        """GPUs held per company over the last ``hours`` (the scheduler's samples), or ``None``
        when this hub has no utilization history."""
        start = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
        try:
            body = self._get("/utilization", start=start, gpu_type="*", per_company="true")
        except HubApiError as exc:
            if exc.status in (404, 405):
                return None
            raise
        return list(body["points"])

    def drain(self, node_id: str, reason: str) -> Json:
        result: Json = self.request(
            "POST", f"/cluster/nodes/{node_id}/drain", json={"reason": reason}
        )
        return result

    def undrain(self, node_id: str) -> Json:
        result: Json = self.request("POST", f"/cluster/nodes/{node_id}/undrain")
        return result

    # --- models (the company's MLflow registry, through the hub) ---------------------------
    def models(self) -> list[Json] | None:
        """Registered models, or ``None`` when this hub has no model registry routes."""
        try:
            body = self._get("/mlflow/registered-models")
        except HubApiError as exc:
            if exc.status in (404, 405) and "model" not in exc.detail.lower():
                self.models_endpoint_available = False
                return None
            raise
        self.models_endpoint_available = True
        return list(body)

    def model(self, name: str) -> Json:
        result: Json = self._get(f"/mlflow/registered-models/{name}")
        return result

    def runs(self, **filters: Any) -> list[Json]:
        return list(self._get("/mlflow/runs", **filters))

    def register_model(self, name: str, run_id: str) -> Json:
        result: Json = self.request(
            "POST", f"/mlflow/registered-models/{name}/versions", json={"run_id": run_id}
        )
        return result

    def set_alias(self, name: str, alias: str, version: str) -> Json:
        result: Json = self.request(
            "PUT", f"/mlflow/registered-models/{name}/aliases/{alias}", json={"version": version}
        )
        return result
