"""Every page for every role that sees it, against the real hub_api over HTTP."""

from __future__ import annotations

import re

import pytest

from portal.i18n import catalog
from portal.navigation import ROLE_SECTIONS, role_pages
from tests.portal.helpers import open_page, portal, texts
from tests.portal.hub_world import HubWorld

PAGES_BY_ROLE = [(role, page) for role in ROLE_SECTIONS for page in role_pages(role)]


@pytest.mark.parametrize(("role", "page"), PAGES_BY_ROLE)
def test_every_page_of_every_role_renders_without_errors(
    hub: HubWorld, role: str, page: str
) -> None:
    at = open_page(portal(hub, role), page)
    assert not at.error, [e.value for e in at.error]
    assert at.title, "every page has a title"


# Korean messages of three syllables or more (shorter ones occur inside names: 정운영, 광주…)
KOREAN_MESSAGES = {
    v for k, v in catalog("ko").items() if k != "language.name" and re.search("[가-힣]{3}", v)
}


@pytest.mark.parametrize(
    ("role", "page", "selection"),
    [
        ("engineer", "home", {}),
        ("engineer", "job", {"job_id": "succeeded_job"}),
        ("engineer", "submit_job", {}),
        ("consultant", "case", {"case_id": "gwangju_case"}),
        ("operator", "cluster", {}),
        ("operator", "queue", {}),
        ("admin", "users", {}),
    ],
)
def test_english_screens_show_no_korean_message(
    hub: HubWorld, role: str, page: str, selection: dict[str, str]
) -> None:
    ids = {key: hub.ids[name] for key, name in selection.items()}
    at = open_page(portal(hub, role, locale="en"), page, **ids)
    shown = texts(at)
    admin = hub.client("admin")
    for name in [u["full_name"] for u in admin.users()] + [c["name"] for c in admin.companies()]:
        shown = shown.replace(name, "")  # demo data are bilingual names, not messages
    labels = [
        w.label for kind in ("button", "text_input", "selectbox", "tabs") for w in getattr(at, kind)
    ]
    mixed = [m for m in KOREAN_MESSAGES if m in shown or m in labels]
    assert not mixed, mixed
