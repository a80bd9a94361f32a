"""Admin: users and roles."""

from __future__ import annotations

from functools import partial

import streamlit as st

from portal import analytics
from portal.formatting import fmt_datetime
from portal.state import act, call, client, locale, require_user, t

ROLES = ("engineer", "consultant", "operator", "admin")

me = require_user()
hub = client()
loc = locale()
st.title(t("nav.users"))
role_filter = st.selectbox(
    t("users.filter_role"),
    ("", *ROLES),
    format_func=lambda r: t(f"role.{r}") if r else t("common.all"),
    key="users_role",
)
users = call(lambda: hub.users(role=role_filter or None)) or []
names = analytics.company_names(call(hub.companies) or [])
st.dataframe(
    [
        {
            "ID": u["id"],
            t("users.email"): u["email"],
            t("users.name"): u["full_name"],
            t("users.role"): t(f"role.{u['role']}"),
            t("common.company"): names.get(u["company_id"], "—") if u["company_id"] else "—",
            t("users.active"): t("common.yes") if u["is_active"] else t("common.no"),
            t("users.last_login"): fmt_datetime(u.get("last_login_at"), loc),
        }
        for u in users
    ],
    hide_index=True,
)
col_new, col_edit = st.columns(2)
with col_new, st.form("new_user", clear_on_submit=True):
    st.markdown(f"#### {t('users.new')}")
    email = st.text_input(t("users.email"), key="nu_email")
    full_name = st.text_input(t("users.name"), key="nu_name")
    role = st.selectbox(t("users.role"), ROLES, format_func=lambda r: t(f"role.{r}"), key="nu_role")
    company = st.selectbox(
        t("common.company"), (0, *names), format_func=lambda c: names.get(c, "—"), key="nu_company"
    )
    password = st.text_input(t("users.password"), type="password", key="nu_password")
    if st.form_submit_button(t("users.create"), type="primary"):
        body = {
            "email": email.strip(),
            "full_name": full_name.strip(),
            "role": role,
            "company_id": company or None,
            "password": password,
            "locale": loc,
        }
        if call(lambda: hub.create_user(body)):
            st.success(t("users.created", email=email))
with col_edit:
    st.markdown(f"#### {t('users.change')}")
    by_id = {u["id"]: u for u in users}
    if by_id:
        target = st.selectbox(
            t("users.user"), list(by_id), format_func=lambda i: by_id[i]["email"], key="cu_user"
        )
        new_role = st.selectbox(
            t("users.role"),
            ROLES,
            index=ROLES.index(by_id[target]["role"]),
            format_func=lambda r: t(f"role.{r}"),
            key="cu_role",
        )
        c1, c2 = st.columns(2)
        save = partial(hub.update_user, target, {"role": new_role})
        if c1.button(t("users.save_role"), key="cu_save") and act(save):
            st.success(t("common.saved"))
        if (
            by_id[target]["is_active"]
            and target != me["id"]
            and c2.button(t("users.deactivate"), key="cu_deactivate")
            and act(partial(hub.deactivate_user, target))
        ):
            st.success(t("common.saved"))
