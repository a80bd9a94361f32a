from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from hub_api.cluster import service
from hub_api.cluster.models import ClusterNode, ClusterNodePublic, DrainRequest
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.db import SessionDep

router = APIRouter(prefix="/cluster", tags=["cluster"])
NodeId = Annotated[str, Path(min_length=1, max_length=100)]
Manager = Annotated[Principal, Depends(require(Permission.cluster_manage))]


class GpuAllocation(BaseModel):
    node_id: str
    job_id: int
    company_id: int
    gpus: float
    gpu_type: str | None


@router.get("/nodes", response_model=list[ClusterNodePublic], summary="GPU nodes and their load")
def list_nodes(
    session: SessionDep, _: Annotated[Principal, Depends(require(Permission.cluster_read))]
) -> list[ClusterNodePublic]:
    return service.list_nodes(session=session)


@router.get(
    "/allocations",
    response_model=list[GpuAllocation],
    summary="Which company's job holds which GPUs (staff)",
)
def list_allocations(session: SessionDep, _: Manager) -> list[GpuAllocation]:
    return [
        GpuAllocation(
            node_id=node_id,
            job_id=job.id or 0,
            company_id=job.company_id,
            gpus=gpus,
            gpu_type=job.assigned_gpu_type,
        )
        for node_id, held in sorted(service.allocations(session).items())
        for job, gpus in held
    ]


@router.post("/nodes/{node_id}/drain", response_model=ClusterNodePublic, summary="Drain a node")
def drain_node(
    session: SessionDep, actor: Manager, node_id: NodeId, data: DrainRequest
) -> ClusterNode:
    node = service.get_node(session=session, node_id=node_id)
    return service.set_draining(
        session=session, actor=actor, node=node, draining=True, reason=data.reason
    )


@router.post(
    "/nodes/{node_id}/undrain", response_model=ClusterNodePublic, summary="Return a node to service"
)
def undrain_node(session: SessionDep, actor: Manager, node_id: NodeId) -> ClusterNode:
    node = service.get_node(session=session, node_id=node_id)
    return service.set_draining(
        session=session, actor=actor, node=node, draining=False, reason=None
    )
