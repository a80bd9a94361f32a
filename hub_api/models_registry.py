"""Imports every table model so that ``metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

from hub_api.assessments.models import Assessment
from hub_api.audit.models import AuditEvent
from hub_api.auth.models import ApiToken
from hub_api.cases.activity_models import CaseAttachment, CaseComment, CaseVisit
from hub_api.cases.models import Case, CaseTransition
from hub_api.cluster.models import ClusterNode
from hub_api.companies.models import Company
from hub_api.grants.models import Grant, LedgerEntry, Programme
from hub_api.jobs.models import CodeBundle, Job, JobEvent
from hub_api.notifications.models import Notification
from hub_api.ops.models import GpuUtilSample, UtilizationSample
from hub_api.tracking.models import MlflowTenant
from hub_api.users.models import User

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "Assessment",
    "AuditEvent",
    "Case",
    "CaseAttachment",
    "CaseComment",
    "CaseTransition",
    "CaseVisit",
    "ClusterNode",
    "CodeBundle",
    "Company",
    "GpuUtilSample",
    "Grant",
    "Job",
    "JobEvent",
    "LedgerEntry",
    "MlflowTenant",
    "Notification",
    "Programme",
    "User",
    "UtilizationSample",
    "metadata",
]
