"""The council's keys and signatures: credential JWS, signed PDFs, rotation."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import stat
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, OKPKey
from pypdf import PdfReader, PdfWriter

from core.pdf import render_pdf
from core.signing import (
    DEMO_AUTHORITY_NAME,
    CouncilKeys,
    KeysExist,
    KeysMissing,
    check_pdf_signature,
    init_keys,
    jwks,
    load_keys,
    rotate_credential_key,
    sign_jwt,
    sign_pdf,
    verify_jwt,
)
from tests.conftest import TEST_COUNCIL_NAME

NOW = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)
CLAIMS = {"iss": "http://testserver/issuer", "sub": "MX-CEIA-2026-000001", "nombre": "Señal"}

# JOSE libraries warn that "EdDSA" is superseded by "Ed25519" (RFC 9864); verifiers in the wild
# still expect EdDSA, which is what the issue asks for.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


@pytest.fixture(scope="module")
def small_pdf() -> bytes:
    """A one-page WeasyPrint PDF, rendered once for the module."""
    return render_pdf("<html lang='es'><body><h1>Certificado</h1><p>Prueba.</p></body></html>")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _downloaded_key_set(keys: CouncilKeys) -> KeySet:
    """The key set as a verifier gets it: the JSON of `/.well-known/jwks.json`, nothing else."""
    return KeySet.import_key_set(json.loads(json.dumps(jwks(keys))))


def _part(token: str, index: int) -> dict[str, object]:
    segment = token.split(".")[index]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(segment + "=" * 3))
    return decoded


def test_init_keeps_private_keys_unreadable_by_others(tmp_path: Path) -> None:
    keys = init_keys(tmp_path / "keys", council_name=TEST_COUNCIL_NAME, now=NOW)

    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    private_files = [p for p in keys.directory.rglob("*.pem") if b"PRIVATE" in p.read_bytes()]
    assert len(private_files) == 2  # the credential key and the PDF signer's key
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in private_files)


def test_init_refuses_to_overwrite_keys(council_keys: CouncilKeys) -> None:
    before = {p: p.read_bytes() for p in council_keys.directory.rglob("*") if p.is_file()}

    with pytest.raises(KeysExist):
        init_keys(council_keys.directory, council_name="Otro", now=NOW)

    assert {p: p.read_bytes() for p in council_keys.directory.rglob("*") if p.is_file()} == before


def test_loading_an_empty_directory_says_keys_are_missing(tmp_path: Path) -> None:
    with pytest.raises(KeysMissing):
        load_keys(tmp_path)


def test_loaded_keys_are_the_ones_created(council_keys: CouncilKeys) -> None:
    loaded = load_keys(council_keys.directory)

    assert loaded.kid == council_keys.kid
    assert verify_jwt(loaded, sign_jwt(council_keys, CLAIMS)) == CLAIMS
    assert verify_jwt(council_keys, sign_jwt(loaded, CLAIMS)) == CLAIMS


def test_kid_is_the_rfc7638_thumbprint(council_keys: CouncilKeys) -> None:
    (published,) = jwks(council_keys)["keys"]

    assert published["kid"] == council_keys.kid
    assert OKPKey.import_key(published).thumbprint() == council_keys.kid


def test_jwt_header_names_the_algorithm_type_and_key(council_keys: CouncilKeys) -> None:
    token = sign_jwt(council_keys, CLAIMS, typ="statuslist+jwt")

    assert _part(token, 0) == {"alg": "EdDSA", "typ": "statuslist+jwt", "kid": council_keys.kid}
    assert _part(token, 1) == CLAIMS


def test_a_standard_jose_library_verifies_a_credential_with_only_the_jwks(
    council_keys: CouncilKeys,
) -> None:
    token = sign_jwt(council_keys, CLAIMS)

    decoded = jwt.decode(token, _downloaded_key_set(council_keys), algorithms=["EdDSA"])

    assert decoded.claims == CLAIMS
    assert decoded.header["kid"] == council_keys.kid
    assert decoded.header["typ"] == "vc+jwt"


def test_the_standard_library_rejects_a_tampered_credential(council_keys: CouncilKeys) -> None:
    header, _, signature = sign_jwt(council_keys, CLAIMS).split(".")
    forged = f"{header}.{_b64(json.dumps({**CLAIMS, 'sub': 'otro'}).encode())}.{signature}"

    with pytest.raises(BadSignatureError):
        jwt.decode(forged, _downloaded_key_set(council_keys), algorithms=["EdDSA"])


def test_tampered_payload_does_not_verify(council_keys: CouncilKeys) -> None:
    header, _, signature = sign_jwt(council_keys, CLAIMS).split(".")
    payload = _b64(json.dumps({**CLAIMS, "sub": "MX-CEIA-2026-000002"}).encode())

    with pytest.raises(ValueError, match="signature"):
        verify_jwt(council_keys, f"{header}.{payload}.{signature}")


def test_tampered_signature_does_not_verify(council_keys: CouncilKeys) -> None:
    header, payload, signature = sign_jwt(council_keys, CLAIMS).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[5] ^= 1

    with pytest.raises(ValueError, match="signature"):
        verify_jwt(council_keys, f"{header}.{payload}.{_b64(bytes(raw))}")


def test_unknown_kid_does_not_verify(council_keys: CouncilKeys, tmp_path: Path) -> None:
    stranger = init_keys(tmp_path / "other", council_name="Impostor", now=NOW)

    with pytest.raises(ValueError, match="unknown key"):
        verify_jwt(council_keys, sign_jwt(stranger, CLAIMS))


def test_a_token_signed_by_another_key_under_our_kid_does_not_verify(
    council_keys: CouncilKeys, tmp_path: Path
) -> None:
    stranger = init_keys(tmp_path / "other", council_name="Impostor", now=NOW)
    token = sign_jwt(stranger, CLAIMS)
    _, payload, signature = token.split(".")
    header = _b64(json.dumps({"alg": "EdDSA", "typ": "vc+jwt", "kid": council_keys.kid}).encode())

    with pytest.raises(ValueError, match="signature"):
        verify_jwt(council_keys, f"{header}.{payload}.{signature}")


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "kid": "x"},
        {"alg": "HS256"},
        {"alg": "EdDSA", "crit": ["exp"]},
    ],
)
def test_other_algorithms_and_critical_extensions_are_refused(
    council_keys: CouncilKeys, header: dict[str, object]
) -> None:
    _, payload, signature = sign_jwt(council_keys, CLAIMS).split(".")
    forged = f"{_b64(json.dumps({**header, 'kid': council_keys.kid}).encode())}.{payload}."

    with pytest.raises(ValueError, match="header"):
        verify_jwt(council_keys, forged + signature)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.AAAA"])
def test_malformed_tokens_are_a_value_error(council_keys: CouncilKeys, token: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (each malformation has its own message)
        verify_jwt(council_keys, token)


def test_rotation_keeps_old_credentials_verifiable(tmp_path: Path) -> None:
    keys = init_keys(tmp_path / "keys", council_name=TEST_COUNCIL_NAME, now=NOW)
    old_token = sign_jwt(keys, CLAIMS)

    rotated = rotate_credential_key(keys.directory, now=NOW + dt.timedelta(days=1))
    new_token = sign_jwt(rotated, CLAIMS)

    assert rotated.kid != keys.kid
    assert _part(new_token, 0)["kid"] == rotated.kid
    assert [key["kid"] for key in jwks(rotated)["keys"]] == [rotated.kid, keys.kid]
    retired = {key.kid: key.retired_at for key in rotated.published}
    assert retired == {rotated.kid: None, keys.kid: NOW + dt.timedelta(days=1)}
    key_set = _downloaded_key_set(load_keys(keys.directory))
    for token in (old_token, new_token):
        assert verify_jwt(rotated, token) == CLAIMS
        assert jwt.decode(token, key_set, algorithms=["EdDSA"]).claims == CLAIMS


def test_a_signed_pdf_validates_as_the_councils(
    council_keys: CouncilKeys, small_pdf: bytes
) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)

    signed = sign_pdf(council_keys, small_pdf, reason="Certificado", location="Ciudad de México")
    check = check_pdf_signature(council_keys, signed)

    assert (check.signed, check.intact, check.trusted) == (True, True, True)
    assert check.signer == TEST_COUNCIL_NAME
    assert check.signed_at is not None
    assert before <= check.signed_at <= dt.datetime.now(dt.UTC)


def test_the_signature_is_pades_in_a_field_named_signature(
    council_keys: CouncilKeys, small_pdf: bytes
) -> None:
    signed = sign_pdf(council_keys, small_pdf, reason="Certificado", location="CDMX")

    fields = PdfReader(io.BytesIO(signed)).get_fields() or {}
    value = fields["Signature"]["/V"]
    assert value["/SubFilter"] == "/ETSI.CAdES.detached"
    assert value["/Reason"] == "Certificado"
    assert value["/Location"] == "CDMX"
    assert signed.startswith(small_pdf)  # an incremental update: the original bytes are kept


def test_the_signer_chain_is_embedded(council_keys: CouncilKeys, small_pdf: bytes) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    signed = sign_pdf(council_keys, small_pdf, reason="r", location="l")

    (embedded,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    certificates = embedded.signed_data["certificates"]
    subjects = {cert.chosen.subject.native["common_name"] for cert in certificates}
    assert subjects == {TEST_COUNCIL_NAME, DEMO_AUTHORITY_NAME}


def test_embedded_files_survive_signing(council_keys: CouncilKeys, small_pdf: bytes) -> None:
    writer = PdfWriter(clone_from=io.BytesIO(small_pdf))
    writer.add_attachment("credential.jwt", b"eyJhbGciOiJFZERTQSJ9.e30.sig")
    buffer = io.BytesIO()
    writer.write(buffer)

    signed = sign_pdf(council_keys, buffer.getvalue(), reason="r", location="l")

    assert PdfReader(io.BytesIO(signed)).attachments == {
        "credential.jwt": [b"eyJhbGciOiJFZERTQSJ9.e30.sig"]
    }
    assert check_pdf_signature(council_keys, signed).intact


def test_a_changed_byte_in_the_signed_range_is_detected(
    council_keys: CouncilKeys, small_pdf: bytes
) -> None:
    signed = bytearray(sign_pdf(council_keys, small_pdf, reason="r", location="l"))
    inside_a_stream = small_pdf.index(b"stream\n") + 20
    signed[inside_a_stream] ^= 0x01

    check = check_pdf_signature(council_keys, bytes(signed))

    assert check.signed
    assert not check.intact


def test_bytes_added_after_signing_mean_not_intact(
    council_keys: CouncilKeys, small_pdf: bytes
) -> None:
    signed = sign_pdf(council_keys, small_pdf, reason="r", location="l")
    writer = PdfWriter(io.BytesIO(signed), incremental=True)
    writer.add_metadata({"/Title": "Otro título"})
    buffer = io.BytesIO()
    writer.write(buffer)

    check = check_pdf_signature(council_keys, buffer.getvalue())

    assert check.signed
    assert not check.intact


def test_a_pdf_signed_under_another_authority_is_not_trusted(
    council_keys: CouncilKeys, small_pdf: bytes, tmp_path: Path
) -> None:
    impostor = init_keys(tmp_path / "other", council_name=TEST_COUNCIL_NAME, now=NOW)

    check = check_pdf_signature(
        council_keys, sign_pdf(impostor, small_pdf, reason="r", location="l")
    )

    assert (check.signed, check.intact, check.trusted) == (True, True, False)


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"%PDF-1.7\n" + b"\x00" * 300, b"%PDF-1.7\n1 0 obj << /Type /Sig >>\n%%EOF"],
)
def test_garbage_is_unsigned_and_never_raises(council_keys: CouncilKeys, data: bytes) -> None:
    check = check_pdf_signature(council_keys, data)

    assert (check.signed, check.intact, check.trusted, check.signer) == (False, False, False, "")


def test_an_unsigned_pdf_is_unsigned(council_keys: CouncilKeys, small_pdf: bytes) -> None:
    assert not check_pdf_signature(council_keys, small_pdf).signed


def test_a_truncated_signed_pdf_never_raises(council_keys: CouncilKeys, small_pdf: bytes) -> None:
    signed = sign_pdf(council_keys, small_pdf, reason="r", location="l")

    for cut in (len(signed) - 10, len(signed) - 400, len(small_pdf) + 200):
        check = check_pdf_signature(council_keys, signed[:cut])
        assert not check.intact
