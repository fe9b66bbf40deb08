"""The registry's public pages of certified products and their holders: public data only."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.i18n import LOCALE_COOKIE
from quality_marks.certificate_models import CertificateStatus, RegistryEventKind
from tests.quality_marks.certificate_builders import make_certificate
from tests.quality_marks.registry_builders import (
    PUBLIC_FILE,
    PUBLIC_JUSTIFICATION,
    SECRETS,
    certified,
)
from tests.quality_marks.verification_builders import change_status
from tests.test_accessibility import _problems
from tests.test_html_valid import parse_errors


def test_the_product_page_shows_public_results_and_nothing_confidential(
    client: TestClient, db: Session
) -> None:
    found = certified(db)
    client.cookies.set(LOCALE_COOKIE, "en")

    response = client.get(f"/registry/products/{found.product.identifier}")

    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    assert [h.get_text(strip=True) for h in page.select("h1")] == [found.product.name]
    text = page.get_text(" ", strip=True)
    assert found.certificate.number in text
    assert "Status: Valid" in text
    assert PUBLIC_JUSTIFICATION in text
    assert PUBLIC_FILE in text
    rows = page.select("table tbody tr")
    findings = [row.select("td")[-1].get_text(strip=True) for row in rows]
    # The reviews found on TR-1 and TR-2 only; the other criteria carry no finding.
    assert findings[:2] == ["Minor nonconformity", "Conforms"]
    assert set(findings[2:]) == {"—"}
    # The first criterion's answer was kept private by the applicant.
    assert "Not published" in rows[0].get_text()
    assert "Meets" in rows[1].get_text()
    for secret in SECRETS:
        assert secret not in response.text, secret
    for reviewer in found.case.reviewers:
        assert reviewer.full_name not in response.text
    assert "evidencia" not in response.text  # the reviewer's comment on TR-1
    links = {a["href"] for a in page.select("a[href]")}
    assert f"/verify/{found.certificate.number}" in links
    assert f"/registry/organisations/{found.case.organization.id}" in links


def test_the_product_page_lists_every_certificate_with_its_history(
    client: TestClient, db: Session
) -> None:
    found = certified(db)
    change_status(
        db,
        found.certificate,
        CertificateStatus.suspended,
        RegistryEventKind.suspended,
        {"es": "Suspendido por queja.", "en": "Suspended after a complaint."},
    )
    client.cookies.set(LOCALE_COOKIE, "en")

    text = BeautifulSoup(
        client.get(f"/registry/products/{found.product.identifier}").text, "html.parser"
    ).get_text(" ", strip=True)

    assert "Status: Suspended" in text
    assert "Suspended after a complaint." in text
    assert "Issued" in text


def test_a_product_without_an_issued_certificate_is_not_in_the_registry(
    client: TestClient, db: Session
) -> None:
    found = certified(db)
    found.certificate.status = CertificateStatus.void
    db.flush()

    assert client.get(f"/registry/products/{found.product.identifier}").status_code == 404
    assert client.get(f"/registry/organisations/{found.case.organization.id}").status_code == 404
    assert client.get("/registry/products/NO-SUCH").status_code == 404


def test_an_issuing_certificate_is_not_shown_on_the_product_page(
    client: TestClient, db: Session
) -> None:
    found = certified(db)
    found.certificate.status = CertificateStatus.expired
    issuing = make_certificate(db, found.case, status=CertificateStatus.issuing)

    response = client.get(f"/registry/products/{found.product.identifier}")

    assert found.certificate.number in response.text
    assert issuing.number not in response.text


def test_the_organisation_page_lists_certified_products_without_private_data(
    client: TestClient, db: Session
) -> None:
    found = certified(db)
    client.cookies.set(LOCALE_COOKIE, "en")

    response = client.get(f"/registry/organisations/{found.case.organization.id}")

    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    assert [h.get_text(strip=True) for h in page.select("h1")] == [
        found.case.organization.legal_name
    ]
    assert f"/registry/products/{found.product.identifier}" in {
        a["href"] for a in page.select("a[href]")
    }
    assert found.certificate.number in page.get_text()
    for private in (*SECRETS, found.case.organization.rfc, found.case.organization.contact_email):
        assert private not in response.text, private


def test_the_certificate_page_links_to_the_product_in_the_registry(
    client: TestClient, db: Session
) -> None:
    found = certified(db)

    page = BeautifulSoup(client.get(f"/verify/{found.certificate.number}").text, "html.parser")

    assert f"/registry/products/{found.product.identifier}" in {
        a["href"] for a in page.select("a[href]")
    }


def test_a_page_answers_304_to_its_etag_and_renews_it_after_a_registry_event(
    client: TestClient, db: Session
) -> None:
    found = certified(db)
    path = f"/registry/products/{found.product.identifier}"
    first = client.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]

    again = client.get(path, headers={"If-None-Match": etag})
    since = client.get(path, headers={"If-Modified-Since": modified})
    other_language = client.get(path, headers={"If-None-Match": etag, "Accept-Language": "en"})
    change_status(
        db,
        found.certificate,
        CertificateStatus.suspended,
        RegistryEventKind.suspended,
        {"es": "Suspendido.", "en": "Suspended."},
    )
    after = client.get(path, headers={"If-None-Match": etag})

    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert since.status_code == 304
    assert other_language.status_code == 200
    assert after.status_code == 200
    assert after.headers["etag"] != etag


@pytest.mark.parametrize("language", ["es-MX", "en"])
def test_public_registry_pages_are_valid_labelled_html(
    client: TestClient, db: Session, language: str
) -> None:
    found = certified(db)
    paths = [
        f"/registry/products/{found.product.identifier}",
        f"/registry/organisations/{found.case.organization.id}",
        "/registry/data",
    ]
    failures = {}
    for path in paths:
        response = client.get(path, headers={"Accept-Language": language})
        assert response.status_code == 200, path
        assert response.text.startswith("<!DOCTYPE html>") or "<html" in response.text
        if problems := parse_errors(response.text) + _problems(response.text):
            failures[path] = problems
    assert failures == {}
