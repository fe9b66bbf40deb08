"""An adopted version's page, JSON and PDF are rendered once, stored, and served with ETags."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import documents
from core.accounts import User
from core.auth import now_utc
from core.documents import StoredDocument, cached_document
from guidelines import consultation, published, service
from guidelines.documents import VersionDoc
from tests.factories import NOW, sign_in_as
from tests.guidelines.builders import adopt, make_draft, make_staff
from tests.guidelines.factories import SLUG, load_version, make_adopted, start_draft

PDF_PATH = f"/guidelines/{SLUG}/1.0/pdf"
JSON_PATH = f"/api/v1/guidelines/{SLUG}/versions/1.0"
PAGE_PATH = f"/guidelines/{SLUG}/1.0"


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
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each PDF the app draws, as a line naming what it says (WeasyPrint is not needed here)."""
    drawn: list[str] = []

    def fake_version_pdf(doc: VersionDoc, **options: Any) -> bytes:
        drawn.append(f"{doc.number} {doc.status} {options['status_label']} {options['locale']}")
        return f"%PDF {drawn[-1]}".encode()

    def fake_report_pdf(report: consultation.ConsultationReport, **options: Any) -> bytes:
        drawn.append(f"report {report.version.number} {options['locale']}")
        return f"%PDF {drawn[-1]}".encode()

    monkeypatch.setattr(published, "render_version_pdf", fake_version_pdf)
    monkeypatch.setattr(consultation, "render_report_pdf", fake_report_pdf)
    return drawn


def stored_count(db: Session, kind: str) -> int:
    return db.scalar(select(func.count(StoredDocument.id)).where(StoredDocument.kind == kind)) or 0


def test_an_adopted_version_pdf_is_rendered_once_and_revalidated_with_304(
    client: TestClient, db: Session, staff: User, clock: Clock, renders: list[str]
) -> None:
    make_adopted(db, staff)
    first = client.get(PDF_PATH)
    again = client.get(PDF_PATH)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert len(renders) == 1
    etag = first.headers["etag"]
    assert etag == again.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=300"
    assert "Accept-Language" in first.headers["vary"]
    not_modified = client.get(PDF_PATH, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert client.get(PDF_PATH, headers={"If-None-Match": '"other"'}).status_code == 200
    english = client.get(PDF_PATH, headers={"Accept-Language": "en"})
    assert english.headers["etag"] != etag
    assert len(renders) == 2


def test_a_new_adoption_turns_the_stored_documents_of_the_older_version_superseded(
    client: TestClient, db: Session, staff: User, clock: Clock, renders: list[str]
) -> None:
    make_adopted(db, staff)
    before = {path: client.get(path) for path in (PDF_PATH, JSON_PATH, PAGE_PATH)}
    assert before[JSON_PATH].json()["status"] == "adopted"
    assert "superseded" not in renders[-1]
    clock.now = NOW + dt.timedelta(days=2)
    adopt(db, start_draft(db, staff, "1.1"), now=clock.now, resolution="CEIA-2026-002")
    db.commit()
    after = {path: client.get(path) for path in (PDF_PATH, JSON_PATH, PAGE_PATH)}
    for path in (PDF_PATH, JSON_PATH, PAGE_PATH):
        assert after[path].headers["etag"] != before[path].headers["etag"], path
        stale = client.get(path, headers={"If-None-Match": before[path].headers["etag"]})
        assert stale.status_code == 200, path
    assert after[JSON_PATH].json()["status"] == "superseded"
    assert renders[-1].startswith("1.0 superseded")
    assert "Sustituido el" in after[PAGE_PATH].text
    # One stored render per document and language: the older standing's went.
    assert stored_count(db, "version-pdf") == 1


def test_a_draft_pdf_is_stored_per_revision_and_a_withdrawn_one_is_drawn_again(
    client: TestClient, db: Session, staff: User, clock: Clock, renders: list[str]
) -> None:
    draft = make_draft(db, staff)
    db.commit()
    sign_in_as(client, staff)
    path = f"/guidelines/{SLUG}/1.0/pdf"
    first = client.get(path)
    assert client.get(path).content == first.content
    assert len(renders) == 1
    assert first.headers["cache-control"] == "no-store"  # a signed-in reader's
    service.withdraw_version(db, actor=staff, version=draft, reason="Ya no aplica.", now=NOW)
    db.commit()
    withdrawn = client.get(path)
    assert len(renders) == 2
    assert renders[-1].startswith("1.0 withdrawn")
    assert withdrawn.headers["etag"] != first.headers["etag"]


def test_a_changed_template_revision_renders_again(
    client: TestClient,
    db: Session,
    staff: User,
    clock: Clock,
    renders: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_adopted(db, staff)
    client.get(PDF_PATH)
    client.get(JSON_PATH)
    client.get(PAGE_PATH)
    monkeypatch.setattr(documents, "template_revision", lambda: "a-changed-template")
    for path in (PDF_PATH, JSON_PATH, PAGE_PATH):
        assert client.get(path).status_code == 200
    assert len(renders) == 2
    for kind in ("version-pdf", "version-json", "version-page"):
        revisions = db.scalars(select(StoredDocument.revision).where(StoredDocument.kind == kind))
        assert "a-changed-template" in set(revisions), kind


def test_the_json_document_of_an_adopted_version_is_stored_and_public_for_anonymous_callers(
    client: TestClient, db: Session, staff: User, clock: Clock
) -> None:
    make_adopted(db, staff)
    first = client.get(JSON_PATH)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, max-age=300"
    assert (
        client.get(JSON_PATH, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    )
    assert stored_count(db, "version-json") == 1
    assert client.get(JSON_PATH).content == first.content


def test_the_anonymous_page_of_an_adopted_version_is_drawn_once(
    client: TestClient, db: Session, staff: User, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_adopted(db, staff)
    drawn: list[str] = []
    original = documents.render_block

    def counting(*args: Any, **kwargs: Any) -> str:
        drawn.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr("guidelines.versions_pages.render_block", counting)
    first = client.get(PAGE_PATH)
    again = client.get(PAGE_PATH)
    assert first.status_code == again.status_code == 200
    assert drawn == ["guidelines/version.html"]
    assert again.text == first.text
    assert 'id="TR-1"' in first.text
    assert (
        client.get(PAGE_PATH, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    )


def test_a_closed_record_report_pdf_is_stored_once_adopted(
    client: TestClient, db: Session, staff: User, clock: Clock, renders: list[str]
) -> None:
    draft = make_draft(db, staff)
    service.open_consultation(
        db,
        actor=staff,
        version=draft,
        closes_on=(NOW + dt.timedelta(days=30)).date(),
        min_days=30,
        now=NOW,
    )
    db.commit()
    clock.now = NOW + dt.timedelta(days=40)
    path = f"/guidelines/{SLUG}/1.0/consultation/report/pdf"
    client.get(path)
    client.get(path)
    assert len(renders) == 2  # the record is still open to dispositions: drawn live
    adopt(db, load_version(db, "1.0"), now=clock.now)
    db.commit()
    first = client.get(path)
    again = client.get(path)
    assert len(renders) == 3
    assert again.headers["etag"] == first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=300"
    page_path = f"/guidelines/{SLUG}/1.0/consultation/report"
    page = client.get(page_path)
    assert page.status_code == 200
    assert client.get(page_path).text == page.text
    assert stored_count(db, "report-page") == 1
    assert client.get(page_path, headers={"If-None-Match": page.headers["etag"]}).status_code == 304


def test_two_renders_at_once_serve_the_one_stored_first(db: Session) -> None:
    def rival_stores_first() -> bytes:
        # Another request finishes the same render while this one draws it.
        cached_document(
            db,
            kind="test",
            subject="1",
            key="1:a",
            language="es",
            revision="r",
            content_type="text/plain",
            render=lambda: b"first",
        )
        return b"second"

    document = cached_document(
        db,
        kind="test",
        subject="1",
        key="1:a",
        language="es",
        revision="r",
        content_type="text/plain",
        render=rival_stores_first,
    )
    assert document.content == b"first"
    assert stored_count(db, "test") == 1


def test_renders_of_older_templates_are_forgotten(
    client: TestClient, db: Session, staff: User, clock: Clock, renders: list[str]
) -> None:
    make_adopted(db, staff)
    client.get(PDF_PATH)
    current = stored_count(db, "version-pdf")
    old = cached_document(
        db,
        kind="version-pdf",
        subject="old",
        key="old",
        language="es_MX",
        revision="an-older-template",
        content_type="application/pdf",
        render=lambda: b"%PDF old",
    )
    assert old.revision == "an-older-template"
    assert stored_count(db, "version-pdf") == current + 1
    assert documents.forget_old_renders(db) == 1
    assert stored_count(db, "version-pdf") == current
