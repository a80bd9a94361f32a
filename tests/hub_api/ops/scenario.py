"""A quarter of a hub's life as raw rows with fixed timestamps (Q1 2026 and around it).

Seven companies (so the top-5 concentration is not trivially 100 %), cases before, in and after
the quarter, jobs with start events, ledger movements of every kind, T0/T1 assessments and
utilization samples. Tests compute the KPI figures from these rows on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from hub_api.assessments.models import Assessment, Phase
from hub_api.cases.models import Case, CaseStatus, ServiceType
from hub_api.companies.models import Company
from hub_api.companies.validators import Region
from hub_api.grants.models import Grant, LedgerEntry, LedgerKind
from hub_api.jobs.models import Job, JobEvent, JobEventKind, JobStatus
from hub_api.ops.models import ALL, UtilizationSample
from hub_api.users.models import Role, User
from tests.factories import make_case, make_company, make_grant, make_programme, make_user

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


# name, region, KSIC, employees
COMPANIES = (
    ("Changwon Precision", Region.gyeongnam, "29229", 45),
    ("Gimhae Castings", Region.gyeongnam, "24311", 8),
    ("Gwangju Auto Parts", Region.gwangju, "30399", 120),
    ("Daegu Smart Textiles", Region.daegu, "13101", 60),
    ("Busan Marine Valves", Region.busan, "29132", 350),
    ("Ulsan Chemicals", Region.ulsan, "20119", 30),
    ("Quiet Company", Region.seoul, "26111", 12),  # no activity in the quarter
)


@dataclass
class Scenario:
    companies: list[Company]
    engineer: User
    grants: list[Grant] = field(default_factory=list)


def _case(session: Session, company: Company, created: datetime, **kw: Any) -> Case:
    case = make_case(session, company, created_at=created, status_changed_at=created, **kw)
    return case


def _job(
    session: Session,
    company: Company,
    engineer: User,
    submitted: datetime,
    *,
    started: datetime | None,
    status: JobStatus,
) -> Job:
    job = Job(
        name="scenario job",
        template="defect_classifier",
        num_gpus=1,
        time_limit_s=3600,
        company_id=company.id or 0,
        submitted_by=engineer.id or 0,
        status=status,
        submitted_at=submitted,
        started_at=started,
    )
    session.add(job)
    session.flush()
    events = [(JobEventKind.queued, submitted)]
    if started is not None:
        events += [
            (JobEventKind.starting, started),
            (JobEventKind.running, started + timedelta(seconds=20)),
        ]
    for kind, when in events:
        session.add(JobEvent(job_id=job.id or 0, at=when, kind=kind))
    session.commit()
    return job


def _entry(
    session: Session,
    grant: Grant,
    kind: LedgerKind,
    hours: float,
    when: datetime,
    job: Job | None = None,
) -> None:
    session.add(
        LedgerEntry(
            company_id=grant.company_id,
            programme_id=grant.programme_id,
            grant_id=grant.id or 0,
            job_id=job.id if job else None,
            kind=kind,
            gpu_seconds=hours * 3600,
            created_at=when,
        )
    )
    session.commit()


def build(session: Session) -> Scenario:
    companies = [
        make_company(session, name=name, region=region, industry_ksic=ksic, employees=employees)
        for name, region, ksic, employees in COMPANIES
    ]
    c0, c1, c2, c3, c4, c5, quiet = companies
    engineer = make_user(session, Role.engineer, c0)
    scenario = Scenario(companies=companies, engineer=engineer)

    # cases: c0 and quiet were served before the quarter; c0 again inside it
    _case(session, c0, at(1, 1, 0) - timedelta(days=40), status=CaseStatus.completed)
    _case(session, quiet, at(1, 1, 0) - timedelta(days=10))
    _case(
        session,
        c0,
        at(1, 5),
        first_response_at=at(1, 5, 15),
        status=CaseStatus.completed,
        service_type=ServiceType.quality_inspection,
    )
    _case(
        session,
        c1,
        at(1, 20),
        first_response_at=at(1, 22, 9),
        status=CaseStatus.in_progress,
        service_type=ServiceType.predictive_maintenance,
    )
    _case(
        session,
        c2,
        at(2, 3),
        first_response_at=at(2, 3, 10),
        status=CaseStatus.rejected,
        service_type=ServiceType.quality_inspection,
    )
    _case(session, c3, at(3, 30), status=CaseStatus.submitted, service_type=ServiceType.training)
    _case(session, c5, at(4, 2), status=CaseStatus.submitted)  # after the quarter

    # grants: c0 approved before, c4 approved in the quarter (served only through its grant)
    programme = make_programme(session)
    for company, decided in (
        (c0, at(1, 1, 0) - timedelta(days=30)),
        (c1, at(1, 25)),
        (c4, at(2, 10)),
        (c2, at(2, 4)),
        (c5, at(3, 2)),
    ):
        grant = make_grant(
            session,
            make_case(session, company, created_at=decided - timedelta(days=5)),
            programme,
            gpu_hours=100,
            decided_at=decided,
        )
        for credit in session.exec(
            select(LedgerEntry).where(LedgerEntry.grant_id == grant.id)
        ).all():
            credit.created_at = decided
            session.add(credit)
        session.commit()
        scenario.grants.append(grant)
    g0, g1, g4, g2, g5 = scenario.grants
    _entry(session, g0, LedgerKind.top_up, 20, at(2, 1))
    _entry(session, g1, LedgerKind.reclaim, -30, at(3, 1))
    _entry(session, g0, LedgerKind.expiry, -5, at(3, 31))
    proposed = make_grant(
        session, make_case(session, c5, created_at=at(4, 3)), programme, approved=False
    )
    scenario.grants.append(proposed)

    # jobs: waits from 30 s to 4 h; one still queued; one started after the quarter
    plan = [
        (c0, at(1, 10), 600, JobStatus.succeeded, 12.0),
        (c0, at(1, 11), 3600, JobStatus.failed, 2.5),
        (c1, at(2, 1), 7200, JobStatus.succeeded, 30.0),
        (c2, at(2, 5), 30, JobStatus.timed_out, 8.0),
        (c4, at(2, 15), 120, JobStatus.succeeded, 3.0),
        (c5, at(3, 5), 60, JobStatus.succeeded, 0.5),
        (c4, at(3, 1), 4 * 3600, JobStatus.running, 0.0),
        (c4, at(3, 31, 23), None, JobStatus.queued, 0.0),
        (c2, at(3, 31, 22), 6 * 3600, JobStatus.succeeded, 4.0),  # starts 1 April
    ]
    grant_of = {c0.id: g0, c1.id: g1, c2.id: g2, c4.id: g4, c5.id: g5}
    for company, submitted, wait, status, hours in plan:
        started = submitted + timedelta(seconds=wait) if wait is not None else None
        job = _job(session, company, engineer, submitted, started=started, status=status)
        if hours:
            charged = (started or submitted) + timedelta(hours=hours)
            _entry(session, grant_of[company.id], LedgerKind.job_debit, -hours, charged, job)
    # a refund of the failed job's charge (hub-side failure)
    failed = session.exec(select(Job).where(Job.status == JobStatus.failed)).one()
    _entry(session, g0, LedgerKind.refund, 2.5, at(1, 12), failed)
    # c3 is charged through a grant approved after the quarter (its job ran inside it)
    g3 = make_grant(
        session,
        make_case(session, c3, created_at=at(3, 30, 10)),
        programme,
        gpu_hours=50,
        decided_at=at(4, 5),
    )
    job3 = _job(
        session, c3, engineer, at(3, 30, 12), started=at(3, 30, 13), status=JobStatus.succeeded
    )
    _entry(session, g3, LedgerKind.job_debit, -1.0, at(3, 30, 14), job3)

    # maturity: c0 T0 before the quarter, T1 in it (+12.5); c1 T1 after the quarter
    dims = {"strategy": 0.0, "data": 0.0}
    for company, phase, when, score in (
        (c0, Phase.t0, at(1, 1, 0) - timedelta(days=60), 40.0),
        (c0, Phase.t1, at(3, 15), 52.5),
        (c2, Phase.t0, at(1, 6), 30.0),
        (c2, Phase.t1, at(3, 20), 38.0),
        (c1, Phase.t0, at(1, 21), 20.0),
        (c1, Phase.t1, at(4, 20), 35.0),
    ):
        session.add(
            Assessment(
                company_id=company.id or 0,
                phase=phase,
                created_at=when,
                overall_score=score,
                smart_factory_level=2,
                dimension_scores=dict.fromkeys(dims, score),
            )
        )
    # utilization: hub-wide samples in the quarter (and one outside)
    for when, allocated, capacity in (
        (at(1, 10), 2, 8),
        (at(2, 1), 6, 8),
        (at(3, 1), 8, 8),
        (at(4, 2), 0, 8),
    ):
        session.add(
            UtilizationSample(
                at=when, gpu_type=ALL, allocated_gpus=allocated, capacity_gpus=capacity
            )
        )
        session.add(
            UtilizationSample(
                at=when, gpu_type="A100", allocated_gpus=allocated / 2, capacity_gpus=4
            )
        )
    session.commit()
    return scenario
