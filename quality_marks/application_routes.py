"""Pages for applications: checklist, evidence, submission, screening and messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from core.accounts import Role, User
from core.api import ObjectId
from core.auth import Now, SignedIn, Staff
from core.db import get_session
from core.downloads import stored_file
from core.errors import N_, Invalid, NotFound
from core.forms import parse_input
from core.i18n import Translator
from core.limits import accepts_uploads
from core.settings import Settings
from core.storage import FileStore, clean_filename
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
from guidelines.documents import load_version_tree
from guidelines.service import RISK_LABELS
from quality_marks import applications
from quality_marks.applications import ChecklistItem
from quality_marks.models import (
    AnswerValue,
    Application,
    ApplicationStatus,
    Evidence,
    Organization,
    Product,
)
from quality_marks.organizations import EDITING_ROLES, NOT_VERIFIED, membership
from quality_marks.schemas import AnswerInput, LinkInput

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


@dataclass
class PageForm:
    """What a form on a page holds when it comes back: typed values and messages by field."""

    name: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""


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


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _store(request: Request) -> FileStore:
    store: FileStore = request.app.state.file_store
    return store


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


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


def _may_write(session: Session, user: User, application: Application) -> bool:
    """Whether the person may write in the thread (the rule post_message applies)."""
    member = membership(session, user, application.organization_id)
    if member is None:
        return user.has_role(Role.secretariat)
    return member.role in EDITING_ROLES


def _common(request: Request) -> dict[str, Any]:
    tr = translator_for(request)
    settings = _settings(request)
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
    }


def _header(session: Session, user: User, application: Application) -> dict[str, Any]:
    """The product, organisation and guideline version every application page names."""
    version = load_version_tree(session, application.guideline_version_id)
    return {
        "is_staff": user.has_role(Role.secretariat),
        "application": application,
        "product": session.get(Product, application.product_id),
        "organization": session.get(Organization, application.organization_id),
        "version": version,
        "guideline": version.guideline,
    }


# Overview ----------------------------------------------------------------------------------


def _overview(
    request: Request,
    session: Session,
    user: User,
    application: Application,
    *,
    form: PageForm | None = None,
    missing: list[ChecklistItem] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    items = applications.checklist(session, application)
    messages = applications.thread(session, application)
    requests = [m for m, _u, _a in messages if m.is_request]
    return render_page(
        request,
        "quality_marks/application.html",
        {
            **_common(request),
            **_header(session, user, application),
            "progress": _progress(items),
            "complete": sum(1 for i in items if not i.missing),
            "total": len(items),
            "actions": applications.next_actions(session, application, user),
            "may_write": _may_write(session, user, application),
            "messages": messages,
            "last_request": requests[-1] if requests else None,
            "form": form or PageForm(),
            "missing": missing or [],
        },
        status_code=status_code,
    )


@pages.get("/applications/{application_id}")
def application_page(
    request: Request, session: DbSession, user: SignedIn, application_id: ObjectId
) -> HTMLResponse:
    """An application: product, version, status, completeness, next steps and messages."""
    application = applications.get_application(session, user, application_id)
    return _overview(request, session, user, application)


def _refused_form(
    request: Request,
    session: Session,
    user: User,
    application_id: int,
    error: Invalid,
    form: PageForm,
) -> HTMLResponse:
    """The overview again after a refused form, with its messages and what was typed."""
    session.rollback()
    form.errors = {**form.errors, **error_fields(request, error)}
    form.message = error_message(request, error)
    application = applications.get_application(session, user, application_id)
    return _overview(request, session, user, application, form=form, status_code=422)


# Checklist ---------------------------------------------------------------------------------


def _items_of(
    session: Session, application: Application, principle_code: str
) -> tuple[list[ChecklistItem], list[ChecklistItem]]:
    everything = applications.checklist(session, application)
    items = [i for i in everything if i.principle.code == principle_code]
    if not items:
        raise NotFound()
    return everything, items


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


def _posted_values(form: FormData, items: list[ChecklistItem]) -> dict[str, Any]:
    """The checklist form as it was sent (unticked boxes are simply absent)."""
    values: dict[str, Any] = {}
    for item in items:
        code = item.criterion.code
        for name in ("answer", "justification", "link_url", "link_label"):
            values[f"{name}-{code}"] = _text(form, f"{name}-{code}")
        for name in ("answer_public", "justification_public", "files_public", "link_public"):
            values[f"{name}-{code}"] = f"{name}-{code}" in form
    return values


def _checklist_page(
    request: Request,
    session: Session,
    user: User,
    application: Application,
    principle_code: str,
    *,
    form: PageForm | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    everything, items = _items_of(session, application, principle_code)
    progress = _progress(everything)
    codes = [p.code for p in progress]
    at = codes.index(principle_code)
    actions = applications.next_actions(session, application, user)
    return render_page(
        request,
        "quality_marks/checklist.html",
        {
            **_common(request),
            **_header(session, user, application),
            "principle": items[0].principle,
            "items": items,
            "progress": progress,
            "previous": progress[at - 1] if at > 0 else None,
            "next": progress[at + 1] if at + 1 < len(progress) else None,
            "can_edit": "edit" in actions,
            "form": form or PageForm(values=_stored_values(items)),
        },
        status_code=status_code,
    )


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
    return _checklist_page(request, session, user, application, principle_code)


def _parse_answers(
    request: Request, values: dict[str, Any], items: list[ChecklistItem]
) -> tuple[dict[str, AnswerInput], dict[str, str]]:
    answers: dict[str, AnswerInput] = {}
    errors: dict[str, str] = {}
    for item in items:
        code = item.criterion.code
        try:
            answers[code] = parse_input(
                AnswerInput,
                {
                    "value": values[f"answer-{code}"] or None,
                    "justification": values[f"justification-{code}"],
                    "answer_public": values[f"answer_public-{code}"],
                    "justification_public": values[f"justification_public-{code}"],
                },
            )
        except Invalid as error:
            for name, message in error_fields(request, error).items():
                target = "answer" if name == "value" else name
                errors[f"{target}-{code}"] = message
    return answers, errors


@dataclass
class EvidenceBatch:
    """The files and links sent with one checklist form, added together or not at all."""

    request: Request
    session: Session
    user: User
    application: Application
    now: dt.datetime
    stored_keys: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def add_files(self, code: str, uploads: list[UploadFile], public: bool) -> None:
        """Store each file; a refused one is named with its reason."""
        settings = _settings(self.request)
        refused = []
        for upload in uploads:
            stream: BinaryIO = upload.file
            try:
                evidence = applications.add_evidence_file(
                    self.session,
                    actor=self.user,
                    application=self.application,
                    criterion_code=code,
                    stream=stream,
                    filename=upload.filename or "",
                    public=public,
                    store=_store(self.request),
                    max_file_bytes=settings.max_upload_bytes,
                    max_total_bytes=settings.max_application_upload_bytes,
                    now=self.now,
                )
            except Invalid as error:
                name = clean_filename(upload.filename or "")
                refused.append(f"{name}: {error_message(self.request, error)}")
                continue
            if evidence.stored_key:
                self.stored_keys.append(evidence.stored_key)
        if refused:
            self.errors[f"files-{code}"] = " ".join(refused)

    def add_link(self, code: str, url: str, label: str, public: bool) -> None:
        """Attach a link when one was typed."""
        if not url.strip() and not label.strip():
            return
        try:
            link = parse_input(
                LinkInput, {"criterion_code": code, "url": url.strip(), "label": label}
            )
            applications.add_evidence_link(
                self.session,
                actor=self.user,
                application=self.application,
                criterion_code=code,
                url=link.url,
                label=link.label,
                public=public,
                now=self.now,
            )
        except Invalid as error:
            fields = error_fields(self.request, error)
            if "label" in fields:
                self.errors[f"link_label-{code}"] = fields["label"]
            if "url" in fields or "label" not in fields:
                self.errors[f"link_url-{code}"] = fields.get("url") or error_message(
                    self.request, error
                )

    def undo(self) -> None:
        """Forget the batch: the rows go with the rollback, the stored files are deleted."""
        self.session.rollback()
        store = _store(self.request)
        for key in self.stored_keys:
            store.delete(key)


def _add_evidence(batch: EvidenceBatch, form: FormData, items: list[ChecklistItem]) -> None:
    for item in items:
        code = item.criterion.code
        batch.add_files(code, _uploads(form, f"files-{code}"), f"files_public-{code}" in form)
        batch.add_link(
            code,
            _text(form, f"link_url-{code}"),
            _text(form, f"link_label-{code}"),
            f"link_public-{code}" in form,
        )


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
    """Save one principle's answers, then add the files and links sent with them."""
    application = applications.get_application(session, user, application_id)
    everything, items = _items_of(session, application, principle_code)
    values = _posted_values(form, items)
    answers, errors = _parse_answers(request, values, items)
    applications.save_answers(
        session, actor=user, application=application, answers=answers, now=now
    )
    # The answers are kept even when an upload is refused: nothing typed is lost.
    session.commit()
    batch = EvidenceBatch(request, session, user, application, now)
    if not errors:
        try:
            _add_evidence(batch, form, items)
        except BaseException:
            batch.undo()
            raise
    if errors or batch.errors:
        batch.undo()
        message = NOT_SAVED if errors else SAVED_BUT_EVIDENCE_REFUSED
        page_form = PageForm(
            "checklist",
            values,
            {**errors, **batch.errors},
            translator_for(request).gettext(message),
        )
        application = applications.get_application(session, user, application_id)
        return _checklist_page(
            request, session, user, application, principle_code, form=page_form, status_code=422
        )
    session.commit()
    flash(request, N_("Your answers have been saved."))
    go_next = _text(form, "then")
    if go_next in {i.principle.code for i in everything}:
        return redirect(checklist_url(application_id, go_next))
    return redirect(checklist_url(application_id, principle_code))


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
    evidence, application = applications.evidence_for_download(
        session, user=user, evidence_id=evidence_id
    )
    if application.id != application_id or evidence.stored_key is None:
        raise NotFound()
    return stored_file(
        _store(request), evidence.stored_key, evidence.original_name, evidence.content_type
    )


@pages.get("/applications/{application_id}/attachments/{attachment_id}")
def attachment_download(
    request: Request,
    session: DbSession,
    user: SignedIn,
    application_id: ObjectId,
    attachment_id: ObjectId,
) -> FileResponse:
    """A file sent with a message of the application's thread."""
    attachment, application = applications.attachment_for_download(
        session, user=user, attachment_id=attachment_id
    )
    if application.id != application_id:
        raise NotFound()
    return stored_file(
        _store(request), attachment.stored_key, attachment.original_name, attachment.content_type
    )


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
    evidence = session.get(Evidence, evidence_id)
    code = evidence.criterion_code if evidence else ""
    stored_key = evidence.stored_key if evidence else None
    applications.remove_evidence(
        session, actor=user, application=application, evidence_id=evidence_id, now=now
    )
    session.commit()
    if stored_key:
        _store(request).delete(stored_key)
    flash(request, N_("The evidence has been removed."))
    principle = {
        i.criterion.code: i.principle.code for i in applications.checklist(session, application)
    }
    if code in principle:
        return redirect(checklist_url(application_id, principle[code], code))
    return redirect(application_url(application_id))


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
            base_url=_settings(request).base_url,
            now=now,
        )
    except Invalid as error:
        session.rollback()
        application = applications.get_application(session, user, application_id)
        return render_page(
            request,
            "quality_marks/missing.html",
            {
                **_common(request),
                **_header(session, user, application),
                "message": error_message(request, error),
                "missing": applications.missing_items(session, application),
            },
            status_code=422,
        )
    session.commit()
    flash(request, N_("The application has been submitted. The secretariat will screen it."))
    return redirect(application_url(application_id))


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
        session, actor=user, application=application, reason=_text(form, "reason"), now=now
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
    applications.start_screening(session, actor=user, application=application, now=now)
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
        base_url=_settings(request).base_url,
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
    reason = _text(form, "reason")
    try:
        applications.return_application(
            session,
            actor=user,
            application=application,
            reason=reason,
            base_url=_settings(request).base_url,
            now=now,
        )
    except Invalid as error:
        typed = PageForm("return", {"reason": reason})
        return _refused_form(request, session, user, application_id, error, typed)
    session.commit()
    flash(request, N_("The application has been returned to the organisation."))
    return redirect(application_url(application_id))


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
    body = _text(form, "body")
    try:
        applications.request_information(
            session,
            actor=user,
            application=application,
            body=body,
            base_url=_settings(request).base_url,
            now=now,
        )
    except Invalid as error:
        typed = PageForm("request_information", {"body": body})
        return _refused_form(request, session, user, application_id, error, typed)
    once.done(application_url(application_id), now=now)
    session.commit()
    flash(request, N_("The request has been sent to the organisation."))
    return redirect(application_url(application_id))


# Messages ----------------------------------------------------------------------------------


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
    body = _text(form, "body")
    uploads = _uploads(form, "attachments")
    try:
        applications.post_message(
            session,
            actor=user,
            application=application,
            body=body,
            attachments=[(u.file, u.filename or "") for u in uploads],
            store=_store(request),
            max_file_bytes=_settings(request).max_upload_bytes,
            max_total_bytes=_settings(request).max_application_upload_bytes,
            max_files=_settings(request).max_message_files,
            base_url=_settings(request).base_url,
            now=now,
        )
    except Invalid as error:
        typed = PageForm("message", {"body": body})
        if not error.fields:  # a refused file: say so next to the file input
            typed.errors["attachments"] = error_message(request, error)
        return _refused_form(request, session, user, application_id, error, typed)
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
    body = _text(form, "body")
    try:
        applications.answer_request(
            session,
            actor=user,
            application=application,
            body=body,
            base_url=_settings(request).base_url,
            now=now,
        )
    except Invalid as error:
        session.rollback()
        application = applications.get_application(session, user, application_id)
        fields = error_fields(request, error)
        typed = PageForm(
            "answer",
            {"body": body},
            {"body": fields["body"]} if "body" in fields else {},
            error_message(request, error),
        )
        return _overview(
            request,
            session,
            user,
            application,
            form=typed,
            missing=applications.missing_items(session, application),
            status_code=422,
        )
    once.done(application_url(application_id), now=now)
    session.commit()
    flash(request, N_("Your answer has been sent; the review continues."))
    return redirect(application_url(application_id))


# The secretariat's queue -------------------------------------------------------------------


@pages.get("/applications")
def applications_queue(
    request: Request, session: DbSession, user: Staff, status: str = ""
) -> HTMLResponse:
    """Every application, newest activity first, filtered by status."""
    chosen = ApplicationStatus(status) if status in set(ApplicationStatus) else None
    rows = applications.list_applications(session, status=chosen)
    organizations = {
        o.id: o
        for o in session.scalars(
            select(Organization).where(Organization.id.in_({a.organization_id for a in rows}))
        )
    }
    products = {
        p.id: p
        for p in session.scalars(
            select(Product).where(Product.id.in_({a.product_id for a in rows}))
        )
    }
    return render_page(
        request,
        "quality_marks/applications_queue.html",
        {
            **_common(request),
            "rows": [(a, organizations[a.organization_id], products[a.product_id]) for a in rows],
            "statuses": list(ApplicationStatus),
            "chosen": chosen.value if chosen else "",
        },
    )
