"""Each company's isolated space in MLflow: a workspace, a user and a role that reaches only it.

A company's space is provisioned when the company is onboarded (right after the API answers, see
``hub_api.tracking.lifecycle``); companies onboarded while MLflow was down or switched off are
provisioned by the scheduler service on its next passes (:func:`companies_without_tenant`), and at
the latest before their first job starts. Provisioning is idempotent (every step is "ensure"), so
an attempt that stopped half-way (MLflow down) is simply run again.

The company's role in its own workspace grants:

* ``workspace *  USE``  — membership: may create experiments, runs and registered models there;
* ``experiment * EDIT`` — read and write every experiment (and its runs, artifacts, logged
  models) of the workspace, not delete or re-permission them;
* ``registered_model * EDIT`` — the same for registered models and versions.

The server runs with ``default_permission = NO_PERMISSIONS`` and
``grant_default_workspace_access = false``, so the user has no access to any other workspace.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hub_api.companies.models import Company
from hub_api.core.config import Settings
from hub_api.core.security import utcnow
from hub_api.tracking import secrets
from hub_api.tracking.client import MlflowRest
from hub_api.tracking.models import MlflowTenant

COMPANY_ROLE = "axhub-company"
ROLE_GRANTS = (
    ("workspace", "*", "USE"),
    ("experiment", "*", "EDIT"),
    ("registered_model", "*", "EDIT"),
)


@dataclass(frozen=True)
class TenantCredentials:
    company_id: int
    workspace: str
    username: str
    password: str
    experiment_id: str


def workspace_for(company_id: int) -> str:
    return f"company-{company_id}"


def username_for(company_id: int) -> str:
    return f"axhub-company-{company_id}"


def admin_client(settings: Settings) -> MlflowRest | None:
    if not settings.mlflow_tracking_uri:
        return None
    return MlflowRest(
        base_url=settings.mlflow_tracking_uri,
        username=settings.mlflow_admin_username,
        password=settings.mlflow_admin_password,
        timeout_s=settings.mlflow_timeout_s,
    )


def tenant_of(session: Session, company_id: int) -> MlflowTenant | None:
    tenant = session.get(MlflowTenant, company_id)
    return tenant if tenant is not None and tenant.provisioned_at is not None else None


def credentials(tenant: MlflowTenant, settings: Settings) -> TenantCredentials | None:
    password = secrets.decrypt(tenant.password_encrypted, secret_key=settings.secret_key)
    if password is None or tenant.experiment_id is None or tenant.provisioned_at is None:
        return None
    return TenantCredentials(
        company_id=tenant.company_id,
        workspace=tenant.workspace,
        username=tenant.username,
        password=password,
        experiment_id=tenant.experiment_id,
    )


def ensure_tenant(
    *, session: Session, settings: Settings, client: MlflowRest, company_id: int
) -> TenantCredentials:
    """The company's MLflow space and credentials, provisioned on first use; flushes, the caller
    commits. Raises the client's errors when MLflow is unreachable."""
    tenant = session.get(MlflowTenant, company_id)
    if tenant is not None:
        ready = credentials(tenant, settings)
        if ready is not None:
            return ready
    company = session.get(Company, company_id)
    if company is None:
        raise ValueError(f"company {company_id} does not exist")
    workspace, username = workspace_for(company_id), username_for(company_id)
    password = (
        secrets.decrypt(tenant.password_encrypted, secret_key=settings.secret_key)
        if tenant is not None
        else None
    ) or secrets.new_password()
    client.ensure_workspace(workspace, f"{company.name} (AX hub company {company_id})")
    client.ensure_user(username, password)
    role_id = client.ensure_role(workspace, COMPANY_ROLE)
    for resource_type, pattern, permission in ROLE_GRANTS:
        client.ensure_role_permission(role_id, resource_type, pattern, permission)
    client.ensure_assignment(username, role_id)
    experiment_id = client.ensure_experiment(workspace, settings.mlflow_experiment_name)
    if tenant is None:
        tenant = MlflowTenant(
            company_id=company_id, workspace=workspace, username=username, password_encrypted=""
        )
    tenant.password_encrypted = secrets.encrypt(password, secret_key=settings.secret_key)
    tenant.role_id = role_id
    tenant.experiment_id = experiment_id
    tenant.provisioned_at = utcnow()
    session.add(tenant)
    try:
        session.flush()
    except IntegrityError:
        # Lost a race: the company was deleted meanwhile, or another process (the onboarding
        # task, the scheduler) provisioned it at the same time and may have set the MLflow
        # password to its own. Adopt the stored space and put its password back in MLflow.
        # (Only a brand-new row can fail here, and every caller provisions before it changes
        # anything else in the session, so the rollback loses nothing.)
        session.rollback()
        return _adopt_stored(
            session=session, settings=settings, client=client, company_id=company_id
        )
    return TenantCredentials(company_id, workspace, username, password, experiment_id)


def _adopt_stored(
    *, session: Session, settings: Settings, client: MlflowRest, company_id: int
) -> TenantCredentials:
    stored = session.get(MlflowTenant, company_id)
    ready = credentials(stored, settings) if stored is not None else None
    if ready is None:
        raise ValueError(f"company {company_id} no longer exists or is being provisioned")
    client.ensure_user(ready.username, ready.password)
    return ready


def companies_without_tenant(session: Session, *, limit: int = 20) -> list[int]:
    """Companies whose MLflow space is missing or was left half-provisioned, oldest first."""
    ids = session.exec(
        select(Company.id)
        .outerjoin(MlflowTenant, col(MlflowTenant.company_id) == col(Company.id))
        .where(
            or_(col(MlflowTenant.company_id).is_(None), col(MlflowTenant.provisioned_at).is_(None))
        )
        .order_by(col(Company.id))
        .limit(limit)
    ).all()
    return [company_id for company_id in ids if company_id is not None]
