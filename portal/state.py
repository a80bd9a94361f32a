"""Session state: the one API client, the signed-in user, the locale, and error display."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from portal.api_client import HubApiError, PortalClient
from portal.i18n import DEFAULT_LOCALE, translate

T = TypeVar("T")
_FAILED = object()


def client() -> PortalClient:
    """The session's API client, created once and kept in ``st.session_state``."""
    if "client" not in st.session_state:
        st.session_state["client"] = PortalClient()
    hub: PortalClient = st.session_state["client"]
    return hub


def user() -> dict[str, Any] | None:
    me: dict[str, Any] | None = st.session_state.get("user")
    return me


def require_user() -> dict[str, Any]:
    me = user()
    if me is None:
        st.stop()
    assert me is not None
    return me


def role() -> str | None:
    me = user()
    return None if me is None else str(me["role"])


def locale() -> str:
    return str(st.session_state.get("locale", DEFAULT_LOCALE))


def t(key: str, **values: object) -> str:
    return translate(locale(), key, **values)


def sign_in(email: str, password: str) -> bool:
    hub = client()
    try:
        hub.login(email, password)
        me = hub.me()
    except HubApiError as exc:
        show_error(exc, signing_in=True)
        return False
    st.session_state["user"] = me
    if "locale_chosen" not in st.session_state:
        st.session_state["locale"] = me.get("locale", DEFAULT_LOCALE)
    return True


def sign_out() -> None:
    client().logout()
    for key in list(st.session_state.keys()):
        if key not in ("locale", "locale_chosen"):
            del st.session_state[key]


def show_error(exc: HubApiError, *, signing_in: bool = False) -> None:
    """The API's own message, never a traceback."""
    if exc.status == 401 and not signing_in:
        st.session_state.pop("user", None)
        st.error(t("error.session_expired"))
        return
    text = exc.detail
    if exc.errors:
        text += "\n\n" + "\n".join(
            f"- {e.get('field', '')}: {e.get('message', '')}" for e in exc.errors
        )
    st.error(t("error.api", status=exc.status, detail=text))


def call(fn: Callable[[], T]) -> T | None:
    """Run one API call; on an API error show its message and return ``None``."""
    try:
        return fn()
    except HubApiError as exc:
        show_error(exc)
        return None


def go(page: str, **selection: Any) -> None:
    """Open a (possibly hidden) page with ``selection`` (e.g. ``job_id``) in the session."""
    for key, value in selection.items():
        st.session_state[key] = value
    st.switch_page(page)


def quietly(fn: Callable[[], T]) -> T | None:
    """For optional extras (e.g. author names): ``None`` instead of an error message."""
    try:
        return fn()
    except HubApiError:
        return None


def load(fn: Callable[[], T]) -> T:
    """Like ``call``, but the page stops (after showing the API's message) when it fails."""
    result = call(fn)
    if result is None:
        st.stop()
    assert result is not None
    return result


def selected(key: str, empty_message: str) -> int:
    """The id a list page selected (``job_id``, ``case_id``); stops with a hint when none."""
    value = st.session_state.get(key)
    if value is None:
        st.info(t(empty_message))
        st.stop()
    return int(value)


def act(fn: Callable[[], object]) -> bool:
    """Run one change; ``True`` when the API accepted it (else its message is shown)."""
    try:
        fn()
    except HubApiError as exc:
        show_error(exc)
        return False
    return True
