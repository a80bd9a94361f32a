"""Operator: the queue with the scheduler's reasons, and fair share per company."""

from __future__ import annotations

import streamlit as st

from portal import analytics, charts, widgets
from portal.formatting import fmt_datetime, fmt_number, wait_text
from portal.state import call, client, go, locale, require_user, t

require_user()
hub = client()
loc = locale()
st.title(t("nav.queue"))
with st.spinner(t("common.loading")):
    jobs = call(lambda: hub.jobs(active=True)) or []
    nodes = call(hub.nodes) or []
    names = analytics.company_names(call(hub.companies) or [])

queued = sorted(
    (j for j in jobs if j["status"] == "queued"), key=lambda j: j.get("queue_position") or 10**6
)
cols = st.columns(3)
cols[0].metric(t("queue.queued"), len(queued))
cols[1].metric(t("queue.running"), sum(1 for j in jobs if j["status"] in ("starting", "running")))
cols[2].metric(t("queue.companies"), len({j["company_id"] for j in jobs}))

st.subheader(t("queue.waiting"))
if queued:
    st.dataframe(
        [
            {
                t("job.queue_position"): j.get("queue_position"),
                t("job.id"): j["id"],
                t("common.company"): names.get(j["company_id"], ""),
                t("job.name"): j["name"],
                t("job.gpus"): fmt_number(j["num_gpus"], loc, 2),
                t("job.wait_reason"): wait_text(loc, j.get("wait_code"), j.get("wait_reason")),
                t("job.estimated_start"): fmt_datetime(j.get("estimated_start_at"), loc),
            }
            for j in queued
        ],
        hide_index=True,
    )
else:
    st.info(t("queue.empty"))

st.subheader(t("queue.fair_share"))
share = analytics.fair_share(jobs, nodes, names)
if share:
    st.dataframe(
        [
            {
                t("common.company"): r["company"],
                t("queue.held"): fmt_number(r["held"], loc, 2),
                t("queue.waiting_gpus"): fmt_number(r["waiting"], loc, 2),
                t("queue.queued_jobs"): r["queued_jobs"],
                t("queue.share"): fmt_number(r["fair_share"], loc, 2),
                t("queue.ratio"): fmt_number(r["ratio"], loc, 2),
            }
            for r in share
        ],
        hide_index=True,
    )
    bars = [
        {
            "company": r["company"],
            "kind": t({"held": "queue.held", "fair_share": "queue.share"}[k]),
            "gpus": r[k],
        }
        for r in share
        for k in ("held", "fair_share")
    ]
    st.altair_chart(
        charts.grouped_bars(
            bars,
            x="company",
            y="gpus",
            group="kind",
            x_title=t("common.company"),
            y_title=t("chart.gpus"),
        ),
        width="stretch",
    )
else:
    st.info(t("common.empty"))

st.subheader(t("queue.running_jobs"))
picked = widgets.jobs_table(
    [j for j in jobs if j["status"] != "queued"], names, key="queue_running"
)
if picked:
    go("app_pages/job.py", job_id=picked)
