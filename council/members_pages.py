"""The council's member pages: the public council, the roster and terms, interests, conflicts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from core.auth import Now
from core.i18n import local_date
from core.web import (
    render_page,
)
from council import members
from council.home_pages import LABELS, DbSession

pages = APIRouter(include_in_schema=False)

# The fields of the chair's dismissal form, hidden copies of the check it answers.
DISMISSAL_FIELDS = ("user_id", "kind", "reason", "organisation", "rfc", "email_domain")


@pages.get("/council")
def council_page(request: Request, session: DbSession, now: Now) -> HTMLResponse:
    """The council's current members and their declared interests."""
    rows = members.council_in_term(session, local_date(now))
    return render_page(request, "council/council.html", {**LABELS, "rows": rows})
