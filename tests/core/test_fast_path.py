"""Anonymous reads of public documents answered from memory, exactly as the application would."""

from __future__ import annotations

import asyncio
import datetime as dt
import tracemalloc
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session
from starlette.types import Message, Receive, Scope, Send

from core import documents, downloads, fastpath
from core.accounts import User
from core.auth import now_utc
from council import ballots
from council.models import BallotRule, PositionKind
from guidelines import published, service
from tests.council.builders import seat_council
from tests.factories import NOW, sign_in_as
from tests.guidelines.builders import adopt, make_staff
from tests.guidelines.factories import SLUG, make_adopted, start_draft

PAGE_PATH = f"/guidelines/{SLUG}/1.0"
JSON_PATH = f"/api/v1/guidelines/{SLUG}/versions/1.0"
PDF_PATH = f"/guidelines/{SLUG}/1.0/pdf"
# A session cookie that signs nobody in: the application answers as to anyone anonymous, but
# the fast path leaves the request to it.
NOBODYS_SESSION = {"Cookie": "ceia_session=not-a-signed-session"}


class Clock:
    """The time requests see; a test moves it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    pinned = Clock(NOW)
    app.dependency_overrides[now_utc] = lambda: pinned.now
    return pinned


@pytest.fixture
def staff(db: Session) -> User:
    return make_staff(db)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each time the application itself looks a version's documents up (the slow path)."""
    seen: list[str] = []
    find = published.find_published

    def counting(session: Session, **options: Any) -> published.PublishedVersion:
        seen.append(options["number"])
        return find(session, **options)

    monkeypatch.setattr(published, "find_published", counting)
    return seen


@pytest.fixture
def pdfs(monkeypatch: pytest.MonkeyPatch) -> None:
    """PDFs drawn as a line of text (WeasyPrint is not what is tested here)."""

    def fake_version_pdf(doc: Any, **options: Any) -> bytes:
        return f"%PDF {doc.number} {doc.status} {options['locale']}".encode()

    monkeypatch.setattr(published, "render_version_pdf", fake_version_pdf)


def kept(client: TestClient, path: str, **options: Any) -> Response:
    """Ask until the fast path holds the answer (the first answer after start is kept unstamped)."""
    client.get(path, **options)
    return client.get(path, **options)


def header_list(response: Response) -> list[tuple[str, str]]:
    return sorted(response.headers.multi_items())


@pytest.mark.usefixtures("clock", "pdfs")
@pytest.mark.parametrize("path", [PAGE_PATH, JSON_PATH, PDF_PATH])
def test_an_anonymous_reader_gets_the_kept_document_then_304_with_its_etag(
    client: TestClient, db: Session, staff: User, lookups: list[str], path: str
) -> None:
    make_adopted(db, staff)
    first = kept(client, path)
    asked = len(lookups)
    again = client.get(path)
    not_modified = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert len(lookups) == asked  # neither reached the application
    assert again.status_code == 200
    assert again.content == first.content
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == first.headers["etag"]
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.usefixtures("clock", "pdfs")
@pytest.mark.parametrize("path", [PAGE_PATH, JSON_PATH, PDF_PATH])
def test_kept_answers_carry_the_headers_of_the_normal_path(
    client: TestClient, db: Session, staff: User, lookups: list[str], path: str
) -> None:
    make_adopted(db, staff)
    fast = kept(client, path)
    etag = {"If-None-Match": fast.headers["etag"]}
    fast_304 = client.get(path, headers=etag)
    asked = len(lookups)
    normal = client.get(path, headers=NOBODYS_SESSION)
    normal_304 = client.get(path, headers={**etag, **NOBODYS_SESSION})
    assert len(lookups) == asked + 2  # these two went through the application
    assert normal.status_code == 200
    assert normal.content == fast.content
    assert header_list(fast) == header_list(normal)
    assert header_list(fast_304) == header_list(normal_304)
    for name in ("content-security-policy", "x-frame-options", "x-content-type-options"):
        assert name in fast.headers
        assert name in fast_304.headers


@pytest.mark.usefixtures("clock")
def test_each_language_is_kept_apart(
    client: TestClient, db: Session, staff: User, lookups: list[str]
) -> None:
    make_adopted(db, staff)
    spanish = kept(client, PAGE_PATH, headers={"Accept-Language": "es-MX"})
    english = kept(client, PAGE_PATH, headers={"Accept-Language": "en-US,en;q=0.9"})
    chosen = kept(client, PAGE_PATH, headers={"Cookie": "lang=en", "Accept-Language": "es"})
    asked = len(lookups)
    assert 'lang="es-MX"' in spanish.text
    assert 'lang="en"' in english.text
    assert chosen.content == english.content
    assert spanish.headers["etag"] != english.headers["etag"]
    assert client.get(PAGE_PATH, headers={"Accept-Language": "es"}).content == spanish.content
    assert client.get(PAGE_PATH, headers={"Accept-Language": "en"}).content == english.content
    assert len(lookups) == asked


@pytest.mark.usefixtures("pdfs")
def test_after_an_adoption_the_next_anonymous_reader_sees_the_new_standing(
    client: TestClient, db: Session, staff: User, clock: Clock
) -> None:
    make_adopted(db, staff)
    assert kept(client, JSON_PATH).json()["status"] == "adopted"
    before = {path: kept(client, path) for path in (PAGE_PATH, PDF_PATH)}
    clock.now = NOW + dt.timedelta(days=2)
    adopt(db, start_draft(db, staff, "1.1"), now=clock.now, resolution="CEIA-2026-002")
    db.commit()
    assert client.get(JSON_PATH).json()["status"] == "superseded"
    page = client.get(PAGE_PATH)
    assert "Sustituido el" in page.text
    assert page.headers["etag"] != before[PAGE_PATH].headers["etag"]
    assert b"superseded" in client.get(PDF_PATH).content


@pytest.mark.usefixtures("clock", "pdfs")
def test_a_withdrawal_forgets_the_kept_documents(
    client: TestClient, db: Session, staff: User, lookups: list[str]
) -> None:
    make_adopted(db, staff)
    draft = start_draft(db, staff, "1.1")
    kept(client, JSON_PATH)
    asked = len(lookups)
    service.withdraw_version(db, actor=staff, version=draft, reason="Ya no aplica.", now=NOW)
    db.commit()
    assert client.get(JSON_PATH).status_code == 200
    assert len(lookups) == asked + 1


@pytest.mark.usefixtures("clock", "pdfs")
def test_another_workers_adoption_is_seen_within_a_read_of_the_generation(
    client: TestClient,
    db: Session,
    staff: User,
    lookups: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_adopted(db, staff)
    monkeypatch.setattr(fastpath, "GENERATION_READ_SECONDS", 3600.0)
    kept(client, JSON_PATH)
    asked = len(lookups)
    shared = documents.current_generation

    def moved_by_another_worker(connection: Connection) -> int:
        # What another worker's committed adoption leaves in the database (which a test's own
        # transaction cannot show to the application's connections).
        return shared(connection) + 1

    monkeypatch.setattr(documents, "current_generation", moved_by_another_worker)
    client.get(JSON_PATH)
    assert len(lookups) == asked  # not read again yet: the kept answer stands
    monkeypatch.setattr(fastpath, "GENERATION_READ_SECONDS", 0.0)
    client.get(JSON_PATH)
    assert len(lookups) == asked + 1


@pytest.mark.usefixtures("clock", "pdfs")
@pytest.mark.parametrize("path", [PAGE_PATH, PDF_PATH])
def test_a_signed_in_reader_never_gets_the_anonymous_copy(
    client: TestClient, db: Session, staff: User, lookups: list[str], path: str
) -> None:
    make_adopted(db, staff)
    anonymous = kept(client, path)
    asked = len(lookups)
    sign_in_as(client, staff)
    signed_in = client.get(path)
    assert len(lookups) == asked + 1
    assert signed_in.headers["cache-control"] == "no-store"
    if path == PAGE_PATH:
        assert staff.email in signed_in.text or staff.full_name in signed_in.text
        assert signed_in.content != anonymous.content


@pytest.mark.usefixtures("clock")
def test_a_bearer_token_caller_takes_the_application_path(
    client: TestClient, db: Session, staff: User
) -> None:
    make_adopted(db, staff)
    assert kept(client, JSON_PATH).status_code == 200
    answer = client.get(JSON_PATH, headers={"Authorization": "Bearer not-a-token"})
    assert answer.status_code == 401  # the application's answer to a bad token, not the copy
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.usefixtures("clock")
def test_pages_that_are_not_public_documents_are_never_kept(
    client: TestClient, db: Session, staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_adopted(db, staff)
    calls: list[str] = []
    list_visible = service.list_visible_guidelines

    def counting(session: Session, **options: Any) -> Any:
        calls.append("list")
        return list_visible(session, **options)

    monkeypatch.setattr(service, "list_visible_guidelines", counting)
    for _ in range(3):
        assert client.get("/guidelines").status_code == 200
    assert calls == ["list"] * 3


@pytest.mark.usefixtures("clock")
def test_the_home_page_is_kept_for_anonymous_visitors_only(
    client: TestClient, staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered: list[str] = []
    draw = downloads.document_page

    def counting(request: Any, template: str, context: Any, *, shareable: bool) -> Any:
        rendered.append(template)
        return draw(request, template, context, shareable=shareable)

    monkeypatch.setattr("council.home_pages.document_page", counting)
    first = kept(client, "/")
    drawn = len(rendered)
    again = client.get("/")
    assert len(rendered) == drawn  # answered from memory
    assert again.content == first.content
    assert first.headers["cache-control"].startswith("public")
    english = client.get("/", headers={"Accept-Language": "en"})
    assert "AI Ethics Council of Mexico" in english.text
    sign_in_as(client, staff)
    signed_in = client.get("/")
    assert len(rendered) > drawn + 1
    assert staff.full_name in signed_in.text
    assert signed_in.headers["cache-control"] == "no-store"


@pytest.mark.usefixtures("clock")
def test_the_resolutions_list_is_kept_until_a_ballot_closes(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed: list[int] = []
    resolutions_list = ballots.resolutions_list

    def counting(session: Session, **options: Any) -> Any:
        listed.append(1)
        return resolutions_list(session, **options)

    monkeypatch.setattr(ballots, "resolutions_list", counting)
    secretariat, council = seat_council(db, 3)
    db.commit()
    before = kept(client, "/council/resolutions")
    asked = len(listed)
    assert client.get("/council/resolutions").content == before.content
    assert len(listed) == asked
    ballot = ballots.open_ballot(
        db,
        actor=secretariat,
        subject_type="unregistered",
        subject_id=1,
        title_es="Consulta al Consejo",
        title_en="Question to the council",
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=NOW + dt.timedelta(days=7),
        parties=[],
        terms={},
        now=NOW,
    )
    for user, _member in council:
        ballots.cast_position(
            db, actor=user, ballot=ballot, kind=PositionKind.yes, text="", now=NOW
        )
    resolution = ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=NOW)
    db.commit()
    after = client.get("/council/resolutions")
    assert len(listed) == asked + 1
    assert resolution.number in after.text


@pytest.mark.usefixtures("clock")
def test_a_request_with_a_repeated_language_header_is_neither_served_nor_kept(
    client: TestClient,
) -> None:
    client.get("/", headers={"Accept-Language": "es-MX"})
    spanish = client.get("/", headers={"Accept-Language": "es-MX"})
    twice = client.get("/", headers=[("accept-language", "en"), ("accept-language", "es-MX")])
    assert "AI Ethics Council of Mexico" in twice.text  # the page reads the first header
    again = client.get("/", headers={"Accept-Language": "es-MX"})
    assert again.content == spanish.content
    assert "Consejo de Ética" in again.text


@pytest.mark.parametrize("cache_control", [b"private, no-cache", b"public, max-age=300"])
def test_a_long_streamed_answer_passes_through_without_being_held(
    engine: Engine, cache_control: bytes
) -> None:
    chunk, count = b"x" * 10_000, 500  # 5 MB, over a quarter of the memory kept for answers
    sent: list[int] = []

    async def streaming_app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"cache-control", cache_control), (b"etag", b'"big"')]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for _ in range(count):
            await send({"type": "http.response.body", "body": bytes(chunk), "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def collect(message: Message) -> None:
        sent.append(len(message.get("body", b"")))

    async def receive() -> Message:
        return {"type": "http.request"}

    middleware = fastpath.PublicDocuments(
        streaming_app,
        engine=engine,
        session_cookie="ceia_session",
        default_locale="es_MX",
        clock=lambda: NOW,
        memory_bytes=16 * 1024 * 1024,
    )
    scope: Scope = {
        "type": "http", "method": "GET", "path": "/registry/data/certificates.csv",
        "query_string": b"", "headers": [],
    }  # fmt: skip
    tracemalloc.start()
    try:
        asyncio.run(middleware(scope, receive, collect))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert sum(sent) == len(chunk) * count
    assert peak < 1_000_000, peak
    assert middleware._kept == {}
