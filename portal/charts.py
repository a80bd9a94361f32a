"""Altair charts. Titles and axis labels come in translated; data comes from ``analytics``."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from portal.api_client import MetricPoint

Json = dict[str, Any]
FREE_COLOR = "#e9ecef"
TIME_FORMAT = "%m/%d %H:%M"
SHORT_TIME_FORMAT = "%H:%M:%S"
LEGEND = alt.Legend(orient="bottom", labelLimit=320, title=None)


def _time_axis(frame: pd.DataFrame) -> alt.Axis:
    """Month/day and minutes; seconds when everything happened within an hour."""
    span = frame["at"].max() - frame["at"].min() if len(frame) else pd.Timedelta(0)
    short = span < pd.Timedelta(hours=1)
    return alt.Axis(
        format=SHORT_TIME_FORMAT if short else TIME_FORMAT,
        labelAngle=0,
        tickCount=6,
        labelOverlap=True,
    )


PALETTE = ["#1f6feb", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#c2255c"]


def burn_down(rows: list[Json], *, x_title: str, y_title: str) -> alt.Chart:
    frame = pd.DataFrame(rows)
    return (
        alt.Chart(frame)
        .mark_line(interpolate="step-after", point=True, color=PALETTE[0])
        .encode(
            x=alt.X(
                "at:T",
                title=x_title,
                axis=_time_axis(frame),
            ),
            y=alt.Y("remaining:Q", title=y_title, scale=alt.Scale(zero=True)),
            tooltip=[
                alt.Tooltip("at:T", title=x_title, format=TIME_FORMAT),
                alt.Tooltip("remaining:Q", title=y_title),
            ],
        )
        .properties(height=220)
    )


def metrics(points: list[MetricPoint], *, step_title: str, value_title: str) -> alt.Chart:
    frame = pd.DataFrame([{"step": p.step, "metric": p.name, "value": p.value} for p in points])
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title=step_title, axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=value_title),
            color=alt.Color("metric:N", title=None, scale=alt.Scale(range=PALETTE)),
            tooltip=["metric:N", "step:Q", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(height=260)
    )


def gpu_grid(rows: list[Json], *, free_label: str, draining_label: str) -> alt.LayerChart:
    frame = pd.DataFrame(rows)
    frame["holder"] = frame["company"].fillna(free_label)
    frame["gpu"] = frame["slot"].map(lambda s: f"GPU {s}")
    frame["node_label"] = [
        f"{n} ({g})" + (f" · {draining_label}" if d else "")
        for n, g, d in zip(frame["node"], frame["gpu_type"], frame["draining"], strict=True)
    ]
    frame["job_text"] = frame["job_id"].map(lambda j: f"#{int(j)}" if pd.notna(j) else "")
    holders = sorted(h for h in frame["holder"].unique() if h != free_label)
    domain = [*holders, free_label]
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(holders))] + [FREE_COLOR]
    base = alt.Chart(frame).encode(
        x=alt.X("gpu:N", title=None, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("node_label:N", title=None),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=3, cornerRadius=4).encode(
        color=alt.Color("holder:N", legend=LEGEND, scale=alt.Scale(domain=domain, range=colors)),
        opacity=alt.condition("datum.draining", alt.value(0.45), alt.value(1.0)),
        tooltip=["node:N", "gpu:N", "holder:N", "job_id:Q"],
    )
    text = base.mark_text(fontSize=13, fontWeight="bold", color="white").encode(
        text=alt.Text("job_text:N"),
    )
    return (cells + text).properties(height=alt.Step(56))


def allocation_over_time(rows: list[Json], *, x_title: str, y_title: str) -> alt.Chart:
    frame = pd.DataFrame(rows)
    return (
        alt.Chart(frame)
        .mark_area(interpolate="step-after", opacity=0.8)
        .encode(
            x=alt.X(
                "at:T",
                title=x_title,
                axis=_time_axis(frame),
            ),
            y=alt.Y("gpus:Q", title=y_title, stack=True),
            color=alt.Color("company:N", legend=LEGEND, scale=alt.Scale(range=PALETTE)),
            tooltip=["company:N", alt.Tooltip("at:T", format=TIME_FORMAT), "gpus:Q"],
        )
        .properties(height=220)
    )


def grouped_bars(
    rows: list[Json], *, x: str, y: str, group: str, x_title: str, y_title: str
) -> alt.Chart:
    frame = pd.DataFrame(rows)
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:N", title=x_title, axis=alt.Axis(labelAngle=0, labelLimit=120)),
            xOffset=alt.XOffset(f"{group}:N"),
            y=alt.Y(f"{y}:Q", title=y_title),
            color=alt.Color(f"{group}:N", legend=LEGEND, scale=alt.Scale(range=PALETTE)),
            tooltip=[f"{x}:N", f"{group}:N", alt.Tooltip(f"{y}:Q", format=",.1f")],
        )
        .properties(height=260)
    )
