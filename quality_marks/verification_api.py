"""The verification API under /api/v1: a certificate's public record, and checking a PDF."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from core.api import ERROR_RESPONSES
from core.auth import Now, client_ip
from core.db import get_session, reads_only
from core.errors import N_, DomainError, Invalid, RateLimited
from core.i18n import Translator
from core.web import council_keys, translator_for
from quality_marks import verification
from quality_marks.schemas import (
    CertificateEventOut,
    CertificateLinksOut,
    CertificateOut,
    VerificationCheckOut,
    VerificationOut,
)

api = APIRouter(prefix="/api/v1", tags=["quality_marks"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]

PDF_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def certificate_out(tr: Translator, view: verification.CertificateView) -> CertificateOut:
    """A certificate's public record in the caller's language, with its links."""
    page = f"/verify/{view.number}"
    return CertificateOut(
        number=view.number,
        status=view.status,
        status_label=tr.gettext(view.status_label),
        status_changed_at=view.status_changed_at,
        status_reason=view.status_reason,
        withdrawal_reason=view.withdrawal_reason,
        organization_name=view.organization_name,
        product_name=view.product_name,
        product_identifier=view.product_identifier,
        level=view.level,
        level_label=tr.gettext(view.level_label),
        guideline_title=view.guideline_title,
        guideline_title_en=view.guideline_title_en,
        guideline_version=view.guideline_version,
        resolution=view.resolution,
        valid_from=view.valid_from,
        valid_until=view.valid_until,
        issued_on=view.issued_on,
        history=[
            CertificateEventOut(
                kind=entry.kind,
                label=tr.gettext(entry.label),
                occurred_at=entry.occurred_at,
                public_reason=entry.public_reason,
                resolution=entry.resolution,
            )
            for entry in view.history
        ],
        links=CertificateLinksOut(
            page=page,
            pdf=f"{page}/certificate.pdf" if view.has_pdf else None,
            credential=f"{page}/credential.jwt" if view.has_credential else None,
            resolution=f"/council/resolutions/{view.resolution}" if view.resolution else None,
            guideline=view.guideline_url or None,
            superseded_by=f"/verify/{view.superseded_by}" if view.superseded_by else None,
        ),
    )


def verification_out(tr: Translator, result: verification.Verification) -> VerificationOut:
    """What checking a file found, in the caller's language."""
    return VerificationOut(
        verdict=result.verdict,
        passed=result.passed,
        summary=tr.gettext(result.summary),
        number=result.number,
        checks=[
            VerificationCheckOut(
                name=check.name,
                title=tr.gettext(check.title),
                passed=check.passed,
                explanation=check.explain(tr),
            )
            for check in result.checks
        ],
    )


async def uploaded_pdf(request: Request) -> bytes:
    """The bytes of the file sent as `file` in a multipart body."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid(fields={"file": N_("Choose a file.")})
    return await upload.read(verification.MAX_PDF_BYTES + 1)


@api.get("/certificates/{number}", response_model=CertificateOut)
def api_certificate(request: Request, session: DbSession, now: Now, number: str) -> CertificateOut:
    """An issued certificate's public record: status and its reason, what it states, history."""
    view = verification.certificate_view(session, number, now=now)
    return certificate_out(translator_for(request), view)


@api.post("/verify", response_model=VerificationOut, openapi_extra=PDF_BODY)
@reads_only
def api_verify(
    request: Request,
    session: DbSession,
    now: Now,
    data: Annotated[bytes, Depends(uploaded_pdf)],
) -> VerificationOut:
    """Check a certificate PDF: the council's signature, the file issued, its credential, status."""
    result: verification.Verification | DomainError
    try:
        result = verification.verify_pdf(
            session, council_keys(request), data, now=now, client_ip=client_ip(request)
        )
    except (Invalid, RateLimited) as error:
        result = error
    if isinstance(result, DomainError):
        raise result
    return verification_out(translator_for(request), result)
