"""The council's keys and signatures: Ed25519 for credentials (JWS), an X.509 certificate for PDFs.

The interface is fixed here so that issuance, verification and the lifecycle can be built against
it; the bodies are filled in by the signing work (issue 12).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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


@dataclass(frozen=True)
class PdfSignatureCheck:
    """What checking a PDF's signature found, each part a plain yes or no."""

    signed: bool  # the file carries a signature at all
    intact: bool  # the signed bytes are unchanged and cover the whole file
    trusted: bool  # the signer's certificate chains to the council's authority
    signer: str  # the signer's name from its certificate ("" when unsigned)
    signed_at: dt.datetime | None


class KeysMissing(RuntimeError):
    """The keys directory holds no council keys: run `council keys init`."""


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
    raise NotImplementedError


def load_keys(directory: Path) -> CouncilKeys:
    """The council's keys as stored under `directory` (raises KeysMissing when there are none)."""
    raise NotImplementedError


def rotate_credential_key(directory: Path, *, now: dt.datetime) -> CouncilKeys:
    """A new current Ed25519 key; the old one stays published so its credentials verify."""
    raise NotImplementedError


def jwks(keys: CouncilKeys) -> dict[str, Any]:
    """The JSON Web Key Set of every credential key ever used (`/.well-known/jwks.json`)."""
    raise NotImplementedError


def sign_jwt(keys: CouncilKeys, claims: dict[str, Any], *, typ: str = "vc+jwt") -> str:
    """A compact JWS (EdDSA over Ed25519) of the claims, with the current key's kid."""
    raise NotImplementedError


def verify_jwt(keys: CouncilKeys, token: str) -> dict[str, Any]:
    """The claims of a JWS signed by any published key (ValueError when it does not verify)."""
    raise NotImplementedError


def sign_pdf(keys: CouncilKeys, pdf: bytes, *, reason: str, location: str) -> bytes:
    """The PDF with a PAdES baseline signature by the council's signing certificate."""
    raise NotImplementedError


def check_pdf_signature(keys: CouncilKeys, pdf: bytes) -> PdfSignatureCheck:
    """Whether a PDF is signed by the council, unchanged since, and by whom."""
    raise NotImplementedError
