"""Operator: the GPU grid (who holds which GPU), draining nodes, allocation over time."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import streamlit as st

from portal import analytics, charts
from portal.formatting import fmt_datetime, fmt_number
from portal.state import act, call, client, locale, require_user, t

require_user()
hub = client()
loc = locale()
st.title(t("nav.cluster"))
with st.spinner(t("common.loading")):
    nodes = call(hub.nodes) or []
    allocations = call(hub.allocations) or []
    names = analytics.company_names(call(hub.companies) or [])
    jobs = call(hub.jobs) or []

total = sum(int(n["gpu_count"]) for n in nodes)
used = sum(float(n.get("allocated_gpus") or 0) for n in nodes)
cols = st.columns(4)
cols[0].metric(t("cluster.nodes"), len(nodes))
cols[1].metric(t("cluster.gpus"), total)
cols[2].metric(t("cluster.allocated"), fmt_number(used, loc, 1))
cols[3].metric(t("cluster.draining"), sum(1 for n in nodes if n.get("draining")))

st.subheader(t("cluster.grid"))
if nodes:
    grid = analytics.gpu_grid(nodes, allocations, names)
    st.altair_chart(
        charts.gpu_grid(
            grid, free_label=t("cluster.free"), draining_label=t("cluster.draining_tag")
        ),
        width="stretch",
    )
else:
    st.info(t("cluster.no_nodes"))

st.subheader(t("cluster.nodes"))
for node in nodes:
    with st.container(border=True):
        c = st.columns([3, 2, 2, 3])
        state = (
            t("cluster.draining_tag")
            if node.get("draining")
            else (t("cluster.up") if node.get("alive", True) else t("cluster.down"))
        )
        c[0].markdown(f"**{node['node_id']}** · {node['gpu_type']} × {node['gpu_count']}")
        c[1].write(f"{state}")
        c[2].caption(t("cluster.last_seen", at=fmt_datetime(node.get("last_seen_at"), loc)))
        if node.get("draining"):
            if node.get("drain_reason"):
                c[3].caption(node["drain_reason"])
            undrain = partial(hub.undrain, node["node_id"])
            if c[3].button(t("cluster.undrain"), key=f"undrain_{node['node_id']}") and act(undrain):
                st.rerun()
        else:
            reason = c[3].text_input(
                t("cluster.drain_reason"),
                key=f"reason_{node['node_id']}",
                label_visibility="collapsed",
                placeholder=t("cluster.drain_reason"),
            )
            if c[3].button(t("cluster.drain"), key=f"drain_{node['node_id']}"):
                if not reason.strip():
                    st.warning(t("cluster.reason_required"))
                elif act(partial(hub.drain, node["node_id"], reason.strip())):
                    st.rerun()

st.subheader(t("cluster.over_time"))
samples = call(hub.utilization)
series = analytics.allocation_from_samples(samples or [], names)
if not series:  # no samples yet (or an older hub): derive it from the jobs' start and end
    series = analytics.allocation_over_time(jobs, names, datetime.now(UTC))
if series:
    st.altair_chart(
        charts.allocation_over_time(series, x_title=t("chart.time"), y_title=t("chart.gpus")),
        width="stretch",
    )
else:
    st.info(t("common.empty"))
