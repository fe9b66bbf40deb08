"""Verifying certificates: the public page per status, the PDF checks, the files, the API."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import signing
from core.auth import now_utc
from core.db import get_session, is_write_request, open_session
from core.errors import NotFound
from core.i18n import LOCALE_COOKIE
from core.ratelimit import RateLimitHit, record_hit
from core.settings import Settings
from core.signing import CouncilKeys, PdfSignatureCheck, init_keys
from core.storage import FileStore
from council.app import create_app
from quality_marks import certificates, verification, verification_api, verification_pages
from quality_marks.certificate_models import (
    CertificateStatus,
    RegistryEventKind,
    WithdrawalReason,
)
from quality_marks.models import Product
from tests.conftest import csrf_of
from tests.factories import NOW, sign_in_as
from tests.quality_marks.certificate_builders import granted, make_certificate
from tests.quality_marks.verification_builders import (
    certificate_pdf,
    change_status,
    signed_certificate,
)
from tests.test_accessibility import _problems
from tests.test_html_valid import parse_errors

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

SUSPENDED = {
    "es": "Suspendido mientras se revisa una queja.",
    "en": "Suspended pending a complaint.",
}
WITHDRAWN = {
    "es": "Retirado por uso indebido de la marca.",
    "en": "Withdrawn for misuse of the mark.",
}
EXPIRED = {"es": "Venció su vigencia.", "en": "Its validity ended."}
SUPERSEDED = {"es": "Renovado por un certificado nuevo.", "en": "Renewed by a new certificate."}


@pytest.fixture
def store(settings: Settings) -> FileStore:
    """The file store the application reads (same directory)."""
    return FileStore(settings.storage_dir)


@pytest.fixture
def pinned(app: FastAPI) -> FastAPI:
    """The application with its clock at NOW."""
    app.dependency_overrides[now_utc] = lambda: NOW
    return app


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _one(node: BeautifulSoup | Tag, selector: str) -> Tag:
    found = node.select_one(selector)
    assert found is not None, selector
    return found


def _english(client: TestClient) -> None:
    client.cookies.set(LOCALE_COOKIE, "en")


def _upload(
    client: TestClient, data: bytes, name: str = "certificado.pdf"
) -> tuple[int, BeautifulSoup]:
    token = csrf_of(client, "/verify")
    response = client.post(
        "/verify",
        data={"csrf_token": token},
        files={"certificate": (name, data, "application/pdf")},
    )
    return response.status_code, _soup(response.text)


def _outcomes(page: BeautifulSoup) -> dict[str, bool]:
    """Each check's title and whether it passed, as the page says it in words."""
    found = {}
    for item in page.select("li.check-result"):
        title = _one(item, ".check-title strong").get_text(strip=True)
        found[title] = _one(item, ".check-outcome").get_text(strip=True) == "Passed"
    return found


# The public page ---------------------------------------------------------------------------


def test_a_valid_certificate_page_states_holder_product_level_and_history(
    client: TestClient, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, _pdf = signed_certificate(db, council_keys, store)
    _english(client)

    response = client.get(f"/verify/{certificate.number}")

    assert response.status_code == 200
    page = _soup(response.text)
    status = _one(page, ".certificate-status")
    assert "Status: Valid" in status.get_text(" ", strip=True)
    assert "valid until June 1, 2028" in status.get_text(" ", strip=True)
    facts = _one(page, "dl.facts").get_text(" ", strip=True)
    assert certificate.payload["organization_name"] in facts
    assert certificate.payload["product_name"] in facts
    assert "Level B" in facts
    assert "Ethics guidelines for AI, version 1.0" in facts
    links = {a["href"] for a in page.select("main a")}
    assert f"/council/resolutions/{certificate.payload['resolution']}" in links
    assert "/guidelines/lineamientos/1.0" in links
    assert f"/verify/{certificate.number}/certificate.pdf" in links
    assert f"/verify/{certificate.number}/credential.jwt" in links
    history = _one(page, "ol.certificate-history").get_text(" ", strip=True)
    assert "Issued" in history
    assert "The council granted the mark by resolution." in history


@pytest.mark.parametrize(
    ("status", "kind", "reason", "label"),
    [
        (CertificateStatus.suspended, RegistryEventKind.suspended, SUSPENDED, "Suspended"),
        (CertificateStatus.withdrawn, RegistryEventKind.withdrawn, WITHDRAWN, "Withdrawn"),
        (CertificateStatus.expired, RegistryEventKind.expired, EXPIRED, "Expired"),
        (CertificateStatus.superseded, RegistryEventKind.superseded, SUPERSEDED, "Superseded"),
    ],
)
def test_an_ended_or_suspended_certificate_page_says_so_with_the_public_reason(
    client: TestClient,
    db: Session,
    council_keys: CouncilKeys,
    store: FileStore,
    status: CertificateStatus,
    kind: RegistryEventKind,
    reason: dict[str, str],
    label: str,
) -> None:
    certificate, _pdf = signed_certificate(db, council_keys, store)
    change_status(db, certificate, status, kind, reason, now=NOW + dt.timedelta(days=1))

    _english(client)

    page = _soup(client.get(f"/verify/{certificate.number}").text)

    said = _one(page, ".certificate-status").get_text(" ", strip=True)
    assert f"Status: {label}" in said
    assert reason["en"] in said
    assert "✕" in said  # not in force, said by a sign as well as by colour
    history = [li.get_text(" ", strip=True) for li in page.select("ol.certificate-history li")]
    assert len(history) == 2
    assert reason["en"] in history[1]


def test_a_withdrawal_names_its_reason_code(
    client: TestClient, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, _pdf = signed_certificate(db, council_keys, store)
    certificate.withdrawal_reason = WithdrawalReason.misuse
    change_status(
        db, certificate, CertificateStatus.withdrawn, RegistryEventKind.withdrawn, WITHDRAWN
    )
    _english(client)

    said = _one(_soup(client.get(f"/verify/{certificate.number}").text), ".certificate-status")

    assert "Reason: Misuse of the mark." in said.get_text(" ", strip=True)


def test_a_superseded_certificate_links_to_the_one_that_replaced_it(
    client: TestClient, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    case = granted(db)
    old, _pdf = signed_certificate(db, council_keys, store, case=case)
    change_status(db, old, CertificateStatus.superseded, RegistryEventKind.superseded, SUPERSEDED)
    new = make_certificate(db, case)  # the renewal: the old one is no longer live
    new.supersedes_id = old.id
    db.flush()

    page = _soup(client.get(f"/verify/{old.number}").text)

    assert page.select_one(f".certificate-status a[href='/verify/{new.number}']") is not None


@pytest.mark.parametrize("status", [CertificateStatus.void, CertificateStatus.issuing])
def test_a_number_never_issued_is_not_found(
    client: TestClient, db: Session, status: CertificateStatus
) -> None:
    certificate = make_certificate(db, granted(db), status=status)

    for path in ("", "/certificate.pdf", "/credential.jwt"):
        assert client.get(f"/verify/{certificate.number}{path}").status_code == 404
    assert client.get(f"/api/v1/certificates/{certificate.number}").status_code == 404


def test_an_unknown_number_is_not_found(client: TestClient) -> None:
    response = client.get("/verify/MX-CEIA-2026-999999")

    assert response.status_code == 404
    assert client.get("/api/v1/certificates/MX-CEIA-2026-999999").status_code == 404


def test_the_status_page_is_cached_only_briefly_and_answers_304(
    client: TestClient, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, _pdf = signed_certificate(db, council_keys, store)

    first = client.get(f"/verify/{certificate.number}")
    again = client.get(
        f"/verify/{certificate.number}", headers={"If-None-Match": first.headers["etag"]}
    )

    assert first.headers["cache-control"] == "max-age=60"
    assert again.status_code == 304


def test_looking_up_a_number_leads_to_its_page(client: TestClient) -> None:
    response = client.get("/verify", params={"number": " mx-ceia-2026-000123 "})

    assert response.status_code == 303
    assert response.headers["location"] == "/verify/MX-CEIA-2026-000123"


def test_a_number_that_cannot_be_one_is_refused_on_the_form(client: TestClient) -> None:
    _english(client)

    response = client.get("/verify", params={"number": "<script>"})

    assert response.status_code == 422
    page = _soup(response.text)
    assert _one(page, "#f-number")["aria-invalid"] == "true"
    assert "MX-CEIA-2026-000123" in _one(page, "#f-number-error").get_text()


def test_the_holder_finds_the_certificate_on_the_organisation_and_decision_pages(
    client: TestClient, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    case = granted(db)
    certificate, _pdf = signed_certificate(db, council_keys, store, case=case)
    sign_in_as(client, case.owner)
    pdf_link = f"a[href='/verify/{certificate.number}/certificate.pdf']"

    organisation = _soup(client.get(f"/organisations/{case.organization.id}").text)
    decision = _soup(client.get(f"/applications/{case.application.id}/decision").text)

    for page in (organisation, decision):
        assert page.select_one(f"a[href='/verify/{certificate.number}']") is not None
        assert page.select_one(pdf_link) is not None


# The files ---------------------------------------------------------------------------------


def test_the_pdf_is_the_issued_file_with_a_strong_etag_and_304(
    client: TestClient, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, pdf = signed_certificate(db, council_keys, store)
    url = f"/verify/{certificate.number}/certificate.pdf"

    response = client.get(url)

    assert response.status_code == 200
    assert response.content == pdf
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["etag"] == f'"{certificate.pdf_sha256}"'
    assert response.headers["cache-control"].startswith("public")
    assert client.get(url, headers={"If-None-Match": response.headers["etag"]}).status_code == 304


def test_the_credential_verifies_over_http_with_joserfc_and_the_published_jwks(
    client: TestClient, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, _pdf = signed_certificate(db, council_keys, store)

    response = client.get(f"/verify/{certificate.number}/credential.jwt")
    key_set = KeySet.import_key_set(client.get("/.well-known/jwks.json").json())

    assert response.headers["content-type"] == "application/vc+jwt"
    token = jwt.decode(response.text, key_set, algorithms=["EdDSA"])
    assert token.header["kid"] == council_keys.kid
    assert token.claims["id"].endswith(f"/verify/{certificate.number}")
    assert "OpenBadgeCredential" in token.claims["type"]


# Checking an uploaded PDF ------------------------------------------------------------------


def test_the_issued_pdf_passes_every_check(
    client: TestClient, pinned: FastAPI, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, pdf = signed_certificate(db, council_keys, store)
    _english(client)

    status, page = _upload(client, pdf)

    assert status == 200
    assert _outcomes(page) == {
        "Signed by the council": True,
        "The file the council issued": True,
        "The credential inside the file": True,
        "Status today": True,
    }
    assert "Genuine and in force" in _one(page, ".verdict").get_text()
    assert page.select_one(f".verdict a[href='/verify/{certificate.number}']") is not None


def test_one_changed_byte_is_detected(
    client: TestClient, pinned: FastAPI, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, pdf = signed_certificate(db, council_keys, store)
    at = pdf.index(b"/MediaBox")  # inside the signed range, in the page's description
    changed = pdf[:at] + b"/MediaBoy" + pdf[at + 9 :]
    _english(client)

    status, page = _upload(client, changed)

    assert status == 200
    outcomes = _outcomes(page)
    assert outcomes["Signed by the council"] is False
    assert outcomes["The file the council issued"] is False
    assert "changed after it was signed" in page.select("li.check-result")[0].get_text()
    assert certificate.number in page.select("li.check-result")[1].get_text()
    assert "Not confirmed" in _one(page, ".verdict").get_text()


def test_a_pdf_signed_by_another_authority_is_not_trusted(
    client: TestClient,
    pinned: FastAPI,
    db: Session,
    council_keys: CouncilKeys,
    store: FileStore,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    impostor = init_keys(
        tmp_path_factory.mktemp("impostor") / "keys", council_name="Consejo Falso", now=NOW
    )
    _certificate, pdf = signed_certificate(db, council_keys, store, pdf_keys=impostor)
    _english(client)

    _status, page = _upload(client, pdf)

    outcomes = _outcomes(page)
    assert outcomes["Signed by the council"] is False
    assert outcomes["The credential inside the file"] is True  # the embedded credential is ours
    assert "not the council's signing authority" in page.select("li.check-result")[0].get_text()


def test_a_suspended_certificate_is_genuine_but_not_in_force(
    client: TestClient, pinned: FastAPI, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, pdf = signed_certificate(db, council_keys, store)
    change_status(
        db, certificate, CertificateStatus.suspended, RegistryEventKind.suspended, SUSPENDED
    )
    _english(client)

    _status, page = _upload(client, pdf)

    outcomes = _outcomes(page)
    assert outcomes.pop("Status today") is False
    assert all(outcomes.values())
    assert SUSPENDED["en"] in page.select("li.check-result")[3].get_text()
    assert "Genuine, but not in force" in _one(page, ".verdict").get_text()


def test_a_certificate_past_its_end_fails_the_status_check_even_before_the_expiry_job(
    db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, pdf = signed_certificate(db, council_keys, store, valid_until=dt.date(2026, 11, 1))

    result = verification.verify_pdf(db, council_keys, pdf, now=NOW)

    assert [check.passed for check in result.checks] == [True, True, True, False]
    assert result.verdict == "not_in_force"
    assert certificate.status == CertificateStatus.valid


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "The file is empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "This file is not a PDF"),
        (b"hello, this is text", "This file is not a PDF"),
    ],
)
def test_empty_and_non_pdf_uploads_are_refused_with_a_reason(
    client: TestClient, pinned: FastAPI, data: bytes, reason: str
) -> None:
    _english(client)

    status, page = _upload(client, data)

    assert status == 422
    assert reason in _one(page, "#f-certificate-error").get_text()


def test_no_file_chosen_is_refused_with_a_reason(client: TestClient, pinned: FastAPI) -> None:
    _english(client)
    token = csrf_of(client, "/verify")

    response = client.post("/verify", data={"csrf_token": token}, files={"certificate": ("", b"")})

    assert response.status_code == 422
    assert "The file is empty" in _one(_soup(response.text), "#f-certificate-error").get_text()


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + bytes(range(256)) * 40,
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF",
        b"%PDF-",
    ],
)
def test_a_broken_pdf_fails_every_check_without_an_error(
    client: TestClient, pinned: FastAPI, data: bytes
) -> None:
    _english(client)

    status, page = _upload(client, data)

    assert status == 200
    assert set(_outcomes(page).values()) == {False}
    assert "damaged" in page.select("li.check-result")[0].get_text()


def test_an_upload_over_the_request_limit_is_refused_unread(
    client: TestClient, pinned: FastAPI, settings: Settings
) -> None:
    _english(client)

    status, page = _upload(client, b"%PDF-1.7\n" + b"0" * (settings.max_form_bytes + 10))

    assert status == 413
    assert "too large" in page.get_text()


def test_uploads_are_rate_limited_per_address(
    client: TestClient, pinned: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verification, "VERIFY_LIMIT", 2)
    _english(client)

    statuses = [_upload(client, b"not a pdf")[0] for _ in range(3)]

    assert statuses == [422, 422, 429]


@pytest.mark.parametrize("language", ["es-MX", "en"])
def test_verification_pages_are_valid_structured_and_labelled(
    client: TestClient,
    pinned: FastAPI,
    db: Session,
    council_keys: CouncilKeys,
    store: FileStore,
    language: str,
) -> None:
    certificate, pdf = signed_certificate(db, council_keys, store)
    client.headers["Accept-Language"] = language
    token = csrf_of(client, "/verify")
    pages = {
        "form": client.get("/verify").text,
        "status": client.get(f"/verify/{certificate.number}").text,
        "result": client.post(
            "/verify", data={"csrf_token": token}, files={"certificate": ("c.pdf", pdf)}
        ).text,
        "refused": client.post(
            "/verify", data={"csrf_token": token}, files={"certificate": ("a.txt", b"text")}
        ).text,
        "bad number": client.get("/verify", params={"number": "?"}).text,
    }

    assert {name: parse_errors(html) + _problems(html) for name, html in pages.items()} == {
        name: [] for name in pages
    }


# The API -----------------------------------------------------------------------------------


def test_the_api_gives_the_public_record_with_history_and_links(
    client: TestClient, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, _pdf = signed_certificate(db, council_keys, store)
    change_status(
        db, certificate, CertificateStatus.suspended, RegistryEventKind.suspended, SUSPENDED
    )

    body = client.get(
        f"/api/v1/certificates/{certificate.number}", headers={"Accept-Language": "en"}
    ).json()

    assert body["status"] == "suspended"
    assert body["status_label"] == "Suspended"
    assert body["status_reason"] == SUSPENDED
    assert [event["kind"] for event in body["history"]] == ["issued", "suspended"]
    assert body["links"]["pdf"] == f"/verify/{certificate.number}/certificate.pdf"
    assert body["links"]["page"] == f"/verify/{certificate.number}"
    assert body["guideline_version"] == "1.0"
    assert set(body) >= {"organization_name", "product_name", "level", "valid_until"}


def test_the_api_checks_an_uploaded_pdf(
    client: TestClient, pinned: FastAPI, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, pdf = signed_certificate(db, council_keys, store)

    response = client.post(
        "/api/v1/verify",
        files={"file": ("c.pdf", pdf, "application/pdf")},
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "valid"
    assert body["passed"] is True
    assert body["number"] == certificate.number
    assert [check["name"] for check in body["checks"]] == [
        "signature",
        "file",
        "credential",
        "status",
    ]
    assert all(check["passed"] for check in body["checks"])
    assert "expires on June 1, 2028" in body["checks"][3]["explanation"]


@pytest.mark.parametrize(
    ("files", "field"),
    [({"file": ("c.pdf", b"", "application/pdf")}, None), ({"other": ("c", b"x")}, "file")],
)
def test_the_api_refuses_an_empty_or_missing_file(
    client: TestClient, pinned: FastAPI, files: dict[str, tuple[str, bytes]], field: str | None
) -> None:
    response = client.post("/api/v1/verify", files=files)

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid"
    if field:
        assert field in body["fields"]


def test_certificate_payload_dates_come_from_the_row_when_the_payload_lacks_them(
    db: Session,
) -> None:
    certificate = make_certificate(db, granted(db))

    view = verification.certificate_view(db, certificate.number, now=NOW)

    assert view.valid_until == certificate.valid_until
    assert view.issued_on == NOW.date()
    assert view.guideline_title == ""
    assert isinstance(json.dumps(view.status_reason), str)


def test_unverified_claims_of_garbage_are_empty() -> None:
    assert verification.unverified_claims("a.!!!.c") == {}
    assert verification.unverified_claims("nodots") == {}


def test_numbers_are_found_in_a_credential_by_its_verify_url_or_number_field() -> None:
    claims = {
        "id": "https://ceia.gob.mx/verify/MX-CEIA-2026-000007",
        "credentialSubject": {"number": "MX-CEIA-2026-000008", "name": "x"},
        "evidence": [{"id": "https://ceia.gob.mx/other"}],
    }

    assert verification.numbers_in(claims) == ["MX-CEIA-2026-000007", "MX-CEIA-2026-000008"]


# Hostile or odd input ----------------------------------------------------------------------


def _nested_credential(depth: int) -> str:
    """A JWS-shaped token whose claims are JSON arrays nested `depth` deep."""
    claims = b"[" * depth + b"]" * depth
    payload = base64.urlsafe_b64encode(claims).rstrip(b"=").decode()
    return f"eyJhbGciOiJFZERTQSJ9.{payload}.AAAA"


# Deep enough to exhaust the JSON parser's recursion; the second is also far too long to read.
@pytest.mark.parametrize("depth", [5000, 200_000])
def test_a_credential_of_deeply_nested_json_is_checked_not_a_crash(
    client: TestClient, pinned: FastAPI, db: Session, council_keys: CouncilKeys, depth: int
) -> None:
    pdf = certificate_pdf(_nested_credential(depth))
    _english(client)

    result = verification.verify_pdf(db, council_keys, pdf, now=NOW, client_ip="192.0.2.7")
    status, page = _upload(client, pdf)

    assert result.verdict == "not_confirmed"
    assert status == 200
    assert set(_outcomes(page).values()) == {False}


def test_the_upload_routes_check_files_on_a_reading_session() -> None:
    for path, endpoint in (
        ("/verify", verification_pages.verify_upload),
        ("/api/v1/verify", verification_api.api_verify),
    ):
        scope = {"type": "http", "method": "POST", "path": path, "headers": []}
        request = Request({**scope, "endpoint": endpoint})

        assert not is_write_request(request), path


def test_an_upload_holds_no_write_lock_while_its_pdf_is_checked(
    settings: Settings,
    fresh_database_url: str,
    council_keys: CouncilKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The app's own sessions on a committed database: on SQLite a writing request would hold
    # the write lock from its first statement, and the writer below would wait it out and fail.
    app = create_app(settings.model_copy(update={"database_url": fresh_database_url}))
    checked = signing.check_pdf_signature
    written: list[int] = []

    def check_while_another_writes(keys: CouncilKeys, data: bytes) -> PdfSignatureCheck:
        with open_session(app.state.sessionmaker, writes=True) as writer:
            record_hit(writer, bucket="elsewhere", key="someone", now=NOW)
            writer.commit()
        written.append(1)
        return checked(keys, data)

    monkeypatch.setattr(verification, "check_pdf_signature", check_while_another_writes)
    try:
        with TestClient(app, base_url="http://testserver") as fresh_client:
            response = fresh_client.post(
                "/api/v1/verify",
                files={"file": ("c.pdf", certificate_pdf("a.b.c"), "application/pdf")},
            )
        with app.state.sessionmaker() as session:
            hits = session.scalars(select(RateLimitHit.bucket).order_by(RateLimitHit.id)).all()
    finally:
        app.state.engine.dispose()

    assert response.status_code == 200
    assert written == [1]
    assert hits == [verification.VERIFY_BUCKET, "elsewhere"]  # the attempt was counted first


@pytest.mark.parametrize("number", ["%00", "MX-CEIA-2026-%00", "mx-ceia-2026-000001", "A" * 300])
def test_a_value_not_shaped_like_a_number_is_not_found(
    client: TestClient, db: Session, council_keys: CouncilKeys, store: FileStore, number: str
) -> None:
    certificate, _pdf = signed_certificate(db, council_keys, store)
    assert client.get(f"/verify/{certificate.number}").status_code == 200

    for path in (f"/verify/{number}", f"/verify/{number}/certificate.pdf"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/api/v1/certificates/{number}").status_code == 404
    with pytest.raises(NotFound):
        certificates.get_certificate(db, unquote(number))


def test_without_keys_an_upload_is_answered_503_not_500(
    settings: Settings, db: Session, tmp_path: Path
) -> None:
    app = create_app(settings.model_copy(update={"keys_dir": tmp_path / "no-keys"}))
    app.dependency_overrides[get_session] = lambda: db
    try:
        with TestClient(app, base_url="http://testserver", follow_redirects=False) as keyless:
            keyless.cookies.set(LOCALE_COOKIE, "en")
            page = keyless.post(
                "/verify",
                data={"csrf_token": csrf_of(keyless, "/verify")},
                files={"certificate": ("c.pdf", certificate_pdf("a.b.c"), "application/pdf")},
            )
            api = keyless.post(
                "/api/v1/verify", files={"file": ("c.pdf", certificate_pdf("a.b.c"))}
            )
            key_set = keyless.get("/.well-known/jwks.json")
    finally:
        app.state.engine.dispose()

    assert page.status_code == 503
    assert "signing keys are not set up" in page.text
    assert (api.status_code, api.json()["error"]) == (503, "unavailable")
    assert "signing keys are not set up" in api.json()["detail"]
    assert key_set.status_code == 503


# What the public reads -----------------------------------------------------------------------


def test_the_public_record_holds_neither_the_rfc_nor_the_intended_purpose(
    client: TestClient, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    case = granted(db)
    product = db.get(Product, case.application.product_id)
    assert product is not None
    certificate, _pdf = signed_certificate(db, council_keys, store, case=case)

    page = client.get(f"/verify/{certificate.number}").text
    body = client.get(f"/api/v1/certificates/{certificate.number}").json()

    assert case.organization.rfc not in page
    assert product.intended_purpose not in page
    assert product.identifier in page
    assert case.organization.rfc not in json.dumps(body)
    assert product.intended_purpose not in json.dumps(body)
    assert body["product_identifier"] == product.identifier
    assert not {"organization_rfc", "product_description"} & set(body)


def test_a_certificate_past_its_end_is_shown_expired_before_the_expiry_job(
    client: TestClient, pinned: FastAPI, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    # NOW is 25 November 2026 in Mexico City: the day after the validity ended.
    certificate, _pdf = signed_certificate(
        db, council_keys, store, valid_until=dt.date(2026, 11, 24)
    )
    _english(client)

    page = _soup(client.get(f"/verify/{certificate.number}").text)
    body = client.get(f"/api/v1/certificates/{certificate.number}").json()

    status = _one(page, ".certificate-status").get_text(" ", strip=True)
    assert "Status: Expired" in status
    assert "Valid" not in status
    assert "Since November 25, 2026" in status
    assert "2026-11-24" in status
    assert (body["status"], body["status_label"]) == ("expired", "Expired")
    assert certificate.status == CertificateStatus.valid  # the job records it, not the page


def test_a_certificate_on_its_last_day_is_still_valid(
    client: TestClient, pinned: FastAPI, db: Session, council_keys: CouncilKeys, store: FileStore
) -> None:
    certificate, _pdf = signed_certificate(
        db, council_keys, store, valid_until=dt.date(2026, 11, 25)
    )

    body = client.get(f"/api/v1/certificates/{certificate.number}").json()

    assert body["status"] == "valid"
