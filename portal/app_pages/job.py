"""One GPU job: status timeline, queue position and reason, live log tail, metric charts."""

from __future__ import annotations

from functools import partial
from typing import Any

import streamlit as st

from portal import analytics, charts, widgets
from portal.formatting import (
    fmt_datetime,
    fmt_duration,
    fmt_gpu_hours,
    fmt_number,
    hub_note,
    label,
    wait_text,
)
from portal.state import act, call, client, load, locale, require_user, selected, t

me = require_user()
hub = client()
loc = locale()
job_id = selected("job_id", "job.none_selected")
job: dict[str, Any] = load(partial(hub.job, job_id))
active = job["status"] in analytics.ACTIVE_JOB_STATUSES

st.title(f"#{job['id']} {job['name']}")
top = st.columns([1, 1, 1, 1, 1])
if top[4].button(t("job.refresh"), icon=":material/refresh:", key="job_refresh"):
    st.rerun()


@st.fragment(run_every=3 if active else None)
def live() -> None:
    current = call(lambda: hub.job(job_id)) or job
    if active and current["status"] not in analytics.ACTIVE_JOB_STATUSES:
        st.rerun()  # the whole page: its actions (cancel) change with the status
    cols = st.columns(4)
    cols[0].metric(t("job.status"), widgets.job_status(current["status"]))
    cols[1].metric(
        t("job.gpus"),
        f"{fmt_number(current['num_gpus'], loc, 2)} "
        f"{current.get('assigned_gpu_type') or current.get('gpu_type') or ''}",
    )
    cols[2].metric(t("job.runtime"), fmt_duration(analytics.job_age_seconds(current), loc))
    charged = current.get("charged_gpu_seconds")
    cols[3].metric(
        t("job.charged"), fmt_gpu_hours(charged / 3600, loc) if charged is not None else "—"
    )
    if current["status"] == "queued":
        st.info(
            t(
                "job.waiting",
                position=current.get("queue_position") or "—",
                reason=wait_text(loc, current.get("wait_code"), current.get("wait_reason")),
            )
        )
        if current.get("estimated_start_at"):
            st.caption(
                t("submit.estimated_start", at=fmt_datetime(current["estimated_start_at"], loc))
            )
    elif hub_note(loc, current.get("status_reason")):
        st.caption(hub_note(loc, current.get("status_reason")))

    left, right = st.columns([2, 3])
    with left:
        st.markdown(f"#### {t('job.timeline')}")
        for event in call(lambda: hub.job_events(job_id)) or []:
            note = hub_note(loc, event.get("reason"))
            reason = f" — {note}" if note else ""
            st.markdown(
                f"{widgets.JOB_STATUS_ICON.get(event['kind'], '-')} "
                f"**{label(loc, 'job_event', event['kind'])}** "
                f"· {fmt_datetime(event['at'], loc)}{reason}"
            )
    with right:
        st.markdown(f"#### {t('job.metrics')}")
        metrics = call(lambda: hub.job_metrics(job_id)) if current["status"] != "queued" else None
        if metrics and metrics.points:
            st.altair_chart(
                charts.metrics(
                    metrics.points, step_title=t("chart.epoch"), value_title=t("chart.value")
                ),
                width="stretch",
            )
            st.caption(t(f"job.metrics_source_{metrics.source}"))
        else:
            st.info(t("job.no_metrics"))
    st.markdown(f"#### {t('job.logs')}")
    if current["status"] == "queued":
        st.caption(t("job.no_logs_yet"))
    else:
        logs = call(lambda: hub.job_logs(job_id, tail_lines=200))
        if logs is not None:
            st.code(logs["text"] or t("job.empty_log"), language=None, height=300)


live()

if (
    active
    and me["role"] in ("engineer", "operator", "admin")
    and top[0].button(t("job.cancel"), key="job_cancel")
    and act(partial(hub.cancel_job, job_id))
):
    st.rerun()
