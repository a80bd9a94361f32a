"""E-mail delivery of notifications through SMTP (only when ``HUB_SMTP_HOST`` is set).

Notifications are written in the transaction of the change they announce, with
``email_status=pending``; after a successful write request the API sends the pending ones (an
outbox: a failed or slow mail server never rolls back or blocks a change). Other processes that
notify (the scheduler) call ``send_pending_emails`` after they commit.
"""

from __future__ import annotations

import smtplib
from collections.abc import Awaitable, Callable
from email.message import EmailMessage

import structlog
from fastapi import FastAPI, Request, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from hub_api.core.config import Settings
from hub_api.core.security import utcnow
from hub_api.notifications.models import EmailStatus, Notification
from hub_api.users.models import User

log = structlog.get_logger(__name__)
BATCH = 200


def _message(settings: Settings, to: str, notification: Notification) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = f"[AX hub] {notification.title}"
    message.set_content(notification.body)
    return message


def send_pending_emails(*, session: Session, settings: Settings) -> int:
    """Send every pending notification's e-mail; returns how many were sent."""
    if not settings.smtp_host:
        return 0
    rows = session.exec(
        select(Notification, User)
        .join(User, col(User.id) == col(Notification.user_id))
        .where(Notification.email_status == EmailStatus.pending)
        .order_by(col(Notification.id))
        .limit(BATCH)
    ).all()
    if not rows:
        return 0
    sent = 0
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password)
            for notification, user in rows:
                try:
                    smtp.send_message(_message(settings, user.email, notification))
                    notification.email_status = EmailStatus.sent
                    notification.emailed_at = utcnow()
                    sent += 1
                except smtplib.SMTPRecipientsRefused:
                    notification.email_status = EmailStatus.failed
                session.add(notification)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("smtp_unavailable", error=str(exc), pending=len(rows) - sent)
    session.commit()
    return sent


def install_email_outbox(app: FastAPI) -> None:
    """After each successful write request, send pending notification e-mails."""

    @app.middleware("http")
    async def _outbox(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        settings: Settings = request.app.state.settings
        wrote = request.method not in ("GET", "HEAD", "OPTIONS") and response.status_code < 400
        if settings.smtp_host and wrote:
            await run_in_threadpool(_flush, request.app)
        return response


def _flush(app: FastAPI) -> None:
    try:
        with Session(app.state.engine, expire_on_commit=False) as session:
            send_pending_emails(session=session, settings=app.state.settings)
    except Exception:  # never fail the request that already succeeded
        log.exception("email_outbox_failed")
