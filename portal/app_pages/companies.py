"""Admin: companies."""

from __future__ import annotations

import streamlit as st

from portal.formatting import fmt_datetime, fmt_number, label
from portal.state import call, client, locale, require_user, t

REGIONS = (
    "seoul",
    "busan",
    "daegu",
    "incheon",
    "gwangju",
    "daejeon",
    "ulsan",
    "sejong",
    "gyeonggi",
    "gangwon",
    "chungbuk",
    "chungnam",
    "jeonbuk",
    "jeonnam",
    "gyeongbuk",
    "gyeongnam",
    "jeju",
)

require_user()
hub = client()
loc = locale()
st.title(t("nav.companies"))
companies = call(hub.companies) or []
st.dataframe(
    [
        {
            "ID": c["id"],
            t("company.name"): c["name"],
            t("company.brn"): c["business_registration_number"],
            t("company.region"): label(loc, "region", c["region"]),
            t("company.ksic"): c["industry_ksic"],
            t("company.employees"): fmt_number(c["employees"], loc),
            t("company.maturity"): c.get("smart_factory_level")
            if c.get("smart_factory_level") is not None
            else "—",
            t("common.created_at"): fmt_datetime(c["created_at"], loc),
        }
        for c in companies
    ],
    hide_index=True,
)
with st.form("new_company", clear_on_submit=True):
    st.markdown(f"#### {t('company.new')}")
    cols = st.columns(3)
    name = cols[0].text_input(t("company.name"), key="co_name")
    brn = cols[1].text_input(t("company.brn"), placeholder="123-45-67890", key="co_brn")
    region = cols[2].selectbox(
        t("company.region"), REGIONS, format_func=lambda r: label(loc, "region", r), key="co_region"
    )
    cols = st.columns(3)
    ksic = cols[0].text_input(t("company.ksic"), placeholder="29229", key="co_ksic")
    employees = cols[1].number_input(
        t("company.employees"), min_value=1, value=50, key="co_employees"
    )
    level = cols[2].number_input(
        t("company.maturity"), min_value=0, max_value=5, value=1, key="co_level"
    )
    if st.form_submit_button(t("company.create"), type="primary"):
        body = {
            "name": name.strip(),
            "business_registration_number": brn.strip(),
            "region": region,
            "industry_ksic": ksic.strip(),
            "employees": int(employees),
            "smart_factory_level": int(level),
        }
        with st.spinner(t("common.saving")):
            created = call(lambda: hub.create_company(body))
        if created:
            st.success(t("company.created", name=created["name"]))
