"""``axhub grants``: grant housekeeping straight on the database, for a scheduled job.

``axhub grants housekeeping`` does what ``POST /grants/housekeeping`` does, without a user or a
running API: it expires approved grants whose validity has ended (what is left goes back to the
programme's pool as an ``expiry`` ledger entry) and announces grants that end within 7 days, in
one transaction, then mails pending notifications when ``HUB_SMTP_HOST`` is set. It is
idempotent: an expired grant is not expired again and each expiry notice is sent once per grant
and user (notification dedupe keys). The Helm chart runs it hourly as a CronJob.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from hub_api.core.config import get_settings
from hub_api.core.db import build_engine
from hub_api.core.errors import HubError
from hub_api.core.security import utcnow

app = typer.Typer(help="GPU-hour grants (directly on the database).", no_args_is_help=True)


def housekeeping_once(*, email: bool) -> dict[str, object]:
    """One round; raises typer.Exit(1) with a message on a database or domain failure."""
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
    return {
        "at": at.isoformat(),
        "expired_grant_ids": expired,
        "expiry_notices": notices,
        "emails_sent": emails,
    }


@app.command("housekeeping")
def housekeeping(
    email: Annotated[
        bool, typer.Option(help="Send pending notification e-mails (when HUB_SMTP_HOST is set)")
    ] = True,
    every: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            help="Repeat every SECONDS until stopped (as `axhub dev up` runs it); a failed round "
            "is reported and the next one runs on time",
        ),
    ] = None,
    times: Annotated[
        int, typer.Option(min=0, help="With --every: stop after N rounds (0: never)")
    ] = 0,
) -> None:
    """Expire ended grants and announce those ending within 7 days; prints JSON."""
    if every is None:
        typer.echo(json.dumps(housekeeping_once(email=email), indent=2))
        return
    done = 0
    while True:
        with contextlib.suppress(typer.Exit):  # already reported; try again next round
            typer.echo(json.dumps(housekeeping_once(email=email)))
        done += 1
        if times and done >= times:
            return
        time.sleep(every)
