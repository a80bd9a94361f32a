"""SME engineer: the company's home (budget and burn-down, active jobs, open cases, models)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from portal import analytics, charts, widgets
from portal.api_client import HubApiError
from portal.formatting import fmt_datetime, fmt_gpu_hours, fmt_percent, label
from portal.state import call, client, go, locale, require_user, t

me = require_user()
hub = client()
loc = locale()
company_id = me["company_id"]

with st.spinner(t("common.loading")):
    company = call(lambda: hub.get_company(company_id))
    budget = call(lambda: hub.budget(company_id))
    active_jobs = call(lambda: hub.jobs(active=True)) or []
    cases = call(lambda: hub.cases()) or []

st.title(company["name"] if company else t("nav.home"))
st.caption(t("home.greeting", name=me["full_name"]))

st.subheader(t("home.budget"))
if budget:
    widgets.budget_metrics(budget)
    ledgers = [
        e for g in budget["grants"] for e in (call(partial(hub.grant_ledger, g["grant_id"])) or [])
    ]
    if ledgers:
        st.altair_chart(
            charts.burn_down(
                analytics.burn_down(ledgers),
                x_title=t("chart.time"),
                y_title=t("chart.remaining_gpu_hours"),
            ),
            width="stretch",
        )
    if budget["grants"]:
        st.dataframe(
            [
                {
                    t("grant.project_number"): g["project_number"],
                    t("grant.status"): label(loc, "grant_status", g["status"]),
                    t("grant.gpu_type"): g["gpu_type"] or t("common.any"),
                    t("grant.valid_until"): fmt_datetime(g["valid_until"], loc),
                    t("budget.granted"): fmt_gpu_hours(g["granted_gpu_hours"], loc),
                    t("budget.balance"): fmt_gpu_hours(g["balance_gpu_hours"], loc),
                    t("budget.used_fraction"): fmt_percent(g["used_fraction"], loc, 1),
                }
                for g in budget["grants"]
            ],
            hide_index=True,
        )
    else:
        st.info(t("home.no_grants"))

left, right = st.columns(2)
with left:
    st.subheader(t("home.active_jobs"))
    picked = widgets.jobs_table(active_jobs, key="home_jobs")
    if picked:
        go("app_pages/job.py", job_id=picked)
    if st.button(t("nav.submit_job"), icon=":material/rocket_launch:"):
        st.switch_page("app_pages/submit_job.py")
with right:
    st.subheader(t("home.open_cases"))
    open_cases = [c for c in cases if c["status"] in analytics.OPEN_CASE_STATUSES]
    picked_case = widgets.cases_table(open_cases, key="home_cases")
    if picked_case:
        go("app_pages/case.py", case_id=picked_case)

st.subheader(t("home.latest_models"))
try:
    models = hub.models()
except HubApiError as exc:
    models = []
    st.caption(t("models.unavailable", detail=exc.detail))
if models is None:
    st.info(t("models.not_available"))
elif models:
    st.dataframe(
        [
            {
                t("models.name"): m["name"],
                t("models.latest_version"): ", ".join(
                    str(v.get("version")) for v in m.get("latest_versions") or []
                )
                or "—",
                t("models.aliases"): ", ".join(
                    f"{alias} → {version}" for alias, version in (m.get("aliases") or {}).items()
                )
                or "—",
            }
            for m in models[:5]
        ],
        hide_index=True,
    )
else:
    st.info(t("models.none_short"))
