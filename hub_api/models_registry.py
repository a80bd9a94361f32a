"""Imports every table model so that ``metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

from hub_api.audit.models import AuditEvent
from hub_api.auth.models import ApiToken
from hub_api.cluster.models import ClusterNode
from hub_api.companies.models import Company
from hub_api.jobs.models import CodeBundle, Job, JobEvent
from hub_api.users.models import User

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "AuditEvent",
    "ClusterNode",
    "CodeBundle",
    "Company",
    "Job",
    "JobEvent",
    "User",
    "metadata",
]
