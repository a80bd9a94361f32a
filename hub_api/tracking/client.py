"""The hub's MLflow client: plain REST calls with short timeouts, one workspace per call.

The hub serves many companies from one process, so it never uses MLflow's process-global
fluent state (``mlflow.set_workspace``, ``MLFLOW_TRACKING_*`` variables): every call names its
workspace in the ``X-MLFLOW-WORKSPACE`` header and authenticates as the MLflow admin. The
workspace header is what scopes ids: asking company A's workspace for company B's run, model or
experiment answers "does not exist", even for the admin.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

WORKSPACE_HEADER = "X-MLFLOW-WORKSPACE"


class TrackingUnavailableError(Exception):
    """MLflow did not answer (down, timeout, 5xx) or refused the hub's credentials."""


class TrackingNotFoundError(Exception):
    """The object does not exist in that workspace."""


class TrackingRequestError(Exception):
    """MLflow refused the request (4xx other than not-found)."""

    def __init__(self, message: str, *, error_code: str | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


# What a call to MLflow may raise: callers that must never fail because of MLflow catch these.
TRACKING_ERRORS = (TrackingUnavailableError, TrackingRequestError, TrackingNotFoundError)


@dataclass(frozen=True)
class MlflowRest:
    base_url: str
    username: str
    password: str
    timeout_s: float = 3.0

    def _client(self, timeout_s: float | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url.rstrip("/"),
            auth=(self.username, self.password),
            timeout=timeout_s or self.timeout_s,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        workspace: str | None = None,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> dict[str, Any]:
        headers = {WORKSPACE_HEADER: workspace} if workspace else {}
        try:
            with self._client() as client:
                response = client.request(method, path, json=json, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise TrackingUnavailableError(
                f"MLflow at {self.base_url} is unreachable: {type(exc).__name__}: {exc}"
            ) from exc
        return self._decode(response, ok)

    def _decode(self, response: httpx.Response, ok: tuple[int, ...]) -> dict[str, Any]:
        if response.status_code in ok:
            body: dict[str, Any] = response.json() if response.content else {}
            return body
        try:
            error = response.json()
        except ValueError:
            error = {"message": response.text[:300]}
        code = error.get("error_code") if isinstance(error, dict) else None
        message = error.get("message", response.text[:300]) if isinstance(error, dict) else ""
        if response.status_code == 404 or code == "RESOURCE_DOES_NOT_EXIST":
            raise TrackingNotFoundError(message)
        if response.status_code in (401, 403):
            raise TrackingUnavailableError(
                f"MLflow refused the hub's credentials ({response.status_code}): {message}"
            )
        if response.status_code >= 500:
            raise TrackingUnavailableError(f"MLflow error {response.status_code}: {message}")
        raise TrackingRequestError(message, error_code=code)

    def get(self, path: str, *, workspace: str | None = None, **params: Any) -> dict[str, Any]:
        return self.request("GET", path, workspace=workspace, params=params or None)

    def post(
        self, path: str, body: dict[str, Any], *, workspace: str | None = None
    ) -> dict[str, Any]:
        return self.request("POST", path, workspace=workspace, json=body)

    def stream(
        self, path: str, *, workspace: str, params: dict[str, Any] | None = None
    ) -> Iterator[bytes]:
        """Open a download and yield its chunks; the first ``next()`` raises the errors."""
        client = self._client(timeout_s=max(self.timeout_s, 30.0))
        try:
            request = client.build_request(
                "GET", path, params=params, headers={WORKSPACE_HEADER: workspace}
            )
            response = client.send(request, stream=True)
        except httpx.HTTPError as exc:
            client.close()
            raise TrackingUnavailableError(
                f"MLflow at {self.base_url} is unreachable: {exc}"
            ) from exc
        if response.status_code != 200:
            response.read()
            client.close()
            self._decode(response, ())

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.iter_bytes(64 * 1024)
            finally:
                response.close()
                client.close()

        return chunks()

    # ----- workspaces, users, roles (admin) --------------------------------------------------
    def ensure_workspace(self, name: str, description: str) -> None:
        try:
            self.post("/api/3.0/mlflow/workspaces", {"name": name, "description": description})
        except TrackingRequestError as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise

    def ensure_user(self, username: str, password: str) -> None:
        try:
            self.post("/api/2.0/mlflow/users/create", {"username": username, "password": password})
        except TrackingRequestError as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            self.request(
                "PATCH",
                "/api/2.0/mlflow/users/update-password",
                json={"username": username, "password": password},
            )

    def ensure_role(self, workspace: str, name: str) -> int:
        roles = self.request("GET", "/api/3.0/mlflow/roles/list", params={"workspace": workspace})
        for role in roles.get("roles", []):
            if role["workspace"] == workspace and role["name"] == name:
                return int(role["id"])
        created = self.post(
            "/api/3.0/mlflow/roles/create",
            {"workspace": workspace, "name": name, "description": "AX hub company members"},
        )
        return int(created["role"]["id"])

    def ensure_role_permission(
        self, role_id: int, resource_type: str, pattern: str, permission: str
    ) -> None:
        existing = self.get("/api/3.0/mlflow/roles/permissions/list", role_id=str(role_id))
        for grant in existing.get("role_permissions", []):
            if (grant["resource_type"], grant["resource_pattern"]) == (resource_type, pattern):
                if grant["permission"] != permission:
                    self.request(
                        "PATCH",
                        "/api/3.0/mlflow/roles/permissions/update",
                        json={"role_permission_id": grant["id"], "permission": permission},
                    )
                return
        self.post(
            "/api/3.0/mlflow/roles/permissions/add",
            {
                "role_id": role_id,
                "resource_type": resource_type,
                "resource_pattern": pattern,
                "permission": permission,
            },
        )

    def ensure_assignment(self, username: str, role_id: int) -> None:
        roles = self.get("/api/3.0/mlflow/users/roles/list", username=username)
        if any(int(role["id"]) == role_id for role in roles.get("roles", [])):
            return
        self.post("/api/3.0/mlflow/roles/assign", {"username": username, "role_id": role_id})

    def ensure_experiment(self, workspace: str, name: str) -> str:
        try:
            found = self.get(
                "/api/2.0/mlflow/experiments/get-by-name", workspace=workspace, experiment_name=name
            )
            return str(found["experiment"]["experiment_id"])
        except TrackingNotFoundError:
            created = self.post(
                "/api/2.0/mlflow/experiments/create", {"name": name}, workspace=workspace
            )
            return str(created["experiment_id"])


def quoted(value: str) -> str:
    return quote(value, safe="")
