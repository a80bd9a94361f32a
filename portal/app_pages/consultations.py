"""SME engineer: the company's consultation cases, and a form to request a new one."""

from __future__ import annotations

import streamlit as st

from portal import widgets
from portal.formatting import label
from portal.state import call, client, go, locale, require_user, t

SERVICE_TYPES = (
    "quality_inspection",
    "predictive_maintenance",
    "demand_forecasting",
    "process_optimisation",
    "generative_ai",
    "data_infrastructure",
    "training",
)

require_user()
hub = client()
loc = locale()
st.title(t("nav.consultations"))

with st.expander(t("consult.request"), expanded=False, icon=":material/add_comment:"):
    with st.form("new_case", clear_on_submit=True):
        title = st.text_input(t("case.title"), max_chars=200, key="case_title")
        service_type = st.selectbox(
            t("case.service_type"),
            SERVICE_TYPES,
            format_func=lambda s: label(loc, "service_type", s),
            key="case_service_type",
        )
        description = st.text_area(t("case.description"), key="case_description")
        submitted = st.form_submit_button(t("consult.submit"), type="primary")
    if submitted:
        if len(title.strip()) < 3 or len(description.strip()) < 10:
            st.warning(t("consult.too_short"))
        else:
            created = call(
                lambda: hub.create_case(
                    {
                        "title": title.strip(),
                        "service_type": service_type,
                        "description": description.strip(),
                    }
                )
            )
            if created:
                st.success(t("consult.created", id=created["id"]))
                st.session_state["case_id"] = created["id"]

cases = call(hub.cases) or []
st.subheader(t("consult.my_cases"))
picked = widgets.cases_table(cases, key="consult_cases")
if picked:
    go("app_pages/case.py", case_id=picked)
