"""The quality-marks API under /api/v1: organisations, products and applications."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUploadFile

from core.accounts import Role, User
from core.api import ERROR_RESPONSES, ErrorBody, ObjectId, Page, PageParams, page_params, paginate
from core.auth import Now, SignedIn, require
from core.db import get_session
from core.downloads import stored_file
from core.errors import N_, DomainError, Invalid, NotFound
from core.forms import parse_input
from core.i18n import Translator
from core.limits import accepts_uploads
from core.storage import FileStore, FileTooLarge
from core.web import translator_for
from guidelines import service as guideline_service
from guidelines.models import Guideline, GuidelineVersion, RiskLevel
from quality_marks import applications, organizations, products
from quality_marks.models import (
    Application,
    ApplicationStatus,
    Evidence,
    Message,
    MessageAttachment,
    Organization,
    OrganizationMember,
    Product,
)
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
    OrganizationDetailOut,
    OrganizationInput,
    OrganizationOut,
    ProductDetailOut,
    ProductInput,
    ProductOut,
    RiskQuestionnaireOut,
    RiskQuestionOut,
    WithdrawInput,
)

api = APIRouter(prefix="/api/v1", tags=["quality_marks"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]
Pagination = Annotated[PageParams, Depends(page_params)]
Applicant = Annotated[User, Depends(require(Role.applicant))]
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


class UploadTooLarge(DomainError):
    """An upload over a size limit; the API answers 413 with the limit in the message."""

    status_code = 413
    code = "too_large"


def _too_large(error: FileTooLarge) -> UploadTooLarge:
    return UploadTooLarge(error.message, **error.params)


def _page_fields(total: int, params: PageParams) -> dict[str, int]:
    return {"total": total, "page": params.page, "page_size": params.page_size}


def _member_of(user: User) -> Select[int]:
    """The ids of the organisations the person acts for."""
    return select(OrganizationMember.organization_id).where(OrganizationMember.user_id == user.id)


def _commit_or_remove_files(session: Session, store: FileStore, keys: Iterable[str]) -> None:
    """Commit; files stored for a transaction that fails are removed again."""
    try:
        session.commit()
    except Exception:
        for key in keys:
            store.delete(key)
        raise


# Organisations and products ----------------------------------------------------------------


@api.get("/organisations", response_model=Page[OrganizationOut])
def api_organisations(
    session: DbSession, user: SignedIn, params: Pagination
) -> Page[OrganizationOut]:
    """The organisations the caller acts for; the secretariat sees every one."""
    stmt = select(Organization).order_by(Organization.legal_name, Organization.id)
    if not user.has_role(Role.secretariat):
        stmt = stmt.where(Organization.id.in_(_member_of(user)))
    rows, total = paginate(session, stmt, params)
    return Page[OrganizationOut](
        items=[OrganizationOut.model_validate(row) for row in rows], **_page_fields(total, params)
    )


def _organisation_out(
    session: Session, user: User, organization: Organization
) -> OrganizationDetailOut:
    member = organizations.membership(session, user, organization.id)
    return OrganizationDetailOut.model_validate(organization).model_copy(
        update={"role": member.role if member else None}
    )


@api.post("/organisations", response_model=OrganizationDetailOut, status_code=201)
def api_register_organisation(
    session: DbSession, user: Applicant, now: Now, body: OrganizationInput
) -> OrganizationDetailOut:
    """An applicant account registers its organisation and becomes its owner."""
    organization = organizations.register_organization(session, actor=user, data=body, now=now)
    session.commit()
    return _organisation_out(session, user, organization)


@api.get("/organisations/{organization_id}", response_model=OrganizationDetailOut)
def api_organisation(
    session: DbSession, user: SignedIn, organization_id: ObjectId
) -> OrganizationDetailOut:
    """An organisation, for its people and the secretariat."""
    organization = organizations.get_organization(session, user, organization_id)
    return _organisation_out(session, user, organization)


@api.get("/organisations/{organization_id}/products", response_model=Page[ProductOut])
def api_organisation_products(
    session: DbSession, user: SignedIn, params: Pagination, organization_id: ObjectId
) -> Page[ProductOut]:
    """An organisation's AI products."""
    organization = organizations.get_organization(session, user, organization_id)
    stmt = (
        select(Product)
        .where(Product.organization_id == organization.id)
        .order_by(Product.name, Product.id)
    )
    rows, total = paginate(session, stmt, params)
    return Page[ProductOut](
        items=[ProductOut.model_validate(row) for row in rows], **_page_fields(total, params)
    )


@api.post(
    "/organisations/{organization_id}/products", response_model=ProductDetailOut, status_code=201
)
def api_create_product(
    session: DbSession, user: SignedIn, now: Now, organization_id: ObjectId, body: ProductInput
) -> Product:
    """Describe a new AI product; its risk level follows from the questionnaire answers."""
    product = products.create_product(
        session, actor=user, organization_id=organization_id, data=body, now=now
    )
    session.commit()
    return product


@api.get("/products/{product_id}", response_model=ProductDetailOut)
def api_product(session: DbSession, user: SignedIn, product_id: ObjectId) -> Product:
    """A product with its whole description."""
    return products.get_product(session, user, product_id)


@api.put("/products/{product_id}", response_model=ProductDetailOut)
def api_update_product(
    session: DbSession, user: SignedIn, now: Now, product_id: ObjectId, body: ProductInput
) -> Product:
    """Replace a product's description (applications keep the risk level they started with)."""
    product = products.update_product(
        session, actor=user, product_id=product_id, data=body, now=now
    )
    session.commit()
    return product


@api.get("/risk-questionnaire", response_model=RiskQuestionnaireOut)
def api_risk_questionnaire(request: Request) -> RiskQuestionnaireOut:
    """The questions that set a product's risk level, and the level each yes leads to."""
    tr = translator_for(request)
    return RiskQuestionnaireOut(
        default_level=RiskLevel.minimal,
        questions=[
            RiskQuestionOut(key=q.key, text=tr.gettext(q.text), level=q.level)
            for q in products.RISK_QUESTIONS
        ],
    )


# Applications ------------------------------------------------------------------------------


def _version_labels(session: Session, version_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Guideline slug and version number of each version id."""
    rows = session.execute(
        select(GuidelineVersion.id, Guideline.slug, GuidelineVersion.number)
        .join(Guideline, Guideline.id == GuidelineVersion.guideline_id)
        .where(GuidelineVersion.id.in_(set(version_ids)))
    )
    return {version_id: (slug, number) for version_id, slug, number in rows}


def _summary_fields(application: Application, labels: dict[int, tuple[str, str]]) -> dict[str, Any]:
    slug, number = labels[application.guideline_version_id]
    return {
        "id": application.id,
        "organization_id": application.organization_id,
        "product_id": application.product_id,
        "guideline": slug,
        "version": number,
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
    request: Request, session: Session, user: User, application: Application
) -> ApplicationOut:
    tr = translator_for(request)
    items = applications.checklist(session, application)
    labels = _version_labels(session, [application.guideline_version_id])
    return ApplicationOut(
        **_summary_fields(application, labels),
        return_reason=application.return_reason,
        next_actions=applications.next_actions(session, application, user),
        completeness=applications.completeness(items),
        missing={
            item.criterion.code: tr.gettext(item.missing[0]) for item in items if item.missing
        },
        checklist=[_item_out(tr, item) for item in items],
    )


def _guideline_version(session: Session, user: User, body: ApplicationInput) -> GuidelineVersion:
    """The version named in the request; one the caller cannot see is not a valid choice."""
    try:
        return guideline_service.get_version(
            session, slug=body.guideline, number=body.version, viewer=user
        )
    except NotFound:
        raise Invalid(
            fields={"version": N_("Applications start on the version in force of the guideline.")}
        ) from None


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
    product = products.get_product(session, user, product_id)
    application = applications.start_application(
        session,
        actor=user,
        product_id=product.id,
        guideline_version=_guideline_version(session, user, body),
        now=now,
    )
    session.commit()
    return _application_out(request, session, user, application)


@api.get("/applications", response_model=Page[ApplicationSummaryOut])
def api_applications(
    session: DbSession,
    user: SignedIn,
    params: Pagination,
    status: Annotated[ApplicationStatus | None, Query()] = None,
) -> Page[ApplicationSummaryOut]:
    """Applications of the caller's organisations (the secretariat: all), newest change first."""
    stmt = select(Application).order_by(Application.updated_at.desc(), Application.id.desc())
    if not user.has_role(Role.secretariat):
        stmt = stmt.where(Application.organization_id.in_(_member_of(user)))
    if status is not None:
        stmt = stmt.where(Application.status == status)
    rows, total = paginate(session, stmt, params)
    labels = _version_labels(session, (row.guideline_version_id for row in rows))
    return Page[ApplicationSummaryOut](
        items=[ApplicationSummaryOut(**_summary_fields(row, labels)) for row in rows],
        **_page_fields(total, params),
    )


@api.get("/applications/{application_id}", response_model=ApplicationOut)
def api_application(
    request: Request, session: DbSession, user: SignedIn, application_id: ObjectId
) -> ApplicationOut:
    """An application: its checklist with answers and evidence, what is missing, what is next."""
    application = applications.get_application(session, user, application_id)
    return _application_out(request, session, user, application)


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
    (item,) = [
        item
        for item in applications.checklist(session, application)
        if item.criterion.code == criterion_code
    ]
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
    return _application_out(request, session, user, application)


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
    settings = request.app.state.settings
    store: FileStore = request.app.state.file_store
    try:
        evidence = applications.add_evidence_file(
            session,
            actor=user,
            application=application,
            criterion_code=sent.criterion_code,
            stream=sent.file.file,
            filename=sent.file.filename or "",
            public=sent.public,
            store=store,
            max_file_bytes=settings.max_upload_bytes,
            max_total_bytes=settings.max_application_upload_bytes,
            now=now,
        )
    except FileTooLarge as error:
        raise _too_large(error) from None
    _commit_or_remove_files(session, store, [evidence.stored_key] if evidence.stored_key else [])
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
    stored_key = session.scalar(
        select(Evidence.stored_key).where(
            Evidence.id == evidence_id, Evidence.application_id == application.id
        )
    )
    applications.remove_evidence(
        session, actor=user, application=application, evidence_id=evidence_id, now=now
    )
    session.commit()
    if stored_key:  # never part of a submission: only evidence of the open round is removed
        request.app.state.file_store.delete(stored_key)
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
    evidence, application = applications.evidence_for_download(
        session, user=user, evidence_id=evidence_id
    )
    if application.id != application_id or evidence.stored_key is None:
        raise NotFound()
    store: FileStore = request.app.state.file_store
    return stored_file(store, evidence.stored_key, evidence.original_name, evidence.content_type)


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
        base_url=request.app.state.settings.base_url,
        now=now,
    )
    session.commit()
    return _application_out(request, session, user, application)


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
    )
    session.commit()
    return _application_out(request, session, user, application)


# Messages ----------------------------------------------------------------------------------


@api.get("/applications/{application_id}/messages", response_model=Page[MessageOut])
def api_messages(
    session: DbSession, user: SignedIn, params: Pagination, application_id: ObjectId
) -> Page[MessageOut]:
    """The application's thread with the secretariat, oldest first."""
    application = applications.get_application(session, user, application_id)
    rows = applications.thread(session, application)
    start = (params.page - 1) * params.page_size
    return Page[MessageOut](
        items=[
            _message_out(message, author, attachments)
            for message, author, attachments in rows[start : start + params.page_size]
        ],
        **_page_fields(len(rows), params),
    )


def _message_out(
    message: Message, author: User, attachments: list[MessageAttachment]
) -> MessageOut:
    return MessageOut(
        id=message.id,
        author=author.full_name,
        from_secretariat=message.from_secretariat,
        is_request=message.is_request,
        body=message.body,
        created_at=message.created_at,
        attachments=[AttachmentOut.model_validate(a) for a in attachments],
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
    store: FileStore = request.app.state.file_store
    try:
        message = applications.post_message(
            session,
            actor=user,
            application=application,
            body=data.body,
            attachments=[(f.file, f.filename or "") for f in sent.files],
            store=store,
            max_file_bytes=request.app.state.settings.max_upload_bytes,
            max_total_bytes=request.app.state.settings.max_application_upload_bytes,
            max_files=request.app.state.settings.max_message_files,
            base_url=request.app.state.settings.base_url,
            now=now,
        )
    except FileTooLarge as error:
        raise _too_large(error) from None
    attachments = list(
        session.scalars(
            select(MessageAttachment)
            .where(MessageAttachment.message_id == message.id)
            .order_by(MessageAttachment.id)
        )
    )
    _commit_or_remove_files(session, store, [a.stored_key for a in attachments])
    return _message_out(message, user, attachments)
