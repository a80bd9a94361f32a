"""``axhub``: run the hub, manage its database, and administer it over the API."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from hub_api.cli.dev import app as dev_app
from hub_api.cli.grants import app as grants_app
from hub_api.cli.ops import app as ops_app
from hub_api.cli.scheduler import app as scheduler_app
from hub_api.client import HubApiError, HubClient
from hub_api.core.config import get_settings
from hub_api.core.db import build_engine
from hub_api.core.migrate import upgrade_head

app = typer.Typer(help="Regional AX hub command line.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
companies_app = typer.Typer(help="Companies (over the API; run `axhub login` first).")
users_app = typer.Typer(help="Users (over the API; run `axhub login` first).")
app.add_typer(db_app, name="db")
app.add_typer(companies_app, name="companies")
app.add_typer(users_app, name="users")
app.add_typer(scheduler_app, name="scheduler")
app.add_typer(dev_app, name="dev")
app.add_typer(ops_app, name="ops")
app.add_typer(grants_app, name="grants")

DEFAULT_API_URL = "http://127.0.0.1:8000"


def credentials_path() -> Path:
    base = os.environ.get("AXHUB_CONFIG_DIR") or Path.home() / ".config" / "axhub"
    return Path(base) / "credentials.json"


def _api_client() -> HubClient:
    path = credentials_path()
    if not path.exists():
        typer.echo("not logged in: run `axhub login` first", err=True)
        raise typer.Exit(2)
    stored = json.loads(path.read_text())
    return HubClient(stored["api_url"], token=stored["token"])


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except HubApiError as exc:
        typer.echo(f"error {exc.status}: {exc.detail}", err=True)
        for error in exc.errors or []:
            typer.echo(f"  {error['field']}: {error['message']}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
    migrate: Annotated[bool, typer.Option(help="Run `db upgrade` first")] = True,
) -> None:
    """Run hub_api with uvicorn."""
    import uvicorn

    if migrate:
        db_upgrade()
    uvicorn.run("hub_api.main:create_app", factory=True, host=host, port=port, reload=reload)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all Alembic migrations (creates the SQLite file if needed)."""
    settings = get_settings()
    engine = build_engine(settings.database_url)
    upgrade_head(engine=engine)
    engine.dispose()
    typer.echo(f"database at head: {settings.database_url.split('@')[-1]}")


@app.command("seed-demo")
def seed_demo_command() -> None:
    """Load demo companies and one user per role (idempotent; refused in production)."""
    from hub_api.demo.seed import DEMO_PASSWORD, seed_demo

    settings = get_settings()
    engine = build_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        result = seed_demo(session=session, settings=settings)
    engine.dispose()
    typer.echo(
        f"demo data: {result.created_companies} companies and {result.created_users} users created"
    )
    typer.echo(f"log in with any of these (password '{DEMO_PASSWORD}'):")
    for role, email in result.logins:
        typer.echo(f"  {role:<11} {email}")


@app.command()
def login(
    email: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    api_url: Annotated[str, typer.Option(envvar="AXHUB_API_URL")] = DEFAULT_API_URL,
    days: Annotated[int, typer.Option(help="Lifetime of the CLI's API token")] = 30,
) -> None:
    """Log in and store a personal API token for later commands."""
    with HubClient(api_url) as client:
        _call(client.login, email, password)
        token = _call(
            client.create_api_token,
            f"axhub-cli@{socket.gethostname()}",
            scopes=["read", "write"],
            expires_in_days=days,
        )
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"api_url": api_url, "token": token["token"], "id": token["id"]}))
    path.chmod(0o600)
    typer.echo(f"logged in as {email}; token expires {token['expires_at']}")


@app.command()
def logout() -> None:
    """Revoke the stored API token and forget it."""
    path = credentials_path()
    if path.exists():
        stored = json.loads(path.read_text())
        with HubClient(stored["api_url"], token=stored["token"]) as client:
            try:
                client.revoke_api_token(stored["id"])
            except HubApiError as exc:
                typer.echo(f"token not revoked ({exc}); forgetting it anyway", err=True)
        path.unlink()
    typer.echo("logged out")


@companies_app.command("list")
def companies_list(region: str | None = None, limit: int = 50, sort: str | None = "name") -> None:
    """List companies you can see."""
    with _api_client() as client:
        _print(_call(client.list_companies, region=region, limit=limit, sort=sort))


@companies_app.command("show")
def companies_show(company_id: int) -> None:
    with _api_client() as client:
        _print(_call(client.get_company, company_id))


@companies_app.command("create")
def companies_create(
    name: Annotated[str, typer.Option()],
    business_registration_number: Annotated[str, typer.Option("--brn")],
    region: Annotated[str, typer.Option()],
    industry_ksic: Annotated[str, typer.Option("--ksic")],
    employees: Annotated[int, typer.Option()],
    smart_factory_level: Annotated[int | None, typer.Option("--level")] = None,
) -> None:
    """Onboard a company (operator or admin)."""
    data = {
        "name": name,
        "business_registration_number": business_registration_number,
        "region": region,
        "industry_ksic": industry_ksic,
        "employees": employees,
        "smart_factory_level": smart_factory_level,
    }
    with _api_client() as client:
        _print(_call(client.create_company, data))


@users_app.command("list")
def users_list(role: str | None = None, company_id: int | None = None, limit: int = 50) -> None:
    with _api_client() as client:
        _print(_call(client.list_users, role=role, company_id=company_id, limit=limit))


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option()],
    full_name: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option()],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    company_id: int | None = None,
) -> None:
    """Create a user (admin)."""
    data = {
        "email": email,
        "full_name": full_name,
        "role": role,
        "company_id": company_id,
        "password": password,
    }
    with _api_client() as client:
        _print(_call(client.create_user, data))


@users_app.command("deactivate")
def users_deactivate(user_id: int) -> None:
    with _api_client() as client:
        _print(_call(client.deactivate_user, user_id))


@users_app.command("reset-password")
def users_reset_password(user_id: int) -> None:
    """Give the user a temporary password they must change at next login (admin)."""
    with _api_client() as client:
        _print(_call(client.reset_password, user_id))


@users_app.command("bootstrap-admin")
def users_bootstrap_admin(
    email: Annotated[str, typer.Option()],
    full_name: Annotated[str, typer.Option()] = "Hub admin",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)] = "",
) -> None:
    """Create the first admin directly in the database (for a new production hub)."""
    from hub_api.users import service as users
    from hub_api.users.models import Role, UserCreate

    settings = get_settings()
    engine = build_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        try:
            data = UserCreate(email=email, full_name=full_name, role=Role.admin, password=password)
            user = users.create_user(session=session, actor=None, data=data)
        except Exception as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    engine.dispose()
    typer.echo(f"admin {user.email} created (id {user.id})")


if __name__ == "__main__":
    app()
