"""Every page for every role that sees it, against the real hub_api over HTTP."""

from __future__ import annotations

import pytest

from portal.navigation import ROLE_SECTIONS, role_pages
from tests.portal.helpers import open_page, portal
from tests.portal.hub_world import HubWorld

PAGES_BY_ROLE = [(role, page) for role in ROLE_SECTIONS for page in role_pages(role)]


@pytest.mark.parametrize(("role", "page"), PAGES_BY_ROLE)
def test_every_page_of_every_role_renders_without_errors(
    hub: HubWorld, role: str, page: str
) -> None:
    at = open_page(portal(hub, role), page)
    assert not at.error, [e.value for e in at.error]
    assert at.title, "every page has a title"
