"""Public consultation pages: comment, confirm, moderate, answer, change the period, the report."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.accounts import User
from core.api import ObjectId
from core.auth import MaybeUser, Now, Staff, client_ip
from core.db import writes
from core.documents import render_block
from core.downloads import document_page, export_download, stored_document
from core.errors import N_, DomainError
from core.exports import ExportFormat, export_chunks
from core.forms import check_single_line, parse_input
from core.pagination import page_number
from core.submissions import Once
from core.web import (
    PageForm,
    SubmittedForm,
    flash,
    form_values,
    redirect,
    refuse_form,
    render_page,
    service_settings,
    translator_for,
)
from guidelines import comment_list, consultation, published, service
from guidelines.documents import load_version_tree
from guidelines.models import GuidelineVersion
from guidelines.schemas import ConsultationInput
from guidelines.versions_pages import FORM_REFUSALS, DbSession, version_url

pages = APIRouter(include_in_schema=False)

COMMENT_FIELDS = ("target_code", "author_name", "email", "commenter_type", "organisation", "body")
DISPOSITION_FIELDS = ("disposition", "response", "changed_codes")
PERIOD_FIELDS = ("closes_on", "reason")
_CODE_SEPARATORS = re.compile(r"[,;\s]+")
# The `target` of the comments about the whole draft (codes are upper case: no clash).
WHOLE_DRAFT_PARAM = "draft"


def consulted_version(
    session: DbSession, user: MaybeUser, now: Now, slug: str, number: str
) -> GuidelineVersion:
    """The version the path names, put to public consultation, if the viewer may read its record."""
    return consultation.get_consulted_version(
        session, slug=slug, number=number, viewer=user, now=now
    )


# The version of a `/guidelines/{slug}/{number}/consultation` address.
ConsultedVersion = Annotated[GuidelineVersion, Depends(consulted_version)]


def comments_url(version: GuidelineVersion, target_code: str | None, page: int = 1) -> str:
    """The consultation page showing one page of one target's comments (None: every target)."""
    query = {} if target_code is None else {"target": target_code or WHOLE_DRAFT_PARAM}
    if page > 1:
        query["page"] = str(page)
    url = version_url(version, "/consultation")
    return f"{url}?{urlencode(query)}" if query else url


def comment_form_url(version: GuidelineVersion, target_code: str | None) -> str:
    """The page of the comment form, about one part of the draft when one is chosen."""
    url = version_url(version, "/consultation/comment")
    if target_code is None:
        return url
    return f"{url}?{urlencode({'target': target_code or WHOLE_DRAFT_PARAM})}"


def _shown_comments(request: Request) -> tuple[str | None, int]:
    """The target (None: all) and page of comments the address asks for; nonsense means page 1."""
    target = request.query_params.get("target") or None
    raw_page = request.query_params.get("page", "1")
    page = int(raw_page) if raw_page.isdigit() and len(raw_page) < 8 else 1
    return ("" if target == WHOLE_DRAFT_PARAM else target), page


def _fields(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    """The named fields as typed (the verb trims them), empty when not sent."""
    typed = form_values(form)
    return {name: typed.get(name, "") for name in names}


@dataclass(frozen=True)
class ConsultationPage:
    """A consultation's page: its record, the public's comment form and the secretariat's forms."""

    view: consultation.ConsultationView
    options: dict[str, list[tuple[str, str]]]
    # The comment form, the period form (named "extend" or "close") and one comment's staff form
    # (named "hide" or "disposition"), each as typed when it was refused.
    comment: PageForm
    period: PageForm = field(default_factory=PageForm)
    staff: PageForm = field(default_factory=PageForm)
    active_comment: int | None = None
    # The comment form came back refused: it is shown here, as typed, not on its own page.
    comment_refused: bool = False

    def context(self) -> dict[str, Any]:
        """The names the consultation template reads."""
        view = self.view
        return {
            "version": view.version,
            "guideline": view.version.guideline,
            "version_url": version_url,
            "status_labels": service.STATUS_LABELS,
            "badge_labels": service.BADGE_LABELS,
            "standing": view.standing,
            "text_visible": view.text_visible,
            "period_changes": view.period_changes,
            "last_day_of": consultation.last_day_of,
            "can_manage_period": view.can_manage_period,
            "period_values": self.period.values,
            "period_errors": self.period.errors,
            "period_form": self.period.name or None,
            "period_form_error": self.period.context()["form_error"],
            "commenter_type_labels": consultation.COMMENTER_TYPE_LABELS,
            "disposition_labels": consultation.DISPOSITION_LABELS,
            "comments": view.comments,
            "groups": view.comments.groups,
            "numbers": view.comments.numbers,
            "targets": view.targets,
            "comments_url": comments_url,
            "comment_form_url": comment_form_url(view.version, view.comments.target_code),
            "counts": view.counts,
            "is_open": view.is_open,
            "days_left": view.days_left,
            "can_moderate": view.can_moderate,
            "can_hide": view.can_hide,
            "can_dispose": view.can_dispose,
            "can_see_report": view.can_see_report,
            "values": self.comment.values,
            "errors": self.comment.errors,
            "form_error": self.comment.context()["form_error"],
            "comment_refused": self.comment_refused,
            "active_comment": self.active_comment,
            "active_form": self.staff.name or None,
            "comment_values": self.staff.values,
            "comment_errors": self.staff.errors,
            "comment_form_error": self.staff.context()["form_error"],
            **self.options,
        }


def _options(request: Request, version: GuidelineVersion) -> dict[str, list[tuple[str, str]]]:
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


def build_consultation_page(
    request: Request,
    session: Session,
    version: GuidelineVersion,
    user: User | None,
    now: dt.datetime,
    refused: Refused | None = None,
) -> ConsultationPage:
    """The page of a version's consultation, with the refused form when there is one."""
    refused = refused or Refused()
    target_code, page = _shown_comments(request)
    if refused.active_comment is not None:  # the refused form is shown with its comment
        target_code, page = consultation.place_of_comment(
            session, version=version, comment_id=refused.active_comment
        )
    comment = PageForm(values={"target_code": target_code or ""})
    return ConsultationPage(
        view=consultation.consultation_view(
            session, version, viewer=user, now=now, target_code=target_code, page=page
        ),
        options=_options(request, version),
        comment=refused.comment or comment,
        period=refused.period or PageForm(),
        staff=refused.staff or PageForm(),
        active_comment=refused.active_comment,
        comment_refused=refused.comment is not None,
    )


def _comment_url(session: Session, version: GuidelineVersion, comment_id: int) -> str:
    """The consultation page where a comment is shown, at the comment."""
    target_code, page = consultation.place_of_comment(
        session, version=version, comment_id=comment_id
    )
    return comments_url(version, target_code, page) + f"#comment-{comment_id}"


@dataclass(frozen=True)
class Refused:
    """The one form of the consultation page that comes back refused, in its place on the page."""

    comment: PageForm | None = None
    period: PageForm | None = None
    staff: PageForm | None = None
    # The comment whose staff form was refused.
    active_comment: int | None = None


def _page_again(
    request: Request,
    session: Session,
    version: GuidelineVersion,
    user: User | None,
    now: dt.datetime,
    error: DomainError,
    refused: Refused,
) -> HTMLResponse:
    """The consultation page again after a refusal, with the refused form as typed."""
    reloaded = load_version_tree(session, version.id)  # the refusal's rollback expired it
    page = build_consultation_page(request, session, reloaded, user, now, refused)
    return render_page(
        request, "guidelines/consultation.html", page.context(), status_code=error.status_code
    )


@pages.get("/guidelines/{slug}/{number}/consultation")
def consultation_page(
    request: Request, session: DbSession, user: MaybeUser, now: Now, version: ConsultedVersion
) -> Response:
    """A version's public consultation: dates, counts and the comments.

    The same for every anonymous reader until a comment is confirmed, hidden or answered or the
    period changes (each republishes the public documents), so it goes out shareable.
    """
    page = build_consultation_page(request, session, version, user, now)
    return document_page(
        request, "guidelines/consultation.html", page.context(), shareable=user is None
    )


@pages.get("/guidelines/{slug}/{number}/consultation/comment")
def comment_form_page(request: Request, now: Now, version: ConsultedVersion) -> Response:
    """The public's comment form, about the part of the draft the address names."""
    if not consultation.is_open(version, now):
        return redirect(version_url(version, "/consultation"))
    target_code, _page = _shown_comments(request)
    context = {
        "version": version,
        "guideline": version.guideline,
        "version_url": version_url,
        **_options(request, version),
        "values": {"target_code": target_code or ""},
        "errors": {},
        "form_error": None,
    }
    return render_page(request, "guidelines/consultation_comment.html", context)


@pages.post("/guidelines/{slug}/{number}/consultation/comments", response_model=None)
def submit_comment_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: MaybeUser,
    now: Now,
    form: SubmittedForm,
    version: ConsultedVersion,
) -> Response:
    """Receive a comment from the form; it is published once its author confirms by e-mail."""
    values = _fields(form, COMMENT_FIELDS)
    try:
        check_single_line(values, "target_code", "author_name", "email", "organisation")
        consultation.submit_comment(
            session,
            version=version,
            **values,
            locale=translator_for(request).locale,
            client_ip=client_ip(request),
            honeypot=_fields(form, ("website",))["website"],
            base_url=service_settings(request).base_url,
            now=now,
        )
    except FORM_REFUSALS as error:
        refused = Refused(comment=refuse_form(request, session, error, values))
        return _page_again(request, session, version, user, now, error, refused)
    once.done(version_url(version, "/consultation"), now=now)
    session.commit()
    message = N_(
        "Thank you. Check your e-mail and open the link we sent you to confirm and "
        "publish your comment."
    )
    flash(request, message, "info")
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


@pages.post(
    "/guidelines/{slug}/{number}/consultation/comments/{comment_id}/hide", response_model=None
)
def hide_comment_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    version: ConsultedVersion,
    comment_id: ObjectId,
) -> Response:
    """Hide a comment's text from the public, saying why."""
    values = _fields(form, ("reason",))
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
        staff = refuse_form(request, session, error, values, name="hide")
        refused = Refused(staff=staff, active_comment=comment_id)
        return _page_again(request, session, version, user, now, error, refused)
    session.commit()
    flash(request, N_("The comment has been hidden."))
    return redirect(_comment_url(session, version, comment_id))


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
    version: ConsultedVersion,
    comment_id: ObjectId,
) -> Response:
    """Record (or revise) the secretariat's disposition of a comment."""
    consultation.get_comment(session, version=version, comment_id=comment_id)
    values = _fields(form, DISPOSITION_FIELDS)
    try:
        consultation.record_disposition(
            session,
            actor=user,
            comment_id=comment_id,
            disposition=values["disposition"],
            response=values["response"],
            changed_codes=_CODE_SEPARATORS.split(values["changed_codes"]),
            now=now,
            base_url=service_settings(request).base_url,
        )
    except FORM_REFUSALS as error:
        staff = refuse_form(request, session, error, values, name="disposition")
        refused = Refused(staff=staff, active_comment=comment_id)
        return _page_again(request, session, version, user, now, error, refused)
    session.commit()
    flash(request, N_("The disposition has been recorded."))
    return redirect(_comment_url(session, version, comment_id))


def _change_period(
    request: Request,
    session: Session,
    user: User,
    now: dt.datetime,
    version: GuidelineVersion,
    values: dict[str, str],
    *,
    name: str,
    change: Callable[[], object],
    message: str,
) -> Response:
    """Run one change of a consultation's period; a refusal shows the form again as typed."""
    try:
        change()
    except FORM_REFUSALS as error:
        refused = Refused(period=refuse_form(request, session, error, values, name=name))
        return _page_again(request, session, version, user, now, error, refused)
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
    version: ConsultedVersion,
) -> Response:
    """Extend an open consultation, with a public reason mailed to everyone who commented."""
    values = _fields(form, PERIOD_FIELDS)
    return _change_period(
        request,
        session,
        user,
        now,
        version,
        values,
        name="extend",
        change=lambda: consultation.extend_consultation(
            session,
            actor=user,
            version=version,
            closes_on=parse_input(ConsultationInput, {"closes_on": values["closes_on"]}).closes_on,
            reason=values["reason"],
            base_url=service_settings(request).base_url,
            now=now,
        ),
        message=N_("The consultation has been extended and everyone who commented will be told."),
    )


@pages.post("/guidelines/{slug}/{number}/consultation/close", response_model=None)
def close_consultation_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    version: ConsultedVersion,
) -> Response:
    """Close an open consultation before its closing day, with a public reason."""
    values = _fields(form, PERIOD_FIELDS)
    return _change_period(
        request,
        session,
        user,
        now,
        version,
        values,
        name="close",
        change=lambda: consultation.close_consultation(
            session,
            actor=user,
            version=version,
            reason=values["reason"],
            min_days=service_settings(request).consultation_min_days,
            now=now,
            base_url=service_settings(request).base_url,
        ),
        message=N_("The consultation is closed and everyone who commented will be told."),
    )


REPORT_TEMPLATE = "guidelines/consultation_report.html"
HTML = "text/html; charset=utf-8"


def report_context(
    report: consultation.ConsultationReport, viewer: User | None, now: dt.datetime
) -> dict[str, Any]:
    """The names the consultation report's page reads."""
    return {
        "report": report,
        "version": report.version,
        "guideline": report.version.guideline,
        "version_url": version_url,
        "closed": service.consultation_closed(report.version, now),
        "text_visible": service.can_view(report.version, viewer),
        "commenter_type_labels": consultation.COMMENTER_TYPE_LABELS,
        "disposition_labels": consultation.DISPOSITION_LABELS,
    }


def public_report_page(
    request: Request, session: Session, version: GuidelineVersion, now: dt.datetime
) -> Response:
    """A closed record's report for anonymous readers: the stored document in today's layout."""
    tr = translator_for(request)

    def render() -> bytes:
        context = report_context(consultation.consultation_report(session, version), None, now)
        return render_block(REPORT_TEMPLATE, "document", tr, **context).encode()

    document = published.report_document(
        session, version, kind="report-page", language=tr.locale, content_type=HTML, render=render
    )
    context = {"version": version, "guideline": version.guideline, "document_html": document.text()}
    return document_page(request, REPORT_TEMPLATE, context, shareable=True)


@pages.get("/guidelines/{slug}/{number}/consultation/report")
def report_page(
    request: Request, session: DbSession, user: MaybeUser, now: Now, version: ConsultedVersion
) -> Response:
    """The consultation report: every comment, its disposition and the resulting changes."""
    consultation.ensure_report_visible(version, user, now)
    if user is None and published.report_settled(version):
        return public_report_page(request, session, version, now)
    report = consultation.visible_report(session, version, viewer=user, now=now)
    context = report_context(report, user, now)
    return document_page(request, REPORT_TEMPLATE, context, shareable=False)


@pages.get("/guidelines/{slug}/{number}/consultation/report/pdf")
def report_pdf(
    request: Request, session: DbSession, user: MaybeUser, now: Now, version: ConsultedVersion
) -> Response:
    """The consultation report as an A4 PDF in the reader's language."""
    consultation.ensure_report_visible(version, user, now)
    locale = translator_for(request).locale
    link = str(service_settings(request).base_url).rstrip("/") + version_url(version)
    document = published.report_document(
        session,
        version,
        kind="report-pdf",
        language=locale,
        content_type=published.PDF,
        variant=link,
        render=lambda: consultation.render_report_pdf(
            consultation.consultation_report(session, version),
            locale=locale,
            version_link=link,
            generated_on=now.date(),
        ),
    )
    filename = f"{version.guideline.slug}-{version.number}-consultation-{locale}.pdf"
    return stored_document(
        request,
        document,
        shared=user is None and published.report_settled(version),
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


# The secretariat's list of the comments ---------------------------------------------------


@pages.get("/guidelines/{slug}/{number}/consultation/dispositions")
def comment_list_page(
    request: Request,
    session: DbSession,
    user: Staff,
    version: ConsultedVersion,
    q: str = "",
    criterion: str = "",
    state: str = "",
    disposition: str = "",
    page: str = "",
) -> HTMLResponse:
    """Every comment of a consultation for the secretariat, searched and filtered, paged."""
    filters = comment_list.comment_filters(
        text=q, criterion=criterion, state=state, disposition=disposition
    )
    listed = comment_list.comment_list(
        session, version, actor=user, filters=filters, page=page_number(page)
    )
    context = {
        "version": version,
        "guideline": version.guideline,
        "comments": listed,
        "filters": filters,
        "values": filters.query(),
        "targets": comment_list.target_choices(version),
        "state_labels": comment_list.STATE_LABELS,
        "state_of": comment_list.state_of,
        "commenter_type_labels": consultation.COMMENTER_TYPE_LABELS,
        "disposition_labels": consultation.DISPOSITION_LABELS,
        "comments_url": comments_url,
        "version_url": version_url,
    }
    return render_page(request, "guidelines/comment_list.html", context)


@pages.get("/guidelines/{slug}/{number}/consultation/dispositions.{fmt}")
@writes  # the export is recorded in the audit log
def comment_export(
    session: DbSession,
    user: Staff,
    now: Now,
    version: ConsultedVersion,
    fmt: ExportFormat,
    q: str = "",
    criterion: str = "",
    state: str = "",
    disposition: str = "",
) -> StreamingResponse:
    """A consultation's comments with their dispositions, filtered, as CSV or JSON."""
    filters = comment_list.comment_filters(
        text=q, criterion=criterion, state=state, disposition=disposition
    )
    rows = comment_list.export_comments(
        session, version, actor=user, filters=filters, fmt=fmt, now=now
    )
    session.commit()
    name = f"{version.guideline.slug}-{version.number}-comentarios"
    return export_download(
        export_chunks(fmt, comment_list.EXPORT_COLUMNS, rows), fmt=fmt, name=name
    )
