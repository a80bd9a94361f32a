"""SME engineer: submit a GPU job from a template or an uploaded zip."""

from __future__ import annotations

from functools import partial

import streamlit as st

from portal import analytics
from portal.formatting import fmt_datetime, fmt_gpu_hours, fmt_number
from portal.state import call, client, go, locale, require_user, t

me = require_user()
hub = client()
loc = locale()
st.title(t("nav.submit_job"))

templates = call(hub.templates) or []
budget = call(lambda: hub.budget(me["company_id"])) if me.get("company_id") else None
nodes = call(hub.nodes) or []
available = float(budget["available_now_gpu_hours"]) if budget else None
if available is not None:
    st.info(t("submit.budget_left", hours=fmt_gpu_hours(available, loc)))

source = st.radio(
    t("submit.source"),
    ("template", "zip"),
    format_func=lambda s: t(f"submit.source_{s}"),
    horizontal=True,
    key="submit_source",
)
template = None
upload = None
entrypoint = ""
if source == "template" and templates:
    by_name = {tpl["name"]: tpl for tpl in templates}
    name_key = "title_ko" if loc == "ko" else "title_en"
    chosen = st.selectbox(
        t("submit.template"),
        list(by_name),
        format_func=lambda n: by_name[n][name_key],
        key="submit_template",
    )
    template = by_name[chosen]
else:
    upload = st.file_uploader(t("submit.zip"), type=["zip"], key="submit_zip")
    entrypoint = st.text_input(
        t("submit.entrypoint"), value="python train.py", key="submit_entrypoint"
    )

cols = st.columns(4)
job_name = cols[0].text_input(
    t("job.name"), value=(template or {}).get("name", ""), key="submit_name"
)
num_gpus = cols[1].number_input(
    t("job.gpus"),
    min_value=0.25,
    max_value=8.0,
    step=0.25,
    value=float((template or {}).get("default_num_gpus", 1.0)),
    key="submit_gpus",
)
gpu_type = cols[2].selectbox(
    t("job.gpu_type"),
    ("", *sorted({n["gpu_type"] for n in nodes})),
    format_func=lambda g: g or t("common.any"),
    key="submit_gpu_type",
)
hours = cols[3].number_input(
    t("submit.time_limit_h"),
    min_value=0.1,
    max_value=72.0,
    step=0.5,
    value=round(float((template or {}).get("default_time_limit_s", 3600)) / 3600, 2),
    key="submit_hours",
)
arguments: dict[str, str] = {}
if template and template["arguments"]:
    arg_cols = st.columns(len(template["arguments"]))
    for col, (arg, default) in zip(arg_cols, template["arguments"].items(), strict=True):
        arguments[arg] = col.text_input(t(f"arg.{arg}"), value=str(default), key=f"arg_{arg}")
priority = st.radio(
    t("job.priority"),
    ("normal", "low"),
    format_func=lambda p: t(f"priority.{p}"),
    horizontal=True,
    key="submit_priority",
)

need = num_gpus * hours
free = analytics.free_gpus(nodes, gpu_type or None)
st.caption(t("submit.needs", hours=fmt_gpu_hours(need, loc)))
if nodes:
    st.caption(
        t("submit.start_now")
        if free >= num_gpus
        else t("submit.start_wait", free=fmt_number(free, loc, 1))
    )

problems = analytics.validate_job(
    name=job_name,
    num_gpus=num_gpus,
    time_limit_h=hours,
    available_gpu_hours=available,
    needs_entrypoint=source == "zip",
    entrypoint=entrypoint,
    has_code=upload is not None,
)
for key, values in problems:
    st.warning(t(key, **values))

if st.button(t("submit.button"), type="primary", disabled=bool(problems), key="submit_button"):
    with st.spinner(t("submit.submitting")):
        body: dict[str, object] = {
            "name": job_name.strip(),
            "num_gpus": num_gpus,
            "gpu_type": gpu_type or None,
            "time_limit_s": int(hours * 3600),
            "priority_class": priority,
        }
        if template:
            body |= {"template": template["name"], "arguments": arguments}
        elif upload is not None:
            bundle = call(partial(hub.upload_code, upload.name, upload.getvalue()))
            body |= (
                {"code_bundle_id": bundle["id"], "entrypoint": entrypoint.strip()} if bundle else {}
            )
        job = (
            call(lambda: hub.submit_job(body))
            if "template" in body or "code_bundle_id" in body
            else None
        )
    if job:
        st.session_state["job_id"] = job["id"]
        st.session_state["submitted_job"] = job

submitted = st.session_state.get("submitted_job")
if submitted:
    st.success(t("submit.done", id=submitted["id"]))
    if submitted.get("estimated_start_at"):
        st.info(t("submit.estimated_start", at=fmt_datetime(submitted["estimated_start_at"], loc)))
    if st.button(t("submit.open_job"), key="open_submitted"):
        st.session_state.pop("submitted_job", None)
        go("app_pages/job.py", job_id=submitted["id"])
