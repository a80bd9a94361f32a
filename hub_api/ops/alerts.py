"""Alerts as data, computed from the current state on every request (nothing is stored).

* ``idle_allocated_job``: a running job whose GPUs' real utilization stayed below
  ``HUB_IDLE_GPU_THRESHOLD_PCT`` for the whole last ``HUB_IDLE_GPU_WINDOW_S`` (needs readings
  covering at least half the window, so a fresh start is not flagged);
* ``budget_low``: a company whose active grants are at least ``HUB_BUDGET_ALERT_FRACTION`` used;
* ``grant_expiring``: an approved grant ending within ``HUB_GRANT_EXPIRY_ALERT_DAYS`` that still
  has hours left;
* ``node_down``: a node the cluster no longer reports, or not seen for ``HUB_NODE_STALE_AFTER_S``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from hub_api.cluster.models import ClusterNode
from hub_api.core.security import as_utc
from hub_api.grants.ledger import company_budget, grant_balances
from hub_api.grants.models import SECONDS_PER_HOUR, Grant, GrantStatus
from hub_api.jobs.models import Job, JobStatus
from hub_api.ops.config import OpsSettings
from hub_api.ops.models import Alert, AlertKind, AlertSeverity, GpuUtilSample


def idle_jobs(session: Session, settings: OpsSettings, now: datetime) -> list[Alert]:
    window = timedelta(seconds=settings.idle_gpu_window_s)
    samples = session.exec(
        select(GpuUtilSample).where(
            col(GpuUtilSample.at) >= now - window, col(GpuUtilSample.job_id).is_not(None)
        )
    ).all()
    by_job: dict[int, list[GpuUtilSample]] = defaultdict(list)
    for sample in samples:
        by_job[sample.job_id or 0].append(sample)
    alerts = []
    for job_id, readings in sorted(by_job.items()):
        job = session.get(Job, job_id)
        if job is None or job.status != JobStatus.running:
            continue
        first = min(as_utc(r.at) for r in readings)
        covered = (now - first).total_seconds() >= settings.idle_gpu_window_s / 2
        peak = max(r.utilization_pct for r in readings)
        if covered and peak < settings.idle_gpu_threshold_pct:
            alerts.append(
                Alert(
                    kind=AlertKind.idle_allocated_job,
                    severity=AlertSeverity.warning,
                    object_type="job",
                    object_id=str(job_id),
                    company_id=job.company_id,
                    message=(
                        f"job {job_id} holds {job.num_gpus:g} GPU(s) but used at most "
                        f"{peak:.0f} % of them since {first:%H:%M} UTC"
                    ),
                    since=first,
                    value=peak,
                )
            )
    return alerts


def low_budgets(session: Session, settings: OpsSettings, now: datetime) -> list[Alert]:
    companies = session.exec(
        select(Grant.company_id)
        .where(
            Grant.status == GrantStatus.approved,
            col(Grant.valid_from) <= now,
            col(Grant.valid_until) > now,
        )
        .distinct()
    ).all()
    alerts = []
    for company_id in sorted(companies):
        budget = company_budget(session=session, company_id=company_id, at=now)
        active = [
            g
            for g in budget.grants
            if g.status == GrantStatus.approved and g.valid_from <= now < g.valid_until
        ]
        granted = sum(g.granted_gpu_hours - g.reclaimed_gpu_hours for g in active)
        used = sum(g.used_gpu_hours for g in active)
        if granted <= 0 or used / granted < settings.budget_alert_fraction:
            continue
        alerts.append(
            Alert(
                kind=AlertKind.budget_low,
                severity=AlertSeverity.critical if used >= granted else AlertSeverity.warning,
                object_type="company",
                object_id=str(company_id),
                company_id=company_id,
                message=(
                    f"company {company_id} has used {used:.1f} of {granted:.1f} GPU-hours "
                    f"({used / granted:.0%}); {budget.available_now_gpu_hours:.1f} left"
                ),
                since=None,
                value=round(used / granted, 6),
            )
        )
    return alerts


def expiring_grants(session: Session, settings: OpsSettings, now: datetime) -> list[Alert]:
    horizon = now + timedelta(days=settings.grant_expiry_alert_days)
    grants = session.exec(
        select(Grant)
        .where(
            Grant.status == GrantStatus.approved,
            col(Grant.valid_until) > now,
            col(Grant.valid_until) <= horizon,
        )
        .order_by(col(Grant.valid_until))
    ).all()
    balances = grant_balances(session, [g.id for g in grants if g.id is not None])
    alerts = []
    for grant in grants:
        left = balances.get(grant.id or 0, 0.0) / SECONDS_PER_HOUR
        if left <= 0:
            continue
        alerts.append(
            Alert(
                kind=AlertKind.grant_expiring,
                severity=AlertSeverity.warning,
                object_type="grant",
                object_id=str(grant.id),
                company_id=grant.company_id,
                message=(
                    f"grant {grant.id} ({grant.project_number}) ends "
                    f"{as_utc(grant.valid_until):%Y-%m-%d %H:%M} UTC with {left:.1f} GPU-hours left"
                ),
                since=None,
                value=round(left, 6),
            )
        )
    return alerts


def nodes_down(session: Session, settings: OpsSettings, now: datetime) -> list[Alert]:
    stale = now - timedelta(seconds=settings.node_stale_after_s)
    alerts = []
    for node in session.exec(select(ClusterNode).order_by(col(ClusterNode.node_id))).all():
        seen = as_utc(node.last_seen_at) if node.last_seen_at else None
        if node.alive and (seen is None or seen >= stale):
            continue
        why = "no longer reported by the cluster" if not node.alive else "not seen recently"
        alerts.append(
            Alert(
                kind=AlertKind.node_down,
                severity=AlertSeverity.critical,
                object_type="node",
                object_id=node.node_id,
                company_id=None,
                message=f"node {node.node_id} ({node.gpu_count} × {node.gpu_type}) is {why}",
                since=seen,
            )
        )
    return alerts


def current_alerts(
    *, session: Session, settings: OpsSettings, now: datetime, kind: AlertKind | None = None
) -> list[Alert]:
    now = as_utc(now)
    checks = {
        AlertKind.idle_allocated_job: idle_jobs,
        AlertKind.budget_low: low_budgets,
        AlertKind.grant_expiring: expiring_grants,
        AlertKind.node_down: nodes_down,
    }
    alerts: list[Alert] = []
    for alert_kind, check in checks.items():
        if kind is None or kind == alert_kind:
            alerts += check(session, settings, now)
    return alerts
