"""A company's space in MLflow: its workspace, its MLflow user (secret encrypted) and experiment."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hub_api.core.models import created_at_field, timestamp_field


class MlflowTenant(SQLModel, table=True):
    __tablename__ = "mlflow_tenant"

    company_id: int = Field(foreign_key="company.id", primary_key=True)
    workspace: str = Field(max_length=63, unique=True)
    username: str = Field(max_length=100, unique=True)
    password_encrypted: str = Field(max_length=500, description="Fernet token, see secrets.py")
    experiment_id: str | None = Field(default=None, max_length=40)
    role_id: int | None = None
    provisioned_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
