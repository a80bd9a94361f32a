"""Small UI pieces shared by pages: status badges, tables, the SLA flag."""

from __future__ import annotations

from typing import Any

import streamlit as st

from portal import analytics
from portal.formatting import fmt_date, fmt_datetime, fmt_gpu_hours, fmt_number, label
from portal.state import locale, t

Json = dict[str, Any]

# Material icons for markdown (tables and metrics show plain words: no emoji fonts needed).
JOB_STATUS_ICON = {
    "queued": ":gray[:material/schedule:]",
    "admitted": ":gray[:material/task_alt:]",
    "starting": ":blue[:material/rocket_launch:]",
    "running": ":blue[:material/play_circle:]",
    "succeeded": ":green[:material/check_circle:]",
    "failed": ":red[:material/error:]",
    "cancelled": ":gray[:material/cancel:]",
    "cancel_requested": ":gray[:material/cancel:]",
    "timed_out": ":orange[:material/timer_off:]",
    "preempted": ":orange[:material/undo:]",
    "requeued": ":orange[:material/replay:]",
    "rejected": ":red[:material/block:]",
    "lost": ":red[:material/link_off:]",
}


def job_status(status: str) -> str:
    return label(locale(), "job_status", status)


def case_status(status: str) -> str:
    return label(locale(), "case_status", status)


def sla_flag(case: Json) -> str:
    return t("case.overdue") if analytics.is_overdue(case) else t("case.on_time")


def sla_badge(case: Json) -> str:
    """The SLA flag for markdown: red when overdue."""
    if analytics.is_overdue(case):
        return f":red-badge[:material/alarm: {t('case.overdue')}]"
    return f":green-badge[{t('case.on_time')}]"


def jobs_table(jobs: list[Json], names: dict[int, str] | None = None, *, key: str) -> int | None:
    """A job table; returns the id of the row the user selected."""
    loc = locale()
    rows = [
        {
            t("job.id"): job["id"],
            t("job.name"): job["name"],
            **({t("common.company"): names.get(job["company_id"], "")} if names else {}),
            t("job.status"): job_status(job["status"]),
            t("job.gpus"): fmt_number(job["num_gpus"], loc, 1),
            t("job.queue_position"): job["queue_position"],
            t("job.submitted_at"): fmt_datetime(job["submitted_at"], loc),
        }
        for job in jobs
    ]
    return _selectable(rows, key=key, id_column=t("job.id"))


def cases_table(cases: list[Json], names: dict[int, str] | None = None, *, key: str) -> int | None:
    loc = locale()
    rows = [
        {
            t("case.id"): case["id"],
            t("case.title"): case["title"],
            **({t("common.company"): names.get(case["company_id"], "")} if names else {}),
            t("case.service_type"): label(loc, "service_type", case["service_type"]),
            t("case.status"): case_status(case["status"]),
            t("case.sla"): sla_flag(case),
            t("case.created_at"): fmt_date(case["created_at"], loc),
        }
        for case in cases
    ]
    return _selectable(rows, key=key, id_column=t("case.id"))


def _selectable(rows: list[Json], *, key: str, id_column: str) -> int | None:
    if not rows:
        st.info(t("common.empty"))
        return None
    event = st.dataframe(
        rows, hide_index=True, on_select="rerun", selection_mode="single-row", key=key
    )
    selected = getattr(getattr(event, "selection", None), "rows", None) or []
    return int(rows[selected[0]][id_column]) if selected else None


def budget_metrics(budget: Json) -> None:
    loc = locale()
    cols = st.columns(3)
    cols[0].metric(t("budget.available"), fmt_gpu_hours(budget["available_now_gpu_hours"], loc))
    cols[1].metric(t("budget.used"), fmt_gpu_hours(budget["used_gpu_hours"], loc))
    cols[2].metric(t("budget.granted"), fmt_gpu_hours(budget["granted_gpu_hours"], loc))
