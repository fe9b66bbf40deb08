"""The council's ballot pages: the list, opening an adoption ballot, voting and closing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from core.auth import Now
from core.web import (
    render_page,
)
from council import adoption, ballots
from council.home_pages import LABELS, DbSession, Voter

pages = APIRouter(include_in_schema=False)


@pages.get("/council/ballots")
def ballots_page(request: Request, session: DbSession, user: Voter, now: Now) -> HTMLResponse:
    """Open and closed ballots."""
    return render_page(
        request,
        "council/ballots.html",
        {
            **LABELS,
            "items": ballots.ballots_with_tallies(session),
            "resolutions": ballots.resolutions_by_ballot(session),
            "can_open": ballots.may_open_ballot(session, user, now),
        },
    )


@pages.get("/council/ballots/new")
def new_ballot_form(
    request: Request,
    session: DbSession,
    user: Voter,
    now: Now,
    slug: str = "",
    number: str = "",
) -> HTMLResponse:
    """The secretary's form to put a guideline version to a vote."""
    values = adoption.ballot_form_defaults(now, slug=slug, number=number)
    return render_page(
        request, "council/ballot_new.html", {**LABELS, "values": values, "errors": {}}
    )
