"""The badge's address: the SVG image other sites embed to show a certificate's status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.auth import Now
from core.db import get_session
from core.documents import content_etag
from core.downloads import document_response
from core.web import translator_for
from quality_marks.badges import badge_svg
from quality_marks.verification import certificate_view

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]

# Embedded in other sites, the badge must follow a suspension soon: caches keep it five minutes.
BADGE_CACHE = "public, max-age=300"


@pages.get("/verify/{number}/badge.svg", response_model=None)
def certificate_badge(request: Request, session: DbSession, now: Now, number: str) -> Response:
    """A certificate's badge for other sites to embed, with its live status."""
    view = certificate_view(session, number, now=now)
    svg = badge_svg(
        translator_for(request), number=view.number, status=view.status, level=view.level
    ).encode()
    return document_response(
        request,
        svg,
        etag=content_etag(svg),
        media_type="image/svg+xml",
        shared=True,
        headers={"Cache-Control": BADGE_CACHE},
    )
