"""SME engineer: the company's registered models, their versions and aliases; register a
finished job's run as a new version; point an alias (e.g. ``champion``) at a version."""

from __future__ import annotations

from functools import partial

import streamlit as st

from portal.api_client import HubApiError
from portal.formatting import fmt_datetime
from portal.state import act, call, client, locale, require_user, show_error, t

require_user()
hub = client()
loc = locale()
st.title(t("nav.models"))
try:
    with st.spinner(t("common.loading")):
        models = hub.models()
except HubApiError as exc:
    if exc.status != 503:
        show_error(exc)
        st.stop()
    st.warning(t("models.unavailable", detail=exc.detail), icon=":material/cloud_off:")
    st.stop()
if models is None:
    st.info(t("models.not_available"), icon=":material/hourglass_empty:")
    st.stop()
if not models:
    st.info(t("models.none"))
for model in models:
    name = str(model["name"])
    with st.expander(name, expanded=True, icon=":material/deployed_code:"):
        detail = call(partial(hub.model, name)) or model
        versions = detail.get("versions") or detail.get("latest_versions") or []
        st.dataframe(
            [
                {
                    t("models.version"): v["version"],
                    t("models.aliases"): ", ".join(v.get("aliases") or []) or "—",
                    t("models.job"): f"#{v['job_id']}" if v.get("job_id") else "—",
                    t("models.run"): v.get("run_id") or "—",
                    t("models.created_at"): fmt_datetime(v.get("created_at"), loc),
                }
                for v in versions
            ],
            hide_index=True,
        )
        if versions:
            cols = st.columns([2, 2, 1])
            version = cols[0].selectbox(
                t("models.version"), [str(v["version"]) for v in versions], key=f"ver_{name}"
            )
            alias = cols[1].text_input(t("models.alias"), value="champion", key=f"alias_{name}")
            promote = partial(hub.set_alias, name, alias.strip(), version)
            if cols[2].button(t("models.promote"), key=f"promote_{name}") and act(promote):
                st.success(t("models.promoted", alias=alias.strip(), version=version))

st.subheader(t("models.register"))
finished = call(partial(hub.jobs, status="succeeded")) or []
if not finished:
    st.info(t("models.no_finished_jobs"))
    st.stop()
with st.form("register_model"):
    jobs_by_id = {j["id"]: j for j in finished}
    job_id = st.selectbox(
        t("models.from_job"),
        list(jobs_by_id),
        format_func=lambda i: f"#{i} {jobs_by_id[i]['name']}",
        key="register_job",
    )
    model_name = st.text_input(t("models.name"), key="register_name")
    submitted = st.form_submit_button(t("models.register_button"), type="primary")
if submitted:
    if not model_name.strip():
        st.warning(t("models.name_required"))
        st.stop()
    runs = call(partial(hub.runs, job_id=job_id)) or []
    if not runs:
        st.warning(t("models.no_run"))
        st.stop()
    with st.spinner(t("common.saving")):
        registered = call(partial(hub.register_model, model_name.strip(), runs[0]["run_id"]))
    if registered:
        st.success(t("models.registered", name=registered["name"], version=registered["version"]))
