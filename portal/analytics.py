"""Pure views over API data for the pages' tables and charts (no Streamlit, no HTTP)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from portal.formatting import hub_local, parse_dt

Json = dict[str, Any]

ACTIVE_JOB_STATUSES = ("queued", "starting", "running")
OPEN_CASE_STATUSES = ("submitted", "triaged", "in_progress", "poc")
BOARD_STAGES = ("submitted", "triaged", "in_progress", "poc", "completed")
TERMINAL_JOB_STATUSES = ("succeeded", "failed", "cancelled", "timed_out", "preempted", "rejected")


def burn_down(ledgers: Iterable[Json], now: datetime | None = None) -> list[Json]:
    """Remaining GPU-hours after each ledger entry, in time order (entries are GPU-seconds),
    carried on to ``now``."""
    entries = sorted(ledgers, key=lambda e: str(e["created_at"]))
    remaining = 0.0
    rows: list[Json] = []
    for entry in entries:
        remaining += float(entry["gpu_seconds"]) / 3600
        rows.append({"at": hub_local(entry["created_at"]), "remaining": round(remaining, 3)})
    if rows:
        rows.append({"at": hub_local(now or datetime.now(UTC)), "remaining": rows[-1]["remaining"]})
    return rows


def company_names(companies: Iterable[Json]) -> dict[int, str]:
    return {int(c["id"]): str(c["name"]) for c in companies}


def gpu_grid(nodes: list[Json], allocations: list[Json], names: dict[int, str]) -> list[Json]:
    """One row per GPU slot: node, slot, holder (company name, or None when free)."""
    by_node: dict[str, list[Json]] = defaultdict(list)
    for alloc in allocations:
        by_node[str(alloc["node_id"])].append(alloc)
    rows: list[Json] = []
    for node in sorted(nodes, key=lambda n: str(n["node_id"])):
        holders: list[tuple[int, int]] = []  # (company, job) per whole GPU slot
        for alloc in sorted(by_node[str(node["node_id"])], key=lambda a: int(a["job_id"])):
            slots = max(1, round(float(alloc["gpus"]) + 0.49))
            holders.extend([(int(alloc["company_id"]), int(alloc["job_id"]))] * slots)
        for slot in range(int(node["gpu_count"])):
            company_id, job_id = holders[slot] if slot < len(holders) else (None, None)
            rows.append(
                {
                    "node": str(node["node_id"]),
                    "gpu_type": node["gpu_type"],
                    "slot": slot,
                    "company": names.get(company_id, f"#{company_id}") if company_id else None,
                    "job_id": job_id,
                    "draining": bool(node.get("draining")),
                    "alive": bool(node.get("alive", True)),
                }
            )
    return rows


def allocation_over_time(jobs: list[Json], names: dict[int, str], now: datetime) -> list[Json]:
    """GPUs held per company at every start/end moment of the given jobs (a step series)."""
    changes: list[tuple[datetime, int, float]] = []
    for job in jobs:
        started = parse_dt(job.get("started_at"))
        if started is None:
            continue
        ended = parse_dt(job.get("ended_at"))
        gpus = float(job.get("num_gpus") or 0)
        changes.append((started, int(job["company_id"]), gpus))
        if ended is not None:  # still running: it holds its GPUs up to now
            changes.append((ended, int(job["company_id"]), -gpus))
    changes.sort(key=lambda c: c[0])
    held: dict[int, float] = defaultdict(float)
    companies = sorted({c for _, c, _ in changes})
    # one row per (moment, company): simultaneous changes must not stack twice
    snapshot: dict[tuple[datetime, int], float] = {}
    for moment, company_id, delta in [*changes, (now, -1, 0.0)]:
        if company_id >= 0:
            held[company_id] = max(0.0, held[company_id] + delta)
        for cid in companies:
            snapshot[(moment, cid)] = held[cid]
    return [
        {"at": hub_local(moment), "company": names.get(cid, f"#{cid}"), "gpus": gpus}
        for (moment, cid), gpus in sorted(snapshot.items(), key=lambda kv: kv[0][0])
    ]


def allocation_from_samples(points: list[Json], names: dict[int, str]) -> list[Json]:
    """The scheduler's utilization samples (per company, all GPU types) as chart rows."""
    return [
        {
            "at": hub_local(p["at"]),
            "company": names.get(int(p["company_id"]), f"#{p['company_id']}"),
            "gpus": float(p["allocated_gpus"]),
        }
        for p in sorted(points, key=lambda p: str(p["at"]))
        if p.get("company_id") is not None and p.get("gpu_type") in ("*", None)
    ]


def fair_share(jobs: list[Json], nodes: list[Json], names: dict[int, str]) -> list[Json]:
    """Per company with active jobs: GPUs held, GPUs waited for, and its equal share."""
    total_gpus = sum(int(n["gpu_count"]) for n in nodes if not n.get("draining"))
    held: dict[int, float] = defaultdict(float)
    waiting: dict[int, float] = defaultdict(float)
    queued: dict[int, int] = defaultdict(int)
    for job in jobs:
        cid = int(job["company_id"])
        if job["status"] in ("starting", "running"):
            held[cid] += float(job["num_gpus"])
        elif job["status"] == "queued":
            waiting[cid] += float(job["num_gpus"])
            queued[cid] += 1
    active = sorted(set(held) | set(waiting))
    share = total_gpus / len(active) if active else 0.0
    return [
        {
            "company": names.get(cid, f"#{cid}"),
            "held": held[cid],
            "waiting": waiting[cid],
            "queued_jobs": queued[cid],
            "fair_share": round(share, 2),
            "ratio": round(held[cid] / share, 2) if share else 0.0,
        }
        for cid in active
    ]


def usage_vs_grants(budgets: dict[int, Json], names: dict[int, str]) -> list[Json]:
    rows = []
    for cid, budget in sorted(budgets.items(), key=lambda kv: names.get(kv[0], "")):
        granted = float(budget["granted_gpu_hours"])
        used = float(budget["used_gpu_hours"])
        rows.append(
            {
                "company": names.get(cid, f"#{cid}"),
                "granted": granted,
                "used": used,
                "balance": float(budget["balance_gpu_hours"]),
                "used_fraction": used / granted if granted else 0.0,
            }
        )
    return rows


def board(cases: list[Json]) -> dict[str, list[Json]]:
    columns: dict[str, list[Json]] = {stage: [] for stage in BOARD_STAGES}
    for case in cases:
        if case["status"] in columns:
            columns[case["status"]].append(case)
    return columns


def is_overdue(case: Json) -> bool:
    sla = case.get("sla") or {}
    return bool(sla.get("first_response_overdue") or sla.get("stage_overdue"))


def assessment_rows(assessments: list[Json]) -> list[Json]:
    """Dimension scores per phase (T0 before, T1 after) for a grouped bar chart."""
    latest: dict[str, Json] = {}
    for item in sorted(assessments, key=lambda a: str(a["created_at"])):
        latest[str(item["phase"])] = item
    return [
        {"phase": phase, "dimension": dimension, "score": float(score)}
        for phase, item in sorted(latest.items())
        for dimension, score in item["dimension_scores"].items()
    ]


def job_age_seconds(job: Json, now: datetime | None = None) -> float | None:
    start = parse_dt(job.get("started_at"))
    if start is None:
        return None
    end = parse_dt(job.get("ended_at")) or now or datetime.now(UTC)
    return (end - start).total_seconds()


def free_gpus(nodes: list[Json], gpu_type: str | None) -> float:
    """GPUs free now on schedulable nodes (of ``gpu_type``, or any type)."""
    return sum(
        float(n["gpu_count"]) - float(n.get("allocated_gpus") or 0)
        for n in nodes
        if n.get("alive", True) and not n.get("draining") and gpu_type in (None, n["gpu_type"])
    )


def validate_job(
    *,
    name: str,
    num_gpus: float,
    time_limit_h: float,
    available_gpu_hours: float | None,
    needs_entrypoint: bool,
    entrypoint: str,
    has_code: bool,
) -> list[tuple[str, dict[str, object]]]:
    """Problems with a job form, as (message key, values); empty when it may be submitted."""
    problems: list[tuple[str, dict[str, object]]] = []
    if not name.strip():
        problems.append(("submit.err_name", {}))
    if num_gpus <= 0:
        problems.append(("submit.err_gpus", {}))
    if time_limit_h <= 0:
        problems.append(("submit.err_time", {}))
    if needs_entrypoint and not has_code:
        problems.append(("submit.err_code", {}))
    if needs_entrypoint and not entrypoint.strip():
        problems.append(("submit.err_entrypoint", {}))
    need = num_gpus * time_limit_h
    if available_gpu_hours is not None and need > available_gpu_hours + 1e-9:
        problems.append(
            ("submit.err_budget", {"need": round(need, 1), "left": round(available_gpu_hours, 1)})
        )
    return problems
