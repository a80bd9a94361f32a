"""The portal's client layer, catalogs and pure views, without a browser."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portal import analytics
from portal.api_client import MetricPoint, parse_metric_lines
from portal.formatting import fmt_date, fmt_datetime, fmt_duration, fmt_gpu_hours, wait_text
from portal.i18n import LOCALES, catalog

PORTAL = Path(__file__).resolve().parents[2] / "portal"
HANGUL = re.compile("[\uac00-\ud7a3]")


def test_metric_lines_from_a_template_log_become_points() -> None:
    log = "\n".join(
        [
            "loading data",
            json.dumps({"params": {"epochs": 2}}),
            json.dumps({"step": 1, "train_loss": 0.9, "val_accuracy": 0.6}),
            "{not json",
            json.dumps({"step": 2, "train_loss": 0.5, "val_accuracy": 0.8, "ok": True}),
            json.dumps({"done": True, "elapsed_s": 3.2}),
        ]
    )
    assert parse_metric_lines(log) == [
        MetricPoint(1, "train_loss", 0.9),
        MetricPoint(1, "val_accuracy", 0.6),
        MetricPoint(2, "train_loss", 0.5),
        MetricPoint(2, "val_accuracy", 0.8),
    ]


def test_catalogs_have_the_same_keys() -> None:
    assert catalog("ko").keys() == catalog("en").keys()


def test_every_message_the_portal_uses_is_in_both_catalogs() -> None:
    pattern = re.compile(r"""\bt\(\s*['"]([a-z_]+\.[a-z_.0-9]+)['"]""")
    used = {
        key
        for path in PORTAL.rglob("*.py")
        for key in pattern.findall(path.read_text(encoding="utf-8"))
    }
    assert len(used) > 150
    for locale in LOCALES:
        assert not used - catalog(locale).keys(), locale


def test_english_catalog_has_no_korean_and_korean_catalog_is_korean() -> None:
    english = {k: v for k, v in catalog("en").items() if k != "language.name"}
    assert not [k for k, v in english.items() if HANGUL.search(v)]
    korean = catalog("ko")
    assert sum(1 for v in korean.values() if HANGUL.search(v)) > 0.9 * len(korean)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("ko", "2026. 3. 5. 18:30"), ("en", "5 Mar 2026, 18:30")],
)
def test_dates_are_shown_in_hub_time_per_locale(locale: str, expected: str) -> None:
    assert fmt_datetime("2026-03-05T09:30:00Z", locale) == expected


def test_dates_numbers_and_durations_per_locale() -> None:
    assert fmt_date("2026-03-05", "ko") == "2026. 3. 5."
    assert fmt_date("2026-03-05", "en") == "5 Mar 2026"
    assert fmt_gpu_hours(1234.56, "ko") == "1,234.6 GPU시간"
    assert fmt_gpu_hours(1234.56, "en") == "1,234.6 GPU-h"
    assert fmt_gpu_hours(0.0086, "en") == "0.01 GPU-h"
    assert fmt_duration(3725, "ko") == "1시간 2분"
    assert fmt_duration(65, "en") == "1 min 5 s"


def test_wait_reasons_are_translated_on_korean_screens() -> None:
    reason = "waiting for 8 GPUs on one A100 node; largest free block is 4"
    assert wait_text("en", "capacity", reason) == reason
    assert wait_text("ko", "capacity", reason) == "맞는 GPU가 비기를 기다리는 중"
    assert wait_text("ko", "something_new", reason) == "스케줄러가 곧 배치합니다"


def test_gpu_grid_shows_which_company_holds_each_gpu() -> None:
    nodes = [{"node_id": "n1", "gpu_type": "A100", "gpu_count": 4, "draining": True}]
    allocations = [
        {"node_id": "n1", "job_id": 7, "company_id": 1, "gpus": 2.0},
        {"node_id": "n1", "job_id": 9, "company_id": 2, "gpus": 0.5},
    ]
    grid = analytics.gpu_grid(nodes, allocations, {1: "Alpha", 2: "Beta"})
    assert [row["company"] for row in grid] == ["Alpha", "Alpha", "Beta", None]
    assert all(row["draining"] for row in grid)


def test_allocation_over_time_never_counts_a_moment_twice() -> None:
    t0 = "2026-03-05T00:00:00+00:00"
    t1 = "2026-03-05T01:00:00+00:00"
    jobs = [
        {"company_id": 1, "num_gpus": 2, "started_at": t0, "ended_at": t1},
        {"company_id": 1, "num_gpus": 2, "started_at": t0, "ended_at": None},
    ]
    now = datetime(2026, 3, 5, 2, tzinfo=UTC)
    rows = analytics.allocation_over_time(jobs, {1: "Alpha"}, now)
    assert [r["gpus"] for r in rows] == [4.0, 2.0, 2.0]


def test_fair_share_and_usage_views() -> None:
    jobs = [
        {"company_id": 1, "status": "running", "num_gpus": 4},
        {"company_id": 2, "status": "queued", "num_gpus": 2},
    ]
    nodes = [{"gpu_count": 4}, {"gpu_count": 4, "draining": True}]
    share = analytics.fair_share(jobs, nodes, {1: "A", 2: "B"})
    assert [(r["company"], r["held"], r["waiting"], r["fair_share"]) for r in share] == [
        ("A", 4.0, 0.0, 2.0),
        ("B", 0.0, 2.0, 2.0),
    ]
    budgets = {1: {"granted_gpu_hours": 100, "used_gpu_hours": 25, "balance_gpu_hours": 75}}
    assert analytics.usage_vs_grants(budgets, {1: "A"})[0]["used_fraction"] == 0.25


def test_job_form_validation_names_every_problem() -> None:
    problems = analytics.validate_job(
        name=" ",
        num_gpus=4,
        time_limit_h=10,
        available_gpu_hours=12.5,
        needs_entrypoint=True,
        entrypoint="",
        has_code=False,
    )
    assert [key for key, _ in problems] == [
        "submit.err_name",
        "submit.err_code",
        "submit.err_entrypoint",
        "submit.err_budget",
    ]
    assert problems[-1][1] == {"need": 40.0, "left": 12.5}


def test_allocation_from_the_schedulers_samples_keeps_company_rows_of_all_types() -> None:
    points = [
        {"at": "2026-03-05T00:00:00Z", "gpu_type": "*", "company_id": None, "allocated_gpus": 6},
        {"at": "2026-03-05T00:00:00Z", "gpu_type": "*", "company_id": 1, "allocated_gpus": 4},
        {"at": "2026-03-05T00:00:00Z", "gpu_type": "A100", "company_id": 1, "allocated_gpus": 4},
    ]
    rows = analytics.allocation_from_samples(points, {1: "Alpha"})
    assert rows == [{"at": datetime(2026, 3, 5, 9, 0), "company": "Alpha", "gpus": 4.0}]
