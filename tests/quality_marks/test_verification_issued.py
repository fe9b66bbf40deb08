"""Verifying a certificate issued through the real pipeline: rendered, signed, stored."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.auth import now_utc
from core.i18n import LOCALE_COOKIE
from core.settings import Settings
from core.signing import CouncilKeys
from quality_marks.certificate_models import CertificateStatus
from tests.conftest import csrf_of
from tests.quality_marks.certificate_builders import decision_of, granted
from tests.quality_marks.certificate_issuance import ISSUED_AT, issue

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def test_the_real_issued_pdf_passes_every_check_on_the_page_and_the_api(
    client: TestClient, app: FastAPI, db: Session, council_keys: CouncilKeys, settings: Settings
) -> None:
    app.dependency_overrides[now_utc] = lambda: ISSUED_AT
    certificate = issue(db, council_keys, settings.storage_dir, decision_of(db, granted(db)).id)
    assert certificate.status == CertificateStatus.valid
    client.cookies.set(LOCALE_COOKIE, "en")
    pdf = client.get(f"/verify/{certificate.number}/certificate.pdf").content
    # A public upload is capped like any anonymous form: a certificate must fit well within it.
    assert len(pdf) < settings.max_form_bytes // 2

    response = client.post(
        "/verify",
        data={"csrf_token": csrf_of(client, "/verify")},
        files={"certificate": (f"{certificate.number}.pdf", pdf, "application/pdf")},
    )
    api = client.post("/api/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")})

    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    outcomes = [item.get("class") for item in page.select("li.check-result")]
    assert outcomes == [["check-result", "check-passed"]] * 4
    assert api.json()["verdict"] == "valid"
    assert api.json()["number"] == certificate.number
    status_page = client.get(f"/verify/{certificate.number}").text
    assert certificate.payload["product_name"] in status_page
    assert "Status: <strong>Valid</strong>" in status_page
