"""The Grafana dashboard in the repository plots only series the hub and scheduler export."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from scheduler.service.metrics import SchedulerMetrics

DASHBOARD = Path(__file__).parents[3] / "ops" / "grafana" / "axhub-dashboard.json"
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def test_every_axhub_series_in_the_dashboard_is_exported(client: TestClient) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {family(n) for expr in exprs for n in re.findall(r"\baxhub_[a-z_]+", expr)}
    hub = {f.name for f in text_string_to_metric_families(client.get("/metrics").text)}
    scheduler = {m.name for m in SchedulerMetrics().registry.collect()}
    assert used
    assert used <= hub | scheduler, used - hub - scheduler
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
