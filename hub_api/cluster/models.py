"""The GPU inventory as the scheduler last saw it, plus the operators' drain flags."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hub_api.core.models import FORBID_EXTRA, timestamp_field


class ClusterNodeBase(SQLModel):
    node_id: str = Field(max_length=100, unique=True, index=True)
    gpu_type: str = Field(max_length=40)
    gpu_count: int = Field(ge=0)
    alive: bool = True
    draining: bool = False
    drain_reason: str | None = Field(default=None, max_length=300)


class ClusterNode(ClusterNodeBase, table=True):
    __tablename__ = "cluster_node"

    id: int | None = Field(default=None, primary_key=True)
    last_seen_at: datetime | None = timestamp_field()


class ClusterNodePublic(ClusterNodeBase):
    id: int
    last_seen_at: datetime | None
    allocated_gpus: float = 0.0


class DrainRequest(SQLModel):
    model_config = FORBID_EXTRA

    reason: str = Field(min_length=1, max_length=300)
