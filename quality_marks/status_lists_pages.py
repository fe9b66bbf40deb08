"""The published status lists: the certificates revoked (withdrawn, superseded) or suspended."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.db import get_session
from core.documents import content_etag
from core.downloads import document_response
from core.signing import CouncilKeys
from core.status_list import encode_status_list, status_list_credential
from core.web import council_keys, service_settings
from quality_marks.certificate_lifecycle import status_list_bits

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]
Keys = Annotated[CouncilKeys, Depends(council_keys)]


def _status_list(request: Request, session: Session, keys: CouncilKeys, purpose: str) -> Response:
    """The list signed as of the last change of any certificate's status: the same bytes until
    the next change, so readers revalidate it by its ETag."""
    bits, changed_at = status_list_bits(session, purpose)
    token = status_list_credential(
        keys,
        base_url=service_settings(request).base_url,
        purpose=purpose,
        encoded=encode_status_list(bits),
        now=changed_at,
    ).encode("ascii")
    return document_response(
        request,
        token,
        etag=content_etag(token),
        media_type="application/vc+jwt",
        shared=True,
        vary=None,
        headers={"Access-Control-Allow-Origin": "*"},  # verifiers run in other sites' pages too
    )


@pages.get("/credentials/status/revocation")
def revocation_list(request: Request, session: DbSession, keys: Keys) -> Response:
    """The revocation status list: a bit set for each withdrawn or superseded certificate."""
    return _status_list(request, session, keys, "revocation")


@pages.get("/credentials/status/suspension")
def suspension_list(request: Request, session: DbSession, keys: Keys) -> Response:
    """The suspension status list: a bit set for each certificate suspended now."""
    return _status_list(request, session, keys, "suspension")
