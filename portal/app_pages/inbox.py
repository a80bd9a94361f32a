"""Hub staff: the case inbox (with SLA flags) and the board by stage."""

from __future__ import annotations

import streamlit as st

from portal import analytics, widgets
from portal.formatting import fmt_datetime, label
from portal.state import call, client, go, locale, require_user, t

me = require_user()
hub = client()
loc = locale()
st.title(t("nav.inbox"))
with st.spinner(t("common.loading")):
    cases = call(hub.cases) or []
    names = analytics.company_names(call(hub.companies) or [])

open_cases = [c for c in cases if c["status"] in analytics.OPEN_CASE_STATUSES]
cols = st.columns(4)
cols[0].metric(t("inbox.open"), len(open_cases))
cols[1].metric(t("inbox.unassigned"), sum(1 for c in open_cases if c["assignee_id"] is None))
cols[2].metric(t("inbox.mine"), sum(1 for c in open_cases if c["assignee_id"] == me["id"]))
cols[3].metric(t("inbox.overdue"), sum(1 for c in open_cases if analytics.is_overdue(c)))

tab_inbox, tab_board = st.tabs([t("inbox.tab_inbox"), t("inbox.tab_board")])
with tab_inbox:
    only_overdue = st.toggle(t("inbox.only_overdue"), key="inbox_overdue")
    shown = [c for c in open_cases if analytics.is_overdue(c)] if only_overdue else open_cases
    picked = widgets.cases_table(shown, names, key="inbox_table")
    if picked:
        go("app_pages/case.py", case_id=picked)
with tab_board:
    columns = analytics.board(cases)
    board_cols = st.columns(len(columns))
    for col, (stage, items) in zip(board_cols, columns.items(), strict=True):
        with col:
            st.markdown(f"**{widgets.case_status(stage)}** ({len(items)})")
            for case in items[:20]:
                with st.container(border=True):
                    flag = widgets.sla_badge(case) + " " if analytics.is_overdue(case) else ""
                    st.markdown(f"{flag}**#{case['id']}** {case['title']}")
                    st.caption(
                        f"{names.get(case['company_id'], '')} · "
                        f"{label(loc, 'service_type', case['service_type'])}"
                        f" · {fmt_datetime(case['status_changed_at'], loc)}"
                    )
                    if st.button(t("inbox.open_case"), key=f"board_{case['id']}"):
                        go("app_pages/case.py", case_id=case["id"])
