"""One consultation case: status and history, comments, attachments; staff also work it."""

from __future__ import annotations

from functools import partial
from typing import Any

import streamlit as st

from portal import case_staff, widgets
from portal.formatting import fmt_date, fmt_datetime, fmt_number, label
from portal.state import act, call, client, load, locale, quietly, require_user, selected, t

me = require_user()
hub = client()
loc = locale()
staff = me["role"] != "engineer"
case_id = selected("case_id", "case.none_selected")
case: dict[str, Any] = load(partial(hub.case, case_id))

st.title(f"#{case['id']} {case['title']}")
cols = st.columns(4)
cols[0].metric(t("case.status"), widgets.case_status(case["status"]))
cols[1].metric(t("case.service_type"), label(loc, "service_type", case["service_type"]))
cols[2].metric(t("case.sla"), widgets.sla_flag(case))
cols[3].metric(t("case.created_at"), fmt_date(case["created_at"], loc))
st.write(case["description"])

tab_names = [t("case.tab_activity"), t("case.tab_attachments")]
if staff:
    tab_names += [t("case.tab_company"), t("case.tab_assessment"), t("case.tab_grant")]
tabs = st.tabs(tab_names)

with tabs[0]:
    left, right = st.columns([3, 2])
    with left:
        st.markdown(f"#### {t('case.comments')}")
        comments = call(lambda: hub.comments(case["id"])) or []
        people = {u["id"]: u for u in quietly(hub.users) or []} if comments else {}
        for comment in comments:
            internal = comment["visibility"] == "internal"
            author = people.get(comment["author_id"])
            from_hub = author is None or author["role"] != "engineer"
            with st.chat_message(
                "hub" if from_hub else "company",
                avatar=":material/support_agent:" if from_hub else ":material/factory:",
            ):
                name = author["full_name"] if author else t("case.hub_staff")
                tag = f" · :orange-badge[:material/lock: {t('case.internal')}]" if internal else ""
                st.caption(f"**{name}** · {fmt_datetime(comment['created_at'], loc)}{tag}")
                st.write(comment["body"])
        with st.form("comment", clear_on_submit=True):
            body = st.text_area(t("case.new_comment"), key="comment_body")
            visibility = "shared"
            if staff:
                visibility = st.radio(
                    t("case.visibility"),
                    ("shared", "internal"),
                    format_func=lambda v: t(f"case.visibility_{v}"),
                    horizontal=True,
                    key="comment_visibility",
                )
            posted = st.form_submit_button(t("case.post_comment"))
            if (
                posted
                and body.strip()
                and act(partial(hub.add_comment, case["id"], body.strip(), visibility))
            ):
                st.rerun()
    with right:
        st.markdown(f"#### {t('case.history')}")
        for move in call(lambda: hub.case_transitions(case["id"])) or []:
            st.markdown(
                f"**{label(loc, 'case_status', move['from_status'])} → "
                f"{label(loc, 'case_status', move['to_status'])}**  \n"
                f"{fmt_datetime(move['at'], loc)} · {move['reason']}"
            )
        case_staff.transition_form(case, staff=staff)

with tabs[1]:
    for item in call(lambda: hub.attachments(case["id"])) or []:
        size = fmt_number(item["size_bytes"] / 1024, loc, 1)
        a_cols = st.columns([4, 1])
        a_cols[0].write(
            f":material/attach_file: {item['filename']} · {size} KB · "
            f"{fmt_datetime(item['created_at'], loc)}"
        )
        content = call(partial(hub.attachment_bytes, case["id"], item["id"]))
        if content is not None:
            a_cols[1].download_button(
                t("case.download"), content, file_name=item["filename"], key=f"dl_{item['id']}"
            )
    upload = st.file_uploader(t("case.upload"), key="attachment_upload")
    if upload is not None and st.button(t("case.upload_button")):
        with st.spinner(t("common.uploading")):
            mime = upload.type or "application/octet-stream"
            add = partial(hub.add_attachment, case["id"], upload.name, upload.getvalue(), mime)
            done = call(add)
        if done:
            st.success(t("case.uploaded"))

if staff:
    with tabs[2]:
        case_staff.company_profile(case["company_id"])
    with tabs[3]:
        case_staff.assessment(case)
    with tabs[4]:
        case_staff.grant_proposal(case, me)
