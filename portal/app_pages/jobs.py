"""SME engineer: the company's GPU jobs."""

from __future__ import annotations

import streamlit as st

from portal import widgets
from portal.formatting import label
from portal.state import call, client, go, locale, require_user, t

require_user()
hub = client()
loc = locale()
st.title(t("nav.jobs"))
statuses = (
    "queued",
    "starting",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "timed_out",
    "preempted",
)
chosen = st.multiselect(
    t("jobs.filter_status"),
    statuses,
    format_func=lambda s: label(loc, "job_status", s),
    key="jobs_filter",
)
with st.spinner(t("common.loading")):
    jobs = call(hub.jobs) or []
if chosen:
    jobs = [j for j in jobs if j["status"] in chosen]
picked = widgets.jobs_table(jobs, key="jobs_table")
if picked:
    go("app_pages/job.py", job_id=picked)
if st.button(t("nav.submit_job"), icon=":material/rocket_launch:", type="primary"):
    st.switch_page("app_pages/submit_job.py")
