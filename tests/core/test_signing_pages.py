"""What the council publishes for verifiers: the key set, the issuer profile, the authority."""

from __future__ import annotations

import base64
import io
import json

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from core.pdf import render_pdf
from core.settings import Settings
from core.signing import DEMO_AUTHORITY_NAME, CouncilKeys, jwks, sign_jwt, sign_pdf


def test_the_key_set_is_public_cacheable_json(
    client: TestClient, council_keys: CouncilKeys
) -> None:
    response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.json() == jwks(council_keys)
    assert response.json()["keys"][0]["kid"] == council_keys.kid


def test_the_key_set_answers_304_to_a_verifier_that_has_it(client: TestClient) -> None:
    etag = client.get("/.well-known/jwks.json").headers["etag"]

    again = client.get("/.well-known/jwks.json", headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.content == b""


def test_the_key_set_names_the_kid_credentials_carry(
    client: TestClient, council_keys: CouncilKeys
) -> None:
    token = sign_jwt(council_keys, {"sub": "x"})
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))

    kids = [key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]]

    assert header["kid"] in kids


def test_the_issuer_profile_is_an_open_badges_profile(
    client: TestClient, settings: Settings
) -> None:
    response = client.get("/issuer")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    profile = response.json()
    assert profile["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert profile["id"] == "http://testserver/issuer"
    assert profile["type"] == ["Profile"]
    assert profile["name"] == settings.council_name
    assert profile["url"] == "http://testserver/"


def test_a_pdf_reader_given_the_published_authority_trusts_the_councils_pdfs(
    client: TestClient, council_keys: CouncilKeys
) -> None:
    response = client.get("/.well-known/council-signing-certificates.pem")
    signed = sign_pdf(
        council_keys,
        render_pdf("<html lang='es'><p>Constancia</p></html>"),
        reason="Certificado",
        location="CDMX",
    )

    (authority,) = x509.load_pem_x509_certificates(response.content)
    assert response.headers["cache-control"] == "public, max-age=300"
    assert authority.subject.rfc4514_string().startswith(f"CN={DEMO_AUTHORITY_NAME}")
    (signature,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    root = asn1_x509.Certificate.load(authority.public_bytes(serialization.Encoding.DER))
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    assert validate_pdf_signature(signature, context).bottom_line
