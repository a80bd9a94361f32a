"""A company's MLflow space follows the company: provisioned at onboarding, retired at deletion.

Onboarding never fails because MLflow is down: the company row is committed first and its space
is provisioned after the API has answered (a FastAPI background task with its own session). If
that fails, the scheduler service provisions the space on a later pass
(``JobTracking.provision_missing_tenants``), and in any case before the company's first job runs.

Deleting a company (only possible while it has no users and no jobs) deletes the hub's record of
its space in the same transaction and then the company's MLflow user, so the credentials stop
working; the workspace itself is kept for the records (an MLflow admin may delete it).
"""

from __future__ import annotations

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from hub_api.core.config import Settings
from hub_api.tracking.client import TRACKING_ERRORS, TrackingNotFoundError
from hub_api.tracking.tenancy import admin_client, ensure_tenant

log = structlog.get_logger(__name__)


def provision_after_onboarding(engine: Engine, settings: Settings, company_id: int) -> bool:
    """Provision the new company's space; False (logged, retried later) when MLflow is off,
    unreachable or refuses."""
    client = admin_client(settings)
    if client is None:
        return False
    with Session(engine) as session:
        try:
            ensure_tenant(session=session, settings=settings, client=client, company_id=company_id)
            session.commit()
        except (*TRACKING_ERRORS, ValueError) as exc:
            session.rollback()
            log.warning("mlflow_tenant_deferred", company_id=company_id, error=str(exc))
            return False
    log.info("mlflow_tenant_provisioned", company_id=company_id)
    return True


def retire_after_deletion(settings: Settings, username: str) -> bool:
    """Delete the deleted company's MLflow user; False (logged) when MLflow cannot be reached.
    Nobody can use the credentials anyway: the only copy of the password (encrypted) was deleted
    with the company."""
    client = admin_client(settings)
    if client is None:
        return False
    try:
        client.request("DELETE", "/api/2.0/mlflow/users/delete", json={"username": username})
    except TrackingNotFoundError:
        return True
    except TRACKING_ERRORS as exc:
        log.warning("mlflow_user_not_retired", username=username, error=str(exc))
        return False
    return True
