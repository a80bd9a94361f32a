"""Operator: grant proposals waiting for a decision (four eyes), and all grants."""

from __future__ import annotations

from datetime import date
from functools import partial

import streamlit as st

from portal import analytics
from portal.formatting import fmt_date, fmt_datetime, fmt_gpu_hours, label
from portal.state import call, client, locale, require_user, t

me = require_user()
hub = client()
loc = locale()
st.title(t("nav.grants"))
grants = call(hub.grants) or []
names = analytics.company_names(call(hub.companies) or [])
proposed = [g for g in grants if g["status"] == "proposed"]
st.subheader(t("grants.pending", count=len(proposed)))
if not proposed:
    st.info(t("grants.none_pending"))
for grant in proposed:
    with st.container(border=True):
        st.markdown(
            f"**{names.get(grant['company_id'], '')}** · {grant['project_number']} · "
            f"{fmt_gpu_hours(grant['gpu_hours'], loc)} · {grant['gpu_type'] or t('common.any')}"
        )
        st.caption(
            f"{t('grants.case')} #{grant['case_id']} · "
            + t(
                "grants.window",
                start=fmt_date(grant["valid_from"], loc),
                end=fmt_date(grant["valid_until"], loc),
            )
        )
        st.write(grant["purpose"])
        inputs = st.columns(3)
        reason = inputs[0].text_input(t("grants.reason"), key=f"grant_reason_{grant['id']}")
        number = inputs[1].text_input(
            t("grants.agreement_number"),
            value=grant.get("agreement_number") or "",
            key=f"grant_no_{grant['id']}",
        )
        signed = inputs[2].date_input(
            t("grants.agreement_signed_on"),
            format="YYYY.MM.DD" if loc == "ko" else "YYYY/MM/DD",
            key=f"grant_signed_{grant['id']}",
        )
        cols = st.columns(6)
        if cols[0].button(t("grants.approve"), type="primary", key=f"approve_{grant['id']}"):
            approve = partial(
                hub.decide_grant,
                grant["id"],
                "approve",
                reason.strip() or None,
                agreement_number=number.strip() or None,
                agreement_signed_on=signed.isoformat() if isinstance(signed, date) else None,
            )
            if call(approve):
                st.rerun()
        if cols[1].button(t("grants.reject"), key=f"reject_{grant['id']}"):
            if not reason.strip():
                st.warning(t("grants.reason_required"))
            elif call(partial(hub.decide_grant, grant["id"], "reject", reason.strip())):
                st.rerun()

st.subheader(t("grants.all"))
st.dataframe(
    [
        {
            t("grant.project_number"): g["project_number"],
            t("common.company"): names.get(g["company_id"], ""),
            t("grant.gpu_hours"): fmt_gpu_hours(g["gpu_hours"], loc),
            t("grant.status"): label(loc, "grant_status", g["status"]),
            t("grant.valid_until"): fmt_date(g["valid_until"], loc),
            t("grants.decided_at"): fmt_datetime(g.get("decided_at"), loc),
        }
        for g in grants
    ],
    hide_index=True,
)
