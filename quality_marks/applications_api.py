"""The applications API under /api/v1: checklist answers, evidence, submission and messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUploadFile

from core.api import (
    ERROR_RESPONSES,
    ErrorBody,
    ObjectId,
    Page,
    PageParams,
    SearchText,
    page_params,
)
from core.auth import Now, SignedIn
from core.db import get_session
from core.downloads import stored_file
from core.errors import N_, DomainError, Invalid
from core.forms import parse_input
from core.i18n import Translator
from core.limits import accepts_uploads
from core.search import search_text
from core.storage import FileStore, FileTooLarge
from core.web import service_settings, translator_for
from quality_marks import application_queue, applications
from quality_marks.models import Application, ApplicationStatus, Evidence, Message
from quality_marks.schemas import (
    AnswerInput,
    ApplicationInput,
    ApplicationOut,
    ApplicationSummaryOut,
    AttachmentOut,
    ChecklistItemOut,
    EvidenceOut,
    LinkInput,
    MessageInput,
    MessageOut,
    WithdrawInput,
)

api = APIRouter(prefix="/api/v1", tags=["quality_marks"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]
Pagination = Annotated[PageParams, Depends(page_params)]
TOO_LARGE: dict[int | str, dict[str, Any]] = {413: {"model": ErrorBody}}
FILE_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment, with the type its content was checked to be.",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}
MESSAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": MessageInput.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["body"],
                    "properties": {
                        "body": {"type": "string"},
                        "attachments": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                }
            },
        },
    }
}
EVIDENCE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["criterion_code", "file"],
                    "properties": {
                        "criterion_code": {"type": "string", "maxLength": 20},
                        "file": {"type": "string", "format": "binary"},
                        "public": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    }
}


class UploadTooLarge(DomainError):
    """An upload over a size limit; the API answers 413 with the limit in the message."""

    status_code = 413
    code = "too_large"


def _too_large(error: FileTooLarge) -> UploadTooLarge:
    return UploadTooLarge(error.message, **error.params)


def _store(request: Request) -> FileStore:
    store: FileStore = request.app.state.file_store
    return store


def _summary_fields(application: Application) -> dict[str, Any]:
    version = application.guideline_version
    return {
        "id": application.id,
        "organization_id": application.organization_id,
        "product_id": application.product_id,
        "guideline": version.guideline.slug,
        "version": version.number,
        "risk_level": application.risk_level,
        "status": application.status,
        "decision": application.decision,
        "revision": application.revision,
        "submitted_at": application.submitted_at,
        "created_at": application.created_at,
        "updated_at": application.updated_at,
    }


def _item_out(tr: Translator, item: applications.ChecklistItem) -> ChecklistItemOut:
    answer, criterion = item.answer, item.criterion
    return ChecklistItemOut(
        code=criterion.code,
        principle=item.principle.code,
        title=tr.pick(criterion.title_es, criterion.title_en),
        requirement=tr.pick(criterion.requirement_es, criterion.requirement_en),
        value=answer.value if answer else None,
        justification=answer.justification if answer else "",
        answer_public=answer.answer_public if answer else True,
        justification_public=answer.justification_public if answer else False,
        missing=[tr.gettext(message) for message in item.missing],
        evidence=[EvidenceOut.model_validate(e) for e in item.evidence],
    )


def _application_out(
    request: Request, session: Session, user: SignedIn, application_id: int
) -> ApplicationOut:
    """The application as the caller sees it now (read again: a verb may just have changed it)."""
    tr = translator_for(request)
    application = applications.get_application(session, user, application_id)
    items = applications.checklist(session, application)
    return ApplicationOut(
        **_summary_fields(application),
        return_reason=application.return_reason,
        next_actions=applications.next_actions(session, application, user),
        completeness=applications.completeness(items),
        missing={
            item.criterion.code: tr.gettext(item.missing[0]) for item in items if item.missing
        },
        checklist=[_item_out(tr, item) for item in items],
    )


@api.post("/products/{product_id}/applications", response_model=ApplicationOut, status_code=201)
def api_start_application(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    product_id: ObjectId,
    body: ApplicationInput,
) -> ApplicationOut:
    """Start an application for a product on an adopted guideline version."""
    version = applications.version_to_apply_on(
        session, user=user, product_id=product_id, guideline=body.guideline, number=body.version
    )
    application = applications.start_application(
        session, actor=user, product_id=product_id, guideline_version=version, now=now
    )
    session.commit()
    return _application_out(request, session, user, application.id)


@api.get("/applications", response_model=Page[ApplicationSummaryOut])
def api_applications(
    session: DbSession,
    user: SignedIn,
    now: Now,
    params: Pagination,
    q: SearchText = "",
    status: Annotated[ApplicationStatus | None, Query()] = None,
    version: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="A guideline version's id.")
    ] = None,
    waiting: Annotated[
        Literal[7, 30, 90] | None,
        Query(description="Only applications with no activity for more than this many days."),
    ] = None,
) -> Page[ApplicationSummaryOut]:
    """Applications of the caller's organisations (the secretariat: all), newest change first.

    `q` searches the organisation's name, the product's name and version, and the number.
    """
    filters = application_queue.QueueFilters(
        text=search_text(q), status=status, version_id=version, waiting_days=waiting
    )
    rows, total = application_queue.applications_for(
        session, user, filters=filters, now=now, params=params
    )
    return Page[ApplicationSummaryOut](
        items=[ApplicationSummaryOut(**_summary_fields(row)) for row in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@api.get("/applications/{application_id}", response_model=ApplicationOut)
def api_application(
    request: Request, session: DbSession, user: SignedIn, application_id: ObjectId
) -> ApplicationOut:
    """An application: its checklist with answers and evidence, what is missing, what is next."""
    return _application_out(request, session, user, application_id)


@api.put("/applications/{application_id}/answers/{criterion_code}", response_model=ChecklistItemOut)
def api_save_answer(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    application_id: ObjectId,
    criterion_code: str,
    body: AnswerInput,
) -> ChecklistItemOut:
    """Answer one criterion of the self-assessment."""
    application = applications.get_application(session, user, application_id)
    applications.save_answers(
        session, actor=user, application=application, answers={criterion_code: body}, now=now
    )
    session.commit()
    item = applications.checklist_item(session, application, criterion_code)
    return _item_out(translator_for(request), item)


@api.post("/applications/{application_id}/answers", response_model=ApplicationOut)
def api_save_answers(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    application_id: ObjectId,
    body: dict[str, AnswerInput],
) -> ApplicationOut:
    """Answer several criteria at once: an object of criterion code -> answer."""
    application = applications.get_application(session, user, application_id)
    applications.save_answers(session, actor=user, application=application, answers=body, now=now)
    session.commit()
    return _application_out(request, session, user, application_id)


@dataclass
class EvidenceUpload:
    """An evidence file as sent: the criterion it supports, the file, whether it is public."""

    criterion_code: str
    file: StarletteUploadFile
    public: bool


async def evidence_upload(request: Request) -> EvidenceUpload:
    """Read the multipart body of an evidence upload (only after the token was checked)."""
    form = await request.form()
    code, upload = form.get("criterion_code"), form.get("file")
    if not isinstance(code, str) or not code.strip() or not isinstance(upload, StarletteUploadFile):
        fields: dict[str, str] = {}
        if not isinstance(code, str) or not code.strip():
            fields["criterion_code"] = N_("This field is required.")
        if not isinstance(upload, StarletteUploadFile):
            fields["file"] = N_("Choose a file.")
        raise Invalid(fields=fields)
    public = str(form.get("public", "")).lower() in {"true", "1", "on", "yes"}
    return EvidenceUpload(code.strip(), upload, public)


@api.post(
    "/applications/{application_id}/evidence",
    response_model=EvidenceOut,
    status_code=201,
    responses=TOO_LARGE,
    openapi_extra=EVIDENCE_BODY,
)
@accepts_uploads
def api_add_evidence_file(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    application_id: ObjectId,
    sent: Annotated[EvidenceUpload, Depends(evidence_upload)],
) -> Evidence:
    """Upload a file as evidence for a criterion; refusals say why (type, size, state)."""
    application = applications.get_application(session, user, application_id)
    try:
        evidence = applications.add_evidence_file(
            session,
            actor=user,
            application=application,
            criterion_code=sent.criterion_code,
            stream=sent.file.file,
            filename=sent.file.filename or "",
            public=sent.public,
            store=_store(request),
            max_file_bytes=service_settings(request).max_upload_bytes,
            max_total_bytes=service_settings(request).max_application_upload_bytes,
            now=now,
        )
    except FileTooLarge as error:
        raise _too_large(error) from None
    session.commit()
    return evidence


@api.post("/applications/{application_id}/links", response_model=EvidenceOut, status_code=201)
def api_add_evidence_link(
    session: DbSession, user: SignedIn, now: Now, application_id: ObjectId, body: LinkInput
) -> Evidence:
    """Give a link (a published policy, a model card) as evidence for a criterion."""
    application = applications.get_application(session, user, application_id)
    evidence = applications.add_evidence_link(
        session,
        actor=user,
        application=application,
        criterion_code=body.criterion_code,
        url=body.url,
        label=body.label,
        public=body.public,
        now=now,
    )
    session.commit()
    return evidence


@api.delete("/applications/{application_id}/evidence/{evidence_id}", status_code=204)
def api_remove_evidence(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    application_id: ObjectId,
    evidence_id: ObjectId,
) -> Response:
    """Remove evidence added in the current round; a stored file goes with it."""
    application = applications.get_application(session, user, application_id)
    applications.remove_evidence(
        session,
        actor=user,
        application=application,
        evidence_id=evidence_id,
        store=_store(request),
        now=now,
    )
    session.commit()
    return Response(status_code=204)


@api.get(
    "/applications/{application_id}/evidence/{evidence_id}/content",
    response_class=FileResponse,
    responses=FILE_CONTENT,
)
def api_evidence_content(
    request: Request,
    session: DbSession,
    user: SignedIn,
    application_id: ObjectId,
    evidence_id: ObjectId,
) -> FileResponse:
    """Download an evidence file, as an attachment that browsers must not sniff."""
    found = applications.evidence_file(
        session, user=user, application_id=application_id, evidence_id=evidence_id
    )
    return stored_file(_store(request), found.key, found.name, found.content_type)


@api.post("/applications/{application_id}/submit", response_model=ApplicationOut)
def api_submit_application(
    request: Request, session: DbSession, user: SignedIn, now: Now, application_id: ObjectId
) -> ApplicationOut:
    """Submit a complete self-assessment; 422 names each criterion that still needs attention."""
    application = applications.get_application(session, user, application_id)
    applications.submit_application(
        session,
        actor=user,
        application=application,
        base_url=service_settings(request).base_url,
        now=now,
    )
    session.commit()
    return _application_out(request, session, user, application_id)


@api.post("/applications/{application_id}/withdraw", response_model=ApplicationOut)
def api_withdraw_application(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    application_id: ObjectId,
    body: WithdrawInput | None = None,
) -> ApplicationOut:
    """Withdraw the application before a decision."""
    application = applications.get_application(session, user, application_id)
    applications.withdraw_application(
        session,
        actor=user,
        application=application,
        reason=body.reason if body else "",
        now=now,
        base_url=service_settings(request).base_url,
    )
    session.commit()
    return _application_out(request, session, user, application_id)


# Messages ----------------------------------------------------------------------------------


def _message_out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.id,
        author=message.author.full_name,
        from_secretariat=message.from_secretariat,
        is_request=message.is_request,
        due_on=message.due_on,
        body=message.body,
        created_at=message.created_at,
        attachments=[AttachmentOut.model_validate(a) for a in message.attachments],
    )


@api.get("/applications/{application_id}/messages", response_model=Page[MessageOut])
def api_messages(
    session: DbSession, user: SignedIn, params: Pagination, application_id: ObjectId
) -> Page[MessageOut]:
    """The application's thread with the secretariat, oldest first."""
    application = applications.get_application(session, user, application_id)
    rows, total = applications.thread_page(session, application, params=params)
    return Page[MessageOut](
        items=[_message_out(message) for message in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@dataclass
class MessageRequest:
    """A message as sent: JSON fields, or form fields with attachments."""

    data: dict[str, Any]
    files: list[StarletteUploadFile] = field(default_factory=list)


async def message_request(request: Request) -> MessageRequest:
    """Read a message sent as JSON or as a (multipart) form; validation comes after lookup."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        body = form.get("body")
        files = [
            f
            for f in form.getlist("attachments")
            if isinstance(f, StarletteUploadFile) and f.filename
        ]
        return MessageRequest({"body": body if isinstance(body, str) else ""}, files)
    try:
        data = await request.json()
    except ValueError:
        data = None
    return MessageRequest(data if isinstance(data, dict) else {})


@api.post(
    "/applications/{application_id}/messages",
    response_model=MessageOut,
    status_code=201,
    responses=TOO_LARGE,
    openapi_extra=MESSAGE_BODY,
)
@accepts_uploads
def api_post_message(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    application_id: ObjectId,
    sent: Annotated[MessageRequest, Depends(message_request)],
) -> MessageOut:
    """Write to the secretariat in the application's thread, with optional attachments."""
    application = applications.get_application(session, user, application_id)
    data = parse_input(MessageInput, sent.data)
    settings = service_settings(request)
    try:
        message = applications.post_message(
            session,
            actor=user,
            application=application,
            body=data.body,
            attachments=[(f.file, f.filename or "") for f in sent.files],
            store=_store(request),
            max_file_bytes=settings.max_upload_bytes,
            max_total_bytes=settings.max_application_upload_bytes,
            max_files=settings.max_message_files,
            base_url=settings.base_url,
            now=now,
        )
    except FileTooLarge as error:
        raise _too_large(error) from None
    session.commit()
    return _message_out(applications.sent_message(session, message.id))
