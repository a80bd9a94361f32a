"""The KPI report as rows, CSV, XLSX (openpyxl) and a printable HTML page."""

from __future__ import annotations

import csv
import html
import io
from typing import Any

from openpyxl import Workbook

from hub_api.ops.kpi_models import KpiRecords, KpiReport

Row = tuple[str, str, str, Any]  # section, metric, breakdown key, value

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "SMEs",
        ("smes_served", "smes_by_region", "smes_by_industry", "smes_by_size", "first_time_smes"),
    ),
    (
        "Consulting",
        (
            "consultations",
            "consultations_by_service_type",
            "consultations_by_outcome",
            "median_first_response_hours",
            "average_maturity_uplift",
            "companies_with_uplift",
        ),
    ),
    (
        "Grants",
        (
            "grants_approved",
            "gpu_hours_granted",
            "gpu_hours_used",
            "gpu_hours_reclaimed",
            "gpu_hours_expired",
        ),
    ),
    (
        "GPU service",
        (
            "jobs_run",
            "jobs_run_by_status",
            "models_registered",
            "gpu_utilization",
            "utilization_samples",
            "top5_gpu_hours_share",
            "hub_region_gpu_hours_share",
            "queue_wait_median_s",
            "queue_wait_p90_s",
        ),
    ),
)


def report_rows(report: KpiReport) -> list[Row]:
    """Every figure once: breakdowns as one row per key (key "" for a single figure)."""
    rows: list[Row] = []
    for section, names in SECTIONS:
        for name in names:
            value = getattr(report, name)
            if isinstance(value, dict):
                rows.extend((section, name, str(key), count) for key, count in value.items())
            else:
                rows.append((section, name, "", value))
    return rows


def _period(report: KpiReport) -> str:
    return f"{report.start:%Y-%m-%d %H:%M} – {report.end:%Y-%m-%d %H:%M} UTC"


def to_csv(report: KpiReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "metric", "key", "value"])
    for section, metric, key, value in report_rows(report):
        writer.writerow([section, metric, key, "" if value is None else value])
    return buffer.getvalue()


def to_xlsx(report: KpiReport, records: KpiRecords) -> bytes:
    """Sheet ``KPI`` holds the figures (numbers as numbers); one sheet per raw record list."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "KPI"
    sheet.append(["Regional AX hub — KPI report", _period(report)])
    sheet.append(["hub region", report.hub_region])
    sheet.append([])
    sheet.append(["section", "metric", "key", "value"])
    for row in report_rows(report):
        sheet.append(list(row))
    sheet.column_dimensions["B"].width = 32
    for title, items in (
        ("Companies", records.companies),
        ("Cases", records.cases),
        ("Jobs", records.jobs),
        ("Usage", records.usage),
        ("Uplift", records.uplift),
    ):
        detail = book.create_sheet(title)
        fields = list(type(items[0]).model_fields) if items else ["(none)"]
        detail.append(fields)
        for item in items:
            detail.append([_cell(getattr(item, f)) for f in fields])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones: UTC, documented
    return value


def _format(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return html.escape(str(value))


def to_html(report: KpiReport) -> str:
    body = []
    for section, names in SECTIONS:
        body.append(f"<h2>{html.escape(section)}</h2><table>")
        for name in names:
            value = getattr(report, name)
            label = html.escape(name.replace("_", " "))
            if isinstance(value, dict):
                items = (
                    "".join(
                        f"<tr class='sub'><td>{html.escape(str(k))}</td><td>{_format(v)}</td></tr>"
                        for k, v in value.items()
                    )
                    or "<tr class='sub'><td colspan=2>none</td></tr>"
                )
                body.append(f"<tr><th colspan=2>{label}</th></tr>{items}")
            else:
                body.append(f"<tr><th>{label}</th><td>{_format(value)}</td></tr>")
        body.append("</table>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AX hub KPI report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1em; }}
th, td {{ border-bottom: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
td {{ text-align: right; }} tr.sub td:first-child {{ text-align: left; padding-left: 2em; }}
@media print {{ body {{ margin: 0; }} h2 {{ page-break-after: avoid; }} }}
</style></head><body>
<h1>Regional AX hub — KPI report</h1>
<p>Period {html.escape(_period(report))} · hub region {html.escape(report.hub_region)} ·
generated {report.generated_at:%Y-%m-%d %H:%M} UTC</p>
{"".join(body)}
<p><small>Every figure is reproducible from the API: GET /api/v1/reports/kpi/records.</small></p>
</body></html>
"""
