"""Inventory kept in step with the cluster by the scheduler; drain flags set by operators."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from hub_api.audit import service as audit
from hub_api.cluster.models import ClusterNode, ClusterNodePublic
from hub_api.core.authz import Principal
from hub_api.core.db import commit_or_conflict
from hub_api.core.errors import NotFoundError
from hub_api.jobs.models import Job, JobStatus
from scheduler.core.model import GpuNode

HOLDING_GPUS = (JobStatus.starting, JobStatus.running)


def sync_inventory(
    *, session: Session, nodes: Sequence[GpuNode], at: datetime
) -> list[ClusterNode]:
    """Upsert what the cluster reports; nodes it no longer reports are marked not alive.
    Drain flags are the hub's own and survive. The caller commits."""
    known = {node.node_id: node for node in session.exec(select(ClusterNode)).all()}
    seen = set()
    for node in nodes:
        seen.add(node.node_id)
        row = known.get(node.node_id) or ClusterNode(
            node_id=node.node_id, gpu_type=node.gpu_type, gpu_count=0
        )
        row.gpu_type, row.gpu_count, row.alive, row.last_seen_at = (
            node.gpu_type,
            node.gpu_count,
            True,
            at,
        )
        session.add(row)
        known[node.node_id] = row
    for node_id, row in known.items():
        if node_id not in seen and row.alive:
            row.alive = False
            session.add(row)
    return sorted(known.values(), key=lambda row: row.node_id)


def allocations(session: Session) -> dict[str, list[tuple[Job, float]]]:
    """Per node: the jobs holding GPUs there and how many."""
    held: dict[str, list[tuple[Job, float]]] = defaultdict(list)
    jobs = session.exec(select(Job).where(col(Job.status).in_(list(HOLDING_GPUS)))).all()
    for job in jobs:
        per_node: dict[str, float] = defaultdict(float)
        for share in job.placement:
            per_node[str(share["node_id"])] += float(share.get("fraction", 1.0))
        for node_id, gpus in per_node.items():
            held[node_id].append((job, gpus))
    return held


def list_nodes(*, session: Session) -> list[ClusterNodePublic]:
    held = allocations(session)
    rows = session.exec(select(ClusterNode).order_by(col(ClusterNode.node_id))).all()
    return [
        ClusterNodePublic.model_validate(
            row, update={"allocated_gpus": sum(g for _, g in held.get(row.node_id, []))}
        )
        for row in rows
    ]


def get_node(*, session: Session, node_id: str) -> ClusterNode:
    row = session.exec(select(ClusterNode).where(ClusterNode.node_id == node_id)).first()
    if row is None:
        raise NotFoundError(f"node '{node_id}' not found")
    return row


def set_draining(
    *, session: Session, actor: Principal, node: ClusterNode, draining: bool, reason: str | None
) -> ClusterNode:
    before = audit.snapshot(node)
    node.draining = draining
    node.drain_reason = reason if draining else None
    session.add(node)
    audit.record(
        session=session,
        actor=actor,
        action="node.drain" if draining else "node.undrain",
        object_type="node",
        object_id=node.node_id,
        before=before,
        after=audit.snapshot(node),
    )
    commit_or_conflict(session, conflict_message="could not change the node; retry")
    return node
