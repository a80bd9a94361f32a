"""Hub staff: open cases per consultant, by stage, with overdue counts."""

from __future__ import annotations

import streamlit as st

from portal import charts
from portal.formatting import label
from portal.state import call, client, locale, require_user, t

require_user()
hub = client()
loc = locale()
st.title(t("nav.caseload"))
rows = call(hub.caseload) or []
if not rows:
    st.info(t("common.empty"))
    st.stop()
st.dataframe(
    [
        {
            t("caseload.consultant"): r["consultant_email"],
            t("caseload.open"): r["open_cases"],
            t("caseload.overdue"): r["overdue"],
            **{label(loc, "case_status", s): n for s, n in r["by_status"].items()},
        }
        for r in rows
    ],
    hide_index=True,
)
bars = [
    {"consultant": r["consultant_email"], "stage": label(loc, "case_status", s), "cases": n}
    for r in rows
    for s, n in r["by_status"].items()
]
if bars:
    st.altair_chart(
        charts.grouped_bars(
            bars,
            x="consultant",
            y="cases",
            group="stage",
            x_title=t("caseload.consultant"),
            y_title=t("caseload.open"),
        ),
        width="stretch",
    )
