"""Every demo page, for every kind of visitor, is valid HTML5 to a strict parser (item 21)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urldefrag, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tinyhtml5.parser import HTMLParser

from core.accounts import find_user_by_email
from council.demo import DEMO_PASSWORD
from tests.factories import sign_in_as
from tests.test_accessibility import PAGES, _demo_pages, demo  # noqa: F401  (the demo fixture)

# Not pages: downloads, documents in other formats (PDFs are slow to render), the API.
SKIPPED_PARTS = (
    "/api/",
    "/static/",
    "/pdf",
    ".pdf",
    ".json",
    "/evidence/",
    "/attachments/",
    "/export",
)
MAX_PAGES = 30  # per visitor: the listed pages, then what they link to
HREF = re.compile(r'<a [^>]*href="([^"]+)"')


def parse_errors(html: str) -> list[str]:
    """What a strict HTML5 parser reports about a document, each with its line and column."""
    parser = HTMLParser()
    parser.parse(html)
    lines = html.splitlines()
    return [
        f"{line}:{col} {code} {vars_ or ''} near {lines[line - 1][max(0, col - 40) : col + 20]!r}"
        for (line, col), code, vars_ in parser.errors
    ]


def test_the_parser_reports_glued_attributes() -> None:
    assert parse_errors('<!doctype html><html lang="es"><title>t</title><input value=""required>')
    assert parse_errors('<!doctype html><html lang="es"><title>t</title><p>ok</p>') == []


def _links(html: str) -> list[str]:
    found = []
    for raw in HREF.findall(html):
        href = urldefrag(unescape(raw))[0]
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href.startswith("/"):
            continue
        if any(part in href for part in SKIPPED_PARTS):
            continue
        found.append(href)
    return found


def _walk(client: TestClient, start: list[str]) -> tuple[set[str], dict[str, list[str]]]:
    queue, seen, failures = list(start), set[str](), {}
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if "text/html" not in response.headers.get("content-type", ""):
            continue  # redirects, files
        if errors := parse_errors(response.text):
            failures[path] = errors
        queue += [link for link in _links(response.text) if link not in seen]
    return seen, failures


def test_every_demo_page_parses_without_errors(
    client: TestClient,
    demo: Session,  # noqa: F811
) -> None:
    failures: dict[str, list[str]] = {}
    for who in PAGES:
        client.cookies.clear()
        if who is not None:
            user = find_user_by_email(demo, who)
            assert user is not None
            sign_in_as(client, user, DEMO_PASSWORD)
        seen, found = _walk(client, [*PAGES[who], *_demo_pages(demo, who), "/no-such-page"])
        assert len(seen) >= len(PAGES[who])
        failures |= {f"{who}: {path}": errors for path, errors in found.items()}
    assert failures == {}
