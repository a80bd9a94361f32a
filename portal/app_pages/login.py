"""Sign in."""

from __future__ import annotations

import streamlit as st

from portal.state import sign_in, t

st.title(t("login.title"))
st.write(t("login.intro"))
with st.form("login"):
    email = st.text_input(t("login.email"), key="login_email")
    password = st.text_input(t("login.password"), type="password", key="login_password")
    submitted = st.form_submit_button(t("login.submit"), type="primary")
if submitted:
    if not email or not password:
        st.warning(t("login.missing"))
    else:
        with st.spinner(t("login.signing_in")):
            ok = sign_in(email.strip(), password)
        if ok:
            st.rerun()
