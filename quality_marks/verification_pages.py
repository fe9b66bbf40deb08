"""Pages anyone uses to verify a certificate: its public status page, its files, the PDF check."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from core.auth import CSRF_SESSION_KEY, Now, client_ip
from core.db import get_session, reads_only
from core.documents import content_etag
from core.downloads import content_disposition, document_response
from core.errors import DomainError, Invalid, RateLimited
from core.web import (
    FLASH_KEY,
    PageForm,
    SubmittedForm,
    council_keys,
    error_fields,
    redirect,
    refuse_form,
    render_page,
    service_settings,
    translator_for,
)
from quality_marks import verification
from quality_marks.certificate_history import STATUS_LABELS, WITHDRAWAL_LABELS
from quality_marks.decisions import LEVEL_LABELS
from quality_marks.organizations_pages import chosen_file, file_store

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]

# A certificate's status can change any day, so readers' caches keep its page only briefly.
# Not `public`: the in-process fast path keeps public answers until documents are republished,
# and a suspension does not republish them.
STATUS_PAGE_CACHE = "max-age=60"
UPLOAD_FIELD = "certificate"


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "level_labels": LEVEL_LABELS,
        "withdrawal_labels": WITHDRAWAL_LABELS,
    }


def _verify_form(
    request: Request, form: PageForm | None = None, *, status_code: int = 200
) -> HTMLResponse:
    return render_page(
        request,
        "quality_marks/verify.html",
        {**(form or PageForm()).context(), "max_mb": f"{verification.MAX_PDF_BYTES / 2**20:g}"},
        status_code=status_code,
    )


@pages.get("/verify", response_model=None)
def verify_form(
    request: Request, number: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    """Where anyone checks a certificate: by its number, or by uploading its PDF."""
    if number is None or not number.strip():
        return _verify_form(request)
    try:
        wanted = verification.certificate_number(number)
    except Invalid as error:
        shown = PageForm(values={"number": number}, errors=error_fields(request, error))
        return _verify_form(request, shown, status_code=error.status_code)
    return redirect(f"/verify/{quote(wanted)}")


@pages.post("/verify", response_model=None)
@reads_only
def verify_upload(request: Request, session: DbSession, now: Now, form: SubmittedForm) -> Response:
    """Check an uploaded certificate PDF and explain each check in plain words."""
    upload = chosen_file(form, UPLOAD_FIELD)
    data = upload.file.read(verification.MAX_PDF_BYTES + 1) if upload is not None else b""
    result: verification.Verification | DomainError
    try:
        result = verification.verify_pdf(
            session, council_keys(request), data, now=now, client_ip=client_ip(request)
        )
    except (Invalid, RateLimited) as error:
        result = error
    if isinstance(result, DomainError):
        shown = refuse_form(request, session, result, {}, on_field=UPLOAD_FIELD)
        return _verify_form(request, shown, status_code=result.status_code)
    context = {**_labels(), "result": result, "checks": result.checks}
    context["translator"] = translator_for(request)
    return render_page(request, "quality_marks/verify_result.html", context)


def _status_page(request: Request, body: bytes) -> Response:
    """The status page with an ETag; shared caches keep it a minute, unless it is personal."""
    pending = bool(request.session.get(FLASH_KEY))
    token = request.session.get(CSRF_SESSION_KEY)
    personal = pending or (bool(token) and str(token).encode() in body)
    return document_response(
        request,
        body,
        etag=content_etag(body),
        media_type="text/html; charset=utf-8",
        shared=False,
        headers=None if personal else {"Cache-Control": STATUS_PAGE_CACHE},
    )


@pages.get("/verify/{number}", response_model=None)
def certificate_page(request: Request, session: DbSession, now: Now, number: str) -> Response:
    """A certificate's public page, the target of its QR code: where it stands, and its history."""
    view = verification.certificate_view(session, number, now=now)
    page = render_page(
        request,
        "quality_marks/verify_certificate.html",
        {**_labels(), "view": view, "base_url": service_settings(request).base_url.rstrip("/")},
    )
    return _status_page(request, bytes(page.body))


@pages.get("/verify/{number}/certificate.pdf", response_model=None)
def certificate_pdf(request: Request, session: DbSession, number: str) -> Response:
    """The signed certificate PDF, exactly as issued (never changes, so caches may keep it)."""
    issued = verification.certificate_file(session, file_store(request), number)
    return document_response(
        request,
        issued.content,
        etag=issued.sha256,
        media_type="application/pdf",
        shared=True,
        vary=None,
        headers={"Content-Disposition": content_disposition(f"{number}.pdf")},
    )


@pages.get("/verify/{number}/credential.jwt", response_model=None)
def certificate_credential(request: Request, session: DbSession, number: str) -> Response:
    """The certificate's verifiable credential, a VC-JWT signed by the council."""
    token = verification.certificate_credential(session, number)
    return document_response(
        request,
        token.encode("ascii"),
        etag=content_etag(token.encode("ascii")),
        media_type="application/vc+jwt",
        shared=True,
        vary=None,
    )
