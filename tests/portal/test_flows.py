"""What each persona does in the portal, through AppTest against the real hub_api."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from hub_api.demo.seed import DEMO_PASSWORD
from portal.navigation import role_pages
from tests.portal.helpers import open_page, portal, texts
from tests.portal.hub_world import LOGINS, HubWorld


def button(at: AppTest, label: str) -> object:
    return next(b for b in at.button if b.label == label)


def test_sign_in_shows_the_api_message_on_failure_then_the_company_home(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AXHUB_API_URL", hub.url)
    at = portal(hub).run()
    assert at.title[0].value == "지역 AX 허브에 로그인"
    at.text_input(key="login_email").input(LOGINS["engineer"])
    at.text_input(key="login_password").input("wrong-password")
    button(at, "로그인").click().run()  # type: ignore[attr-defined]
    assert "(401): wrong e-mail or password" in at.error[0].value
    assert not at.exception
    at.text_input(key="login_password").input(DEMO_PASSWORD)
    button(at, "로그인").click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert at.session_state["user"]["email"] == LOGINS["engineer"]
    assert at.title[0].value.startswith("창원정밀가공")


def test_the_sidebar_switches_the_whole_screen_to_english(hub: HubWorld) -> None:
    at = open_page(portal(hub, "engineer"), "")
    assert "GPU 시간 예산" in texts(at)
    at.sidebar.selectbox(key="locale_picker").select("en").run()
    assert not at.exception
    shown = texts(at)
    assert "GPU-hour budget" in shown
    assert "GPU 시간 예산" not in shown
    assert "Running and queued jobs" in shown


def test_navigation_offers_each_role_only_its_pages() -> None:
    assert role_pages("engineer") == ["home", "consultations", "jobs", "submit_job", "models"]
    assert "cluster" not in role_pages("consultant")
    assert {"cluster", "queue", "usage", "grants"} <= set(role_pages("operator"))
    assert {"companies", "users"} <= set(role_pages("admin"))


def test_engineer_requests_a_consultation(hub: HubWorld) -> None:
    at = open_page(portal(hub, "engineer_gwangju"), "consultations")
    at.text_input(key="case_title").input("도장 불량 검출")
    at.text_area(key="case_description").input("도장 라인의 흐름 불량을 카메라로 잡고 싶습니다.")
    button(at, "신청하기").click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert "신청했습니다" in at.success[0].value
    titles = [c["title"] for c in hub.client("engineer_gwangju").cases()]
    assert "도장 불량 검출" in titles


def test_job_form_refuses_a_job_over_budget_before_submitting(hub: HubWorld) -> None:
    at = open_page(portal(hub, "engineer"), "submit_job")
    at.number_input(key="submit_gpus").set_value(8.0)
    at.number_input(key="submit_hours").set_value(72.0).run()
    assert any("예산 부족" in w.value for w in at.warning)
    assert at.button(key="submit_button").disabled


def test_engineer_submits_a_template_job_and_sees_its_estimated_start(hub: HubWorld) -> None:
    at = open_page(portal(hub, "engineer"), "submit_job")
    at.text_input(key="submit_name").input("AppTest 작업")
    at.text_input(key="arg_epochs").input("2")
    at.button(key="submit_button").click().run()
    assert not at.exception
    assert "제출했습니다" in at.success[0].value
    job = hub.client("engineer").job(at.session_state["job_id"])
    assert (job["name"], job["arguments"]["epochs"]) == ("AppTest 작업", "2")
    hub.client("engineer").cancel_job(job["id"])


def test_job_page_shows_timeline_log_and_metric_chart(hub: HubWorld) -> None:
    at = open_page(portal(hub, "engineer"), "job", job_id=hub.ids["succeeded_job"])
    shown = texts(at)
    for expected in ("성공", "대기열 등록", "예산 승인", "작업 로그의 에폭별 지표", "val_accuracy"):
        assert expected in shown
    assert at.get("vega_lite_chart"), "the metric chart is drawn"


def test_a_waiting_job_shows_its_queue_position_and_reason(hub: HubWorld) -> None:
    at = open_page(portal(hub, "engineer"), "job", job_id=hub.ids["queued_job"])
    assert any("대기 1번째" in i.value and "다음 순서" in i.value for i in at.info), texts(at)


def test_another_company_job_is_not_found_and_shown_as_the_api_message(hub: HubWorld) -> None:
    at = open_page(portal(hub, "engineer_gwangju"), "job", job_id=hub.ids["succeeded_job"])
    assert "(404): job" in at.error[0].value
    assert "not found" in at.error[0].value
    assert not at.exception


def test_internal_comments_stay_with_hub_staff(hub: HubWorld) -> None:
    case_id = hub.ids["gwangju_case"]
    staff = texts(open_page(portal(hub, "consultant"), "case", case_id=case_id))
    company_at = open_page(portal(hub, "engineer_gwangju"), "case", case_id=case_id)
    assert not company_at.error, [e.value for e in company_at.error]
    company = texts(company_at)
    assert "예산 규모 확인 필요" in staff
    assert "예산 규모 확인 필요" not in company
    assert "센서 데이터 샘플을 공유해 주세요." in company


def test_consultant_records_a_maturity_assessment(hub: HubWorld) -> None:
    at = open_page(portal(hub, "consultant"), "case", case_id=hub.ids["gwangju_case"])
    at.slider(key="q_r1").set_value(4)
    button(at, "진단 저장").click().run()  # type: ignore[attr-defined]
    assert not at.exception, at.exception
    done = hub.client("consultant").assessments(case_id=hub.ids["gwangju_case"])
    assert done[-1]["answers"]["r1"] == 4


def test_operator_approves_a_proposed_grant(hub: HubWorld) -> None:
    grant_id = hub.ids["proposed_grant"]
    at = open_page(portal(hub, "operator"), "grants")
    at.text_input(key=f"grant_no_{grant_id}").input("AX-2026-0099")
    at.button(key=f"approve_{grant_id}").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert hub.client("operator").get_grant(grant_id)["status"] == "approved"


def test_operator_drains_and_undrains_a_node(hub: HubWorld) -> None:
    at = open_page(portal(hub, "operator"), "cluster")
    at.text_input(key="reason_gpu-l40s-0").input("팬 교체")
    at.button(key="drain_gpu-l40s-0").click().run()
    assert not at.exception
    node = next(n for n in hub.client("operator").nodes() if n["node_id"] == "gpu-l40s-0")
    assert node["draining"]
    at.button(key="undrain_gpu-l40s-0").click().run()
    node = next(n for n in hub.client("operator").nodes() if n["node_id"] == "gpu-l40s-0")
    assert not node["draining"]


def test_admin_sees_companies_and_users(hub: HubWorld) -> None:
    companies = texts(open_page(portal(hub, "admin"), "companies"))
    users_at = open_page(portal(hub, "admin"), "users")
    assert "사업자등록번호" in companies or open_page(portal(hub, "admin"), "companies").dataframe
    frame = users_at.dataframe[0].value
    assert LOGINS["consultant"] in set(frame.iloc[:, 1])


def test_engineer_cancels_a_queued_job_from_its_page(hub: HubWorld) -> None:
    engineer = hub.client("engineer")
    job = engineer.submit_job(
        {
            "name": "취소할 작업",
            "template": "defect_classifier",
            "num_gpus": 4,
            "gpu_type": "A100",
            "time_limit_s": 600,
        }
    )
    at = open_page(portal(hub, "engineer"), "job", job_id=job["id"])
    at.button(key="job_cancel").click().run()
    assert not at.exception
    assert engineer.job(job["id"])["status"] == "cancelled"
    assert "취소" in texts(at)


def test_registering_a_model_of_a_job_without_an_mlflow_run_says_so(hub: HubWorld) -> None:
    at = open_page(portal(hub, "engineer"), "models")
    at.text_input(key="register_name").input("defect-cnn")
    button(at, "등록").click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert [w.value for w in at.warning] == ["이 작업의 MLflow 실행 기록이 없습니다."]


def test_consultant_proposes_a_grant_from_the_case_page(hub: HubWorld) -> None:
    case_id = hub.ids["gwangju_case"]
    before = len(hub.client("consultant").grants(case_id=case_id))
    at = open_page(portal(hub, "consultant"), "case", case_id=case_id)
    at.number_input(key="grant_hours").set_value(40.0)
    at.text_area(key="grant_purpose").input("불량 검출 모델 재학습")
    button(at, "제안하기").click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    grants = hub.client("consultant").grants(case_id=case_id)
    assert len(grants) == before + 1
    assert (grants[0]["status"], grants[0]["gpu_hours"]) == ("proposed", 40.0)
