"""SME engineer: the company's registered models, their versions, register and promote."""

from __future__ import annotations

from functools import partial

import streamlit as st

from portal.formatting import fmt_datetime
from portal.state import act, call, client, locale, require_user, t

require_user()
hub = client()
loc = locale()
st.title(t("nav.models"))
with st.spinner(t("common.loading")):
    models = call(hub.models)
if models is None:
    if hub.models_endpoint_available is False:
        st.info(t("models.not_available"), icon=":material/hourglass_empty:")
    st.stop()
if not models:
    st.info(t("common.empty"))
for model in models:
    with st.expander(f"📦 {model.get('name')}", expanded=True):
        versions = model.get("versions") or []
        st.dataframe(
            [
                {
                    t("models.version"): v.get("version"),
                    t("models.stage"): v.get("stage") or v.get("current_stage") or "—",
                    t("models.run"): v.get("run_id") or "—",
                    t("models.created_at"): fmt_datetime(v.get("created_at"), loc),
                }
                for v in versions
            ],
            hide_index=True,
        )
        if versions:
            cols = st.columns(3)
            version = cols[0].selectbox(
                t("models.version"),
                [str(v.get("version")) for v in versions],
                key=f"ver_{model['name']}",
            )
            stage = cols[1].selectbox(
                t("models.stage"),
                ("staging", "production", "archived"),
                format_func=lambda s: t(f"stage.{s}"),
                key=f"stage_{model['name']}",
            )
            promote = partial(hub.promote_model, model["name"], str(version), stage)
            if cols[2].button(t("models.promote"), key=f"promote_{model['name']}") and act(promote):
                st.success(t("models.promoted"))
with st.form("register_model"):
    st.markdown(f"#### {t('models.register')}")
    job_id = st.number_input(t("models.from_job"), min_value=1, step=1, key="register_job")
    name = st.text_input(t("models.name"), key="register_name")
    register = partial(hub.register_model, {"job_id": int(job_id), "name": name.strip()})
    if st.form_submit_button(t("models.register_button")) and name.strip() and act(register):
        st.success(t("models.registered"))
