"""A typed HTTP client for hub_api, shared by the ``axhub`` CLI and the portal.

Errors come back as ``HubApiError`` carrying the API's own problem-details message, so callers
show what the API said instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from hub_api import API_PREFIX


@dataclass
class HubApiError(Exception):
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}"


class HubClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + API_PREFIX,
            headers=headers,
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def set_token(self, token: str | None) -> None:
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"
        else:
            self._http.headers.pop("Authorization", None)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise HubApiError(503, f"hub API unreachable at {self._http.base_url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                body = response.json()
                detail = body.get("detail") or response.reason_phrase
                errors = body.get("errors")
            except ValueError:
                detail, errors = response.text or response.reason_phrase, None
            raise HubApiError(response.status_code, str(detail), errors)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # --- auth -------------------------------------------------------------------------------
    def login(self, email: str, password: str) -> dict[str, Any]:
        token: dict[str, Any] = self.request(
            "POST", "/auth/login", json={"email": email, "password": password}
        )
        self.set_token(token["access_token"])
        return token

    def me(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/auth/me")
        return result

    def create_api_token(
        self, name: str, *, scopes: list[str], expires_in_days: int
    ) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "POST",
            "/auth/tokens",
            json={"name": name, "scopes": scopes, "expires_in_days": expires_in_days},
        )
        return result

    def revoke_api_token(self, token_id: int) -> None:
        self.request("DELETE", f"/auth/tokens/{token_id}")

    # --- companies and users ----------------------------------------------------------------
    def list_companies(self, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/companies", params=_clean(params))
        return result

    def get_company(self, company_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/companies/{company_id}")
        return result

    def create_company(self, data: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", "/companies", json=data)
        return result

    def list_users(self, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/users", params=_clean(params))
        return result

    def create_user(self, data: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", "/users", json=data)
        return result

    def deactivate_user(self, user_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.request("DELETE", f"/users/{user_id}")
        return result

    def reset_password(self, user_id: int, new_password: str | None = None) -> dict[str, Any]:
        body = {"new_password": new_password} if new_password else {}
        result: dict[str, Any] = self.request("POST", f"/users/{user_id}/password-reset", json=body)
        return result


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}
