"""Pages by which organisations come in: sign-up, registration, and disputes over a taken RFC."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.auth import MaybeUser, Now, client_ip, require, sign_in
from core.db import get_session
from core.errors import N_, Conflict, DomainError, Invalid, RateLimited
from core.forms import parse_input
from core.limits import accepts_uploads
from core.submissions import Once
from core.web import (
    PageForm,
    SubmittedForm,
    field_text,
    flash,
    redirect,
    refuse_form,
    render_page,
    render_refused,
    service_settings,
    translator_for,
)
from quality_marks import organizations
from quality_marks.geography import MEXICAN_STATES, SECTORS
from quality_marks.models import OrgSize
from quality_marks.organizations_pages import chosen_file, file_store
from quality_marks.schemas import OrganizationForm

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]
# People who act for organisations; the services decide which organisation and what role.
Applicant = Annotated[User, Depends(require(Role.applicant))]

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
RFC_ALREADY_REGISTERED = N_(
    "Your e-mail address is confirmed and your account is open. An organisation with "
    "your RFC is already registered: if the RFC is yours, file a dispute with proof."
)
WELCOME = N_(
    "Welcome, %(name)s. Your organisation has been registered. Upload proof of its "
    "identity so that the secretariat can verify it."
)
DISPUTE_FILED = N_(
    "Your dispute has been filed. The secretariat will decide and tell you by e-mail."
)


def _organization_options(request: Request) -> dict[str, list[tuple[str, str]]]:
    tr = translator_for(request)
    choose = ("", tr.gettext(N_("Choose…")))
    sectors = organizations.SECTOR_LABELS
    sizes = organizations.SIZE_LABELS
    return {
        "state_options": [choose, *((s, s) for s in MEXICAN_STATES)],
        "sector_options": [choose, *((s, tr.gettext(sectors[s])) for s in SECTORS)],
        "size_options": [choose, *((s.value, tr.gettext(sizes[s])) for s in OrgSize)],
    }


# Sign-up and registration ------------------------------------------------------------------


def _register_page(
    request: Request,
    form: PageForm | None = None,
    *,
    with_person: bool = True,
    status_code: int = 200,
) -> HTMLResponse:
    return render_page(
        request,
        "quality_marks/register.html",
        {
            **_organization_options(request),
            **(form or PageForm()).context(),
            "with_person": with_person,
        },
        status_code=status_code,
    )


@pages.get("/register", response_model=None)
def register_form(request: Request, user: MaybeUser) -> Response:
    """The public sign-up of a company's first person and their organisation."""
    if user is not None and user.role == Role.applicant:
        return redirect("/organisations/new")
    return _register_page(request)


@pages.post("/register", response_model=None)
def register(
    request: Request, session: DbSession, once: Once, now: Now, form: SubmittedForm
) -> Response:
    """Mail a confirmation link; the account and organisation open only when it is followed."""
    values = {name: field_text(form, name) for name in (*PERSON_FIELDS, *ORGANIZATION_FIELDS)}
    refusal: DomainError | None = None
    try:
        organizations.request_sign_up(
            session,
            details={**values, "password": form.get("password") or ""},
            client_ip=client_ip(request),
            locale=translator_for(request).locale,
            base_url=service_settings(request).base_url,
            now=now,
        )
        once.done("/register/sent", now=now)
    except (Invalid, RateLimited) as error:
        refusal = error
    session.commit()  # a refused attempt wrote nothing but its count, which must stay
    if refusal is not None:
        form_shown = refuse_form(request, session, refusal, values)
        return _register_page(request, form_shown, status_code=refusal.status_code)
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
        flash(request, RFC_ALREADY_REGISTERED)
        details = confirmed.details.model_dump(mode="json")
        return redirect(f"/organisations/disputes/new?{urlencode(details)}")
    flash(request, WELCOME, name=confirmed.user.full_name)
    return redirect(f"/organisations/{confirmed.organization.id}")


@pages.get("/organisations/new")
def new_organization_form(request: Request, user: Applicant) -> HTMLResponse:
    """The form with which a signed-in applicant registers an organisation."""
    return _register_page(request, with_person=False)


@pages.post("/organisations/new", response_model=None)
def register_organization_page(
    request: Request, session: DbSession, once: Once, user: Applicant, now: Now, form: SubmittedForm
) -> Response:
    """Register an organisation; the applicant becomes its owner."""
    values = {name: field_text(form, name) for name in ORGANIZATION_FIELDS}
    try:
        organization = organizations.register_organization(
            session, actor=user, data=parse_input(OrganizationForm, values), now=now
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, values)
        return _register_page(request, refused, with_person=False, status_code=422)
    once.done(f"/organisations/{organization.id}", now=now)
    session.commit()
    flash(request, N_("Your organisation has been registered."))
    return redirect(f"/organisations/{organization.id}")


# A second claimant of a registered RFC (before /organisations/{id}) ----------------------


@pages.get("/organisations/disputes/new")
def new_dispute_form(request: Request, user: Applicant) -> HTMLResponse:
    """The form with which a second claimant of a registered RFC asks for it, with proof."""
    values = {name: str(request.query_params.get(name, ""))[:500] for name in ORGANIZATION_FIELDS}
    return render_page(
        request,
        "quality_marks/dispute.html",
        {**_organization_options(request), **PageForm(values=values).context()},
    )


@pages.post("/organisations/disputes", response_model=None)
@accepts_uploads
def file_dispute_page(
    request: Request, session: DbSession, user: Applicant, now: Now, form: SubmittedForm
) -> Response:
    """File a dispute over an RFC registered by another organisation."""
    values = {name: field_text(form, name) for name in (*ORGANIZATION_FIELDS, "statement")}
    upload = chosen_file(form, "proof")
    try:
        organizations.file_dispute(
            session,
            actor=user,
            data=parse_input(OrganizationForm, {n: values[n] for n in ORGANIZATION_FIELDS}),
            statement=values["statement"],
            stream=upload.file if upload else None,
            filename=(upload.filename or "") if upload else "",
            store=file_store(request),
            max_bytes=service_settings(request).max_upload_bytes,
            now=now,
        )
    except (Invalid, Conflict) as error:
        options = _organization_options(request)
        return render_refused(
            request, session, error, "quality_marks/dispute.html", values, options
        )
    session.commit()
    flash(request, DISPUTE_FILED)
    return redirect("/organisation")
