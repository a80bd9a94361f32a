"""``PortalClient`` against the real hub_api, and its metrics fallback against a fake one."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pytest

from portal.api_client import HubApiError, MetricPoint, PortalClient
from tests.portal.hub_world import HubWorld


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_uploads_code_and_submits_a_job_that_runs_it(hub: HubWorld) -> None:
    engineer = hub.client("engineer")
    bundle = engineer.upload_code("project.zip", zipped({"train.py": "print('hi')\n"}))
    job = engineer.submit_job(
        {
            "name": "own code",
            "code_bundle_id": bundle["id"],
            "entrypoint": "python train.py",
            "num_gpus": 1,
            "time_limit_s": 600,
        }
    )
    assert (job["status"], job["code_bundle_id"]) == ("queued", bundle["id"])
    engineer.cancel_job(job["id"])


def test_attaches_a_file_to_a_case_and_reads_it_back(hub: HubWorld) -> None:
    engineer = hub.client("engineer_gwangju")
    case_id = hub.ids["gwangju_case"]
    added = engineer.add_attachment(case_id, "sensors.csv", b"t,temp\n1,40.5\n", "text/csv")
    assert engineer.attachment_bytes(case_id, added["id"]) == b"t,temp\n1,40.5\n"


def test_api_errors_carry_the_api_message(hub: HubWorld) -> None:
    with pytest.raises(HubApiError) as caught:
        hub.client("engineer").drain("gpu-a100-0", "not mine to drain")
    assert caught.value.status == 403
    assert caught.value.detail


def fake_hub(metrics: dict[str, object] | None, log: str) -> PortalClient:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/metrics"):
            if metrics is None:
                return httpx.Response(404, json={"detail": "Not Found"})
            return httpx.Response(200, json=metrics)
        return httpx.Response(
            200, json={"job_id": 1, "attempt": 1, "text": log, "truncated": False}
        )

    return PortalClient("http://hub.test", transport=httpx.MockTransport(handle))


LOG = json.dumps({"step": 1, "val_accuracy": 0.5}) + "\n"


def test_metrics_come_from_mlflow_when_the_run_has_history() -> None:
    body = {
        "run_id": "r1",
        "job_id": 1,
        "history": {
            "val_accuracy": [{"step": 1, "value": 0.7, "timestamp": "2026-01-01T00:00:00Z"}]
        },
        "tracking_error": None,
    }
    metrics = fake_hub(body, LOG).job_metrics(1)
    assert (metrics.source, metrics.points) == ("mlflow", [MetricPoint(1, "val_accuracy", 0.7)])


@pytest.mark.parametrize(
    "body", [None, {"run_id": None, "job_id": 1, "history": {}, "tracking_error": "MLflow off"}]
)
def test_metrics_fall_back_to_the_log_lines(body: dict[str, object] | None) -> None:
    metrics = fake_hub(body, LOG).job_metrics(1)
    assert (metrics.source, metrics.points) == ("logs", [MetricPoint(1, "val_accuracy", 0.5)])
