"""Pages for applications: checklist, evidence, submission, screening and messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from core.accounts import Role, User
from core.api import ObjectId
from core.auth import Now, SignedIn, Staff
from core.db import get_session, writes
from core.downloads import export_download, pdf_download, stored_file
from core.errors import N_, Invalid
from core.exports import ExportFormat, export_chunks
from core.i18n import Translator
from core.limits import accepts_uploads
from core.pagination import page_number
from core.storage import FileStore
from core.submissions import Once
from core.web import (
    PageForm,
    SubmittedForm,
    error_fields,
    error_message,
    field_text,
    flash,
    redirect,
    refuse_form,
    render_page,
    service_settings,
    translator_for,
)
from guidelines.documents import load_version_tree
from guidelines.models import Guideline, GuidelineVersion, Principle
from guidelines.service import RISK_LABELS
from quality_marks import application_queue, applications, reviews, self_assessment
from quality_marks.applications import ChecklistItem, CriterionSent, SavedChecklist
from quality_marks.models import (
    AnswerValue,
    Application,
    ApplicationStatus,
    Message,
    MessageAttachment,
    Organization,
    Product,
    Review,
)
from quality_marks.organizations import NOT_VERIFIED

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]

SAVED_BUT_EVIDENCE_REFUSED = N_(
    "Your answers have been saved, but no file or link was added: correct what is marked below "
    "and choose the files again."
)
# What the file inputs offer; the store decides by the content, whatever the name says.
ACCEPT = ".pdf,.png,.jpg,.jpeg,.txt,.csv,.docx,.xlsx,.pptx,.odt,.ods,.doc,.xls,.ppt"
NOT_SAVED = N_("Some answers could not be saved: correct what is marked below.")


@dataclass
class Progress:
    """How far the self-assessment of one principle has come."""

    code: str
    title_es: str
    title_en: str
    complete: int
    total: int


def application_url(application_id: int, suffix: str = "") -> str:
    """The page address of an application."""
    return f"/applications/{application_id}{suffix}"


def checklist_url(application_id: int, principle_code: str, anchor: str = "") -> str:
    """The checklist page of one principle of an application."""
    url = application_url(application_id, f"/checklist/{principle_code}")
    return f"{url}#{anchor}" if anchor else url


def human_size(tr: Translator, size: int) -> str:
    """A file size for people (kB below a megabyte), with the locale's separators."""
    if size < 1024:
        return tr.gettext(N_("%(size)s bytes"), size=tr.format_number(size))
    if size < 1024 * 1024:
        return tr.gettext(N_("%(size)s kB"), size=tr.format_number(round(size / 1024, 1)))
    return tr.gettext(N_("%(size)s MB"), size=tr.format_number(round(size / 1024 / 1024, 1)))


def _store(request: Request) -> FileStore:
    store: FileStore = request.app.state.file_store
    return store


def _uploads(form: FormData, name: str) -> list[UploadFile]:
    """The files chosen in a file input (a browser sends one nameless part when none was)."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


def _progress(items: list[ChecklistItem]) -> list[Progress]:
    counts = applications.completeness(items)
    seen: dict[str, Progress] = {}
    for item in items:
        p = item.principle
        if p.code not in seen:
            c = counts[p.code]
            seen[p.code] = Progress(p.code, p.title_es, p.title_en, c["complete"], c["total"])
    return list(seen.values())


def _common(request: Request) -> dict[str, Any]:
    tr = translator_for(request)
    settings = service_settings(request)
    return {
        "status_labels": applications.STATUS_LABELS,
        "answer_labels": applications.ANSWER_LABELS,
        "decision_labels": applications.DECISION_LABELS,
        "risk_labels": RISK_LABELS,
        "answer_values": list(AnswerValue),
        "application_url": application_url,
        "checklist_url": checklist_url,
        "size": lambda n: human_size(tr, n),
        "max_file_mb": f"{settings.max_upload_bytes / 1024 / 1024:g}",
        "max_total_mb": f"{settings.max_application_upload_bytes / 1024 / 1024:g}",
        "max_files": settings.max_message_files,
        "not_verified": NOT_VERIFIED,
        "accept": ACCEPT,
        "review_status_labels": reviews.REVIEW_STATUS_LABELS,
        "information_due_days": settings.information_due_days,
    }


# Page contexts -----------------------------------------------------------------------------


@dataclass
class _Context:
    """A typed page context; its template reads the fields by name."""

    def context(self) -> dict[str, Any]:
        """The page's names for its template (the fields themselves, not copies)."""
        found: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            found.update(value.context() if isinstance(value, _Context) else {item.name: value})
        return found


@dataclass
class ApplicationHeader(_Context):
    """What every application page names: the product, organisation and guideline version."""

    is_staff: bool
    application: Application
    product: Product
    organization: Organization
    version: GuidelineVersion
    guideline: Guideline


@dataclass
class ReviewLinks(_Context):
    """The way from an application to its reviews, for its reviewers and the secretariat."""

    my_reviews: list[Review]
    may_read_reviews: bool
    may_read_review_notes: bool


def _review_links(session: Session, user: User, application: Application) -> ReviewLinks:
    staff = user.has_role(Role.secretariat)
    mine = reviews.my_reviews(session, user, application)
    return ReviewLinks(
        my_reviews=mine,
        may_read_reviews=staff or applications.may_review(session, user, application),
        may_read_review_notes=reviews.may_read_review_notes(session, user, application),
    )


def _request_prefilled(session: Session, application: Application) -> PageForm:
    """The request form filled with the reviewers' questions for the applicant, if any."""
    text = reviews.request_text(reviews.questions_for_applicant(session, application))
    return PageForm("request_information", {"body": text}) if text else PageForm()


@dataclass
class ApplicationPage(_Context):
    """An application's page: completeness, next steps, the thread and the forms on it."""

    header: ApplicationHeader
    progress: list[Progress]
    complete: int
    total: int
    actions: list[str]
    may_write: bool
    messages: list[tuple[Message, User, list[MessageAttachment]]]
    last_request: Message | None
    form: PageForm
    missing: list[ChecklistItem]
    review: ReviewLinks


@dataclass
class ChecklistPage(_Context):
    """The self-assessment of one principle, with the way to the others."""

    header: ApplicationHeader
    principle: Principle
    items: list[ChecklistItem]
    progress: list[Progress]
    previous: Progress | None
    next: Progress | None
    can_edit: bool
    form: PageForm


def _header(session: Session, user: User, application: Application) -> ApplicationHeader:
    version = load_version_tree(session, application.guideline_version_id)
    return ApplicationHeader(
        is_staff=user.has_role(Role.secretariat),
        application=application,
        product=application.product,
        organization=application.organization,
        version=version,
        guideline=version.guideline,
    )


def application_page_context(
    session: Session,
    user: User,
    application: Application,
    *,
    form: PageForm | None = None,
    missing: list[ChecklistItem] | None = None,
) -> ApplicationPage:
    """The application page of one person."""
    items = applications.checklist(session, application)
    messages = applications.thread(session, application)
    requests = [m for m, _u, _a in messages if m.is_request]
    actions = applications.next_actions(session, application, user)
    if form is None and "request_information" in actions:
        form = _request_prefilled(session, application)
    return ApplicationPage(
        header=_header(session, user, application),
        progress=_progress(items),
        complete=sum(1 for i in items if not i.missing),
        total=len(items),
        actions=actions,
        may_write=applications.may_post_message(session, user, application),
        messages=messages,
        last_request=requests[-1] if requests else None,
        form=form or PageForm(),
        missing=missing or [],
        review=_review_links(session, user, application),
    )


def _stored_values(items: list[ChecklistItem]) -> dict[str, Any]:
    """The checklist form filled from the saved answers."""
    values: dict[str, Any] = {}
    for item in items:
        code, answer = item.criterion.code, item.answer
        values[f"answer-{code}"] = answer.value.value if answer and answer.value else ""
        values[f"justification-{code}"] = answer.justification if answer else ""
        values[f"answer_public-{code}"] = answer.answer_public if answer else True
        values[f"justification_public-{code}"] = answer.justification_public if answer else False
    return values


def checklist_page_context(
    session: Session,
    user: User,
    application: Application,
    principle_code: str,
    *,
    form: PageForm | None = None,
) -> ChecklistPage:
    """The checklist page of one principle, filled from the saved answers unless a form came."""
    part = applications.checklist_part(session, application, principle_code)
    progress = _progress(part.everything)
    at = [p.code for p in progress].index(principle_code)
    return ChecklistPage(
        header=_header(session, user, application),
        principle=part.items[0].principle,
        items=part.items,
        progress=progress,
        previous=progress[at - 1] if at > 0 else None,
        next=progress[at + 1] if at + 1 < len(progress) else None,
        can_edit="edit" in applications.next_actions(session, application, user),
        form=form or PageForm(values=_stored_values(part.items)),
    )


def _render(
    request: Request, template: str, page: _Context, *, status_code: int = 200
) -> HTMLResponse:
    return render_page(
        request, template, {**_common(request), **page.context()}, status_code=status_code
    )


# Overview ----------------------------------------------------------------------------------


@pages.get("/applications/{application_id}")
def application_page(
    request: Request, session: DbSession, user: SignedIn, application_id: ObjectId
) -> HTMLResponse:
    """An application: product, version, status, completeness, next steps and messages."""
    application = applications.get_application(session, user, application_id)
    page = application_page_context(session, user, application)
    return _render(request, "quality_marks/application.html", page)


@pages.get("/applications/{application_id}/self-assessment.pdf")
def self_assessment_pdf(
    request: Request, session: DbSession, user: SignedIn, now: Now, application_id: ObjectId
) -> Response:
    """The self-assessment as an A4 PDF, for the organisation, its reviewers and the staff."""
    assessment = self_assessment.self_assessment(session, user, application_id)
    link = str(service_settings(request).base_url).rstrip("/") + application_url(application_id)
    pdf = self_assessment.render_self_assessment(
        assessment, reader=user, locale=translator_for(request).locale, link=link, now=now
    )
    return pdf_download(pdf, name=f"autoevaluacion-solicitud-{application_id}.pdf")


def _refused_form(
    request: Request,
    session: Session,
    user: User,
    application_id: int,
    error: Invalid,
    form: PageForm,
    *,
    missing: bool = False,
) -> HTMLResponse:
    """The overview again after a refused form (already rolled back), with what was typed."""
    application = applications.get_application(session, user, application_id)
    page = application_page_context(
        session,
        user,
        application,
        form=form,
        missing=applications.missing_items(session, application) if missing else None,
    )
    return _render(request, "quality_marks/application.html", page, status_code=error.status_code)


# Checklist ---------------------------------------------------------------------------------


@pages.get("/applications/{application_id}/checklist/{principle_code}")
def checklist_page(
    request: Request,
    session: DbSession,
    user: SignedIn,
    application_id: ObjectId,
    principle_code: str,
) -> HTMLResponse:
    """The self-assessment of one principle: answers, justifications and evidence."""
    application = applications.get_application(session, user, application_id)
    page = checklist_page_context(session, user, application, principle_code)
    return _render(request, "quality_marks/checklist.html", page)


def _posted_values(form: FormData, items: list[ChecklistItem]) -> dict[str, Any]:
    """The checklist form as it was sent (unticked boxes are simply absent)."""
    values: dict[str, Any] = {}
    for item in items:
        code = item.criterion.code
        for name in ("answer", "justification", "link_url", "link_label"):
            values[f"{name}-{code}"] = field_text(form, f"{name}-{code}")
        for name in ("answer_public", "justification_public", "files_public", "link_public"):
            values[f"{name}-{code}"] = f"{name}-{code}" in form
    return values


def _sent(
    form: FormData, values: dict[str, Any], items: list[ChecklistItem]
) -> dict[str, CriterionSent]:
    """What the checklist form sent for each criterion, as the verb takes it."""
    sent: dict[str, CriterionSent] = {}
    for item in items:
        code = item.criterion.code
        sent[code] = CriterionSent(
            answer={
                "value": values[f"answer-{code}"] or None,
                "justification": values[f"justification-{code}"],
                "answer_public": values[f"answer_public-{code}"],
                "justification_public": values[f"justification_public-{code}"],
            },
            files=[(u.file, u.filename or "") for u in _uploads(form, f"files-{code}")],
            files_public=values[f"files_public-{code}"],
            link_url=values[f"link_url-{code}"],
            link_label=values[f"link_label-{code}"],
            link_public=values[f"link_public-{code}"],
        )
    return sent


def _refusal_messages(request: Request, saved: SavedChecklist) -> dict[str, str]:
    """The refusals of a checklist form, said next to their fields in the visitor's language."""
    said: dict[str, str] = {}
    for name, refusals in saved.refusals.items():
        parts = []
        for refusal in refusals:
            error = refusal.error
            text = (
                error_fields(request, error)[refusal.field]
                if refusal.field and isinstance(error, Invalid)
                else error_message(request, error)
            )
            parts.append(f"{refusal.name}: {text}" if refusal.name else text)
        said[name] = " ".join(parts)
    return said


def _checklist_refused(
    request: Request,
    session: Session,
    user: User,
    application_id: int,
    principle_code: str,
    values: dict[str, Any],
    saved: SavedChecklist,
) -> HTMLResponse:
    """The checklist again with what was typed: the answers kept, each refusal by its field."""
    message = NOT_SAVED if saved.answers_refused else SAVED_BUT_EVIDENCE_REFUSED
    form = PageForm(
        "checklist",
        values,
        _refusal_messages(request, saved),
        translator_for(request).gettext(message),
    )
    application = applications.get_application(session, user, application_id)
    page = checklist_page_context(session, user, application, principle_code, form=form)
    return _render(request, "quality_marks/checklist.html", page, status_code=422)


@pages.post("/applications/{application_id}/checklist/{principle_code}", response_model=None)
@accepts_uploads
def save_checklist(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    form: SubmittedForm,
    application_id: ObjectId,
    principle_code: str,
) -> Response:
    """Save one principle's answers with the files and links sent with them.

    The valid answers are committed even when something else was refused: nothing typed is lost.
    """
    application = applications.get_application(session, user, application_id)
    part = applications.checklist_part(session, application, principle_code)
    values = _posted_values(form, part.items)
    saved = applications.save_checklist(
        session,
        actor=user,
        application=application,
        sent=_sent(form, values, part.items),
        store=_store(request),
        max_file_bytes=service_settings(request).max_upload_bytes,
        max_total_bytes=service_settings(request).max_application_upload_bytes,
        now=now,
    )
    session.commit()
    if saved.refusals:
        return _checklist_refused(
            request, session, user, application_id, principle_code, values, saved
        )
    flash(request, N_("Your answers have been saved."))
    go_next = field_text(form, "then")
    return redirect(
        checklist_url(
            application_id, go_next if go_next in part.principle_codes else principle_code
        )
    )


# Evidence and attachments ------------------------------------------------------------------


@pages.get("/applications/{application_id}/evidence/{evidence_id}")
def evidence_download(
    request: Request,
    session: DbSession,
    user: SignedIn,
    application_id: ObjectId,
    evidence_id: ObjectId,
) -> FileResponse:
    """A file attached as evidence, for the organisation's people and the secretariat."""
    found = applications.evidence_file(
        session, user=user, application_id=application_id, evidence_id=evidence_id
    )
    return stored_file(_store(request), found.key, found.name, found.content_type)


@pages.get("/applications/{application_id}/attachments/{attachment_id}")
def attachment_download(
    request: Request,
    session: DbSession,
    user: SignedIn,
    application_id: ObjectId,
    attachment_id: ObjectId,
) -> FileResponse:
    """A file sent with a message of the application's thread."""
    found = applications.attachment_file(
        session, user=user, application_id=application_id, attachment_id=attachment_id
    )
    return stored_file(_store(request), found.key, found.name, found.content_type)


def _evidence_place(application_id: int, principle_code: str | None, criterion_code: str) -> str:
    """Where removed evidence was shown: its criterion on the checklist, else the overview."""
    if principle_code is None:
        return application_url(application_id)
    return checklist_url(application_id, principle_code, criterion_code)


@pages.post("/applications/{application_id}/evidence/{evidence_id}/delete", response_model=None)
def remove_evidence(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    application_id: ObjectId,
    evidence_id: ObjectId,
) -> Response:
    """Remove a file or link added in the current round."""
    application = applications.get_application(session, user, application_id)
    removed = applications.remove_evidence(
        session,
        actor=user,
        application=application,
        evidence_id=evidence_id,
        store=_store(request),
        now=now,
    )
    code = removed.criterion_code
    session.commit()
    flash(request, N_("The evidence has been removed."))
    principle = applications.principle_of(session, application, code)
    return redirect(_evidence_place(application_id, principle, code))


# Submission and withdrawal -----------------------------------------------------------------


@pages.post("/applications/{application_id}/submit", response_model=None)
def submit_page(
    request: Request, session: DbSession, user: SignedIn, now: Now, application_id: ObjectId
) -> Response:
    """Submit the self-assessment; an incomplete one is answered with what is missing."""
    application = applications.get_application(session, user, application_id)
    try:
        applications.submit_application(
            session,
            actor=user,
            application=application,
            base_url=service_settings(request).base_url,
            now=now,
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, {}, name="submit")
        return _missing(request, session, user, application_id, refused)
    session.commit()
    flash(request, N_("The application has been submitted. The secretariat will screen it."))
    return redirect(application_url(application_id))


def _missing(
    request: Request, session: Session, user: User, application_id: int, refused: PageForm
) -> HTMLResponse:
    """What still blocks the submission of an application."""
    application = applications.get_application(session, user, application_id)
    return render_page(
        request,
        "quality_marks/missing.html",
        {
            **_common(request),
            **_header(session, user, application).context(),
            "message": refused.message,
            "missing": applications.missing_items(session, application),
        },
        status_code=422,
    )


@pages.post("/applications/{application_id}/withdraw", response_model=None)
def withdraw_page(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    form: SubmittedForm,
    application_id: ObjectId,
) -> Response:
    """The organisation withdraws its application."""
    application = applications.get_application(session, user, application_id)
    applications.withdraw_application(
        session,
        actor=user,
        application=application,
        reason=field_text(form, "reason"),
        now=now,
        base_url=service_settings(request).base_url,
    )
    session.commit()
    flash(request, N_("The application has been withdrawn."))
    return redirect(application_url(application_id))


# Screening by the secretariat --------------------------------------------------------------


@pages.post("/applications/{application_id}/screening", response_model=None)
def start_screening_page(
    request: Request, session: DbSession, user: Staff, now: Now, application_id: ObjectId
) -> Response:
    """The secretariat starts screening a submitted application."""
    application = applications.get_application(session, user, application_id)
    applications.start_screening(
        session,
        actor=user,
        application=application,
        now=now,
        base_url=service_settings(request).base_url,
    )
    session.commit()
    flash(request, N_("Screening has started."))
    return redirect(application_url(application_id))


@pages.post("/applications/{application_id}/accept", response_model=None)
def accept_page(
    request: Request, session: DbSession, user: Staff, now: Now, application_id: ObjectId
) -> Response:
    """Screening passed: the application goes to review."""
    application = applications.get_application(session, user, application_id)
    applications.accept_application(
        session,
        actor=user,
        application=application,
        base_url=service_settings(request).base_url,
        now=now,
    )
    session.commit()
    flash(request, N_("The application has been accepted for review."))
    return redirect(application_url(application_id))


@pages.post("/applications/{application_id}/return", response_model=None)
def return_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    application_id: ObjectId,
) -> Response:
    """Screening found gaps: the application goes back to the organisation with the reason."""
    application = applications.get_application(session, user, application_id)
    reason = field_text(form, "reason")
    try:
        applications.return_application(
            session,
            actor=user,
            application=application,
            reason=reason,
            base_url=service_settings(request).base_url,
            now=now,
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, {"reason": reason}, name="return")
        return _refused_form(request, session, user, application_id, error, refused)
    session.commit()
    flash(request, N_("The application has been returned to the organisation."))
    return redirect(application_url(application_id))


def _due_day(text: str) -> dt.date | None:
    """The answer's due date as typed (a date input sends year-month-day); None when empty."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Invalid(fields={"due_on": N_("Give the date as year-month-day.")}) from None


@pages.post("/applications/{application_id}/request-information", response_model=None)
def request_information_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    application_id: ObjectId,
) -> Response:
    """The reviewers need more: ask the organisation, which may then revise its answers."""
    application = applications.get_application(session, user, application_id)
    body = field_text(form, "body")
    due_text = field_text(form, "due_on")
    settings = service_settings(request)
    try:
        applications.request_information(
            session,
            actor=user,
            application=application,
            body=body,
            base_url=settings.base_url,
            now=now,
            due_on=_due_day(due_text),
            information_due_days=settings.information_due_days,
        )
    except Invalid as error:
        sent = {"body": body, "due_on": due_text}
        refused = refuse_form(request, session, error, sent, name="request_information")
        return _refused_form(request, session, user, application_id, error, refused)
    once.done(application_url(application_id), now=now)
    session.commit()
    flash(request, N_("The request has been sent to the organisation."))
    return redirect(application_url(application_id))


# Messages ----------------------------------------------------------------------------------


def _refused_message(
    request: Request, session: Session, user: User, application_id: int, error: Invalid, body: str
) -> HTMLResponse:
    """The overview again after a refused message, with what was written."""
    # A refused file has no field of its own in the error: say so next to the file input.
    refused = refuse_form(
        request, session, error, {"body": body}, name="message", on_field="attachments"
    )
    return _refused_form(request, session, user, application_id, error, refused)


@pages.post("/applications/{application_id}/messages", response_model=None)
@accepts_uploads
def post_message_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: SignedIn,
    now: Now,
    form: SubmittedForm,
    application_id: ObjectId,
) -> Response:
    """Write in the application's thread, with files attached if wanted."""
    application = applications.get_application(session, user, application_id)
    body = field_text(form, "body")
    settings = service_settings(request)
    try:
        applications.post_message(
            session,
            actor=user,
            application=application,
            body=body,
            attachments=[(u.file, u.filename or "") for u in _uploads(form, "attachments")],
            store=_store(request),
            max_file_bytes=settings.max_upload_bytes,
            max_total_bytes=settings.max_application_upload_bytes,
            max_files=settings.max_message_files,
            base_url=settings.base_url,
            now=now,
        )
    except Invalid as error:
        return _refused_message(request, session, user, application_id, error, body)
    once.done(application_url(application_id, "#messages"), now=now)
    session.commit()
    flash(request, N_("Your message has been sent."))
    return redirect(application_url(application_id, "#messages"))


@pages.post("/applications/{application_id}/answer", response_model=None)
def answer_request_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: SignedIn,
    now: Now,
    form: SubmittedForm,
    application_id: ObjectId,
) -> Response:
    """The organisation answers a request for information; its revised answers are frozen again."""
    application = applications.get_application(session, user, application_id)
    body = field_text(form, "body")
    try:
        applications.answer_request(
            session,
            actor=user,
            application=application,
            body=body,
            base_url=service_settings(request).base_url,
            now=now,
            review_days=service_settings(request).review_days,
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, {"body": body}, name="answer")
        return _refused_form(request, session, user, application_id, error, refused, missing=True)
    once.done(application_url(application_id), now=now)
    session.commit()
    flash(request, N_("Your answer has been sent; the review continues."))
    return redirect(application_url(application_id))


# The secretariat's queue -------------------------------------------------------------------


@pages.get("/applications")
def applications_queue(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    q: str = "",
    status: str = "",
    version: str = "",
    waiting: str = "",
    page: str = "",
) -> HTMLResponse:
    """Every application, newest activity first, searched and filtered, a page at a time."""
    filters = application_queue.queue_filters(
        text=q, status=status, version=version, waiting=waiting
    )
    queue = application_queue.application_queue(
        session, filters=filters, now=now, page=page_number(page)
    )
    return render_page(
        request,
        "quality_marks/applications_queue.html",
        {
            **_common(request),
            "queue": queue,
            "filters": filters,
            "values": filters.query(),
            "statuses": list(ApplicationStatus),
            "versions": application_queue.version_choices(session),
            "waiting_labels": application_queue.WAITING_LABELS,
        },
    )


@pages.get("/exports/applications.{fmt}")
@writes
def applications_export(
    session: DbSession,
    user: Staff,
    now: Now,
    fmt: ExportFormat,
    q: str = "",
    status: str = "",
    version: str = "",
    waiting: str = "",
) -> StreamingResponse:
    """The filtered queue with each application's status history, as CSV or JSON."""
    filters = application_queue.queue_filters(
        text=q, status=status, version=version, waiting=waiting
    )
    rows = application_queue.export_queue(session, actor=user, filters=filters, fmt=fmt, now=now)
    session.commit()
    chunks = export_chunks(fmt, application_queue.EXPORT_COLUMNS, rows)
    return export_download(chunks, fmt=fmt, name=f"solicitudes-{now:%Y-%m-%d}")
