"""Objects the authorization matrix needs for the consulting routes (cases, grants, budgets).

"own" objects belong to company A and (for cases) are assigned to the world's consultant;
"other" objects belong to company B and are assigned to a second consultant, so the world's
consultant must not see them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from hub_api.assessments.models import Assessment, Phase
from hub_api.assessments.questionnaire import QUESTIONS
from hub_api.cases.activity_models import CaseAttachment
from hub_api.cases.models import Case
from hub_api.grants.models import Grant
from hub_api.notifications.models import Notification, NotificationKind
from hub_api.storage.base import LocalFolderStorage, new_key
from hub_api.users.models import Role, User
from tests.factories import make_case, make_grant, make_programme, make_user
from tests.hub_api.conftest import World

PDF = b"%PDF-1.7\n%minimal\n"


def case_for(world: World, session: Session, target: str) -> Case:
    if target == "own":
        return make_case(session, world.company_a, assignee=world.consultant)
    return make_case(session, world.company_b, assignee=make_user(session, Role.consultant))


def case_path(world: World, session: Session, target: str) -> dict[str, Any]:
    return {"case_id": case_for(world, session, target).id}


def attachment_path(world: World, session: Session, target: str) -> dict[str, Any]:
    case = case_for(world, session, target)
    assert world.settings.attachment_dir is not None
    assert case.id is not None
    key = new_key(case.company_id)
    LocalFolderStorage(world.settings.attachment_dir).put(key, PDF)
    attachment = CaseAttachment(
        case_id=case.id,
        company_id=case.company_id,
        filename="report.pdf",
        content_type="application/pdf",
        size_bytes=len(PDF),
        sha256="0" * 64,
        storage_key=key,
    )
    session.add(attachment)
    session.commit()
    return {"case_id": case.id, "attachment_id": attachment.id}


def attachment_upload(*_: Any) -> dict[str, Any]:
    return {"file": ("report.pdf", PDF, "application/pdf")}


def programme_path(world: World, session: Session, target: str) -> dict[str, Any]:
    return {"programme_id": make_programme(session).id}


def grant_for(
    world: World, session: Session, target: str, *, proposer: User | None = None, **kw: Any
) -> Grant:
    case = case_for(world, session, target)
    proposer = proposer or make_user(session, Role.consultant)
    return make_grant(session, case, make_programme(session), proposed_by_id=proposer.id, **kw)


def grant_path(world: World, session: Session, target: str) -> dict[str, Any]:
    return {"grant_id": grant_for(world, session, target).id}


def proposed_grant_path(world: World, session: Session, target: str) -> dict[str, Any]:
    return {"grant_id": grant_for(world, session, target, approved=False).id}


def own_proposal_path(world: World, session: Session, target: str) -> dict[str, Any]:
    grant = grant_for(world, session, target, proposer=world.consultant, approved=False)
    return {"grant_id": grant.id}


def grant_proposal(world: World, session: Session, target: str) -> dict[str, Any]:
    case = make_case(session, world.company_a, assignee=world.consultant)
    programme = make_programme(session)
    return {
        "programme_id": programme.id,
        "case_id": case.id,
        "gpu_hours": 50,
        "valid_from": datetime(2026, 2, 1, tzinfo=UTC).isoformat(),
        "valid_until": datetime(2026, 8, 1, tzinfo=UTC).isoformat(),
        "purpose": "PoC training of a defect detector",
    }


def budget_path(world: World, session: Session, target: str) -> dict[str, Any]:
    company = world.company_a if target == "own" else world.company_b
    if target == "own":
        make_case(session, company, assignee=world.consultant)
    return {"company_id": company.id}


def notification_of(world: World, session: Session, target: str, caller: Role) -> dict[str, Any]:
    owner = world.user(caller) if target == "own" else world.engineer_b
    notification = Notification(
        user_id=owner.id or 0, kind=NotificationKind.case_assigned, title="t", body="b"
    )
    session.add(notification)
    session.commit()
    return {"notification_id": notification.id}


def assessment_answers() -> dict[str, int]:
    return {q.id: 2 for q in QUESTIONS}


def assessment_body(world: World, session: Session, target: str) -> dict[str, Any]:
    case = make_case(session, world.company_a, assignee=world.consultant)
    return {"case_id": case.id, "phase": "T0", "answers": assessment_answers()}


def assessment_path(world: World, session: Session, target: str) -> dict[str, Any]:
    case = case_for(world, session, target)
    assessment = Assessment(
        phase=Phase.t0,
        company_id=case.company_id,
        case_id=case.id,
        answers=assessment_answers(),
        dimension_scores={},
        overall_score=40.0,
        smart_factory_level=3,
    )
    session.add(assessment)
    session.commit()
    return {"assessment_id": assessment.id}
