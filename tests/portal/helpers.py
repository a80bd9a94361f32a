"""Driving the portal with Streamlit's AppTest as a signed-in persona."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.portal.hub_world import HubWorld

APP = str(Path(__file__).resolve().parents[2] / "portal" / "streamlit_app.py")


def portal(hub: HubWorld, who: str | None = None, *, locale: str = "ko") -> AppTest:
    """The app, signed in as ``who`` (a key of ``LOGINS``) with the API client already made."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["locale"] = locale
    if who is not None:
        client = hub.client(who)
        at.session_state["client"] = client
        at.session_state["user"] = client.me()
    return at


def open_page(at: AppTest, page: str, **selection: object) -> AppTest:
    for key, value in selection.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """Everything visible as text (titles, markdown, captions, alerts, metrics)."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "success",
        "warning",
        "error",
        "text",
        "code",
    ):
        parts.extend(str(element.value) for element in getattr(at, kind))
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    return "\n".join(parts)
