"""Comments, visits and attachments of a case.

Internal comments are for hub staff only: company users can neither write nor read them.
Attachments are size-capped, their content must match an allowed type, their names are checked
and never used as storage paths, and they are reachable only through a case the caller may see.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

import structlog
from sqlmodel import Session, col, select

from hub_api.audit import service as audit
from hub_api.cases.activity_models import (
    CaseAttachment,
    CaseComment,
    CaseVisit,
    CommentCreate,
    Visibility,
    VisitCreate,
)
from hub_api.cases.models import Case
from hub_api.core.authz import Principal
from hub_api.core.db import commit_or_conflict
from hub_api.core.errors import ForbiddenError, HubError, InvalidInputError, NotFoundError
from hub_api.core.security import utcnow
from hub_api.storage.base import AttachmentStorage, new_key
from hub_api.users.models import Role

log = structlog.get_logger(__name__)


class PayloadTooLargeError(HubError):
    status_code = 413
    problem_type = "payload-too-large"


class UnsupportedMediaTypeError(HubError):
    status_code = 415
    problem_type = "unsupported-media-type"


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class AllowedType:
    extensions: tuple[str, ...]
    magic: bytes | None  # None: UTF-8 text without NUL bytes


ZIP = b"PK\x03\x04"
ALLOWED_TYPES: dict[str, AllowedType] = {
    "application/pdf": AllowedType((".pdf",), b"%PDF-"),
    "image/png": AllowedType((".png",), b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": AllowedType((".jpg", ".jpeg"), b"\xff\xd8\xff"),
    "text/plain": AllowedType((".txt", ".log", ".md"), None),
    "text/csv": AllowedType((".csv",), None),
    "application/zip": AllowedType((".zip",), ZIP),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": AllowedType(
        (".xlsx",), ZIP
    ),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": AllowedType(
        (".docx",), ZIP
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": AllowedType(
        (".pptx",), ZIP
    ),
}


def _emit(session: Session, actor: Principal, case: Case, action: str, obj: object) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=f"case.{action}",
        object_type="case",
        object_id=case.id,
        company_id=case.company_id,
        after=audit.snapshot(obj),  # type: ignore[arg-type]
    )


def _mark_first_response(session: Session, actor: Principal, case: Case) -> None:
    if actor.is_staff and case.first_response_at is None:
        case.first_response_at = utcnow()
        session.add(case)


def add_comment(
    *, session: Session, actor: Principal, case: Case, data: CommentCreate
) -> CaseComment:
    if data.visibility == Visibility.internal and not actor.is_staff:
        raise ForbiddenError("only hub staff may write internal comments")
    comment = CaseComment(
        case_id=case.id or 0, author_id=actor.user_id, body=data.body, visibility=data.visibility
    )
    session.add(comment)
    session.flush()
    if data.visibility == Visibility.shared:
        _mark_first_response(session, actor, case)
    _emit(session, actor, case, "comment", comment)
    commit_or_conflict(session, conflict_message="case changed meanwhile; retry")
    return comment


def list_comments(*, session: Session, actor: Principal, case: Case) -> list[CaseComment]:
    statement = select(CaseComment).where(CaseComment.case_id == case.id)
    if not actor.is_staff:
        statement = statement.where(CaseComment.visibility == Visibility.shared)
    return list(session.exec(statement.order_by(col(CaseComment.id))).all())


def add_visit(*, session: Session, actor: Principal, case: Case, data: VisitCreate) -> CaseVisit:
    visit = CaseVisit.model_validate(
        data.model_dump() | {"case_id": case.id, "recorded_by_id": actor.user_id}
    )
    session.add(visit)
    session.flush()
    _mark_first_response(session, actor, case)
    _emit(session, actor, case, "visit", visit)
    commit_or_conflict(session, conflict_message="case changed meanwhile; retry")
    return visit


def list_visits(*, session: Session, case: Case) -> list[CaseVisit]:
    return list(
        session.exec(
            select(CaseVisit)
            .where(CaseVisit.case_id == case.id)
            .order_by(col(CaseVisit.held_at), col(CaseVisit.id))
        ).all()
    )


def clean_filename(name: str | None) -> str:
    """The display name, or a 422 for names that try to be paths or hide their type."""
    raw = unicodedata.normalize("NFC", (name or "").strip())
    if not raw:
        raise InvalidInputError("the file needs a name", field="body.file")
    if len(raw) > 200:
        raise InvalidInputError("file name is longer than 200 characters", field="body.file")
    if "/" in raw or "\\" in raw or ".." in raw or raw.startswith("."):
        raise InvalidInputError(
            "file name must be a plain name (no folders, '..' or leading dot)", field="body.file"
        )
    if any(unicodedata.category(ch).startswith("C") for ch in raw):
        raise InvalidInputError("file name contains control characters", field="body.file")
    return raw


def check_content(filename: str, content_type: str | None, data: bytes) -> str:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    allowed = ALLOWED_TYPES.get(media)
    if allowed is None:
        names = ", ".join(sorted(ALLOWED_TYPES))
        raise UnsupportedMediaTypeError(f"content type '{media}' is not accepted; use: {names}")
    if not filename.lower().endswith(allowed.extensions):
        raise UnsupportedMediaTypeError(
            f"file name '{filename}' does not end in {' or '.join(allowed.extensions)} "
            f"as '{media}' requires"
        )
    matches = _is_text(data) if allowed.magic is None else data.startswith(allowed.magic)
    if not matches:
        raise UnsupportedMediaTypeError(f"the file's content is not '{media}'")
    return media


def add_attachment(
    *,
    session: Session,
    actor: Principal,
    case: Case,
    storage: AttachmentStorage,
    filename: str | None,
    content_type: str | None,
    data: bytes,
    max_bytes: int,
) -> CaseAttachment:
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"attachments may be at most {max_bytes} bytes")
    if not data:
        raise InvalidInputError("the file is empty", field="body.file")
    name = clean_filename(filename)
    media = check_content(name, content_type, data)
    attachment = CaseAttachment(
        case_id=case.id or 0,
        company_id=case.company_id,
        filename=name,
        content_type=media,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=new_key(case.company_id),
        uploaded_by_id=actor.user_id,
    )
    # Bytes first, row second: a storage failure (503) leaves no row pointing at nothing, and
    # a failed commit removes the stored bytes again (best effort: an orphan object is harmless).
    storage.put(attachment.storage_key, data)
    try:
        session.add(attachment)
        session.flush()
        _emit(session, actor, case, "attachment", attachment)
        commit_or_conflict(session, conflict_message="attachment conflicts; retry")
    except Exception:
        session.rollback()
        try:
            storage.delete(attachment.storage_key)
        except Exception:
            log.warning("attachment_cleanup_failed", storage_key=attachment.storage_key)
        raise
    return attachment


def list_attachments(*, session: Session, case: Case) -> list[CaseAttachment]:
    return list(
        session.exec(
            select(CaseAttachment)
            .where(CaseAttachment.case_id == case.id)
            .order_by(col(CaseAttachment.id))
        ).all()
    )


def get_attachment(*, session: Session, case: Case, attachment_id: int) -> CaseAttachment:
    attachment = session.get(CaseAttachment, attachment_id)
    if (
        attachment is None
        or attachment.case_id != case.id
        or attachment.company_id != case.company_id
    ):
        raise NotFoundError(f"attachment {attachment_id} not found")
    return attachment


def delete_attachment(
    *,
    session: Session,
    actor: Principal,
    case: Case,
    storage: AttachmentStorage,
    attachment_id: int,
) -> None:
    """The uploader, or hub staff working the case (its consultant, operators, admins), may
    delete an attachment. The row goes first (one transaction with the audit event), then the
    bytes; if storage fails then, the orphan object is logged and harmless (no row names it)."""
    attachment = get_attachment(session=session, case=case, attachment_id=attachment_id)
    works_case = actor.role in (Role.operator, Role.admin) or (
        actor.role == Role.consultant and case.assignee_id == actor.user_id
    )
    if attachment.uploaded_by_id != actor.user_id and not works_case:
        raise ForbiddenError(
            "only the uploader or hub staff working this case may delete the attachment"
        )
    audit.record(
        session=session,
        actor=actor,
        action="case.attachment_delete",
        object_type="case",
        object_id=case.id,
        company_id=case.company_id,
        before=audit.snapshot(attachment),
    )
    session.delete(attachment)
    commit_or_conflict(session, conflict_message="attachment changed meanwhile; retry")
    try:
        storage.delete(attachment.storage_key)
    except Exception:
        log.warning("attachment_orphaned", storage_key=attachment.storage_key)
