"""Complaint pages: the public's form and confirmation link, the secretariat's triage."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from core.api import ObjectId
from core.auth import Now, Staff, client_ip
from core.db import get_session, writes
from core.errors import N_, Conflict, Invalid, RateLimited
from core.web import (
    PageForm,
    SubmittedForm,
    field_text,
    flash,
    redirect,
    refuse_form,
    render_page,
    service_settings,
    translator_for,
)
from quality_marks import complaints
from quality_marks.complaint_models import ComplaintOutcome, ComplaintStatus
from quality_marks.verification import issued_certificate

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]
FORM_REFUSALS = (Invalid, Conflict, RateLimited)
COMPLAINT_FIELDS = ("author_name", "email", "body")


def _form_page(
    request: Request, session: Session, number: str, form: PageForm, *, status_code: int = 200
) -> HTMLResponse:
    certificate = issued_certificate(session, number)
    context = {
        **form.context(),
        "number": certificate.number,
        "product_name": certificate.payload.get("product_name", ""),
        "min_chars": complaints.BODY_MIN_CHARS,
        "max_chars": complaints.BODY_MAX_CHARS,
    }
    return render_page(
        request, "quality_marks/complaint_form.html", context, status_code=status_code
    )


@pages.get("/verify/{number}/complaint")
def complaint_form(request: Request, session: DbSession, number: str) -> HTMLResponse:
    """The public's form to complain about a certified product."""
    return _form_page(request, session, number, PageForm())


@pages.post("/verify/{number}/complaint", response_model=None)
def submit_complaint_page(
    request: Request, session: DbSession, now: Now, form: SubmittedForm, number: str
) -> Response:
    """Receive a complaint; it counts once its author confirms it from the e-mailed link."""
    values = {name: field_text(form, name) for name in COMPLAINT_FIELDS}
    try:
        complaints.submit_complaint(
            session,
            number=number,
            **values,
            locale=translator_for(request).locale,
            client_ip=client_ip(request),
            honeypot=field_text(form, "website"),
            base_url=service_settings(request).base_url,
            now=now,
        )
    except FORM_REFUSALS as error:
        shown = refuse_form(request, session, error, values)
        return _form_page(request, session, number, shown, status_code=error.status_code)
    session.commit()
    flash(
        request,
        N_("Thank you. Open the link we e-mailed you to confirm your complaint."),
        "info",
    )
    return redirect(f"/verify/{quote(number)}")


@pages.get("/complaints/confirm/{token}")
@writes  # the e-mailed link makes the complaint count
def confirm_complaint_page(
    request: Request, session: DbSession, now: Now, token: str
) -> HTMLResponse:
    """Confirm a complaint from the link e-mailed to its author."""
    complaint = complaints.confirm_complaint(session, token=token, now=now)
    session.commit()
    number = complaints.certificate_of(session, complaint).number
    return render_page(request, "quality_marks/complaint_confirmed.html", {"number": number})


def _labels() -> dict[str, Any]:
    return {
        "status_labels": complaints.STATUS_LABELS,
        "outcome_labels": complaints.OUTCOME_LABELS,
    }


@pages.get("/complaints")
def complaints_list(
    request: Request,
    session: DbSession,
    user: Staff,
    status: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """The secretariat's triage list of complaints, by status."""
    chosen = ComplaintStatus(status) if status in set(ComplaintStatus) else None
    rows, total = complaints.list_complaints(session, status=chosen, page=page)
    context = {
        **_labels(),
        "rows": rows,
        "total": total,
        "chosen": chosen.value if chosen else "",
        "statuses": list(ComplaintStatus),
    }
    return render_page(request, "quality_marks/complaints.html", context)


def _detail(
    request: Request,
    session: Session,
    complaint_id: int,
    form: PageForm | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    complaint = complaints.get_complaint(session, complaint_id)
    certificate = complaints.certificate_of(session, complaint)
    context = {
        **_labels(),
        **(form or PageForm()).context(),
        "complaint": complaint,
        "certificate": certificate,
        "can": complaints.TRANSITIONS[complaint.status],
        "outcomes": [(item.value, complaints.OUTCOME_LABELS[item]) for item in ComplaintOutcome],
        "owners": complaints.holder_owners(session, certificate.organization_id),
    }
    return render_page(request, "quality_marks/complaint.html", context, status_code=status_code)


@pages.get("/complaints/{complaint_id}")
def complaint_page(
    request: Request, session: DbSession, user: Staff, complaint_id: ObjectId
) -> HTMLResponse:
    """One complaint, as the secretariat triages it: what was said, and the next steps."""
    return _detail(request, session, complaint_id)


def _after(
    request: Request, session: Session, complaint_id: int, values: dict[str, str], step: Any
) -> Response:
    """Take one triage step; the detail page again with the refusal, or back to it."""
    try:
        step()
    except FORM_REFUSALS as error:
        shown = refuse_form(request, session, error, values)
        return _detail(request, session, complaint_id, shown, status_code=error.status_code)
    session.commit()
    flash(request, N_("The complaint was updated."))
    return redirect(f"/complaints/{complaint_id}")


@pages.post("/complaints/{complaint_id}/dismiss", response_model=None)
def dismiss_complaint_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    complaint_id: ObjectId,
) -> Response:
    """Dismiss a complaint, saying why."""
    values = {"reason": field_text(form, "reason")}
    complaint = complaints.get_complaint(session, complaint_id)
    return _after(
        request,
        session,
        complaint_id,
        values,
        lambda: complaints.dismiss_complaint(
            session, complaint=complaint, reason=values["reason"], actor=user, now=now
        ),
    )


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@pages.post("/complaints/{complaint_id}/ask-holder", response_model=None)
def ask_holder_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    complaint_id: ObjectId,
) -> Response:
    """Ask the certificate holder's owners to answer the complaint by a day."""
    values = {"message": field_text(form, "message"), "reply_by": field_text(form, "reply_by")}
    complaint = complaints.get_complaint(session, complaint_id)
    return _after(
        request,
        session,
        complaint_id,
        values,
        lambda: complaints.ask_holder(
            session,
            complaint=complaint,
            message=values["message"],
            reply_by=_day(values["reply_by"]),
            actor=user,
            base_url=service_settings(request).base_url,
            now=now,
        ),
    )


@pages.post("/complaints/{complaint_id}/surveillance", response_model=None)
def open_surveillance_page(
    request: Request, session: DbSession, user: Staff, now: Now, complaint_id: ObjectId
) -> Response:
    """Open a surveillance review of the certificate the complaint is about."""
    complaint = complaints.get_complaint(session, complaint_id)
    return _after(
        request,
        session,
        complaint_id,
        {},
        lambda: complaints.open_surveillance(session, complaint=complaint, actor=user, now=now),
    )


@pages.post("/complaints/{complaint_id}/close", response_model=None)
def close_complaint_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    complaint_id: ObjectId,
) -> Response:
    """Close a complaint with its outcome."""
    values = {"outcome": field_text(form, "outcome"), "note": field_text(form, "note")}
    complaint = complaints.get_complaint(session, complaint_id)
    return _after(
        request,
        session,
        complaint_id,
        values,
        lambda: complaints.close_complaint(
            session,
            complaint=complaint,
            outcome=values["outcome"],
            note=values["note"],
            actor=user,
            now=now,
        ),
    )
