"""Pages for organisations: the dashboard, colleagues, proof of identity and its verification."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from core.accounts import Role, User
from core.api import ObjectId
from core.auth import Now, Staff, require
from core.db import get_session
from core.downloads import stored_file
from core.errors import N_, Conflict, DomainError, Invalid, NotFound, RateLimited
from core.forms import parse_input
from core.i18n import LOCALE_NAMES, normalize_locale
from core.limits import accepts_uploads
from core.pagination import PageOf, page_number
from core.storage import FileStore
from core.submissions import Once
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
from guidelines import service as guidelines
from quality_marks import applications, organization_list, organizations, products, verification
from quality_marks.certificate_history import STATUS_LABELS as CERTIFICATE_STATUS_LABELS
from quality_marks.models import Application, Organization, OrgRole, Product, VerificationMethod
from quality_marks.schemas import ColleagueInput

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]
# People who act for organisations; the services decide which organisation and what role.
Applicant = Annotated[User, Depends(require(Role.applicant))]
# Organisation pages are read by their people and, read-only, by the secretariat.
OrgReader = Annotated[User, Depends(require(Role.applicant, Role.secretariat))]

COLLEAGUE_FIELDS = ("email", "full_name", "role", "locale")
# What the organisation is expected to do with an application, by where it stands.
PENDING_KINDS = {
    "draft": N_("Complete the self-assessment and submit it."),
    "returned": N_("The secretariat returned it: correct what it asks and submit it again."),
    "information_requested": N_("The reviewers asked for information: answer their request."),
}
INVITED = N_(
    "%(name)s has been invited. Someone without an account receives an e-mail with a "
    "link to choose a password; someone with an account accepts or declines the "
    "invitation on their organisation page."
)
LABELS = {
    "role_labels": organizations.ROLE_LABELS,
    "size_labels": organizations.SIZE_LABELS,
    "sector_labels": organizations.SECTOR_LABELS,
    "risk_labels": guidelines.RISK_LABELS,
    "application_status_labels": applications.STATUS_LABELS,
    "pending_kinds": PENDING_KINDS,
    "verification_labels": organizations.VERIFICATION_LABELS,
    "method_labels": organizations.METHOD_LABELS,
    "dispute_labels": organizations.DISPUTE_LABELS,
    "not_verified": organizations.NOT_VERIFIED,
    "certificate_labels": CERTIFICATE_STATUS_LABELS,
}


def file_store(request: Request) -> FileStore:
    """The application's store of uploaded files."""
    store: FileStore = request.app.state.file_store
    return store


def chosen_file(form: FormData, name: str) -> UploadFile | None:
    """The file chosen in a file input, if one was (a browser sends a nameless part if not)."""
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def version_titles(request: Request, session: Session, items: list[Application]) -> dict[int, str]:
    """The guideline title and version number of each application, in the reader's language."""
    tr = translator_for(request)
    names = organizations.version_names(session, {a.guideline_version_id for a in items})
    return {
        version_id: tr.gettext(
            N_("%(title)s, version %(number)s"),
            title=tr.pick(name.title_es, name.title_en),
            number=name.number,
        )
        for version_id, name in names.items()
    }


# The secretariat's verification of identities and disputes (before /organisations/{id}) ---


def _verification_page(
    request: Request,
    session: Session,
    user: User,
    form: PageForm | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    tr = translator_for(request)
    form = form or PageForm()
    pages = [page_number(request.query_params.get(name)) for name in ("page", "disputes_page")]
    return render_page(
        request,
        "quality_marks/verification.html",
        {
            **LABELS,
            "cases": organizations.awaiting_verification(
                session, actor=user, page=pages[0], disputes_page=pages[1]
            ),
            "disputes": organizations.open_disputes(
                session, actor=user, page=pages[1], cases_page=pages[0]
            ),
            "method_options": [
                (m.value, tr.gettext(organizations.METHOD_LABELS[m])) for m in VerificationMethod
            ],
            "values": form.values,
            # Each case has its own form: the form's name (its case) prefixes its fields.
            "errors": {f"{form.name}{name}": text for name, text in form.errors.items()},
            # The whole-form message shows even beside field messages: it says which case.
            "form_error": form.message or None,
        },
        status_code=status_code,
    )


def _refused_decision(
    request: Request,
    session: Session,
    user: User,
    error: DomainError,
    values: dict[str, str],
    prefix: str,
) -> HTMLResponse:
    form = refuse_form(request, session, error, values, name=prefix)
    return _verification_page(request, session, user, form, status_code=error.status_code)


@pages.get("/organisations")
def organization_list_page(
    request: Request,
    session: DbSession,
    user: Staff,
    q: str = "",
    verification: str = "",
    page: str = "",
) -> HTMLResponse:
    """Every organisation for the secretariat, searched by name or RFC, a page at a time."""
    filters = organization_list.organization_filters(text=q, verification=verification)
    listed = organization_list.organization_list(
        session, actor=user, filters=filters, page=page_number(page)
    )
    context = {**LABELS, "organizations": listed, "filters": filters, "values": filters.query()}
    return render_page(request, "quality_marks/organization_list.html", context)


@pages.get("/organisations/verification")
def verification_page(request: Request, session: DbSession, user: Staff) -> HTMLResponse:
    """Organisations awaiting verification of their identity, and open disputes over an RFC."""
    return _verification_page(request, session, user)


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
    decision, method, reason = (field_text(form, n) for n in ("decision", "method", "reason"))
    values = {f"{prefix}method": method, f"{prefix}reason": reason}
    try:
        organizations.decide_verification(
            session,
            actor=user,
            organization_id=organization_id,
            decision=decision,
            method=method,
            reason=reason,
            base_url=service_settings(request).base_url,
            now=now,
        )
    except (Invalid, Conflict) as error:
        return _refused_decision(request, session, user, error, values, prefix)
    session.commit()
    verified = decision == "verify"
    refused = N_("The organisation's identity has been refused.")
    flash(request, N_("The organisation has been verified.") if verified else refused)
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
    award = field_text(form, "decision") == "award"
    values = {f"{prefix}reason": field_text(form, "reason")}
    try:
        organizations.resolve_dispute(
            session,
            actor=user,
            dispute_id=dispute_id,
            award=award,
            reason=field_text(form, "reason"),
            base_url=service_settings(request).base_url,
            now=now,
        )
    except (Invalid, Conflict) as error:
        return _refused_decision(request, session, user, error, values, prefix)
    session.commit()
    dismissed = N_("The dispute is dismissed.")
    flash(request, N_("The RFC has been awarded to the claimant.") if award else dismissed)
    return redirect("/organisations/verification")


@pages.get("/disputes/{dispute_id}/proof")
def dispute_proof_download(
    request: Request, session: DbSession, user: Staff, dispute_id: ObjectId
) -> FileResponse:
    """The proof a claimant attached to a dispute, for the secretariat."""
    dispute = organizations.get_dispute(session, dispute_id)
    return stored_file(
        file_store(request), dispute.proof_key, dispute.proof_name, dispute.proof_content_type
    )


# The query parameters carrying the page of each list on an organisation's dashboard.
LIST_PAGES = ("applications_page", "tasks_page", "products_page")


# Dashboards --------------------------------------------------------------------------------


@pages.get("/organisation", response_model=None)
def my_organization(request: Request, session: DbSession, user: Applicant) -> Response:
    """The applicant's way in: their organisation, a list of several, or a call to register."""
    mine = organizations.my_organizations_overview(session, user)
    if mine.only is not None:
        return redirect(f"/organisations/{mine.only.id}")
    return render_page(
        request,
        "quality_marks/dashboard.html",
        {
            **LABELS,
            "organizations": mine.organizations,
            "invitations": mine.invitations,
            "disputes": mine.disputes,
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


def _pending_work(session: Session, page: PageOf[Application]) -> PageOf[PendingWork]:
    progress = applications.progress_of(session, page.items)

    def work(application: Application) -> PendingWork:
        counts = progress[application.id]
        return PendingWork(
            application=application,
            kind=organizations.expected_of(application) or "draft",
            complete=sum(c["complete"] for c in counts.values()),
            total=sum(c["total"] for c in counts.values()),
            by_principle=counts,
        )

    return page.map(work)


@dataclass(frozen=True)
class OrganizationPage:
    """An organisation's dashboard: details, people, products, applications, what is expected."""

    organization: Organization
    my_role: OrgRole | None
    can_edit: bool
    can_invite: bool
    verified: bool
    people: list[tuple[User, OrgRole]]
    invited: list[tuple[User, OrgRole]]
    products: PageOf[Product]
    applications: PageOf[Application]
    pending: PageOf[PendingWork]
    version_titles: dict[int, str]
    role_options: list[tuple[str, str]]
    locale_options: list[tuple[str, str]]
    invite_values: dict[str, Any]
    invite_errors: dict[str, str]
    invite_error: str | None
    proof_error: str | None
    certificates: list[verification.CertificateSummary]

    def context(self) -> dict[str, Any]:
        """The template's names, one per field (the objects themselves, not copies)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def organization_page_of(
    request: Request,
    session: Session,
    user: User,
    organization_id: int,
    *,
    invite: PageForm | None = None,
    proof_error: str | None = None,
) -> OrganizationPage:
    """What the organisation's dashboard shows to this person."""
    organization = organizations.get_organization(session, user, organization_id)
    member = organizations.membership(session, user, organization_id)
    # The page's three lists each go their own pages; each list's links keep the others' pages.
    asked = {name: page_number(request.query_params.get(name)) for name in LIST_PAGES}
    kept = {name: str(number) for name, number in asked.items() if number > 1}

    def others(name: str) -> dict[str, str]:
        return {other: value for other, value in kept.items() if other != name}

    items = applications.organization_applications(
        session, organization_id, page=asked["applications_page"], param="applications_page"
    )
    awaiting = applications.organization_applications(
        session, organization_id, page=asked["tasks_page"], awaiting=True, param="tasks_page"
    )
    listed = products.organization_products(
        session, organization_id, page=asked["products_page"], param="products_page"
    )
    tr = translator_for(request)
    invite = invite or PageForm(values={"role": OrgRole.editor.value, "locale": tr.locale})
    return OrganizationPage(
        organization=organization,
        my_role=member.role if member else None,
        can_edit=organizations.may_edit(member),
        can_invite=organizations.may_invite(member),
        verified=organizations.is_verified(organization),
        people=organizations.members_of(session, organization_id),
        invited=organizations.invited_people(session, organization_id),
        products=replace(listed, filters=others("products_page")),
        applications=replace(items, filters=others("applications_page")),
        pending=replace(_pending_work(session, awaiting), filters=others("tasks_page")),
        version_titles=version_titles(request, session, [*items.items, *awaiting.items]),
        role_options=[(r.value, tr.gettext(organizations.ROLE_LABELS[r])) for r in OrgRole],
        locale_options=list(LOCALE_NAMES.items()),
        invite_values=dict(invite.values),
        invite_errors=invite.errors,
        invite_error=invite.context()["form_error"],
        proof_error=proof_error,
        certificates=verification.certificates_of_organization(session, organization_id),
    )


def _render_organization(
    request: Request, page: OrganizationPage, *, status_code: int = 200
) -> HTMLResponse:
    return render_page(
        request,
        "quality_marks/organization.html",
        {**LABELS, **page.context()},
        status_code=status_code,
    )


@pages.get("/organisations/{organization_id}")
def organization_page(
    request: Request, session: DbSession, user: OrgReader, organization_id: ObjectId
) -> HTMLResponse:
    """An organisation's dashboard: details, people, products, applications, what is expected."""
    return _render_organization(
        request, organization_page_of(request, session, user, organization_id)
    )


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
    # Only an owner is told what is wrong with the form; anyone else is refused first.
    organizations.require_member(session, user, organization_id, *organizations.INVITING_ROLES)
    values = {name: field_text(form, name) for name in COLLEAGUE_FIELDS}
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
            base_url=service_settings(request).base_url,
            now=now,
        )
    except (Invalid, Conflict, RateLimited) as error:
        return _refused_invitation(request, session, user, organization_id, error, values)
    once.done(f"/organisations/{organization_id}", now=now)
    session.commit()
    flash(request, INVITED, name=colleague.full_name)
    return redirect(f"/organisations/{organization_id}")


def _refused_invitation(
    request: Request,
    session: Session,
    user: User,
    organization_id: int,
    error: DomainError,
    values: dict[str, str],
) -> HTMLResponse:
    form = refuse_form(request, session, error, values, name="invite")
    page = organization_page_of(request, session, user, organization_id, invite=form)
    return _render_organization(request, page, status_code=error.status_code)


# Identity: proof of the organisation's identity ------------------------------------------


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
    upload = chosen_file(form, "proof")
    try:
        organizations.upload_proof(
            session,
            actor=user,
            organization_id=organization_id,
            stream=upload.file if upload else None,
            filename=(upload.filename or "") if upload else "",
            store=file_store(request),
            max_bytes=service_settings(request).max_upload_bytes,
            now=now,
        )
    except (Invalid, Conflict) as error:
        refused = refuse_form(request, session, error, {}, name="proof")
        page = organization_page_of(
            request, session, user, organization_id, proof_error=refused.message
        )
        return _render_organization(request, page, status_code=error.status_code)
    session.commit()
    flash(request, N_("The proof has been uploaded. The secretariat will verify it."))
    return redirect(f"/organisations/{organization_id}")


@pages.get("/organisations/{organization_id}/proof")
def proof_download(
    request: Request, session: DbSession, user: OrgReader, organization_id: ObjectId
) -> FileResponse:
    """The organisation's proof of identity, for its people and the secretariat."""
    organization = organizations.organization_proof(session, user, organization_id)
    return stored_file(
        file_store(request),
        organization.proof_key or "",
        organization.proof_name,
        organization.proof_content_type,
    )
