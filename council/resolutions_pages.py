"""The council's resolutions in public: the list, one resolution, and its PDF."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from core.pagination import page_number
from core.pdf import render_pdf
from core.templating import render_text
from core.web import render_page, translator_for
from council import ballots
from council.home_pages import LABELS, DbSession

pages = APIRouter(include_in_schema=False)


@pages.get("/council/resolutions")
def resolutions_page(request: Request, session: DbSession, page: str = "") -> HTMLResponse:
    """The council's public resolutions, a page at a time."""
    listed = ballots.resolutions_list(session, page=page_number(page))
    return render_page(request, "council/resolutions.html", {**LABELS, "resolutions": listed})


@pages.get("/council/resolutions/{number}")
def resolution_page(request: Request, session: DbSession, number: str) -> HTMLResponse:
    """A resolution with its result and every position."""
    view = ballots.resolution_view(session, number)
    return render_page(request, "council/resolution.html", {**LABELS, **view.context()})


@pages.get("/council/resolutions/{number}/pdf")
def resolution_pdf(request: Request, session: DbSession, number: str) -> Response:
    """A resolution as a PDF in the reader's language."""
    view = ballots.resolution_view(session, number)
    tr = translator_for(request)
    html = render_text("council/resolution.pdf.html", tr, **LABELS, **view.context())
    return Response(
        render_pdf(html),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'},
    )
