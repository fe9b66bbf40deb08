"""The council's keys and signatures: Ed25519 for credentials (JWS), an X.509 certificate for PDFs.

The interface is fixed here so that issuance, verification and the lifecycle can be built against
it; the bodies are filled in by the signing work (issue 12).

On disk, under `Settings.keys_dir` (mode 0700; every private key file 0600):

    keys.json                 which credential keys exist, which is current, when each was retired
    credential/<kid>.pem      one Ed25519 private key (PKCS#8) per credential key, never deleted
    pdf-signer-key.pem        the PDF signer's private key (PKCS#8, unencrypted: the mode guards it)
    pdf-signer-cert.pem       the PDF signer's certificate
    pdf-signer-chain.pem      the certificates above it (the authority), possibly none
    trust-roots.pem           every authority the council's PDFs were ever signed under
    past-signers.pem          every certificate the council signed PDFs with before the current
                              one (possibly none); an operator who changes the signer adds the
                              old certificate here, so the PDFs it signed still verify

A PDF is the council's only when its signer's certificate is the current signer's or a past
one's: chaining to a trusted authority is not enough, since an authority such as the SAT issues
certificates to every e.firma holder.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12 as crypto_pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields as sig_fields
from pyhanko.sign import signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

logger = logging.getLogger("council.signing")

METADATA_FILE = "keys.json"
CREDENTIAL_DIR = "credential"
SIGNER_KEY_FILE = "pdf-signer-key.pem"
SIGNER_CERT_FILE = "pdf-signer-cert.pem"
SIGNER_CHAIN_FILE = "pdf-signer-chain.pem"
TRUST_ROOTS_FILE = "trust-roots.pem"
PAST_SIGNERS_FILE = "past-signers.pem"

# The demo authority outlives the certificate it issues, which outlives any quality mark.
AUTHORITY_YEARS = 20
SIGNER_YEARS = 10

# PDFs name the signature field so a verifier (and Acrobat) shows it under a stable name.
SIGNATURE_FIELD = "Signature"
# The signer's certificate must allow signatures that commit the council (nonRepudiation).
SIGNER_KEY_USAGE = frozenset({"digital_signature", "non_repudiation"})

JWS_ALG = "EdDSA"

# The self-signed root `council keys init` makes when the council has no certificate of its own.
DEMO_AUTHORITY_NAME = "Autoridad de demostración (sin validez legal)"


@dataclass(frozen=True)
class PublicJwk:
    """One published Ed25519 public key (current or retired), as a JWK with its key id."""

    kid: str
    jwk: dict[str, Any]
    created_at: dt.datetime
    retired_at: dt.datetime | None = None


@dataclass(frozen=True)
class CouncilKeys:
    """The keys a running service signs with and the public keys it publishes.

    Loaded once per process from `Settings.keys_dir` by `load_keys`; `kid` is the current
    credential key; `published` holds every key ever used, so old credentials still verify.
    """

    directory: Path
    kid: str
    published: tuple[PublicJwk, ...]
    # Opaque to callers: the private Ed25519 key, the PDF signer, the trust roots.
    _private: Any = field(repr=False)
    _pdf_signer: Any = field(repr=False)
    _trust_roots: tuple[Any, ...] = field(repr=False)
    # DER of every certificate the council signs or signed PDFs with (the current one first).
    _signer_certs: tuple[bytes, ...] = field(repr=False)


@dataclass(frozen=True)
class PdfSignatureCheck:
    """What checking a PDF's signature found, each part a plain yes or no."""

    signed: bool  # the file carries a signature at all
    intact: bool  # the signed bytes are unchanged and cover the whole file
    trusted: bool  # the signer's certificate is the council's own and chains to its authority
    signer: str  # the signer's name from its certificate ("" when unsigned)
    signed_at: dt.datetime | None


@dataclass(frozen=True)
class KeysSummary:
    """What an operator needs to know about the council's keys (`council keys show`)."""

    kid: str
    kids: tuple[str, ...]
    signer: str
    signer_issuer: str
    signer_expires_at: dt.datetime
    authorities: tuple[str, ...]


class KeysMissing(RuntimeError):
    """The keys directory holds no council keys: run `council keys init`."""


class KeysExist(RuntimeError):
    """The keys directory already holds council keys, which are never overwritten."""


class KeysInvalid(ValueError):
    """Key material offered for import that cannot serve as the council's PDF signer."""


UNSIGNED = PdfSignatureCheck(signed=False, intact=False, trusted=False, signer="", signed_at=None)


# --- Files ------------------------------------------------------------------------------------


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret so that it is never readable by others, not even for an instant."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)  # the umask may have narrowed it further, never widened it
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    """Write a public file atomically (a reader sees the old or the new one, never half)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _pem_certs(certs: Iterable[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def _read_pem_certs(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes() if path.exists() else b""
    return x509.load_pem_x509_certificates(data) if data.strip() else []


def _pkcs8(key: Any) -> bytes:
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return data


# --- Credential keys (Ed25519) --------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_B64URL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _unb64url(text: str) -> bytes:
    if not set(text) <= _B64URL_CHARS or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _public_jwk(public: ed25519.Ed25519PublicKey) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 thumbprint (SHA-256, base64url) of an Ed25519 JWK: the key's kid."""
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    return _b64url(hashlib.sha256(_json_bytes(required)).digest())


def _new_credential_key(directory: Path, now: dt.datetime) -> dict[str, Any]:
    """Create one Ed25519 key file; its entry for keys.json."""
    private = ed25519.Ed25519PrivateKey.generate()
    kid = jwk_thumbprint(_public_jwk(private.public_key()))
    _private_dir(directory / CREDENTIAL_DIR)
    _write_private(directory / CREDENTIAL_DIR / f"{kid}.pem", _pkcs8(private))
    return {"kid": kid, "created_at": now.isoformat(), "retired_at": None}


# --- The PDF signer (X.509) -------------------------------------------------------------------


def _upto_64_bytes(text: str) -> str:
    # X.509 caps these names at 64 bytes of UTF-8, and accented letters take two.
    return text.encode()[:64].decode(errors="ignore")


def _name(council_name: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "MX"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _upto_64_bytes(council_name)),
            x509.NameAttribute(NameOID.COMMON_NAME, _upto_64_bytes(common_name)),
        ]
    )


def _demo_authority(
    council_name: str, now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed demo root and the council's signing certificate it issues."""
    start = now - dt.timedelta(hours=1)  # tolerate clocks a little behind ours
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(council_name, DEMO_AUTHORITY_NAME)
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * AUTHORITY_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(root_ski, critical=False)
        .sign(root_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(council_name, council_name))
        .issuer_name(root_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    return signer, signer_key, root


def _load_any_certificate(data: bytes) -> x509.Certificate:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _load_any_private_key(data: bytes, password: bytes | None) -> Any:
    if b"-----BEGIN" in data:
        return serialization.load_pem_private_key(data, password=password)
    return serialization.load_der_private_key(data, password=password)


def _same_public_key(certificate: x509.Certificate, key: Any) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return bool(certificate.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt))


def _chain_top(
    certificate: x509.Certificate, chain: Sequence[x509.Certificate]
) -> x509.Certificate:
    """The top of a chain: a self-signed certificate, else the last whose issuer is absent."""
    by_subject = {cert.subject: cert for cert in chain}
    current = certificate
    for _ in range(len(chain) + 1):
        if current.issuer == current.subject or current.issuer not in by_subject:
            return current
        current = by_subject[current.issuer]
    return current


def _imported_signer(
    *,
    pkcs12: Path | None,
    pkcs12_password: bytes | None,
    certificate: Path | None,
    private_key: Path | None,
    key_password: bytes | None,
) -> tuple[x509.Certificate, Any, list[x509.Certificate]]:
    """The certificate, key and chain from a PKCS#12 file or a certificate and key pair."""
    try:
        if pkcs12 is not None:
            key, cert, extra = crypto_pkcs12.load_key_and_certificates(
                pkcs12.read_bytes(), pkcs12_password
            )
            if key is None or cert is None:
                raise KeysInvalid("the PKCS#12 file holds no certificate with its private key")
            chain = list(extra)
        else:
            if certificate is None or private_key is None:
                raise KeysInvalid("give both the certificate and its private key")
            cert = _load_any_certificate(certificate.read_bytes())
            key = _load_any_private_key(private_key.read_bytes(), key_password)
            chain = []
    except (ValueError, TypeError) as error:
        if isinstance(error, KeysInvalid):
            raise
        raise KeysInvalid(f"cannot read the key material: {error}") from error
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeysInvalid("the private key must be RSA or elliptic-curve")
    if not _same_public_key(cert, key):
        raise KeysInvalid("the private key does not belong to the certificate")
    return cert, key, chain


def _write_signer(
    directory: Path,
    certificate: x509.Certificate,
    key: Any,
    chain: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
) -> None:
    _write_private(directory / SIGNER_KEY_FILE, _pkcs8(key))
    _write_public(directory / SIGNER_CERT_FILE, _pem_certs([certificate]))
    _write_public(directory / SIGNER_CHAIN_FILE, _pem_certs(chain))
    _write_public(directory / TRUST_ROOTS_FILE, _pem_certs(roots))


# --- Keys: create, load, rotate ----------------------------------------------------------------


def init_keys(
    directory: Path,
    *,
    council_name: str,
    now: dt.datetime,
    pkcs12: Path | None = None,
    pkcs12_password: bytes | None = None,
    certificate: Path | None = None,
    private_key: Path | None = None,
    key_password: bytes | None = None,
) -> CouncilKeys:
    """Create the council's keys (a self-signed demo authority) or import its certificate."""
    if (directory / METADATA_FILE).exists():
        raise KeysExist(f"{directory} already holds the council's keys; they are not replaced")
    if pkcs12 is not None or certificate is not None or private_key is not None:
        cert, key, chain = _imported_signer(
            pkcs12=pkcs12,
            pkcs12_password=pkcs12_password,
            certificate=certificate,
            private_key=private_key,
            key_password=key_password,
        )
        root = _chain_top(cert, chain)
        chain = [c for c in chain if c != cert]
    else:
        cert, key, root = _demo_authority(council_name, now)
        chain = [root]
    _private_dir(directory)
    _write_signer(directory, cert, key, chain, [root])
    entry = _new_credential_key(directory, now)
    metadata = {
        "version": 1,
        "council_name": council_name,
        "current": entry["kid"],
        "credential_keys": [entry],
    }
    # Written last: a directory without it holds no keys, and init may run again.
    _write_public(directory / METADATA_FILE, _json_bytes(metadata))
    return load_keys(directory)


def _read_metadata(directory: Path) -> dict[str, Any]:
    try:
        metadata: dict[str, Any] = json.loads((directory / METADATA_FILE).read_bytes())
    except FileNotFoundError as error:
        raise KeysMissing(f"no council keys in {directory}: run `council keys init`") from error
    return metadata


def _parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _pdf_signer(directory: Path) -> signers.SimpleSigner:
    key_pem = (directory / SIGNER_KEY_FILE).read_bytes()
    cert = asn1_x509.Certificate.load(
        _read_pem_certs(directory / SIGNER_CERT_FILE)[0].public_bytes(serialization.Encoding.DER)
    )
    chain = [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
        for c in _read_pem_certs(directory / SIGNER_CHAIN_FILE)
    ]
    private = serialization.load_pem_private_key(key_pem, password=None)
    key_info = asn1_keys.PrivateKeyInfo.load(
        private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return _LoadedKeySigner(
        signing_cert=cert,
        signing_key=key_info,
        cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
        private=private,
    )


class _LoadedKeySigner(signers.SimpleSigner):
    """pyHanko's simple signer, keeping the parsed private key instead of parsing it per signature.

    Parsing an RSA key checks it, which costs milliseconds on every certificate signed.
    """

    def __init__(self, *, private: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._private = private

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        name = mechanism["algorithm"].native
        hash_algorithm = getattr(hashes, digest_algorithm.upper().replace("-", "_"))()
        if isinstance(self._private, ec.EllipticCurvePrivateKey) and "ecdsa" in name:
            signature: bytes = self._private.sign(data, ec.ECDSA(hash_algorithm))
            return signature
        if isinstance(self._private, rsa.RSAPrivateKey) and name.endswith("rsa"):
            from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

            signature = self._private.sign(data, PKCS1v15(), hash_algorithm)
            return signature
        result: bytes = super().sign_raw(data, digest_algorithm)
        return result


def load_keys(directory: Path) -> CouncilKeys:
    """The council's keys as stored under `directory` (raises KeysMissing when there are none)."""
    metadata = _read_metadata(directory)
    current = metadata["current"]
    published = []
    for entry in metadata["credential_keys"]:
        pem = (directory / CREDENTIAL_DIR / f"{entry['kid']}.pem").read_bytes()
        private = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, ed25519.Ed25519PrivateKey):
            raise KeysInvalid(f"credential key {entry['kid']} is not Ed25519")
        jwk = _public_jwk(private.public_key())
        published.append(
            PublicJwk(
                kid=entry["kid"],
                jwk={**jwk, "kid": entry["kid"], "alg": JWS_ALG, "use": "sig"},
                created_at=dt.datetime.fromisoformat(entry["created_at"]),
                retired_at=_parse_time(entry["retired_at"]),
            )
        )
        if entry["kid"] == current:
            current_private = private
    # Current key first: a reader of the key set sees the one in use at the top.
    published.sort(key=lambda key: (key.kid != current, -key.created_at.timestamp()))
    roots = tuple(
        asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
        for cert in _read_pem_certs(directory / TRUST_ROOTS_FILE)
    )
    signer = _pdf_signer(directory)
    assert signer.signing_cert is not None  # _pdf_signer always loads one
    past = _read_pem_certs(directory / PAST_SIGNERS_FILE)
    return CouncilKeys(
        directory=directory,
        kid=current,
        published=tuple(published),
        _private=current_private,
        _pdf_signer=signer,
        _trust_roots=roots,
        _signer_certs=(
            signer.signing_cert.dump(),
            *(cert.public_bytes(serialization.Encoding.DER) for cert in past),
        ),
    )


def rotate_credential_key(directory: Path, *, now: dt.datetime) -> CouncilKeys:
    """A new current Ed25519 key; the old one stays published so its credentials verify."""
    metadata = _read_metadata(directory)
    entry = _new_credential_key(directory, now)
    for old in metadata["credential_keys"]:
        if old["kid"] == metadata["current"]:
            old["retired_at"] = now.isoformat()
    metadata["credential_keys"].append(entry)
    metadata["current"] = entry["kid"]
    _write_public(directory / METADATA_FILE, _json_bytes(metadata))
    return load_keys(directory)


def describe_keys(keys: CouncilKeys) -> KeysSummary:
    """The kids, the signer and its authority, for an operator."""
    cert = keys._pdf_signer.signing_cert
    return KeysSummary(
        kid=keys.kid,
        kids=tuple(key.kid for key in keys.published),
        signer=_common_name(cert),
        signer_issuer=cert.issuer.human_friendly,
        signer_expires_at=cert["tbs_certificate"]["validity"]["not_after"].native,
        authorities=tuple(root.subject.human_friendly for root in keys._trust_roots),
    )


def authority_certificates_pem(keys: CouncilKeys) -> str:
    """The PEM of every authority the council's PDFs chain to, for third-party validators."""
    return _pem_certs(
        x509.load_der_x509_certificate(root.dump()) for root in keys._trust_roots
    ).decode("ascii")


# --- What the council publishes ---------------------------------------------------------------

ISSUER_PATH = "/issuer"
JWKS_PATH = "/.well-known/jwks.json"
CERTIFICATES_PATH = "/.well-known/council-signing-certificates.pem"
# JSON-LD contexts of an Open Badges 3.0 document: the W3C VC 2.0 context, then Open Badges'.
OB3_CONTEXT = (
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
)


def issuer_id(base_url: str) -> str:
    """The council's stable identifier as an issuer: the URL of its Open Badges profile."""
    return base_url.rstrip("/") + ISSUER_PATH


def issuer_profile(*, base_url: str, name: str) -> dict[str, Any]:
    """The council as an Open Badges 3.0 issuer `Profile`, served at `/issuer`."""
    root = base_url.rstrip("/")
    return {
        "@context": list(OB3_CONTEXT),
        "id": issuer_id(root),
        "type": ["Profile"],
        "name": name,
        "url": root + "/",
        "description": (
            "Consejo de ética que emite marcas de calidad para productos de inteligencia "
            "artificial en México. / Ethics council issuing quality marks for AI products "
            "in Mexico."
        ),
    }


# --- JWS ----------------------------------------------------------------------------------------


def jwks(keys: CouncilKeys) -> dict[str, Any]:
    """The JSON Web Key Set of every credential key ever used (`/.well-known/jwks.json`)."""
    return {"keys": [dict(key.jwk) for key in keys.published]}


def sign_jwt(keys: CouncilKeys, claims: dict[str, Any], *, typ: str = "vc+jwt") -> str:
    """A compact JWS (EdDSA over Ed25519) of the claims, with the current key's kid."""
    header = {"alg": JWS_ALG, "typ": typ, "kid": keys.kid}
    signing_input = f"{_b64url(_json_bytes(header))}.{_b64url(_json_bytes(claims))}"
    signature = keys._private.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{_b64url(signature)}"


def verify_jwt(keys: CouncilKeys, token: str) -> dict[str, Any]:
    """The claims of a JWS signed by any published key (ValueError when it does not verify)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")
    try:
        header = json.loads(_unb64url(parts[0]))
        signature = _unb64url(parts[2])
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError("malformed JWS") from error
    if not isinstance(header, dict) or header.get("alg") != JWS_ALG or "crit" in header:
        raise ValueError("unsupported JWS header")
    published = {key.kid: key for key in keys.published}
    key = published.get(header.get("kid"))  # type: ignore[arg-type]
    if key is None:
        raise ValueError("unknown key id")
    public = ed25519.Ed25519PublicKey.from_public_bytes(_unb64url(key.jwk["x"]))
    try:
        public.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature as error:
        raise ValueError("signature does not verify") from error
    try:
        claims = json.loads(_unb64url(parts[1]))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError("malformed JWS payload") from error
    if not isinstance(claims, dict):
        raise ValueError("JWS payload is not a JSON object")
    return claims


def sign_bytes(keys: CouncilKeys, data: bytes) -> bytes:
    """A raw Ed25519 signature of `data` by the current credential key (`keys.kid`)."""
    signature: bytes = keys._private.sign(data)
    return signature


def verify_bytes(keys: CouncilKeys, data: bytes, signature: bytes, *, kid: str) -> bool:
    """Whether `signature` is a published key's (`kid`) Ed25519 signature of `data`."""
    key = next((key for key in keys.published if key.kid == kid), None)
    if key is None:
        return False
    public = ed25519.Ed25519PublicKey.from_public_bytes(_unb64url(key.jwk["x"]))
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True


# --- PDF signatures -----------------------------------------------------------------------------


def _common_name(cert: asn1_x509.Certificate) -> str:
    names = cert.subject.native
    return str(names.get("common_name") or cert.subject.human_friendly)


def sign_pdf(keys: CouncilKeys, pdf: bytes, *, reason: str, location: str) -> bytes:
    """The PDF with a PAdES baseline signature by the council's signing certificate."""
    signer: signers.SimpleSigner = keys._pdf_signer
    # An incremental update: everything already in the file (the embedded credential) stays
    # byte for byte as it was.
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        reason=reason,
        location=location,
        md_algorithm="sha256",
        subfilter=sig_fields.SigSeedSubFilter.PADES,
    )
    # Reserving room for the signature up front spares pyHanko a trial signature per document.
    certs = [signer.signing_cert, *signer.cert_registry]
    reserved = 2 * (sum(len(cert.dump()) for cert in certs) + 2048)
    output = signers.sign_pdf(writer, metadata, signer=signer, bytes_reserved=reserved)
    signed: bytes = output.getvalue()
    return signed


def _validation_context(keys: CouncilKeys) -> ValidationContext:
    # Offline: the demo authority publishes no revocation information, and a verification
    # must not make the server fetch URLs named in a certificate someone uploaded.
    return ValidationContext(
        trust_roots=list(keys._trust_roots), allow_fetching=False, revocation_mode="soft-fail"
    )


def check_pdf_signature(keys: CouncilKeys, pdf: bytes) -> PdfSignatureCheck:
    """Whether a PDF is signed by the council, unchanged since, and by whom.

    Runs pyHanko's validator with `asyncio.run`: call it from synchronous code (a `def` route).
    """
    try:
        embedded = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except Exception:  # any bytes at all may arrive here; unreadable means unsigned
        logger.info("unreadable PDF offered for signature checking", exc_info=True)
        return UNSIGNED
    if not embedded:
        return UNSIGNED
    signature = embedded[-1]
    try:
        status = validate_pdf_signature(
            signature,
            _validation_context(keys),
            key_usage_settings=KeyUsageConstraints(
                key_usage=set(SIGNER_KEY_USAGE), match_all_key_usages=False
            ),
        )
    except Exception:  # a broken signature container is a signature that fails, not a crash
        logger.info("PDF signature could not be validated", exc_info=True)
        return PdfSignatureCheck(
            signed=True, intact=False, trusted=False, signer="", signed_at=None
        )
    # Pinned to the council's own certificates: anyone else the authority certified is not it.
    own = status.signing_cert.dump() in keys._signer_certs
    return PdfSignatureCheck(
        signed=True,
        intact=bool(
            status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        ),
        trusted=bool(status.trusted) and own,
        signer=_common_name(status.signing_cert),
        signed_at=status.signer_reported_dt,
    )
