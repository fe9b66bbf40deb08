"""The public home page and the liveness probe; the page types every council page shares."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.auth import current_user, require
from core.db import get_session
from core.downloads import document_page
from council import ballots, members
from council.conflicts import KIND_LABELS

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]
Voter = Annotated[User, Depends(require(Role.council_member, Role.secretariat))]
Declarant = Annotated[User, Depends(require(Role.council_member, Role.expert))]
Member = Annotated[User, Depends(require(Role.council_member))]

# The labels the council's templates translate enum values with.
LABELS = {
    "seat_labels": members.SEAT_LABELS,
    "interest_labels": members.INTEREST_LABELS,
    "rule_labels": ballots.RULE_LABELS,
    "position_labels": ballots.POSITION_LABELS,
    "result_labels": ballots.RESULT_LABELS,
    "conflict_labels": KIND_LABELS,
}


@pages.get("/", response_model=None)
async def home(request: Request) -> Response:
    """The public home page (on the event loop: it reads no data, so it needs no thread).

    It is the same for every anonymous visitor in one language, so it goes out as a document
    shared caches (and the fast path) may keep; a signed-in visitor's copy is their own.
    """
    return document_page(request, "council/home.html", {}, shareable=current_user(request) is None)


@pages.get("/privacy", response_model=None)
async def privacy_notice(request: Request) -> Response:
    """The privacy notice (aviso de privacidad integral) every form taking personal data links."""
    return document_page(
        request, "council/privacy.html", {}, shareable=current_user(request) is None
    )


# Readiness (`/readyz`) is core/health.py's; liveness asks nothing of the database.
@pages.get("/healthz")
def health() -> dict[str, str]:
    """Liveness probe for the process supervisor."""
    return {"status": "ok"}
