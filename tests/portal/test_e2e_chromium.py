"""End to end in headless Chromium: the portal (``streamlit run``) against a real hub_api whose
scheduler service runs jobs on a real local Ray cluster with simulated GPUs.

An SME engineer requests a consultation, submits a template job, watches it run to success and
sees its metric chart; a consultant takes the case through triage into progress; an operator sees
the GPU grid while a job holds GPUs. Screenshots of each persona's main page are saved as test
artifacts in ``test-artifacts/screenshots/``; set ``AXHUB_SCREENSHOT_DIR=docs/screenshots`` to
refresh the ones the README shows.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from sqlmodel import Session, select

from hub_api.demo.seed import DEMO_PASSWORD
from hub_api.jobs.models import Job
from hub_api.live_server import serve_in_thread
from scheduler.executors.ray_jobs import RayJobExecutor
from scheduler.service.runner import SchedulerService
from tests.portal.browser import ROOT, Browser, chromium_available, streamlit_server
from tests.portal.hub_world import HubWorld, build_engine_and_settings, make_app
from tests.ray_cluster import RayTestCluster

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's chromium and chromedriver"),
    pytest.mark.timeout(600),
]

SHOTS = Path(os.environ.get("AXHUB_SCREENSHOT_DIR", ROOT / "test-artifacts" / "screenshots"))
CASE_TITLE = "용접 비드 외관 검사 자동화"


@pytest.fixture
def live_hub(ray_cluster: RayTestCluster, tmp_path: Path) -> Iterator[HubWorld]:
    engine, settings = build_engine_and_settings(tmp_path, file_db=True)
    executor = RayJobExecutor(ray_cluster.dashboard_url)
    settings = settings.model_copy(update={"scheduler_pass_interval_s": 1.0})
    service = SchedulerService(engine=engine, executor=executor, settings=settings)
    stop = threading.Event()
    scheduler = threading.Thread(target=service.run_forever, args=(stop,), daemon=True)
    with serve_in_thread(make_app(engine, settings, executor)) as url:
        scheduler.start()
        yield HubWorld(url, engine, settings, service, executor)  # type: ignore[arg-type]
        stop.set()
        scheduler.join(timeout=30)
        with Session(engine) as session:
            for job in session.exec(select(Job)).all():
                executor.stop(job.submission_id)
    engine.dispose()


@pytest.fixture
def browser(live_hub: HubWorld) -> Iterator[Browser]:
    with streamlit_server(live_hub.url) as portal_url:
        chrome = Browser(portal_url)
        try:
            chrome.open()
            yield chrome
        finally:
            chrome.close()


def wait_for(check: Any, *, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def test_personas_in_chromium(live_hub: HubWorld, browser: Browser) -> None:
    # --- SME engineer: home, consultation, template job to success with its metric chart ---
    browser.login("engineer@changwon.example", DEMO_PASSWORD)
    browser.text_present("GPU 시간 예산")

    browser.nav("컨설팅 신청")
    browser.click_text("새 컨설팅 신청")
    browser.fill("제목", CASE_TITLE)
    browser.fill("요청 내용", "용접 라인 카메라 영상으로 비드 불량을 자동 판정하고 싶습니다.")
    browser.click("신청하기")
    browser.text_present("을(를) 신청했습니다")

    browser.nav("작업 제출")
    browser.fill("작업 이름", "결함 분류 e2e")
    browser.fill("에폭 수", "3")
    browser.fill("샘플 수", "300")
    browser.click("작업 제출")
    browser.text_present("제출했습니다")
    browser.click("작업 보기")
    browser.text_present("진행 단계")
    browser.text_present("성공", seconds=240)
    engineer = live_hub.client("engineer")
    job = engineer.jobs()[0]
    assert job["status"] == "succeeded", job
    wait_for(lambda: browser.charts(), timeout_s=30, what="the metric chart")
    browser.text_present("작업 로그의 에폭별 지표")
    browser.screenshot(SHOTS / "engineer-job.png")
    browser.nav("회사 홈")
    browser.text_present(CASE_TITLE)
    browser.screenshot(SHOTS / "engineer-home.png")
    browser.logout()

    # --- consultant: inbox, then triage the new case and start work on it ---
    browser.login("consultant@axhub.example", DEMO_PASSWORD)
    browser.text_present(CASE_TITLE)
    browser.screenshot(SHOTS / "consultant-inbox.png")
    case = next(c for c in live_hub.client("consultant").cases() if c["title"] == CASE_TITLE)
    browser.click_text("단계별 보드")
    board_button = browser.driver.find_element(
        By.CSS_SELECTOR, f".st-key-board_{case['id']} button"
    )
    board_button.click()
    browser.settled()
    browser.text_present(f"#{case['id']} {CASE_TITLE}")
    for reason in ("현장 방문 일정 확정", "비전 검사 PoC 범위 합의"):
        browser.fill("사유", reason)
        browser.click("변경")
        browser.text_present(reason)
    browser.fill("새 의견", "다음 주 화요일 현장 방문 때 용접 라인 영상 샘플을 함께 보겠습니다.")
    browser.click("의견 등록")
    browser.text_present("현장 방문 때 용접 라인")
    assert live_hub.client("consultant").case(case["id"])["status"] == "in_progress"
    browser.screenshot(SHOTS / "consultant-case.png")
    browser.logout()

    # --- operator: the GPU grid while a job holds GPUs ---
    long_job = engineer.submit_job(
        {
            "name": "결함 분류 장시간",
            "template": "defect_classifier",
            "num_gpus": 2,
            "gpu_type": "A100",
            "time_limit_s": 3600,
            "arguments": {"epochs": "500"},
        }
    )
    wait_for(
        lambda: engineer.job(long_job["id"])["status"] == "running", timeout_s=120, what="running"
    )
    browser.login("operator@axhub.example", DEMO_PASSWORD)
    browser.text_present("GPU 배치 현황")
    wait_for(lambda: browser.charts(), timeout_s=30, what="the GPU grid")
    allocations = live_hub.client("operator").allocations()
    assert [a["job_id"] for a in allocations] == [long_job["id"]]
    browser.screenshot(SHOTS / "operator-cluster.png")
    browser.choose_language("English")
    browser.text_present("Who holds each GPU")
    browser.screenshot(SHOTS / "operator-cluster-en.png")
    browser.choose_language("한국어")
    engineer.cancel_job(long_job["id"])
    browser.logout()

    # --- admin: companies ---
    browser.login("admin@axhub.example", DEMO_PASSWORD)
    browser.text_present("사업자등록번호")
    browser.screenshot(SHOTS / "admin-companies.png")
