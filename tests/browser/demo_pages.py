"""The demo's pages as each role finds them: a crawl of the site's links from its start pages."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from playwright.sync_api import Browser, BrowserContext, Page

from council.demo import DEMO_PASSWORD
from tests.browser.conftest import LiveServer


@dataclass(frozen=True)
class Role:
    """A demo account (or the public) and the pages it starts from."""

    name: str
    email: str | None
    start: tuple[str, ...] = ("/",)


ROLES = (
    Role("public", None, ("/", "/privacy", "/signin", "/register")),
    Role("secretariat", "secretaria@ceia.gob.mx", ("/", "/account")),
    Role("chair", "presidencia@ceia.gob.mx", ("/", "/council/ballots")),
    Role("council member", "jgarcia@ceia.gob.mx", ("/", "/reviews")),
    Role("expert", "experta.salud@unam.example.mx", ("/", "/reviews")),
    Role("company", "cumplimiento@datasalud.example.mx", ("/", "/organisation")),
)

# Files and machine-readable documents, not pages; the sign-out form is no link.
NOT_PAGES = re.compile(
    r"(\.(pdf|json|jsonl|csv|atom|jwt|svg|pem|png|jpg|txt|xml)$)|(/(pdf|json|csv)$)"
    r"|^/api/(?!v1/docs$)|/evidence/|/attachments/|^/static/|^/\.well-known/"
)
# The same page under another filter or page number is not a new layout, and a few objects of one
# kind (in different states) show its layouts: ids and criterion codes make one shape of path.
PER_SHAPE = 2
MAX_PAGES_PER_ROLE = 60
_ID = re.compile(r"/(\d+|[A-Z]{1,4}|[A-Z0-9]+(-[A-Z0-9]+)+)(?=/|$)")


def shape(path: str) -> str:
    """The path with its ids, codes and certificate numbers taken out."""
    return _ID.sub("/#", path)


def open_as(browser: Browser, server: LiveServer, role: Role, **options: object) -> BrowserContext:
    """A browser context signed in as the role (or anonymous for the public)."""
    context = browser.new_context(**options)  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    if role.email:
        page = context.new_page()
        page.goto(server.url + "/signin")
        page.locator("input[name=email]").fill(role.email)
        page.locator("input[name=password]").fill(DEMO_PASSWORD)
        with page.expect_navigation():
            page.locator("form[action='/signin'] button[type=submit]").click()
        assert "/signin" not in page.url, f"{role.email} could not sign in"
        page.close()
    return context


def site_links(page: Page, server: LiveServer) -> list[str]:
    """The paths (with their query) of this site's links on the page, pages only."""
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(urljoin(page.url, href))
        if f"{parts.scheme}://{parts.netloc}" != server.url or NOT_PAGES.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def crawl(page: Page, server: LiveServer, role: Role) -> Iterator[str]:
    """Visit every page reachable from the role's start pages, one per path; yields each path.

    The page is left on the visited path (a HTML page) for the caller to measure.
    """
    queue = deque(role.start)
    seen_paths: set[str] = set()
    shapes: dict[str, int] = {}
    visited = 0
    while queue and visited < MAX_PAGES_PER_ROLE:
        address = queue.popleft()
        path = address.split("?", 1)[0]
        if path in seen_paths or shapes.get(shape(path), 0) >= PER_SHAPE:
            continue
        seen_paths.add(path)
        shapes[shape(path)] = shapes.get(shape(path), 0) + 1
        response = page.goto(server.url + address)
        if response is None or response.status != 200:
            continue
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        visited += 1
        queue.extend(site_links(page, server))
        yield address
