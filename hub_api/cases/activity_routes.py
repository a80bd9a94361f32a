from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, UploadFile, status
from fastapi.responses import Response

from hub_api.cases import activity
from hub_api.cases.activity_models import (
    AttachmentPublic,
    CaseAttachment,
    CaseComment,
    CaseVisit,
    CommentCreate,
    CommentPublic,
    VisitCreate,
    VisitPublic,
)
from hub_api.cases.dependencies import CaseDep, SettingsDep
from hub_api.core.authz import Permission, Principal, require
from hub_api.core.db import SessionDep
from hub_api.storage.base import AttachmentStorage, get_storage

router = APIRouter(prefix="/cases/{case_id}", tags=["cases"])
Reader = Annotated[Principal, Depends(require(Permission.case_read))]
Commenter = Annotated[Principal, Depends(require(Permission.case_comment))]
Storage = Annotated[AttachmentStorage, Depends(get_storage)]


@router.post(
    "/comments",
    response_model=CommentPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Comment on a case (shared with the company, or internal to hub staff)",
)
def add_comment(
    session: SessionDep, actor: Commenter, case: CaseDep, data: CommentCreate
) -> CaseComment:
    return activity.add_comment(session=session, actor=actor, case=case, data=data)


@router.get("/comments", response_model=list[CommentPublic], summary="Comments you may read")
def list_comments(session: SessionDep, actor: Reader, case: CaseDep) -> list[CaseComment]:
    return activity.list_comments(session=session, actor=actor, case=case)


@router.post(
    "/visits",
    response_model=VisitPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Log a visit or meeting",
)
def add_visit(
    session: SessionDep,
    actor: Annotated[Principal, Depends(require(Permission.case_work))],
    case: CaseDep,
    data: VisitCreate,
) -> CaseVisit:
    return activity.add_visit(session=session, actor=actor, case=case, data=data)


@router.get("/visits", response_model=list[VisitPublic], summary="Visits and meetings")
def list_visits(session: SessionDep, case: CaseDep) -> list[CaseVisit]:
    return activity.list_visits(session=session, case=case)


@router.post(
    "/attachments",
    response_model=AttachmentPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Upload an attachment (size-capped, type-checked)",
)
def add_attachment(
    session: SessionDep,
    actor: Commenter,
    case: CaseDep,
    settings: SettingsDep,
    storage: Storage,
    file: UploadFile,
) -> CaseAttachment:
    data = file.file.read(settings.attachment_max_bytes + 1)
    return activity.add_attachment(
        session=session,
        actor=actor,
        case=case,
        storage=storage,
        filename=file.filename,
        content_type=file.content_type,
        data=data,
        max_bytes=settings.attachment_max_bytes,
    )


@router.get("/attachments", response_model=list[AttachmentPublic], summary="Attachments")
def list_attachments(session: SessionDep, case: CaseDep) -> list[CaseAttachment]:
    return activity.list_attachments(session=session, case=case)


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    summary="Download an attachment",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_attachment(
    session: SessionDep,
    case: CaseDep,
    storage: Storage,
    attachment_id: Annotated[int, Path(ge=1)],
) -> Response:
    attachment = activity.get_attachment(session=session, case=case, attachment_id=attachment_id)
    name = quote(attachment.filename, safe="")
    return Response(
        storage.get(attachment.storage_key),
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.delete(
    "/attachments/{attachment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an attachment (its uploader, or staff working the case)",
)
def delete_attachment(
    session: SessionDep,
    actor: Commenter,
    case: CaseDep,
    storage: Storage,
    attachment_id: Annotated[int, Path(ge=1)],
) -> None:
    activity.delete_attachment(
        session=session, actor=actor, case=case, storage=storage, attachment_id=attachment_id
    )
