"""All domain routers, mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from hub_api import API_PREFIX
from hub_api.assessments.routes import router as assessments_router
from hub_api.audit.routes import router as audit_router
from hub_api.auth.routes import router as auth_router
from hub_api.cases.activity_routes import router as case_activity_router
from hub_api.cases.routes import router as cases_router
from hub_api.cluster.routes import router as cluster_router
from hub_api.companies.routes import router as companies_router
from hub_api.grants.routes import router as grants_router
from hub_api.health.routes import router as health_router
from hub_api.jobs.routes import router as jobs_router
from hub_api.models.routes import router as models_router
from hub_api.notifications.routes import router as notifications_router
from hub_api.ops.routes import router as ops_router
from hub_api.users.routes import router as users_router

api_router = APIRouter(prefix=API_PREFIX)
for router in (
    health_router,
    auth_router,
    companies_router,
    users_router,
    audit_router,
    jobs_router,
    cluster_router,
    models_router,
):
    api_router.include_router(router)
for router in (
    cases_router,
    case_activity_router,
    assessments_router,
    grants_router,
    notifications_router,
    ops_router,
):
    api_router.include_router(router)
