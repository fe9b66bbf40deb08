"""A real council signs PDFs with its own certificate: a PKCS#12 file or the SAT's e.firma pair."""

from __future__ import annotations

import datetime as dt
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from core.pdf import render_pdf
from core.signing import (
    PAST_SIGNERS_FILE,
    CouncilKeys,
    KeysInvalid,
    check_pdf_signature,
    describe_keys,
    init_keys,
    load_keys,
    sign_jwt,
    sign_pdf,
    verify_jwt,
)

NOW = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)
PASSWORD = b"contrasena-de-la-firma"


@dataclass(frozen=True)
class Pki:
    """A small RSA hierarchy like a certification authority's: root, intermediate, the council."""

    root: x509.Certificate
    intermediate: x509.Certificate
    council: x509.Certificate
    council_key: rsa.RSAPrivateKey
    # Someone else the same authority certified (any e.firma holder, under the SAT's chain).
    other: x509.Certificate
    other_key: rsa.RSAPrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str, issuer: str, public: rsa.RSAPublicKey, signer: rsa.RSAPrivateKey, *, ca: bool
) -> x509.Certificate:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=1460))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(signer, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def pki() -> Pki:
    """RSA 2048 keys, made once for the module (RSA key generation is slow)."""
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(4)]
    root_key, intermediate_key, council_key, other_key = keys
    root = _certificate(
        "Raíz de prueba", "Raíz de prueba", root_key.public_key(), root_key, ca=True
    )
    intermediate = _certificate(
        "AC intermedia", "Raíz de prueba", intermediate_key.public_key(), root_key, ca=True
    )
    council = _certificate(
        "CONSEJO DE ETICA DE LA IA",
        "AC intermedia",
        council_key.public_key(),
        intermediate_key,
        ca=False,
    )
    other = _certificate(
        "PERSONA CUALQUIERA", "AC intermedia", other_key.public_key(), intermediate_key, ca=False
    )
    return Pki(root, intermediate, council, council_key, other, other_key)


@pytest.fixture(scope="module")
def small_pdf() -> bytes:
    """A one-page WeasyPrint PDF."""
    return render_pdf("<html lang='es'><body><p>Constancia</p></body></html>")


def test_a_pkcs12_file_with_its_chain_signs_trusted_pdfs(
    pki: Pki, small_pdf: bytes, tmp_path: Path
) -> None:
    p12 = tmp_path / "consejo.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"consejo",
            pki.council_key,
            pki.council,
            [pki.intermediate, pki.root],
            serialization.BestAvailableEncryption(PASSWORD),
        )
    )

    keys = init_keys(
        tmp_path / "keys", council_name="Consejo", now=NOW, pkcs12=p12, pkcs12_password=PASSWORD
    )
    check = check_pdf_signature(keys, sign_pdf(keys, small_pdf, reason="r", location="l"))

    assert (check.signed, check.intact, check.trusted) == (True, True, True)
    assert check.signer == "CONSEJO DE ETICA DE LA IA"
    summary = describe_keys(keys)
    assert summary.authorities == ("Common Name: Raíz de prueba",)
    assert summary.signer_issuer == "Common Name: AC intermedia"
    assert verify_jwt(keys, sign_jwt(keys, {"a": 1})) == {"a": 1}  # an Ed25519 key was made too


def test_the_sat_efirma_pair_der_certificate_and_encrypted_pkcs8_key_signs(
    pki: Pki, small_pdf: bytes, tmp_path: Path
) -> None:
    certificate = tmp_path / "00001000000500000000.cer"
    certificate.write_bytes(pki.council.public_bytes(serialization.Encoding.DER))
    key = tmp_path / "Claveprivada_FIEL.key"
    key.write_bytes(
        pki.council_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSWORD),
        )
    )

    keys = init_keys(
        tmp_path / "keys",
        council_name="Consejo",
        now=NOW,
        certificate=certificate,
        private_key=key,
        key_password=PASSWORD,
    )
    check = check_pdf_signature(keys, sign_pdf(keys, small_pdf, reason="r", location="l"))

    # Without the chain, the certificate itself is what the council's PDFs are trusted under.
    assert (check.signed, check.intact, check.trusted) == (True, True, True)
    assert describe_keys(keys).authorities == ("Common Name: CONSEJO DE ETICA DE LA IA",)
    stored_key = keys.directory / "pdf-signer-key.pem"
    assert stat.S_IMODE(stored_key.stat().st_mode) == 0o600


def test_a_pem_pair_without_password_imports(pki: Pki, tmp_path: Path) -> None:
    certificate = tmp_path / "cert.pem"
    certificate.write_bytes(pki.council.public_bytes(serialization.Encoding.PEM))
    key = tmp_path / "key.pem"
    key.write_bytes(
        pki.council_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )

    keys = init_keys(
        tmp_path / "keys", council_name="Consejo", now=NOW, certificate=certificate, private_key=key
    )

    assert describe_keys(keys).signer == "CONSEJO DE ETICA DE LA IA"


def test_a_key_that_is_not_the_certificates_is_refused(pki: Pki, tmp_path: Path) -> None:
    certificate = tmp_path / "cert.der"
    certificate.write_bytes(pki.root.public_bytes(serialization.Encoding.DER))
    key = tmp_path / "key.pem"
    key.write_bytes(
        pki.council_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    with pytest.raises(KeysInvalid, match="does not belong"):
        init_keys(
            tmp_path / "keys", council_name="C", now=NOW, certificate=certificate, private_key=key
        )
    assert not (tmp_path / "keys").exists()


def test_a_wrong_pkcs12_password_is_refused(pki: Pki, tmp_path: Path) -> None:
    p12 = tmp_path / "consejo.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"consejo",
            pki.council_key,
            pki.council,
            None,
            serialization.BestAvailableEncryption(PASSWORD),
        )
    )

    with pytest.raises(KeysInvalid):
        init_keys(tmp_path / "keys", council_name="C", now=NOW, pkcs12=p12, pkcs12_password=b"x")


def test_a_certificate_without_its_key_is_refused(pki: Pki, tmp_path: Path) -> None:
    certificate = tmp_path / "cert.der"
    certificate.write_bytes(pki.council.public_bytes(serialization.Encoding.DER))

    with pytest.raises(KeysInvalid, match="both"):
        init_keys(tmp_path / "keys", council_name="C", now=NOW, certificate=certificate)


def _keys_of(
    tmp_path: Path, name: str, certificate: x509.Certificate, key: rsa.RSAPrivateKey, pki: Pki
) -> CouncilKeys:
    p12 = tmp_path / f"{name}.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            name.encode(),
            key,
            certificate,
            [pki.intermediate, pki.root],
            serialization.BestAvailableEncryption(PASSWORD),
        )
    )
    return init_keys(
        tmp_path / name, council_name="Consejo", now=NOW, pkcs12=p12, pkcs12_password=PASSWORD
    )


def test_another_holder_certified_by_the_same_authority_is_not_the_council(
    pki: Pki, small_pdf: bytes, tmp_path: Path
) -> None:
    council = _keys_of(tmp_path, "consejo", pki.council, pki.council_key, pki)
    impostor = _keys_of(tmp_path, "otra", pki.other, pki.other_key, pki)

    forged = check_pdf_signature(council, sign_pdf(impostor, small_pdf, reason="r", location="l"))
    genuine = check_pdf_signature(council, sign_pdf(council, small_pdf, reason="r", location="l"))

    assert (forged.signed, forged.intact, forged.trusted) == (True, True, False)
    assert forged.signer == "PERSONA CUALQUIERA"
    assert (genuine.signed, genuine.intact, genuine.trusted) == (True, True, True)


def test_pdfs_signed_by_a_past_signer_of_the_council_stay_trusted(
    pki: Pki, small_pdf: bytes, tmp_path: Path
) -> None:
    # The council signed with the first certificate, then changed to another one.
    before = _keys_of(tmp_path, "antes", pki.other, pki.other_key, pki)
    old_pdf = sign_pdf(before, small_pdf, reason="r", location="l")
    after = _keys_of(tmp_path, "ahora", pki.council, pki.council_key, pki)
    assert not check_pdf_signature(after, old_pdf).trusted

    (after.directory / PAST_SIGNERS_FILE).write_bytes(
        pki.other.public_bytes(serialization.Encoding.PEM)
    )
    reloaded = load_keys(after.directory)

    assert check_pdf_signature(reloaded, old_pdf).trusted
    assert check_pdf_signature(
        reloaded, sign_pdf(reloaded, small_pdf, reason="r", location="l")
    ).trusted
