"""The scheduler's Prometheus metrics and its end-of-pass hook (utilization history too).

``PassObserver`` is called by ``SchedulerService.run_pass`` after every pass: it updates the
metrics below from the pass report and the current allocation, and hands the same allocation
to the hub's ``UtilizationSampler`` (which writes it at most once per sample interval). A
failure here is logged and never stops scheduling.

Metrics (registry of their own; served by ``axhub scheduler run --metrics-port``):

* ``axhub_scheduler_pass_duration_seconds`` (histogram), ``axhub_scheduler_passes_total``
* ``axhub_scheduler_job_starts_total{gpu_type}``, ``axhub_scheduler_preemptions_total``
* ``axhub_scheduler_rejections_total{reason}`` (jobs that can never run on the inventory)
* ``axhub_scheduler_queue_wait_seconds{gpu_type}`` (histogram: submission → start decision)
* ``axhub_scheduler_queued_jobs{gpu_type}``, ``axhub_scheduler_queued_gpus{gpu_type}``,
  ``axhub_scheduler_gpus_allocated{gpu_type}``, ``axhub_scheduler_gpu_capacity{gpu_type}``
  (``gpu_type="*"``: all types)
* ``axhub_scheduler_core_info{build}``: ``compiled`` (the image's mypyc build) or ``pure``
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    start_http_server,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session

from hub_api.core.security import as_utc
from hub_api.jobs.models import Job
from hub_api.ops.config import OpsSettings
from hub_api.ops.gpu_exporters import reader_from_settings
from hub_api.ops.utilization import UtilizationSampler, current_samples
from scheduler.core import core_build

if TYPE_CHECKING:
    from scheduler.service.runner import PassReport

log = structlog.get_logger(__name__)

PASS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
WAIT_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)
REJECTED_NO_FIT = "no_fitting_node"


class SchedulerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.pass_duration = Histogram(
            "axhub_scheduler_pass_duration_seconds",
            "Duration of one scheduling pass",
            buckets=PASS_BUCKETS,
            registry=r,
        )
        self.passes = Counter("axhub_scheduler_passes", "Scheduling passes run", registry=r)
        self.core = Info("axhub_scheduler_core", "Build of the scheduler's policy core", registry=r)
        self.core.info({"build": core_build()})
        self.starts = Counter(
            "axhub_scheduler_job_starts", "Jobs started", ["gpu_type"], registry=r
        )
        self.preemptions = Counter(
            "axhub_scheduler_preemptions", "Running jobs preempted", registry=r
        )
        self.rejections = Counter(
            "axhub_scheduler_rejections", "Jobs refused by the scheduler", ["reason"], registry=r
        )
        self.queue_wait = Histogram(
            "axhub_scheduler_queue_wait_seconds",
            "Time from submission to the start decision",
            ["gpu_type"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.queued_jobs = Gauge(
            "axhub_scheduler_queued_jobs", "Jobs waiting", ["gpu_type"], registry=r
        )
        self.queued_gpus = Gauge(
            "axhub_scheduler_queued_gpus", "GPUs asked by waiting jobs", ["gpu_type"], registry=r
        )
        self.allocated = Gauge(
            "axhub_scheduler_gpus_allocated", "GPUs held by jobs", ["gpu_type"], registry=r
        )
        self.capacity = Gauge(
            "axhub_scheduler_gpu_capacity", "GPUs on live nodes", ["gpu_type"], registry=r
        )

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:
        start_http_server(port, addr=addr, registry=self.registry)


class PassObserver:
    """The end-of-pass hook: metrics from the report, allocation gauges, utilization samples."""

    def __init__(
        self,
        engine: Engine,
        *,
        metrics: SchedulerMetrics | None = None,
        sampler: UtilizationSampler | None = None,
    ) -> None:
        self.engine = engine
        self.metrics = metrics or SchedulerMetrics()
        self.sampler = sampler

    @classmethod
    def from_settings(cls, engine: Engine, ops: OpsSettings, *, node_id: str) -> PassObserver:
        reader = reader_from_settings(ops, default_node_id=node_id)
        sampler = UtilizationSampler(
            interval_s=ops.utilization_sample_interval_s, gpu_reader=reader
        )
        return cls(engine, sampler=sampler)

    def __call__(self, report: PassReport, now: datetime) -> None:
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                self._observe(session, report, now)
        except Exception:  # the hook must never stop scheduling
            log.exception("pass_observer_failed")

    def _observe(self, session: Session, report: PassReport, now: datetime) -> None:
        m = self.metrics
        m.passes.inc()
        m.pass_duration.observe(report.duration_s)
        m.preemptions.inc(len(report.preempted))
        result = report.result
        if result is not None:
            m.rejections.labels(REJECTED_NO_FIT).inc(len(result.rejected))
            for start in result.starts:
                job = session.get(Job, int(start.job_id))
                if job is None or int(start.job_id) not in report.started:
                    continue
                m.starts.labels(start.gpu_type).inc()
                wait = (as_utc(now) - as_utc(job.submitted_at)).total_seconds()
                m.queue_wait.labels(start.gpu_type).observe(max(0.0, wait))
        samples = current_samples(session, at=now)
        for gauge in (m.queued_jobs, m.queued_gpus, m.allocated, m.capacity):
            gauge.clear()
        for sample in samples:
            if sample.company_id is not None:
                continue
            m.queued_jobs.labels(sample.gpu_type).set(sample.queued_jobs)
            m.queued_gpus.labels(sample.gpu_type).set(sample.queued_gpus)
            m.allocated.labels(sample.gpu_type).set(sample.allocated_gpus)
            m.capacity.labels(sample.gpu_type).set(sample.capacity_gpus)
        if self.sampler is not None:
            self.sampler.sample(session, now=now, samples=samples)
