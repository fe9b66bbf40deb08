"""Public consultation pages (comment, confirm, moderate, answer, report) and the comments API."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.accounts import User
from core.api import ERROR_RESPONSES, ObjectId, Page, PageParams, page_params, paginate
from core.auth import MaybeUser, Now, Staff, client_ip
from core.db import get_session, writes
from core.errors import N_, DomainError, Invalid
from core.forms import SingleLine, check_single_line, parse_input
from core.submissions import Once
from core.web import (
    SubmittedForm,
    error_fields,
    error_message,
    flash,
    redirect,
    render_page,
    translator_for,
)
from guidelines import consultation, service
from guidelines.documents import load_version_tree
from guidelines.models import CommenterType, ConsultationComment, Disposition, GuidelineVersion
from guidelines.routes import FORM_REFUSALS, version_url
from guidelines.schemas import ConsultationInput

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["guidelines"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]
COMMENT_FIELDS = ("target_code", "author_name", "email", "commenter_type", "organisation", "body")
_CODE_SEPARATORS = re.compile(r"[,;\s]+")


class CommentIn(BaseModel):
    """A public comment sent through the API; it is published once the e-mailed link is opened."""

    target_code: SingleLine = Field(
        default="",
        max_length=20,
        description="Empty for the whole draft, else a principle or criterion code.",
        examples=["TR-2"],
    )
    author_name: SingleLine = Field(default="", max_length=200, description="Published when given.")
    email: SingleLine = Field(max_length=320, description="For confirmation only; never published.")
    commenter_type: CommenterType
    organisation: SingleLine = Field(default="", max_length=200)
    body: str = Field(max_length=20000, description="The comment, 10 to 5000 characters.")


class CommentOut(BaseModel):
    """A comment as the public sees it; a hidden comment keeps only the secretariat's reason."""

    id: int
    target_code: str
    author_name: str | None
    commenter_type: CommenterType
    organisation: str | None
    body: str | None
    created_at: dt.datetime
    published: bool
    hidden: bool
    hidden_reason: str | None
    disposition: Disposition | None
    response: str | None
    changed_codes: list[str]
    disposed_at: dt.datetime | None


def comment_out(comment: ConsultationComment) -> CommentOut:
    """The public view of a comment: never the e-mail address, never the text of a hidden one."""
    hidden = comment.hidden_at is not None
    return CommentOut(
        id=comment.id,
        target_code=comment.target_code,
        author_name=None if hidden else comment.author_name,
        commenter_type=comment.commenter_type,
        organisation=None if hidden else comment.organisation,
        body=None if hidden else comment.body,
        created_at=comment.created_at,
        published=comment.confirmed_at is not None,
        hidden=hidden,
        hidden_reason=comment.hidden_reason if hidden else None,
        disposition=None if hidden else comment.disposition,
        response=None if hidden else comment.response,
        changed_codes=[] if hidden else comment.changed_codes,
        disposed_at=None if hidden else comment.disposed_at,
    )


def _consulted_version(
    session: Session, slug: str, number: str, user: User | None, now: dt.datetime
) -> GuidelineVersion:
    """A version put to public consultation whose record the viewer may read."""
    return consultation.get_consulted_version(
        session, slug=slug, number=number, viewer=user, now=now
    )


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _options(request: Request, version: GuidelineVersion) -> dict[str, Any]:
    tr = translator_for(request)
    targets = [
        (t.code, f"{t.code} · {tr.pick(t.title_es, t.title_en)}")
        if t.code
        else ("", tr.gettext(N_("The whole draft")))
        for t in consultation.comment_targets(version)
    ]
    return {
        "target_options": targets,
        "type_options": [("", tr.gettext(N_("Choose…")))]
        + [(k.value, tr.gettext(v)) for k, v in consultation.COMMENTER_TYPE_LABELS.items()],
        "disposition_options": [("", tr.gettext(N_("Choose…")))]
        + [(k.value, tr.gettext(v)) for k, v in consultation.DISPOSITION_LABELS.items()],
    }


def _consultation_page(
    request: Request,
    session: Session,
    version: GuidelineVersion,
    user: User | None,
    now: dt.datetime,
    *,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    comments = consultation.public_comments(session, version)
    context = {
        "version": version,
        "guideline": version.guideline,
        "version_url": version_url,
        "status_labels": service.STATUS_LABELS,
        "badge_labels": service.BADGE_LABELS,
        "standing": service.standing_of(session, version, now),
        "text_visible": service.can_view(version, user),
        "period_changes": consultation.period_changes(session, version),
        "last_day_of": consultation.last_day_of,
        "can_manage_period": service.is_staff(user) and consultation.is_open(version, now),
        "period_values": {},
        "period_errors": {},
        "period_form": None,
        "period_form_error": None,
        "commenter_type_labels": consultation.COMMENTER_TYPE_LABELS,
        "disposition_labels": consultation.DISPOSITION_LABELS,
        "groups": consultation.group_by_target(version, comments),
        "numbers": consultation.comment_numbers(comments),
        "counts": consultation.comment_counts(session, version),
        "is_open": consultation.is_open(version, now),
        "days_left": service.days_left(version, now),
        "can_moderate": service.is_staff(user),
        "can_hide": consultation.can_hide_comments(version, user),
        "can_dispose": consultation.can_record_dispositions(version, user, now),
        "can_see_report": consultation.can_see_report(version, user, now),
        "values": {"target_code": request.query_params.get("target", "")},
        "errors": {},
        "form_error": None,
        "active_comment": None,
        "active_form": None,
        "comment_values": {},
        "comment_errors": {},
        "comment_form_error": None,
        **_options(request, version),
        **extra,
    }
    return render_page(request, "guidelines/consultation.html", context, status_code=status_code)


@pages.get("/guidelines/{slug}/{number}/consultation")
def consultation_page(
    request: Request, session: DbSession, user: MaybeUser, now: Now, slug: str, number: str
) -> HTMLResponse:
    """A version's public consultation: dates, counts, the comment form and the comments."""
    version = _consulted_version(session, slug, number, user, now)
    return _consultation_page(request, session, version, user, now)


@pages.post("/guidelines/{slug}/{number}/consultation/comments", response_model=None)
def submit_comment_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: MaybeUser,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
) -> Response:
    """Receive a comment from the form; it is published once its author confirms by e-mail."""
    version = _consulted_version(session, slug, number, user, now)
    values = {name: _text(form, name) for name in COMMENT_FIELDS}
    try:
        check_single_line(values, "target_code", "author_name", "email", "organisation")
        consultation.submit_comment(
            session,
            version=version,
            **values,
            locale=translator_for(request).locale,
            client_ip=client_ip(request),
            honeypot=_text(form, "website"),
            base_url=request.app.state.settings.base_url,
            now=now,
        )
    except FORM_REFUSALS as error:
        session.rollback()
        version = _consulted_version(session, slug, number, user, now)
        fields = error_fields(request, error) if isinstance(error, Invalid) else {}
        return _consultation_page(
            request,
            session,
            version,
            user,
            now,
            status_code=error.status_code,
            values=values,
            errors=fields,
            form_error=None if fields else error_message(request, error),
        )
    once.done(version_url(version, "/consultation"), now=now)
    session.commit()
    flash(
        request,
        N_(
            "Thank you. Check your e-mail and open the link we sent you to confirm and "
            "publish your comment."
        ),
        "info",
    )
    return redirect(version_url(version, "/consultation"))


@pages.get("/consultation/confirm/{token}")
@writes  # the e-mailed link publishes the comment
def confirm_comment_page(
    request: Request, session: DbSession, now: Now, token: str
) -> HTMLResponse:
    """Publish a comment from the link e-mailed to its author."""
    comment = consultation.confirm_comment(session, token=token, now=now)
    session.commit()
    version = load_version_tree(session, comment.version_id)
    return render_page(
        request,
        "guidelines/consultation_confirmed.html",
        {"version": version, "comment": comment, "version_url": version_url},
    )


def _staff_form_error(
    request: Request,
    session: Session,
    error: DomainError,
    *,
    slug: str,
    number: str,
    user: User,
    now: dt.datetime,
    comment_id: int,
    form_name: str,
    values: dict[str, str],
) -> HTMLResponse:
    """The consultation page again, with the refused staff form of one comment as typed."""
    session.rollback()
    version = _consulted_version(session, slug, number, user, now)
    fields = error_fields(request, error) if isinstance(error, Invalid) else {}
    return _consultation_page(
        request,
        session,
        version,
        user,
        now,
        status_code=error.status_code,
        active_comment=comment_id,
        active_form=form_name,
        comment_values=values,
        comment_errors=fields,
        comment_form_error=None if fields else error_message(request, error),
    )


@pages.post(
    "/guidelines/{slug}/{number}/consultation/comments/{comment_id}/hide", response_model=None
)
def hide_comment_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
    comment_id: ObjectId,
) -> Response:
    """Hide a comment's text from the public, saying why."""
    version = _consulted_version(session, slug, number, user, now)
    values = {"reason": _text(form, "reason")}
    try:
        consultation.hide_comment(
            session,
            actor=user,
            version=version,
            comment_id=comment_id,
            reason=values["reason"],
            now=now,
        )
    except FORM_REFUSALS as error:
        return _staff_form_error(
            request,
            session,
            error,
            slug=slug,
            number=number,
            user=user,
            now=now,
            comment_id=comment_id,
            form_name="hide",
            values=values,
        )
    session.commit()
    flash(request, N_("The comment has been hidden."))
    return redirect(version_url(version, f"/consultation#comment-{comment_id}"))


@pages.post(
    "/guidelines/{slug}/{number}/consultation/comments/{comment_id}/disposition",
    response_model=None,
)
def disposition_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
    comment_id: ObjectId,
) -> Response:
    """Record (or revise) the secretariat's disposition of a comment."""
    version = _consulted_version(session, slug, number, user, now)
    consultation.get_comment(session, version=version, comment_id=comment_id)
    values = {name: _text(form, name) for name in ("disposition", "response", "changed_codes")}
    try:
        consultation.record_disposition(
            session,
            actor=user,
            comment_id=comment_id,
            disposition=values["disposition"],
            response=values["response"],
            changed_codes=_CODE_SEPARATORS.split(values["changed_codes"]),
            now=now,
        )
    except FORM_REFUSALS as error:
        return _staff_form_error(
            request,
            session,
            error,
            slug=slug,
            number=number,
            user=user,
            now=now,
            comment_id=comment_id,
            form_name="disposition",
            values=values,
        )
    session.commit()
    flash(request, N_("The disposition has been recorded."))
    return redirect(version_url(version, f"/consultation#comment-{comment_id}"))


def _period_form(
    request: Request,
    session: DbSession,
    user: User,
    now: dt.datetime,
    form: FormData,
    *,
    slug: str,
    number: str,
    name: str,
    action: Any,
    message: str,
) -> Response:
    """Run one change of a consultation's period; a refusal shows the form again as typed."""
    version = _consulted_version(session, slug, number, user, now)
    values = {key: _text(form, key) for key in ("closes_on", "reason")}
    try:
        action(version, values)
    except FORM_REFUSALS as error:
        session.rollback()
        version = _consulted_version(session, slug, number, user, now)
        fields = error_fields(request, error) if isinstance(error, Invalid) else {}
        return _consultation_page(
            request,
            session,
            version,
            user,
            now,
            status_code=error.status_code,
            period_form=name,
            period_values=values,
            period_errors=fields,
            period_form_error=None if fields else error_message(request, error),
        )
    session.commit()
    flash(request, message)
    return redirect(version_url(version, "/consultation"))


@pages.post("/guidelines/{slug}/{number}/consultation/extend", response_model=None)
def extend_consultation_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
) -> Response:
    """Extend an open consultation, with a public reason mailed to everyone who commented."""

    def extend(version: GuidelineVersion, values: dict[str, str]) -> None:
        data = parse_input(ConsultationInput, {"closes_on": values["closes_on"]})
        consultation.extend_consultation(
            session,
            actor=user,
            version=version,
            closes_on=data.closes_on,
            reason=values["reason"],
            base_url=request.app.state.settings.base_url,
            now=now,
        )

    return _period_form(
        request,
        session,
        user,
        now,
        form,
        slug=slug,
        number=number,
        name="extend",
        action=extend,
        message=N_("The consultation has been extended and everyone who commented will be told."),
    )


@pages.post("/guidelines/{slug}/{number}/consultation/close", response_model=None)
def close_consultation_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
) -> Response:
    """Close an open consultation before its closing day, with a public reason."""

    def close(version: GuidelineVersion, values: dict[str, str]) -> None:
        consultation.close_consultation(
            session,
            actor=user,
            version=version,
            reason=values["reason"],
            min_days=request.app.state.settings.consultation_min_days,
            now=now,
        )

    return _period_form(
        request,
        session,
        user,
        now,
        form,
        slug=slug,
        number=number,
        name="close",
        action=close,
        message=N_("The consultation is closed."),
    )


def _report(
    session: Session, slug: str, number: str, user: User | None, now: dt.datetime
) -> consultation.ConsultationReport:
    version = _consulted_version(session, slug, number, user, now)
    consultation.ensure_report_visible(version, user, now)
    return consultation.consultation_report(session, version)


@pages.get("/guidelines/{slug}/{number}/consultation/report")
def report_page(
    request: Request, session: DbSession, user: MaybeUser, now: Now, slug: str, number: str
) -> HTMLResponse:
    """The consultation report: every comment, its disposition and the resulting changes."""
    report = _report(session, slug, number, user, now)
    return render_page(
        request,
        "guidelines/consultation_report.html",
        {
            "report": report,
            "version": report.version,
            "guideline": report.version.guideline,
            "version_url": version_url,
            "closed": service.consultation_closed(report.version, now),
            "text_visible": service.can_view(report.version, user),
            "commenter_type_labels": consultation.COMMENTER_TYPE_LABELS,
            "disposition_labels": consultation.DISPOSITION_LABELS,
        },
    )


@pages.get("/guidelines/{slug}/{number}/consultation/report/pdf")
def report_pdf(
    request: Request, session: DbSession, user: MaybeUser, now: Now, slug: str, number: str
) -> Response:
    """The consultation report as an A4 PDF in the reader's language."""
    report = _report(session, slug, number, user, now)
    locale = translator_for(request).locale
    base_url = str(request.app.state.settings.base_url).rstrip("/")
    data = consultation.render_report_pdf(
        report,
        locale=locale,
        version_link=base_url + version_url(report.version),
        generated_on=now.date(),
    )
    filename = f"{slug}-{number}-consultation-{locale}.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


# API ---------------------------------------------------------------------------------------


@api.get("/guidelines/{slug}/versions/{number}/comments", response_model=Page[CommentOut])
def api_comments(
    session: DbSession,
    user: MaybeUser,
    now: Now,
    slug: str,
    number: str,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[CommentOut]:
    """Published consultation comments on a version, oldest first; e-mail addresses never appear."""
    version = _consulted_version(session, slug, number, user, now)
    rows, total = paginate(session, consultation.public_comments_query(version), params)
    return Page[CommentOut](
        items=[comment_out(row) for row in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@api.post(
    "/guidelines/{slug}/versions/{number}/comments", response_model=CommentOut, status_code=201
)
def api_submit_comment(
    request: Request,
    session: DbSession,
    user: MaybeUser,
    now: Now,
    slug: str,
    number: str,
    body: CommentIn,
) -> CommentOut:
    """Comment on a version in consultation; it is published once the e-mailed link is opened."""
    version = _consulted_version(session, slug, number, user, now)
    comment = consultation.submit_comment(
        session,
        version=version,
        target_code=body.target_code,
        author_name=body.author_name,
        email=body.email,
        commenter_type=body.commenter_type,
        organisation=body.organisation,
        body=body.body,
        locale=translator_for(request).locale,
        client_ip=client_ip(request),
        honeypot="",
        base_url=request.app.state.settings.base_url,
        now=now,
    )
    session.commit()
    return comment_out(comment)
