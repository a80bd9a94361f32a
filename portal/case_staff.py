"""The parts of the case page that work a case: moves, company profile, assessment, grant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

from portal import analytics, charts
from portal.formatting import fmt_datetime, fmt_gpu_hours, fmt_number, label
from portal.state import call, client, locale, t

Json = dict[str, Any]


def transition_form(case: Json, *, staff: bool) -> None:
    loc = locale()
    moves: list[str] = case.get("allowed_transitions") or []  # what the API allows the caller
    if not moves:
        return
    with st.form("transition", clear_on_submit=True):
        st.markdown(f"#### {t('case.move')}")
        to_status: str = st.selectbox(
            t("case.to_status"),
            moves,
            format_func=lambda s: label(loc, "case_status", s),
            key="move_to",
        )
        reason = st.text_input(t("case.reason"), key="move_reason")
        summary = st.text_area(t("case.outcome_summary"), key="move_outcome") if staff else ""
        if st.form_submit_button(t("case.move_button"), type="primary"):
            if not reason.strip():
                st.warning(t("case.reason_required"))
                return
            extra: Json = {}
            if to_status == "completed" and summary.strip():
                extra["outcome"] = {"summary": summary.strip()}
            if call(
                lambda: client().transition_case(case["id"], to_status, reason.strip(), **extra)
            ):
                st.rerun()


def company_profile(company_id: int) -> None:
    loc = locale()
    company = call(lambda: client().get_company(company_id))
    if company is None:
        return
    cols = st.columns(4)
    cols[0].metric(t("company.name"), company["name"])
    cols[1].metric(t("company.region"), label(loc, "region", company["region"]))
    cols[2].metric(t("company.employees"), fmt_number(company["employees"], loc))
    level = company.get("smart_factory_level")
    cols[3].metric(t("company.maturity"), "—" if level is None else f"{level} / 5")
    st.caption(f"KSIC {company['industry_ksic']} · {company['business_registration_number']}")
    for contact in company.get("contacts") or []:
        st.write(
            f":material/person: {contact['name']} {contact.get('title') or ''} · "
            f"{contact.get('email') or ''}"
        )


def assessment(case: Json) -> None:
    loc = locale()
    hub = client()
    done = call(lambda: hub.assessments(company_id=case["company_id"])) or []
    rows = analytics.assessment_rows(done)
    if rows:
        for row in rows:
            row["dimension"] = t(f"dimension.{row['dimension']}")
            row["phase"] = t(f"phase.{row['phase']}")
        st.altair_chart(
            charts.grouped_bars(
                rows,
                x="dimension",
                y="score",
                group="phase",
                x_title=t("assessment.dimension"),
                y_title=t("assessment.score"),
            ),
            width="stretch",
        )
        for item in done:
            st.caption(
                f"{t('phase.' + item['phase'])} · {fmt_datetime(item['created_at'], loc)} · "
                f"{t('assessment.overall')} {fmt_number(item['overall_score'], loc, 1)} · "
                f"{t('assessment.level')} {item['smart_factory_level']}"
            )
    else:
        st.info(t("assessment.none"))
    questions = call(hub.questionnaire) or []
    with st.form("assessment"):
        st.markdown(f"#### {t('assessment.new')}")
        phase = st.radio(
            t("assessment.phase"),
            ("T0", "T1"),
            format_func=lambda p: t(f"phase.{p}"),
            horizontal=True,
            key="assessment_phase",
        )
        answers: dict[str, int] = {}
        for question in questions:
            text_key = f"question.{question['id']}"
            text = t(text_key)
            answers[question["id"]] = st.slider(
                text if text != text_key else question["text"], 0, 5, 2, key=f"q_{question['id']}"
            )
        if st.form_submit_button(t("assessment.save"), type="primary"):
            with st.spinner(t("common.saving")):
                saved = call(lambda: hub.create_assessment(case["id"], phase, answers))
            if saved:
                st.success(t("assessment.saved", level=saved["smart_factory_level"]))
                st.rerun()


def grant_proposal(case: Json, me: Json) -> None:
    loc = locale()
    hub = client()
    grants = call(lambda: hub.grants(case_id=case["id"])) or []
    for grant in grants:
        st.write(
            f"**{grant['project_number']}** · {fmt_gpu_hours(grant['gpu_hours'], loc)} · "
            f"{label(loc, 'grant_status', grant['status'])} · "
            f"{fmt_datetime(grant['valid_until'], loc)}"
        )
    if me["role"] not in ("consultant", "admin"):
        return
    programmes = call(hub.programmes) or []
    if not programmes:
        st.info(t("grant.no_programmes"))
        return
    names = {p["id"]: f"{p['name']} ({p['project_number']})" for p in programmes}
    today = datetime.now(UTC).date()
    with st.form("grant"):
        st.markdown(f"#### {t('grant.propose')}")
        programme_id = st.selectbox(
            t("grant.programme"), list(names), format_func=names.__getitem__, key="grant_programme"
        )
        hours = st.number_input(
            t("grant.gpu_hours"), min_value=1.0, max_value=100_000.0, value=100.0, key="grant_hours"
        )
        gpu_type = st.selectbox(
            t("grant.gpu_type"),
            ("", "A100", "L40S"),
            format_func=lambda g: g or t("common.any"),
            key="grant_gpu_type",
        )
        window = st.date_input(
            t("grant.window"), (today, today + timedelta(days=180)), key="grant_window"
        )
        purpose = st.text_area(t("grant.purpose"), key="grant_purpose")
        if st.form_submit_button(t("grant.propose_button"), type="primary"):
            if not purpose.strip() or not isinstance(window, tuple) or len(window) != 2:
                st.warning(t("grant.incomplete"))
                return
            body = {
                "programme_id": programme_id,
                "case_id": case["id"],
                "gpu_hours": hours,
                "gpu_type": gpu_type or None,
                "valid_from": datetime.combine(window[0], datetime.min.time(), UTC).isoformat(),
                "valid_until": datetime.combine(window[1], datetime.max.time(), UTC).isoformat(),
                "purpose": purpose.strip(),
            }
            if call(lambda: hub.propose_grant(body)):
                st.success(t("grant.proposed"))
                st.rerun()
