"""One error shape for the whole API: RFC 9457 problem details.

Every error answer is ``application/problem+json`` with ``type``, ``title``, ``status``,
``detail`` and, for validation errors, ``errors``: a list of ``{field, message}`` naming the
offending field (``body.email``, ``query.limit``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://axhub.example/problems/"

log = structlog.get_logger(__name__)


class HubError(Exception):
    """Base of the errors services raise; each maps to one HTTP status."""

    status_code = 400
    problem_type = "bad-request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class NotFoundError(HubError):
    status_code = 404
    problem_type = "not-found"


class ConflictError(HubError):
    status_code = 409
    problem_type = "conflict"


class ForbiddenError(HubError):
    status_code = 403
    problem_type = "forbidden"


class AuthenticationError(HubError):
    status_code = 401
    problem_type = "unauthenticated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class TooManyRequestsError(HubError):
    status_code = 429
    problem_type = "too-many-requests"


class InvalidInputError(HubError):
    """Semantically invalid input that passed schema validation (422)."""

    status_code = 422
    problem_type = "invalid-input"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


def problem(
    status: int,
    detail: str,
    *,
    problem_type: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + problem_type if problem_type else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid value"))
        errors.append({"field": _field_name(error.get("loc", ())), "message": message})
    return errors


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError) -> JSONResponse:
        extra: dict[str, Any] = {}
        if isinstance(exc, InvalidInputError) and exc.field:
            extra["errors"] = [{"field": exc.field, "message": exc.detail}]
        return problem(
            exc.status_code,
            exc.detail,
            problem_type=exc.problem_type,
            instance=request.url.path,
            headers=exc.headers,
            **extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(
            422,
            f"Invalid request: {summary}",
            problem_type="validation-error",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route matches {request.method} {request.url.path}"
        if exc.status_code == 405:
            detail = f"Method {request.method} is not allowed on {request.url.path}"
        return problem(exc.status_code, detail, instance=request.url.path, headers=exc.headers)

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity_error", path=request.url.path, error=str(exc.orig))
        return problem(
            409,
            "The request conflicts with existing data (a unique value is already taken "
            "or a referenced object does not exist).",
            problem_type="conflict",
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return problem(
            500,
            "An unexpected error occurred; it has been logged.",
            instance=request.url.path,
        )
