"""Pages for organisations: sign-up, dashboard, colleagues and products."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from core.accounts import Role, User
from core.api import ObjectId, parse_int
from core.auth import MaybeUser, Now, Staff, client_ip, require, sign_in
from core.db import get_session
from core.downloads import stored_file
from core.errors import N_, Conflict, DomainError, Invalid, NotFound, RateLimited
from core.forms import parse_input
from core.i18n import LOCALE_NAMES, normalize_locale
from core.limits import accepts_uploads
from core.ratelimit import check_limit, record_hit
from core.storage import FileStore
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
from guidelines import service as guidelines
from guidelines.models import Guideline, GuidelineVersion
from quality_marks import applications, organizations, products
from quality_marks.geography import MEXICAN_STATES, SECTORS
from quality_marks.models import (
    Application,
    ApplicationStatus,
    Organization,
    OrgRole,
    OrgSize,
    OrgVerification,
    Product,
    RfcDispute,
    VerificationMethod,
)
from quality_marks.schemas import ColleagueInput, OrganizationForm, ProductInput, SignUpInput

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]
# People who act for organisations; the services decide which organisation and what role.
Applicant = Annotated[User, Depends(require(Role.applicant))]
# Organisation pages are read by their people and, read-only, by the secretariat.
OrgReader = Annotated[User, Depends(require(Role.applicant, Role.secretariat))]

SIGNUP_BUCKET = "signup"
SIGNUP_LIMIT = 10
SIGNUP_WINDOW = dt.timedelta(hours=1)

YES, NO = "yes", "no"
PERSON_FIELDS = ("full_name", "email")  # the password is never sent back
ORGANIZATION_FIELDS = (
    "legal_name",
    "rfc",
    "address",
    "state",
    "sector",
    "size",
    "contact_name",
    "contact_email",
    "contact_phone",
    "website",
)
COLLEAGUE_FIELDS = ("email", "full_name", "role", "locale")
PRODUCT_TEXT_FIELDS = (
    "name",
    "version",
    "identifier",
    "intended_purpose",
    "users_affected",
    "data_description",
    "legal_basis",
    "model_type",
    "human_oversight",
    "provider",
    "deployer",
)
PRODUCT_LIST_FIELDS = ("sectors", "states")

SIZE_LABELS = {
    OrgSize.micro: N_("Micro (up to 10 people)"),
    OrgSize.small: N_("Small (11 to 50 people)"),
    OrgSize.medium: N_("Medium (51 to 250 people)"),
    OrgSize.large: N_("Large (more than 250 people)"),
}
SECTOR_LABELS = {
    "salud": N_("Health"),
    "finanzas": N_("Finance"),
    "seguros": N_("Insurance"),
    "educación": N_("Education"),
    "empleo": N_("Employment"),
    "gobierno": N_("Government"),
    "justicia": N_("Justice"),
    "comercio": N_("Commerce"),
    "telecomunicaciones": N_("Telecommunications"),
    "transporte": N_("Transport"),
    "energía": N_("Energy"),
    "agricultura": N_("Agriculture"),
    "medios": N_("Media"),
    "otro": N_("Other"),
}
# What the organisation is expected to do with an application, by where it stands.
PENDING_KINDS = {
    "draft": N_("Complete the self-assessment and submit it."),
    "returned": N_("The secretariat returned it: correct what it asks and submit it again."),
    "information_requested": N_("The reviewers asked for information: answer their request."),
}
UNANSWERED = N_("Answer every question of the questionnaire.")  # the service's own message
LABELS = {
    "role_labels": organizations.ROLE_LABELS,
    "size_labels": SIZE_LABELS,
    "sector_labels": SECTOR_LABELS,
    "risk_labels": guidelines.RISK_LABELS,
    "application_status_labels": applications.STATUS_LABELS,
    "pending_kinds": PENDING_KINDS,
    "verification_labels": organizations.VERIFICATION_LABELS,
    "method_labels": organizations.METHOD_LABELS,
    "dispute_labels": organizations.DISPUTE_LABELS,
    "not_verified": organizations.NOT_VERIFIED,
}


# Form helpers ------------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _strings(form: FormData, name: str) -> list[str]:
    return [value for value in form.getlist(name) if isinstance(value, str)]


def _failure(request: Request, error: DomainError) -> tuple[dict[str, str], str | None]:
    """The field messages of a refused form, or one message for the whole form."""
    fields = error_fields(request, error) if isinstance(error, Invalid) else {}
    return fields, None if fields else error_message(request, error)


def _organization_options(request: Request) -> dict[str, list[tuple[str, str]]]:
    tr = translator_for(request)
    choose = ("", tr.gettext(N_("Choose…")))
    return {
        "state_options": [choose, *((s, s) for s in MEXICAN_STATES)],
        "sector_options": [choose, *((s, tr.gettext(SECTOR_LABELS[s])) for s in SECTORS)],
        "size_options": [choose, *((s.value, tr.gettext(SIZE_LABELS[s])) for s in OrgSize)],
    }


def _store(request: Request) -> FileStore:
    store: FileStore = request.app.state.file_store
    return store


def _upload(form: FormData, name: str) -> UploadFile | None:
    """The file chosen in a file input, if one was (a browser sends a nameless part if not)."""
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


# Sign-up and registration ------------------------------------------------------------------


def _register_page(
    request: Request,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    form_error: str | None = None,
    with_person: bool = True,
    status_code: int = 200,
) -> HTMLResponse:
    return render_page(
        request,
        "quality_marks/register.html",
        {
            **_organization_options(request),
            "values": values,
            "errors": errors,
            "form_error": form_error,
            "with_person": with_person,
        },
        status_code=status_code,
    )


@pages.get("/register", response_model=None)
def register_form(request: Request, user: MaybeUser) -> Response:
    """The public sign-up of a company's first person and their organisation."""
    if user is not None and user.role == Role.applicant:
        return redirect("/organisations/new")
    return _register_page(request, values={}, errors={})


@pages.post("/register", response_model=None)
def register(
    request: Request, session: DbSession, once: Once, now: Now, form: SubmittedForm
) -> Response:
    """Mail a confirmation link; the account and organisation open only when it is followed."""
    values = {name: _text(form, name) for name in (*PERSON_FIELDS, *ORGANIZATION_FIELDS)}
    ip = client_ip(request)
    try:
        # Every attempt counts, refused ones too: counted under the key's lock before anything
        # else, so parallel attempts cannot all slip under the limit.
        check_limit(
            session,
            bucket=SIGNUP_BUCKET,
            key=ip,
            limit=SIGNUP_LIMIT,
            window=SIGNUP_WINDOW,
            now=now,
        )
        record_hit(session, bucket=SIGNUP_BUCKET, key=ip, now=now)
        data = parse_input(SignUpInput, {**values, "password": form.get("password") or ""})
        organizations.request_sign_up(
            session,
            data=data,
            locale=translator_for(request).locale,
            base_url=request.app.state.settings.base_url,
            now=now,
        )
    except (Invalid, RateLimited) as error:
        if isinstance(error, RateLimited):
            session.rollback()
        else:
            session.commit()  # nothing but the counted attempt was written before the refusal
        errors, form_error = _failure(request, error)
        return _register_page(
            request,
            values=values,
            errors=errors,
            form_error=form_error,
            status_code=error.status_code,
        )
    once.done("/register/sent", now=now)
    session.commit()
    return redirect("/register/sent")


@pages.get("/register/sent")
def register_sent(request: Request) -> HTMLResponse:
    """The one answer to every sign-up: look for our e-mail."""
    return render_page(request, "quality_marks/register_sent.html", {})


@pages.get("/register/confirm/{token}", response_model=None)
def confirm_registration_form(request: Request, token: str) -> Response:
    """The e-mailed link's page: one button confirms.

    Opening the link changes nothing, so a mail scanner that follows links cannot use it up,
    and a link sent by someone else cannot sign a visitor into that person's account unasked.
    """
    return render_page(request, "quality_marks/register_confirm.html", {"token": token[:100]})


@pages.post("/register/confirm/{token}", response_model=None)
def confirm_registration(request: Request, session: DbSession, now: Now, token: str) -> Response:
    """Confirm the address: open the account, register the organisation, sign in."""
    confirmed = organizations.confirm_sign_up(session, token=token[:100], now=now)
    session.commit()
    sign_in(request, confirmed.user)
    if confirmed.organization is None:
        flash(
            request,
            N_(
                "Your e-mail address is confirmed and your account is open. An organisation with "
                "your RFC is already registered: if the RFC is yours, file a dispute with proof."
            ),
        )
        details = confirmed.details.model_dump(mode="json")
        return redirect(f"/organisations/disputes/new?{urlencode(details)}")
    flash(
        request,
        N_(
            "Welcome, %(name)s. Your organisation has been registered. Upload proof of its "
            "identity so that the secretariat can verify it."
        ),
        name=confirmed.user.full_name,
    )
    return redirect(f"/organisations/{confirmed.organization.id}")


# The secretariat's verification of identities and disputes (before /organisations/{id}).


def _verification_page(
    request: Request,
    session: Session,
    user: User,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tr = translator_for(request)
    return render_page(
        request,
        "quality_marks/verification.html",
        {
            **LABELS,
            "cases": organizations.awaiting_verification(session, actor=user),
            "disputes": organizations.open_disputes(session, actor=user),
            "method_options": [
                (m.value, tr.gettext(organizations.METHOD_LABELS[m])) for m in VerificationMethod
            ],
            "values": values or {},
            "errors": errors or {},
            "form_error": form_error,
        },
        status_code=status_code,
    )


@pages.get("/organisations/verification")
def verification_page(request: Request, session: DbSession, user: Staff) -> HTMLResponse:
    """Organisations awaiting verification of their identity, and open disputes over an RFC."""
    return _verification_page(request, session, user)


def _refused_decision(
    request: Request,
    session: Session,
    user: User,
    error: DomainError,
    values: dict[str, str],
    prefix: str,
) -> HTMLResponse:
    session.rollback()
    fields, form_error = _failure(request, error)
    errors = {f"{prefix}{name}": message for name, message in fields.items()}
    return _verification_page(
        request,
        session,
        user,
        values=values,
        errors=errors,
        form_error=form_error or error_message(request, error),
        status_code=error.status_code,
    )


@pages.post("/organisations/{organization_id}/verification", response_model=None)
def decide_verification_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    organization_id: ObjectId,
) -> Response:
    """The secretariat verifies an organisation's identity or refuses it, with a reason."""
    prefix = f"{organization_id}-"
    decision = _text(form, "decision")
    values = {
        f"{prefix}method": _text(form, "method"),
        f"{prefix}reason": _text(form, "reason"),
    }
    base_url = request.app.state.settings.base_url
    try:
        if decision == "verify":
            method = _text(form, "method")
            if method not in set(VerificationMethod):
                raise Invalid(fields={"method": N_("Choose one of the options.")})
            organizations.verify_organization(
                session,
                actor=user,
                organization_id=organization_id,
                method=VerificationMethod(method),
                reason=_text(form, "reason"),
                base_url=base_url,
                now=now,
            )
        else:
            organizations.reject_organization(
                session,
                actor=user,
                organization_id=organization_id,
                reason=_text(form, "reason"),
                base_url=base_url,
                now=now,
            )
    except (Invalid, Conflict) as error:
        return _refused_decision(request, session, user, error, values, prefix)
    session.commit()
    flash(
        request,
        N_("The organisation has been verified.")
        if decision == "verify"
        else N_("The organisation's identity has been refused."),
    )
    return redirect("/organisations/verification")


@pages.post("/disputes/{dispute_id}", response_model=None)
def resolve_dispute_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    dispute_id: ObjectId,
) -> Response:
    """The secretariat awards a disputed RFC to the claimant or dismisses the dispute."""
    prefix = f"d{dispute_id}-"
    award = _text(form, "decision") == "award"
    values = {f"{prefix}reason": _text(form, "reason")}
    try:
        organizations.resolve_dispute(
            session,
            actor=user,
            dispute_id=dispute_id,
            award=award,
            reason=_text(form, "reason"),
            base_url=request.app.state.settings.base_url,
            now=now,
        )
    except (Invalid, Conflict) as error:
        return _refused_decision(request, session, user, error, values, prefix)
    session.commit()
    flash(
        request,
        N_("The RFC has been awarded to the claimant.")
        if award
        else N_("The dispute is dismissed."),
    )
    return redirect("/organisations/verification")


@pages.get("/disputes/{dispute_id}/proof")
def dispute_proof_download(
    request: Request, session: DbSession, user: Staff, dispute_id: ObjectId
) -> FileResponse:
    """The proof a claimant attached to a dispute, for the secretariat."""
    dispute = session.get(RfcDispute, dispute_id)
    if dispute is None:
        raise NotFound()
    return stored_file(
        _store(request), dispute.proof_key, dispute.proof_name, dispute.proof_content_type
    )


def _dispute_page(
    request: Request,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    form_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render_page(
        request,
        "quality_marks/dispute.html",
        {
            **_organization_options(request),
            "values": values,
            "errors": errors,
            "form_error": form_error,
        },
        status_code=status_code,
    )


@pages.get("/organisations/disputes/new")
def new_dispute_form(request: Request, user: Applicant) -> HTMLResponse:
    """The form with which a second claimant of a registered RFC asks for it, with proof."""
    values = {name: str(request.query_params.get(name, ""))[:500] for name in ORGANIZATION_FIELDS}
    return _dispute_page(request, values=values, errors={})


@pages.post("/organisations/disputes", response_model=None)
@accepts_uploads
def file_dispute_page(
    request: Request, session: DbSession, user: Applicant, now: Now, form: SubmittedForm
) -> Response:
    """File a dispute over an RFC registered by another organisation."""
    values = {name: _text(form, name) for name in (*ORGANIZATION_FIELDS, "statement")}
    upload = _upload(form, "proof")
    store = _store(request)
    try:
        dispute = organizations.file_dispute(
            session,
            actor=user,
            data=parse_input(OrganizationForm, {n: values[n] for n in ORGANIZATION_FIELDS}),
            statement=values["statement"],
            stream=upload.file if upload else None,
            filename=(upload.filename or "") if upload else "",
            store=store,
            max_bytes=request.app.state.settings.max_upload_bytes,
            now=now,
        )
    except (Invalid, Conflict) as error:
        session.rollback()
        errors, form_error = _failure(request, error)
        return _dispute_page(
            request,
            values=values,
            errors=errors,
            form_error=form_error,
            status_code=error.status_code,
        )
    try:
        session.commit()
    except Exception:
        store.delete(dispute.proof_key)
        raise
    flash(
        request,
        N_("Your dispute has been filed. The secretariat will decide and tell you by e-mail."),
    )
    return redirect("/organisation")


@pages.get("/organisations/new")
def new_organization_form(request: Request, user: Applicant) -> HTMLResponse:
    """The form with which a signed-in applicant registers an organisation."""
    return _register_page(request, values={}, errors={}, with_person=False)


@pages.post("/organisations/new", response_model=None)
def register_organization_page(
    request: Request, session: DbSession, once: Once, user: Applicant, now: Now, form: SubmittedForm
) -> Response:
    """Register an organisation; the applicant becomes its owner."""
    values = {name: _text(form, name) for name in ORGANIZATION_FIELDS}
    try:
        organization = organizations.register_organization(
            session, actor=user, data=parse_input(OrganizationForm, values), now=now
        )
    except Invalid as error:
        session.rollback()
        errors, form_error = _failure(request, error)
        return _register_page(
            request,
            values=values,
            errors=errors,
            form_error=form_error,
            with_person=False,
            status_code=422,
        )
    once.done(f"/organisations/{organization.id}", now=now)
    session.commit()
    flash(request, N_("Your organisation has been registered."))
    return redirect(f"/organisations/{organization.id}")


# Dashboards --------------------------------------------------------------------------------


@pages.get("/organisation", response_model=None)
def my_organization(request: Request, session: DbSession, user: Applicant) -> Response:
    """The applicant's way in: their organisation, a list of several, or a call to register."""
    mine = organizations.my_organizations(session, user)
    invitations = organizations.my_invitations(session, user)
    if len(mine) == 1 and not invitations:
        return redirect(f"/organisations/{mine[0][0].id}")
    return render_page(
        request,
        "quality_marks/dashboard.html",
        {
            **LABELS,
            "organizations": mine,
            "invitations": invitations,
            "disputes": organizations.my_disputes(session, user),
        },
    )


@pages.post("/invitations/{invitation_id}/{answer}", response_model=None)
def answer_invitation_page(
    request: Request,
    session: DbSession,
    user: Applicant,
    now: Now,
    form: SubmittedForm,
    invitation_id: ObjectId,
    answer: str,
) -> Response:
    """The invited person accepts or declines an invitation to an organisation."""
    if answer not in ("accept", "decline"):
        raise NotFound()
    invitation = organizations.answer_invitation(
        session, actor=user, invitation_id=invitation_id, accept=answer == "accept", now=now
    )
    session.commit()
    if answer == "accept":
        flash(request, N_("You now act for the organisation."))
        return redirect(f"/organisations/{invitation.organization_id}")
    flash(request, N_("The invitation has been declined."))
    return redirect("/organisation")


@dataclass(frozen=True)
class PendingWork:
    """An application waiting for the organisation: why, and how far its self-assessment got."""

    application: Application
    kind: str
    complete: int
    total: int
    by_principle: dict[str, dict[str, int]]


def _pending_kind(application: Application) -> str | None:
    if application.status == ApplicationStatus.draft:
        return "returned" if application.return_reason else "draft"
    if application.status == ApplicationStatus.information_requested:
        return "information_requested"
    return None


def _pending_work(session: Session, items: list[Application]) -> list[PendingWork]:
    kinds = {a.id: kind for a in items if (kind := _pending_kind(a)) is not None}
    pending = [a for a in items if a.id in kinds]
    checklists = applications.checklists(session, pending)
    work = []
    for application in pending:
        counts = applications.completeness(checklists[application.id])
        work.append(
            PendingWork(
                application=application,
                kind=kinds[application.id],
                complete=sum(c["complete"] for c in counts.values()),
                total=sum(c["total"] for c in counts.values()),
                by_principle=counts,
            )
        )
    return work


def _version_titles(request: Request, session: Session, version_ids: set[int]) -> dict[int, str]:
    """Guideline title and version number of each version, in the reader's language."""
    if not version_ids:
        return {}
    tr = translator_for(request)
    rows = session.execute(
        select(GuidelineVersion.id, GuidelineVersion.number, Guideline.title_es, Guideline.title_en)
        .join(Guideline, Guideline.id == GuidelineVersion.guideline_id)
        .where(GuidelineVersion.id.in_(version_ids))
    )
    return {
        version_id: tr.gettext(
            N_("%(title)s, version %(number)s"), title=tr.pick(title_es, title_en), number=number
        )
        for version_id, number, title_es, title_en in rows
    }


def _organization_page(
    request: Request,
    session: Session,
    user: User,
    organization_id: int,
    *,
    invite_values: dict[str, str] | None = None,
    invite_errors: dict[str, str] | None = None,
    invite_error: str | None = None,
    proof_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    organization = organizations.get_organization(session, user, organization_id)
    member = organizations.membership(session, user, organization_id)
    items = applications.list_applications(session, organization_id=organization_id)
    tr = translator_for(request)
    return render_page(
        request,
        "quality_marks/organization.html",
        {
            **LABELS,
            "organization": organization,
            "my_role": member.role if member else None,
            "can_edit": member is not None and member.role in organizations.EDITING_ROLES,
            "can_invite": member is not None and member.role == OrgRole.owner,
            "people": organizations.members_of(session, organization_id),
            "invited": organizations.invited_people(session, organization_id),
            "verified": organization.verification == OrgVerification.verified,
            "proof_error": proof_error,
            "products": {p.id: p for p in products.list_products(session, organization_id)},
            "applications": items,
            "pending": _pending_work(session, items),
            "version_titles": _version_titles(
                request, session, {a.guideline_version_id for a in items}
            ),
            "role_options": [(r.value, tr.gettext(organizations.ROLE_LABELS[r])) for r in OrgRole],
            "locale_options": list(LOCALE_NAMES.items()),
            "invite_values": invite_values or {"role": OrgRole.editor.value, "locale": tr.locale},
            "invite_errors": invite_errors or {},
            "invite_error": invite_error,
        },
        status_code=status_code,
    )


@pages.get("/organisations/{organization_id}")
def organization_page(
    request: Request, session: DbSession, user: OrgReader, organization_id: ObjectId
) -> HTMLResponse:
    """An organisation's dashboard: details, people, products, applications, what is expected."""
    return _organization_page(request, session, user, organization_id)


@pages.post("/organisations/{organization_id}/members", response_model=None)
def invite_colleague_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Applicant,
    now: Now,
    form: SubmittedForm,
    organization_id: ObjectId,
) -> Response:
    """An owner brings a colleague into the organisation."""
    organizations.require_member(session, user, organization_id, OrgRole.owner)
    values = {name: _text(form, name) for name in COLLEAGUE_FIELDS}
    try:
        data = parse_input(ColleagueInput, values)
        colleague = organizations.invite_colleague(
            session,
            actor=user,
            organization_id=organization_id,
            email=data.email,
            full_name=data.full_name,
            role=data.role,
            locale=normalize_locale(values["locale"]) or translator_for(request).locale,
            base_url=request.app.state.settings.base_url,
            now=now,
        )
    except (Invalid, Conflict, RateLimited) as error:
        session.rollback()
        errors, form_error = _failure(request, error)
        return _organization_page(
            request,
            session,
            user,
            organization_id,
            invite_values=values,
            invite_errors=errors,
            invite_error=form_error,
            status_code=error.status_code,
        )
    once.done(f"/organisations/{organization_id}", now=now)
    session.commit()
    flash(
        request,
        N_(
            "%(name)s has been invited. Someone without an account receives an e-mail with a "
            "link to choose a password; someone with an account accepts or declines the "
            "invitation on their organisation page."
        ),
        name=colleague.full_name,
    )
    return redirect(f"/organisations/{organization_id}")


# Identity: proof, verification by the secretariat, disputes over an RFC ------------------


@pages.post("/organisations/{organization_id}/proof", response_model=None)
@accepts_uploads
def upload_proof_page(
    request: Request,
    session: DbSession,
    user: Applicant,
    now: Now,
    form: SubmittedForm,
    organization_id: ObjectId,
) -> Response:
    """An owner uploads proof of the organisation's identity for the secretariat."""
    organizations.require_member(session, user, organization_id, OrgRole.owner)
    upload = _upload(form, "proof")
    store = _store(request)
    try:
        if upload is None:
            raise Invalid(N_("Choose the file to upload."))
        organization = organizations.upload_proof(
            session,
            actor=user,
            organization_id=organization_id,
            stream=upload.file,
            filename=upload.filename or "",
            store=store,
            max_bytes=request.app.state.settings.max_upload_bytes,
            now=now,
        )
    except (Invalid, Conflict) as error:
        session.rollback()
        return _organization_page(
            request,
            session,
            user,
            organization_id,
            proof_error=error_message(request, error),
            status_code=error.status_code,
        )
    try:
        session.commit()
    except Exception:
        store.delete(organization.proof_key or "")
        raise
    flash(request, N_("The proof has been uploaded. The secretariat will verify it."))
    return redirect(f"/organisations/{organization_id}")


@pages.get("/organisations/{organization_id}/proof")
def proof_download(
    request: Request, session: DbSession, user: OrgReader, organization_id: ObjectId
) -> FileResponse:
    """The organisation's proof of identity, for its people and the secretariat."""
    organization = organizations.get_organization(session, user, organization_id)
    if organization.proof_key is None:
        raise NotFound()
    return stored_file(
        _store(request),
        organization.proof_key,
        organization.proof_name,
        organization.proof_content_type,
    )


# Products ----------------------------------------------------------------------------------


def _require_editor(session: Session, user: User, organization_id: int) -> Organization:
    """The organisation, if the person may change its products (owners and editors)."""
    organizations.require_member(session, user, organization_id, *organizations.EDITING_ROLES)
    return organizations.get_organization(session, user, organization_id)


def _risk_field(key: str) -> str:
    return f"risk_{key}"


def _product_values(form: FormData) -> dict[str, Any]:
    """What the product form sent, kept as typed for showing it again."""
    values: dict[str, Any] = {name: _text(form, name) for name in PRODUCT_TEXT_FIELDS}
    values.update({name: _strings(form, name) for name in PRODUCT_LIST_FIELDS})
    values["personal_data"] = _text(form, "personal_data")
    for question in products.RISK_QUESTIONS:
        values[_risk_field(question.key)] = _text(form, _risk_field(question.key))
    return values


def _product_input(values: dict[str, Any]) -> ProductInput:
    """The product form's values as service input; unanswered yes/no questions stay missing."""
    data: dict[str, Any] = {name: values[name] for name in PRODUCT_TEXT_FIELDS}
    data.update({name: values[name] for name in PRODUCT_LIST_FIELDS})
    data["risk_answers"] = {
        q.key: values[_risk_field(q.key)] == YES
        for q in products.RISK_QUESTIONS
        if values[_risk_field(q.key)] in (YES, NO)
    }
    if values["personal_data"] in (YES, NO):
        data["personal_data"] = values["personal_data"] == YES
    try:
        return parse_input(ProductInput, data)
    except Invalid as error:
        # Name unanswered questions now too, not only after the other fields are put right.
        if len(data["risk_answers"]) < len(products.RISK_QUESTIONS):
            error.fields.setdefault("risk_answers", UNANSWERED)
        raise


def _values_of(product: Product) -> dict[str, Any]:
    """A stored product as form values."""
    values: dict[str, Any] = {name: getattr(product, name) for name in PRODUCT_TEXT_FIELDS}
    values.update({name: list(getattr(product, name)) for name in PRODUCT_LIST_FIELDS})
    values["personal_data"] = YES if product.personal_data else NO
    for question in products.RISK_QUESTIONS:
        answered = product.risk_answers.get(question.key)
        values[_risk_field(question.key)] = YES if answered else NO
    return values


def _product_form(
    request: Request,
    organization: Organization,
    product: Product | None,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    form_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tr = translator_for(request)
    return render_page(
        request,
        "quality_marks/product_form.html",
        {
            **LABELS,
            "organization": organization,
            "product": product,
            "action": f"/products/{product.id}"
            if product
            else f"/organisations/{organization.id}/products",
            "values": values,
            "errors": errors,
            "form_error": form_error,
            "sector_options": [(s, tr.gettext(SECTOR_LABELS[s])) for s in SECTORS],
            "state_options": [(s, s) for s in MEXICAN_STATES],
            "questions": products.RISK_QUESTIONS,
            "risk_field": _risk_field,
        },
        status_code=status_code,
    )


@pages.get("/organisations/{organization_id}/products/new")
def new_product_form(
    request: Request, session: DbSession, user: Applicant, organization_id: ObjectId
) -> HTMLResponse:
    """The form that describes a new AI product, with the risk questionnaire."""
    organization = _require_editor(session, user, organization_id)
    return _product_form(request, organization, None, values={}, errors={})


@pages.post("/organisations/{organization_id}/products", response_model=None)
def create_product_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Applicant,
    now: Now,
    form: SubmittedForm,
    organization_id: ObjectId,
) -> Response:
    """Describe a new AI product of the organisation."""
    organization = _require_editor(session, user, organization_id)
    values = _product_values(form)
    try:
        product = products.create_product(
            session,
            actor=user,
            organization_id=organization_id,
            data=_product_input(values),
            now=now,
        )
    except Invalid as error:
        session.rollback()
        errors, form_error = _failure(request, error)
        return _product_form(
            request,
            organization,
            None,
            values=values,
            errors=errors,
            form_error=form_error,
            status_code=422,
        )
    once.done(f"/products/{product.id}", now=now)
    session.commit()
    flash(request, N_("The product has been saved. Its risk level comes from your answers."))
    return redirect(f"/products/{product.id}")


@pages.get("/products/{product_id}/edit")
def edit_product_form(
    request: Request, session: DbSession, user: Applicant, product_id: ObjectId
) -> HTMLResponse:
    """The form that changes a product's description."""
    product = products.get_product(session, user, product_id)
    organization = _require_editor(session, user, product.organization_id)
    return _product_form(request, organization, product, values=_values_of(product), errors={})


@pages.post("/products/{product_id}", response_model=None)
def update_product_page(
    request: Request,
    session: DbSession,
    user: Applicant,
    now: Now,
    form: SubmittedForm,
    product_id: ObjectId,
) -> Response:
    """Save a product's changed description."""
    product = products.get_product(session, user, product_id)
    organization = _require_editor(session, user, product.organization_id)
    values = _product_values(form)
    try:
        products.update_product(
            session, actor=user, product_id=product_id, data=_product_input(values), now=now
        )
    except Invalid as error:
        session.rollback()
        errors, form_error = _failure(request, error)
        return _product_form(
            request,
            organization,
            product,
            values=values,
            errors=errors,
            form_error=form_error,
            status_code=422,
        )
    session.commit()
    flash(request, N_("The product has been saved. Its risk level comes from your answers."))
    return redirect(f"/products/{product_id}")


def _version_options(request: Request, session: Session, now: dt.datetime) -> list[tuple[str, str]]:
    """The guideline versions an application may start on, as select options."""
    tr = translator_for(request)
    options = []
    for guideline in guidelines.list_guidelines(session):
        title = tr.pick(guideline.title_es, guideline.title_en)
        standing = guidelines.standings(guideline.versions, now)
        for version in applications.accepted_versions(guideline, now):
            # A version in its transition period is stored as adopted but shown as superseded.
            status = tr.gettext(guidelines.STATUS_LABELS[standing[version.id].status])
            options.append(
                (
                    str(version.id),
                    tr.gettext(
                        N_("%(title)s, version %(number)s (%(status)s)"),
                        title=title,
                        number=version.number,
                        status=status,
                    ),
                )
            )
    return options


def _product_page(
    request: Request,
    session: Session,
    user: User,
    product: Product,
    now: dt.datetime,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    organization = organizations.get_organization(session, user, product.organization_id)
    member = organizations.membership(session, user, product.organization_id)
    can_edit = member is not None and member.role in organizations.EDITING_ROLES
    items = [
        a
        for a in applications.list_applications(session, organization_id=organization.id)
        if a.product_id == product.id
    ]
    return render_page(
        request,
        "quality_marks/product.html",
        {
            **LABELS,
            "organization": organization,
            "product": product,
            "can_edit": can_edit,
            "questions": products.RISK_QUESTIONS,
            # The yes answers whose level is the product's: they are why it has that level.
            "decisive": [
                q.key
                for q in products.RISK_QUESTIONS
                if product.risk_answers.get(q.key) and q.level == product.risk_level
            ],
            "applications": items,
            "version_titles": _version_titles(
                request, session, {a.guideline_version_id for a in items}
            ),
            "version_options": _version_options(request, session, now) if can_edit else [],
            "values": values or {},
            "errors": errors or {},
            "form_error": form_error,
        },
        status_code=status_code,
    )


@pages.get("/products/{product_id}")
def product_page(
    request: Request, session: DbSession, user: OrgReader, now: Now, product_id: ObjectId
) -> HTMLResponse:
    """A product: its description, its risk level and why, its applications."""
    product = products.get_product(session, user, product_id)
    return _product_page(request, session, user, product, now)


def _chosen_version(session: Session, raw: str) -> GuidelineVersion:
    version_id = parse_int(raw)
    version = session.get(GuidelineVersion, version_id) if version_id is not None else None
    if version is None:
        raise Invalid(fields={"version": N_("Choose one of the options.")})
    return version


@pages.post("/products/{product_id}/applications", response_model=None)
def start_application_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Applicant,
    now: Now,
    form: SubmittedForm,
    product_id: ObjectId,
) -> Response:
    """Start an application for the product's quality mark."""
    product = products.get_product(session, user, product_id)
    _require_editor(session, user, product.organization_id)
    values = {"version": _text(form, "version")}
    try:
        application = applications.start_application(
            session,
            actor=user,
            product_id=product.id,
            guideline_version=_chosen_version(session, values["version"]),
            now=now,
        )
    except (Invalid, Conflict) as error:
        session.rollback()
        errors, form_error = _failure(request, error)
        return _product_page(
            request,
            session,
            user,
            product,
            now,
            values=values,
            errors=errors,
            form_error=form_error,
            status_code=error.status_code,
        )
    once.done(f"/applications/{application.id}", now=now)
    session.commit()
    flash(
        request,
        N_("The application has been started. Answer the checklist and submit it when complete."),
    )
    return redirect(f"/applications/{application.id}")
