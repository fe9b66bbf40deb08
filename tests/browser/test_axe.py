"""axe-core finds no serious or critical accessibility problem on the public pages and the main
forms, in Spanish and in English.

axe-core comes from the npm registry (package.json pins it; bin/install runs `npm ci` with
WITH_BROWSER=1) and is run in each page by Playwright.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import LiveServer
from tests.browser.demo_pages import ROLES, Role, crawl, open_as, site_links

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:EdDSA is deprecated")]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
# Swagger UI is another project's interface, loaded as its package ships it.
NOT_OURS = {"/api/v1/docs"}
PUBLIC = ROLES[0]
COMPANY = Role("company", "cumplimiento@datasalud.example.mx", ("/organisation",))
CHAIR = Role("chair", "presidencia@ceia.gob.mx", ("/council/ballots",))


def _axe(page: Page) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds on the page as it stands."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated over the DevTools protocol: a <script> tag would break the page's strict CSP.
        page.evaluate(AXE.read_text())
    result: dict[str, Any] = page.evaluate(
        "axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'tag', "
        "values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    return [rule for rule in result["violations"] if rule["impact"] in BLOCKING]


def _describe(address: str, language: str, violations: list[dict[str, Any]]) -> list[str]:
    lines = []
    for rule in violations:
        lines.append(f"{language} {address}: [{rule['impact']}] {rule['id']}: {rule['help']}")
        for node in rule["nodes"][:3]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    at {' '.join(map(str, node['target']))}: {summary[:200]}")
    return lines


def _linked(page: Page, server: LiveServer, start: str, link_part: str) -> list[str]:
    page.goto(server.url + start)
    return [address for address in site_links(page, server) if link_part in address]


def _form_page(
    page: Page, server: LiveServer, starts: list[str], link_part: str, form_part: str
) -> str:
    """The first page linked from one of `starts` whose address holds `link_part` and shows a
    form posting to an address holding `form_part`."""
    for start in starts:
        for address in _linked(page, server, start, link_part):
            page.goto(server.url + address)
            if page.locator(f"main form[action*='{form_part}']").count():
                return address
    raise AssertionError(f"no page linked from {starts} shows a form posting to *{form_part}*")


@pytest.mark.parametrize("locale", ["es-MX", "en-US"])
def test_public_pages_and_main_forms_have_no_serious_violations(
    live_server: LiveServer, browser: Browser, locale: str
) -> None:
    assert AXE.exists(), "axe-core is missing: run `WITH_BROWSER=1 bash bin/install`"
    language = locale[:2]
    problems: list[str] = []
    checked: list[str] = []

    context = open_as(browser, live_server, PUBLIC, locale=locale)
    page = context.new_page()
    for address in crawl(page, live_server, PUBLIC):
        if address.split("?")[0] in NOT_OURS:
            continue
        problems += _describe(address, language, _axe(page))
        checked.append(address)
    comment = "/guidelines/etica-ia/1.1/consultation/comment"
    for address in (comment, "/signin", "/register"):
        page.goto(live_server.url + address)
        assert page.locator("main form").count(), address
        problems += _describe(address, language, _axe(page))
        checked.append(address)
    certificates = _linked(page, live_server, "/registry", "/verify/")
    complaint = _form_page(page, live_server, certificates, "/complaint", "/complaint")
    problems += _describe(complaint, language, _axe(page))
    checked.append(complaint)
    context.close()

    context = open_as(browser, live_server, COMPANY, locale=locale)
    page = context.new_page()
    applications = _linked(page, live_server, "/organisation", "/applications/")
    checklist = _form_page(page, live_server, applications, "/checklist/", "/checklist/")
    problems += _describe(checklist, language, _axe(page))
    checked.append(checklist)
    context.close()

    context = open_as(browser, live_server, CHAIR, locale=locale)
    page = context.new_page()
    ballot = _form_page(page, live_server, ["/council/ballots"], "/council/ballots/", "/positions")
    problems += _describe(ballot, language, _axe(page))
    checked.append(ballot)
    context.close()

    print(f"\naxe-core checked {len(checked)} pages in {language}")
    assert len(checked) > 20
    assert problems == [], "\n" + "\n".join(problems)
