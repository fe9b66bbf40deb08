"""The council's resolutions in public: the list, one resolution, and its PDF."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core import documents
from core.auth import MaybeUser
from core.documents import StoredDocument, render_block
from core.downloads import document_page, stored_document
from core.i18n import Translator
from core.pagination import page_number
from core.pdf import render_pdf
from core.templating import render_text
from core.web import translator_for
from council import ballots
from council.home_pages import LABELS, DbSession
from council.models import Resolution

pages = APIRouter(include_in_schema=False)
PDF = "application/pdf"
HTML = "text/html; charset=utf-8"


def stored_resolution(
    session: Session, resolution: Resolution, *, kind: str, language: str, html: Callable[[], str]
) -> StoredDocument:
    """A resolution's page part or PDF, drawn once per language: a resolution never changes."""
    pdf = kind == "resolution-pdf"
    return documents.cached_document(
        session,
        kind=kind,
        subject=str(resolution.id),
        key=str(resolution.id),
        language=language,
        revision=documents.template_revision(),
        content_type=PDF if pdf else HTML,
        render=lambda: render_pdf(html()) if pdf else html().encode(),
    )


def resolution_html(session: Session, number: str, tr: Translator, template: str) -> str:
    """A resolution drawn by one template: the page's document block, or the PDF's source."""
    view = ballots.resolution_view(session, number)
    if template == "council/resolution.html":
        return render_block(template, "document", tr, **LABELS, **view.context())
    return render_text(template, tr, **LABELS, **view.context())


@pages.get("/council/resolutions")
def resolutions_page(
    request: Request, session: DbSession, user: MaybeUser, page: str = ""
) -> Response:
    """The council's public resolutions, a page at a time.

    The same for every anonymous reader until a ballot closes (which republishes the public
    documents), so it goes out shareable and the fast path keeps it.
    """
    listed = ballots.resolutions_list(session, page=page_number(page))
    context = {**LABELS, "resolutions": listed}
    return document_page(request, "council/resolutions.html", context, shareable=user is None)


@pages.get("/council/resolutions/{number}")
def resolution_page(request: Request, session: DbSession, user: MaybeUser, number: str) -> Response:
    """A resolution with its result and every position."""
    resolution = ballots.get_resolution(session, number)
    tr = translator_for(request)
    document = stored_resolution(
        session,
        resolution,
        kind="resolution-page",
        language=tr.locale,
        html=lambda: resolution_html(session, number, tr, "council/resolution.html"),
    )
    context = {"resolution": resolution, "document_html": document.text()}
    return document_page(request, "council/resolution.html", context, shareable=user is None)


@pages.get("/council/resolutions/{number}/pdf")
def resolution_pdf(request: Request, session: DbSession, user: MaybeUser, number: str) -> Response:
    """A resolution as a PDF in the reader's language."""
    resolution = ballots.get_resolution(session, number)
    tr = translator_for(request)
    document = stored_resolution(
        session,
        resolution,
        kind="resolution-pdf",
        language=tr.locale,
        html=lambda: resolution_html(session, number, tr, "council/resolution.pdf.html"),
    )
    return stored_document(
        request,
        document,
        shared=user is None,
        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'},
    )
