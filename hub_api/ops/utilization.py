"""Utilization history: sampled by the scheduler each pass (throttled), bucketed at query time.

Series: per GPU type (and ``*`` for all types) the capacity of live nodes, the GPUs held by
starting/running jobs and the queue (jobs, GPUs asked); the same per company. Real GPU readings
(nvidia-smi / DCGM) are stored beside the job and company that held the GPU at that moment, so
a job that holds GPUs but leaves them idle shows up.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from hub_api.cluster.models import ClusterNode
from hub_api.cluster.service import HOLDING_GPUS
from hub_api.core.errors import InvalidInputError
from hub_api.core.security import as_utc
from hub_api.jobs.models import Job, JobStatus
from hub_api.ops.gpu_exporters import GpuReader, GpuReading
from hub_api.ops.models import (
    ALL,
    GpuUtilHistory,
    GpuUtilPoint,
    GpuUtilSample,
    UtilizationHistory,
    UtilizationPoint,
    UtilizationSample,
)

MAX_POINTS_PER_SERIES = 500
MAX_RANGE = timedelta(days=400)
SeriesKey = tuple[str, int | None]


def current_samples(session: Session, *, at: datetime) -> list[UtilizationSample]:
    """The state now, as one row per series (not added to the session)."""
    nodes = {n.node_id: n for n in session.exec(select(ClusterNode)).all()}
    rows: dict[SeriesKey, UtilizationSample] = {}

    def row(gpu_type: str, company_id: int | None) -> UtilizationSample:
        key = (gpu_type, company_id)
        if key not in rows:
            rows[key] = UtilizationSample(at=at, gpu_type=gpu_type, company_id=company_id)
        return rows[key]

    row(ALL, None)  # always one hub-wide row, so an empty cluster shows as zero, not as a gap
    for node in nodes.values():
        if node.alive:
            for gpu_type in (node.gpu_type, ALL):
                row(gpu_type, None).capacity_gpus += node.gpu_count
    jobs = session.exec(
        select(Job).where(col(Job.status).in_([*HOLDING_GPUS, JobStatus.queued]))
    ).all()
    for job in jobs:
        if job.status == JobStatus.queued:
            types = [ALL] if job.gpu_type is None else [job.gpu_type, ALL]
            for gpu_type in types:
                for company in (None, job.company_id):
                    target = row(gpu_type, company)
                    target.queued_jobs += 1
                    target.queued_gpus += job.num_gpus
            continue
        for share in job.placement:
            held_on = nodes.get(str(share["node_id"]))
            gpu_type = held_on.gpu_type if held_on else job.assigned_gpu_type or "unknown"
            gpus = float(share.get("fraction", 1.0))
            for series_type in (gpu_type, ALL):
                for company in (None, job.company_id):
                    row(series_type, company).allocated_gpus += gpus
    return [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1] or 0))]


def readings_beside_allocation(
    session: Session, readings: Iterable[GpuReading], *, at: datetime
) -> list[GpuUtilSample]:
    """Attach each GPU reading to the job (and company) holding that device now."""
    holders: dict[tuple[str, int], Job] = {}
    for job in session.exec(select(Job).where(col(Job.status).in_(list(HOLDING_GPUS)))).all():
        for share in job.placement:
            index = share.get("device_index")
            if index is not None:
                holders[(str(share["node_id"]), int(index))] = job
    types = {n.node_id: n.gpu_type for n in session.exec(select(ClusterNode)).all()}
    samples = []
    for reading in readings:
        # In Kubernetes the hub's node ids are Ray worker pod names (DCGM's `pod` label).
        node_id = reading.pod if reading.pod in types else reading.node_id
        holder = holders.get((node_id, reading.gpu_index))
        samples.append(
            GpuUtilSample(
                at=at,
                node_id=node_id,
                gpu_index=reading.gpu_index,
                gpu_type=types.get(node_id) or reading.model,
                utilization_pct=reading.utilization_pct,
                memory_used_mib=reading.memory_used_mib,
                job_id=holder.id if holder else None,
                company_id=holder.company_id if holder else None,
            )
        )
    return samples


class UtilizationSampler:
    """Writes the current samples at most once per ``interval_s`` (the scheduler's hook)."""

    def __init__(self, *, interval_s: float, gpu_reader: GpuReader | None = None) -> None:
        self.interval_s = interval_s
        self.gpu_reader = gpu_reader
        self._last: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self._last is None or (now - self._last).total_seconds() >= self.interval_s

    def sample(
        self,
        session: Session,
        *,
        now: datetime,
        samples: list[UtilizationSample] | None = None,
    ) -> list[UtilizationSample]:
        """Store ``samples`` (default: the current state) if due; commits."""
        if not self.due(now):
            return []
        samples = samples if samples is not None else current_samples(session, at=now)
        session.add_all(samples)
        if self.gpu_reader is not None:
            session.add_all(readings_beside_allocation(session, self.gpu_reader(), at=now))
        session.commit()
        self._last = now
        return samples


def check_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise InvalidInputError("end must be after start", field="query.end")
    if end - start > MAX_RANGE:
        raise InvalidInputError(f"at most {MAX_RANGE.days} days per query", field="query.start")
    return start, end


def choose_step(start: datetime, end: datetime, step_s: int | None) -> int:
    """The bucket width: as asked, but never more than ``MAX_POINTS_PER_SERIES`` buckets."""
    smallest = math.ceil((end - start).total_seconds() / MAX_POINTS_PER_SERIES)
    return max(step_s or 60, smallest, 1)


def _bucket(at: datetime, start: datetime, step_s: int) -> datetime:
    offset = int((as_utc(at) - start).total_seconds() // step_s)
    return start + timedelta(seconds=offset * step_s)


def utilization_history(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    step_s: int | None = None,
    gpu_type: str | None = None,
    company_id: int | None = None,
    per_company: bool = False,
) -> UtilizationHistory:
    """Bucketed averages; hub-wide series unless ``company_id`` or ``per_company`` is given."""
    start, end = check_range(start, end)
    step = choose_step(start, end, step_s)
    statement = select(UtilizationSample).where(
        col(UtilizationSample.at) >= start, col(UtilizationSample.at) < end
    )
    if gpu_type is not None:
        statement = statement.where(UtilizationSample.gpu_type == gpu_type)
    if company_id is not None:
        statement = statement.where(UtilizationSample.company_id == company_id)
    elif not per_company:
        statement = statement.where(col(UtilizationSample.company_id).is_(None))
    buckets: dict[tuple[datetime, str, int | None], list[UtilizationSample]] = defaultdict(list)
    for sample in session.exec(statement).all():
        buckets[(_bucket(sample.at, start, step), sample.gpu_type, sample.company_id)].append(
            sample
        )
    points = [
        UtilizationPoint(
            at=at,
            gpu_type=series_type,
            company_id=company,
            allocated_gpus=_mean(s.allocated_gpus for s in group),
            capacity_gpus=_mean(s.capacity_gpus for s in group),
            queued_jobs=_mean(s.queued_jobs for s in group),
            queued_gpus=_mean(s.queued_gpus for s in group),
            samples=len(group),
        )
        for (at, series_type, company), group in sorted(
            buckets.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0)
        )
    ]
    return UtilizationHistory(start=start, end=end, step_s=step, points=points)


def gpu_util_history(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    step_s: int | None = None,
    node_id: str | None = None,
    job_id: int | None = None,
) -> GpuUtilHistory:
    """Real GPU utilization per GPU, bucketed; each bucket names the job that held the GPU last."""
    start, end = check_range(start, end)
    step = choose_step(start, end, step_s)
    statement = select(GpuUtilSample).where(
        col(GpuUtilSample.at) >= start, col(GpuUtilSample.at) < end
    )
    if node_id is not None:
        statement = statement.where(GpuUtilSample.node_id == node_id)
    if job_id is not None:
        statement = statement.where(GpuUtilSample.job_id == job_id)
    buckets: dict[tuple[datetime, str, int], list[GpuUtilSample]] = defaultdict(list)
    for sample in session.exec(statement.order_by(col(GpuUtilSample.at))).all():
        buckets[(_bucket(sample.at, start, step), sample.node_id, sample.gpu_index)].append(sample)
    points = []
    for (at, node, index), group in sorted(buckets.items()):
        memory = [s.memory_used_mib for s in group if s.memory_used_mib is not None]
        points.append(
            GpuUtilPoint(
                at=at,
                node_id=node,
                gpu_index=index,
                gpu_type=group[-1].gpu_type,
                utilization_pct=_mean(s.utilization_pct for s in group),
                memory_used_mib=_mean(memory) if memory else None,
                job_id=group[-1].job_id,
                company_id=group[-1].company_id,
                samples=len(group),
            )
        )
    return GpuUtilHistory(start=start, end=end, step_s=step, points=points)


def _mean(values: Iterable[float] | Sequence[float]) -> float:
    items = list(values)
    return round(sum(items) / len(items), 6) if items else 0.0


def period_utilization(
    *, session: Session, start: datetime, end: datetime
) -> tuple[float | None, int]:
    """Mean allocated / mean capacity of the all-types series in the period, and #samples."""
    samples = session.exec(
        select(UtilizationSample).where(
            UtilizationSample.gpu_type == ALL,
            col(UtilizationSample.company_id).is_(None),
            col(UtilizationSample.at) >= as_utc(start),
            col(UtilizationSample.at) < as_utc(end),
        )
    ).all()
    capacity = sum(s.capacity_gpus for s in samples)
    if not samples or capacity <= 0:
        return None, len(samples)
    return round(sum(s.allocated_gpus for s in samples) / capacity, 6), len(samples)
