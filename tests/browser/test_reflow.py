"""Every demo page fits a 320 px screen (WCAG 1.4.10 reflow): no page scrolls sideways.

Each role (the public, the secretariat, the chair, a council member, an expert, a company) follows
the site's own links from its start pages; a table too wide scrolls inside its own box.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import LiveServer
from tests.browser.demo_pages import ROLES, crawl, open_as

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:EdDSA is deprecated")]

NARROWEST = 320


def test_every_demo_page_fits_320_pixels(live_server: LiveServer, browser: Browser) -> None:
    widths: list[tuple[int, str, str]] = []
    for role in ROLES:
        context = open_as(
            browser, live_server, role, viewport={"width": NARROWEST, "height": 640}, locale="es-MX"
        )
        page = context.new_page()
        for address in crawl(page, live_server, role):
            width = page.evaluate("document.documentElement.scrollWidth")
            widths.append((width, role.name, address))
        context.close()
    widths.sort(reverse=True)
    print(f"\n{len(widths)} pages at {NARROWEST} px; the widest:")
    for width, who, address in widths[:5]:
        print(f"  {width} px  {who:<15} {address}")
    roles_seen = {who for _, who, _ in widths}
    assert roles_seen == {role.name for role in ROLES}
    assert len(widths) > 60
    too_wide = [(width, who, address) for width, who, address in widths if width > NARROWEST]
    assert too_wide == []
