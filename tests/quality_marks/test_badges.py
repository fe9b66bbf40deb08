"""The embeddable badge: the live status in words, a short cache, 404 for unknown numbers."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from quality_marks.certificate_history import record_registry_event
from quality_marks.certificate_models import CertificateStatus, RegistryEventKind
from tests.factories import NOW
from tests.quality_marks.certificate_builders import granted, make_certificate

SVG = "{http://www.w3.org/2000/svg}"
EN = {"Accept-Language": "en"}


def _badge_text(svg: str) -> str:
    root = ET.fromstring(svg)
    return " ".join(text.text or "" for text in root.iter(f"{SVG}text"))


@pytest.mark.parametrize(
    ("status", "valid_until", "words"),
    [
        (CertificateStatus.valid, dt.date(2028, 6, 1), "Valid · level B"),
        (CertificateStatus.suspended, dt.date(2028, 6, 1), "SUSPENDED"),
        (CertificateStatus.withdrawn, dt.date(2028, 6, 1), "Withdrawn · not valid"),
        (CertificateStatus.expired, dt.date(2026, 6, 1), "Expired · not valid"),
        # Past its end before the expiry job ran: shown expired, as the public page shows it.
        (CertificateStatus.valid, dt.date(2026, 6, 1), "Expired · not valid"),
    ],
)
def test_badge_shows_the_live_status_in_words(
    client: TestClient,
    db: Session,
    status: CertificateStatus,
    valid_until: dt.date,
    words: str,
) -> None:
    certificate = make_certificate(
        db, granted(db), status=status, valid_from=dt.date(2024, 6, 1), valid_until=valid_until
    )
    response = client.get(f"/verify/{certificate.number}/badge.svg", headers=EN)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    text = _badge_text(response.text)
    assert words in text
    root = ET.fromstring(response.text)
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None
    assert certificate.number in (title.text or "")


def test_badge_is_cached_briefly_and_revalidated(client: TestClient, db: Session) -> None:
    certificate = make_certificate(db, granted(db))
    url = f"/verify/{certificate.number}/badge.svg"
    first = client.get(url)
    assert first.headers["cache-control"] == "public, max-age=300"
    etag = first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_badge_follows_a_suspension(client: TestClient, db: Session) -> None:
    certificate = make_certificate(db, granted(db))
    url = f"/verify/{certificate.number}/badge.svg"
    before = client.get(url, headers=EN)
    certificate.status = CertificateStatus.suspended
    # As the life cycle suspends: the registry event renews the public answers kept in memory.
    record_registry_event(
        db,
        kind=RegistryEventKind.suspended,
        certificate=certificate,
        public_reason={"es": "Suspendido.", "en": "Suspended."},
        now=NOW,
    )
    after = client.get(url, headers={**EN, "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert "SUSPENDED" in _badge_text(after.text)


@pytest.mark.parametrize("status", [CertificateStatus.void, CertificateStatus.issuing])
def test_badge_of_a_number_never_issued_is_not_found(
    client: TestClient, db: Session, status: CertificateStatus
) -> None:
    certificate = make_certificate(db, granted(db), status=status)
    assert client.get(f"/verify/{certificate.number}/badge.svg").status_code == 404
    assert client.get("/verify/MX-CEIA-2026-999999/badge.svg").status_code == 404


def test_certificate_page_offers_the_badge_snippet(client: TestClient, db: Session) -> None:
    certificate = make_certificate(db, granted(db))
    page = client.get(f"/verify/{certificate.number}").text
    assert f'src="/verify/{certificate.number}/badge.svg"' in page
    snippet = (
        f"&lt;a href=&#34;http://testserver/verify/{certificate.number}&#34;&gt;&lt;img "
        f"src=&#34;http://testserver/verify/{certificate.number}/badge.svg&#34;"
    )
    assert snippet in page
