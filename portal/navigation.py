"""Which pages each role sees, and the sidebar (language, account)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from portal.api_client import HubApiError
from portal.i18n import LOCALES, translate
from portal.state import client, locale, sign_out, t, user

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"

# page file → (title key, icon); grouped per section below
_PAGE_META: dict[str, tuple[str, str]] = {
    "login": ("nav.login", ":material/login:"),
    "home": ("nav.home", ":material/factory:"),
    "consultations": ("nav.consultations", ":material/support_agent:"),
    "jobs": ("nav.jobs", ":material/memory:"),
    "submit_job": ("nav.submit_job", ":material/rocket_launch:"),
    "models": ("nav.models", ":material/model_training:"),
    "inbox": ("nav.inbox", ":material/inbox:"),
    "caseload": ("nav.caseload", ":material/groups:"),
    "cluster": ("nav.cluster", ":material/dns:"),
    "queue": ("nav.queue", ":material/queue:"),
    "usage": ("nav.usage", ":material/bar_chart:"),
    "grants": ("nav.grants", ":material/verified:"),
    "companies": ("nav.companies", ":material/apartment:"),
    "users": ("nav.users", ":material/manage_accounts:"),
}
_HIDDEN = ("case", "job")

ROLE_SECTIONS: dict[str, dict[str, list[str]]] = {
    "engineer": {
        "section.company": ["home", "consultations"],
        "section.gpu": ["jobs", "submit_job", "models"],
    },
    "consultant": {"section.consulting": ["inbox", "caseload"]},
    "operator": {
        "section.operations": ["cluster", "queue", "usage", "grants"],
        "section.consulting": ["inbox", "caseload"],
    },
    "admin": {
        "section.admin": ["companies", "users"],
        "section.operations": ["cluster", "queue", "usage", "grants"],
        "section.consulting": ["inbox", "caseload"],
    },
}


def _page(name: str, loc: str, *, default: bool = False) -> StreamlitPage:
    title_key, icon = _PAGE_META.get(name, (f"nav.{name}", ""))
    return st.Page(
        PAGES_DIR / f"{name}.py",
        title=translate(loc, title_key),
        icon=icon or None,
        url_path=name,
        default=default,
        visibility="hidden" if name in _HIDDEN else "visible",
    )


def pages_for(role: str | None, loc: str) -> dict[str, list[StreamlitPage]]:
    if role is None:
        return {"": [_page("login", loc, default=True)]}
    sections = ROLE_SECTIONS[role]
    first = True
    result: dict[str, list[StreamlitPage]] = {}
    for section, names in sections.items():
        result[translate(loc, section)] = [
            _page(n, loc, default=(first and i == 0)) for i, n in enumerate(names)
        ]
        first = False
    result[translate(loc, "section.details")] = [_page(n, loc) for n in _HIDDEN]
    return result


def role_pages(role: str) -> list[str]:
    return [name for names in ROLE_SECTIONS[role].values() for name in names]


def _on_locale_change() -> None:
    st.session_state["locale"] = st.session_state["locale_picker"]
    st.session_state["locale_chosen"] = True
    if user() is not None:
        # the language switches for this session even if saving the preference fails
        with contextlib.suppress(HubApiError):
            client().update_profile(locale=st.session_state["locale"])


def sidebar() -> None:
    with st.sidebar:
        st.markdown(f"### :material/factory: {t('app.title')}")
        st.caption(t("app.subtitle"))
        current = locale()
        st.selectbox(
            t("sidebar.language"),
            LOCALES,
            index=LOCALES.index(current) if current in LOCALES else 0,
            format_func=lambda code: translate(code, "language.name"),
            key="locale_picker",
            on_change=_on_locale_change,
        )
        me = user()
        if me is not None:
            st.markdown(f"**{me['full_name']}**  \n{me['email']}")
            st.caption(t(f"role.{me['role']}"))
            if st.button(t("sidebar.logout"), key="logout", icon=":material/logout:"):
                sign_out()
                st.rerun()
