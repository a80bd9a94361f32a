"""Helpers for the operations tests: read Prometheus text, build a scheduler with the hook."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from hub_api.core.config import Settings
from hub_api.ops.utilization import UtilizationSampler
from scheduler.core.model import GpuNode
from scheduler.executors.memory import InMemoryExecutor
from scheduler.service.metrics import PassObserver
from scheduler.service.runner import SchedulerService
from tests.hub_api.jobs.builders import Clock, fake_cluster


def samples_of(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``{(sample name, labels): value}`` of a Prometheus text exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def observed_cluster(
    engine: Engine, settings: Settings, *nodes: GpuNode, sample_interval_s: float = 0.0
) -> tuple[SchedulerService, InMemoryExecutor, Clock, PassObserver]:
    """``fake_cluster`` plus the end-of-pass hook (metrics and utilization samples)."""
    service, executor, clock = fake_cluster(engine, settings, *nodes)
    observer = PassObserver(engine, sampler=UtilizationSampler(interval_s=sample_interval_s))
    service.observer = observer
    return service, executor, clock, observer


def labelled(**labels: Any) -> frozenset[tuple[str, str]]:
    return frozenset((key, str(val)) for key, val in labels.items())
