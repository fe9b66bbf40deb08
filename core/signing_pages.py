"""What the council publishes so anyone can check its signatures: keys, profile, authority."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from core.documents import content_etag
from core.downloads import document_response
from core.settings import Settings
from core.signing import (
    CERTIFICATES_PATH,
    ISSUER_PATH,
    JWKS_PATH,
    CouncilKeys,
    authority_certificates_pem,
    issuer_profile,
    jwks,
)
from core.web import council_keys, service_settings

pages = APIRouter(include_in_schema=False)

Keys = Annotated[CouncilKeys, Depends(council_keys)]
ServiceSettings = Annotated[Settings, Depends(service_settings)]


def _published(request: Request, content: bytes, media_type: str) -> Response:
    """The same bytes for everyone, cacheable by anyone for a while, revalidated by ETag."""
    return document_response(
        request,
        content,
        etag=content_etag(content),
        media_type=media_type,
        shared=True,
        vary=None,
        headers={"Access-Control-Allow-Origin": "*"},  # verifiers run in other sites' pages too
    )


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False).encode()


@pages.get(JWKS_PATH)
def key_set(request: Request, keys: Keys) -> Response:
    """The council's credential keys, current and retired, as a JSON Web Key Set."""
    return _published(request, _json(jwks(keys)), "application/json")


@pages.get(ISSUER_PATH)
def issuer(request: Request, settings: ServiceSettings) -> Response:
    """The council as the issuer of its credentials (Open Badges 3.0 Profile, JSON-LD)."""
    profile = issuer_profile(base_url=settings.base_url, name=settings.council_name)
    return _published(request, _json(profile), "application/json")


@pages.get(CERTIFICATES_PATH)
def signing_certificates(request: Request, keys: Keys) -> Response:
    """The authorities the council's PDFs are signed under, to trust in a PDF reader."""
    return _published(
        request, authority_certificates_pem(keys).encode("ascii"), "application/x-pem-file"
    )
