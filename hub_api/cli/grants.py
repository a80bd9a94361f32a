"""``axhub grants``: grant housekeeping straight on the database, for a scheduled job.

``axhub grants housekeeping`` does what ``POST /grants/housekeeping`` does, without a user or a
running API: it expires approved grants whose validity has ended (what is left goes back to the
programme's pool as an ``expiry`` ledger entry) and announces grants that end within 7 days, in
one transaction, then mails pending notifications when ``HUB_SMTP_HOST`` is set. It is
idempotent: an expired grant is not expired again and each expiry notice is sent once per grant
and user (notification dedupe keys). The Helm chart runs it hourly as a CronJob.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from hub_api.core.config import get_settings
from hub_api.core.db import build_engine
from hub_api.core.errors import HubError
from hub_api.core.security import utcnow

app = typer.Typer(help="GPU-hour grants (directly on the database).", no_args_is_help=True)


@app.command("housekeeping")
def housekeeping(
    email: Annotated[
        bool, typer.Option(help="Send pending notification e-mails (when HUB_SMTP_HOST is set)")
    ] = True,
) -> None:
    """Expire ended grants and announce those ending within 7 days; prints JSON."""
    from hub_api.grants.service import run_housekeeping
    from hub_api.notifications.mailer import send_pending_emails

    settings = get_settings()
    engine = build_engine(settings.database_url)
    at = utcnow()
    try:
        with Session(engine, expire_on_commit=False) as session:
            expired, notices = run_housekeeping(session=session, actor=None, at=at)
            emails = send_pending_emails(session=session, settings=settings) if email else 0
    except HubError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        typer.echo(f"error: database failure: {reason}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    result = {
        "at": at.isoformat(),
        "expired_grant_ids": expired,
        "expiry_notices": notices,
        "emails_sent": emails,
    }
    typer.echo(json.dumps(result, indent=2))
