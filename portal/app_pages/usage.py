"""Operator: GPU-hours used by each company against its approved grants."""

from __future__ import annotations

from functools import partial

import streamlit as st

from portal import analytics, charts
from portal.formatting import fmt_gpu_hours, fmt_percent
from portal.state import call, client, locale, require_user, t

require_user()
hub = client()
loc = locale()
st.title(t("nav.usage"))
companies = call(hub.companies) or []
names = analytics.company_names(companies)
budgets: dict[int, dict[str, object]] = {}
progress = st.progress(0.0, text=t("common.loading"))
for index, company in enumerate(companies, start=1):
    budget = call(partial(hub.budget, company["id"]))
    if budget:
        budgets[company["id"]] = budget
    progress.progress(index / max(1, len(companies)), text=t("usage.loading", name=company["name"]))
progress.empty()
rows = analytics.usage_vs_grants(budgets, names)
if not rows:
    st.info(t("common.empty"))
    st.stop()
st.dataframe(
    [
        {
            t("common.company"): r["company"],
            t("budget.granted"): fmt_gpu_hours(r["granted"], loc),
            t("budget.used"): fmt_gpu_hours(r["used"], loc),
            t("budget.balance"): fmt_gpu_hours(r["balance"], loc),
            t("budget.used_fraction"): fmt_percent(r["used_fraction"], loc, 1),
        }
        for r in rows
    ],
    hide_index=True,
)
bars = [
    {"company": r["company"], "kind": t(f"budget.{k}"), "hours": r[k]}
    for r in rows
    for k in ("granted", "used")
]
st.altair_chart(
    charts.grouped_bars(
        bars,
        x="company",
        y="hours",
        group="kind",
        x_title=t("common.company"),
        y_title=t("chart.gpu_hours"),
    ),
    width="stretch",
)
