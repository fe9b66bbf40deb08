"""Pages for an organisation's AI products, and starting an application for one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.accounts import Role, User
from core.api import ObjectId, parse_int
from core.auth import Now, require
from core.db import get_session
from core.errors import N_, Conflict, DomainError, Invalid
from core.forms import parse_input
from core.pagination import PageOf, page_number
from core.submissions import Once
from core.web import (
    PageForm,
    SubmittedForm,
    field_list,
    field_text,
    flash,
    redirect,
    refuse_form,
    render_page,
    translator_for,
)
from guidelines import service as guidelines
from quality_marks import applications, organizations, products
from quality_marks.geography import MEXICAN_STATES, SECTORS
from quality_marks.models import Application, Organization, Product
from quality_marks.organizations_pages import LABELS, version_titles
from quality_marks.products import RiskQuestion
from quality_marks.schemas import ProductInput

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]
# People who act for organisations; the services decide which organisation and what role.
Applicant = Annotated[User, Depends(require(Role.applicant))]
# Organisation pages are read by their people and, read-only, by the secretariat.
OrgReader = Annotated[User, Depends(require(Role.applicant, Role.secretariat))]

YES, NO = "yes", "no"
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
UNANSWERED = N_("Answer every question of the questionnaire.")  # the service's own message
SAVED = N_("The product has been saved. Its risk level comes from your answers.")
STARTED = N_("The application has been started. Answer the checklist and submit it when complete.")


# The product form ---------------------------------------------------------------------------


def _risk_field(key: str) -> str:
    return f"risk_{key}"


def _product_values(form: FormData) -> dict[str, Any]:
    """What the product form sent, kept as typed for showing it again."""
    values: dict[str, Any] = {name: field_text(form, name) for name in PRODUCT_TEXT_FIELDS}
    values.update({name: field_list(form, name) for name in PRODUCT_LIST_FIELDS})
    values["personal_data"] = field_text(form, "personal_data")
    for question in products.RISK_QUESTIONS:
        values[_risk_field(question.key)] = field_text(form, _risk_field(question.key))
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
    form: PageForm,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    tr = translator_for(request)
    action = f"/products/{product.id}" if product else f"/organisations/{organization.id}/products"
    return render_page(
        request,
        "quality_marks/product_form.html",
        {
            **LABELS,
            "organization": organization,
            "product": product,
            "action": action,
            **form.context(),
            "sector_options": [(s, tr.gettext(organizations.SECTOR_LABELS[s])) for s in SECTORS],
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
    organization = organizations.editable_organization(session, user, organization_id)
    return _product_form(request, organization, None, PageForm())


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
    organization = organizations.editable_organization(session, user, organization_id)
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
        refused = refuse_form(request, session, error, values)
        return _product_form(request, organization, None, refused, status_code=422)
    once.done(f"/products/{product.id}", now=now)
    session.commit()
    flash(request, SAVED)
    return redirect(f"/products/{product.id}")


@pages.get("/products/{product_id}/edit")
def edit_product_form(
    request: Request, session: DbSession, user: Applicant, product_id: ObjectId
) -> HTMLResponse:
    """The form that changes a product's description."""
    product = products.get_product(session, user, product_id)
    organization = organizations.editable_organization(session, user, product.organization_id)
    return _product_form(request, organization, product, PageForm(values=_values_of(product)))


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
    organization = organizations.editable_organization(session, user, product.organization_id)
    values = _product_values(form)
    try:
        products.update_product(
            session, actor=user, product_id=product_id, data=_product_input(values), now=now
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, values)
        return _product_form(request, organization, product, refused, status_code=422)
    session.commit()
    flash(request, SAVED)
    return redirect(f"/products/{product_id}")


# The product page ---------------------------------------------------------------------------


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


@dataclass(frozen=True)
class ProductPage:
    """A product: its description, its risk level and why, its applications."""

    organization: Organization
    product: Product
    can_edit: bool
    questions: tuple[RiskQuestion, ...]
    decisive: list[str]
    applications: PageOf[Application]
    version_titles: dict[int, str]
    version_options: list[tuple[str, str]]
    values: dict[str, Any]
    errors: dict[str, str]
    form_error: str | None

    def context(self) -> dict[str, Any]:
        """The template's names, one per field (the objects themselves, not copies)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def product_page_of(
    request: Request,
    session: Session,
    user: User,
    product: Product,
    now: dt.datetime,
    form: PageForm | None = None,
) -> ProductPage:
    """What a product's page shows to this person; `form` is a refused application start."""
    organization = organizations.get_organization(session, user, product.organization_id)
    can_edit = organizations.may_edit(
        organizations.membership(session, user, product.organization_id)
    )
    items = products.product_applications(
        session, product.id, page=page_number(request.query_params.get("page"))
    )
    form = form or PageForm()
    return ProductPage(
        organization=organization,
        product=product,
        can_edit=can_edit,
        questions=products.RISK_QUESTIONS,
        decisive=products.decisive_questions(product),
        applications=items,
        version_titles=version_titles(request, session, items.items),
        version_options=_version_options(request, session, now) if can_edit else [],
        values=dict(form.values),
        errors=form.errors,
        form_error=form.context()["form_error"],
    )


def _render_product(request: Request, page: ProductPage, *, status_code: int = 200) -> HTMLResponse:
    return render_page(
        request, "quality_marks/product.html", {**LABELS, **page.context()}, status_code=status_code
    )


@pages.get("/products/{product_id}")
def product_page(
    request: Request, session: DbSession, user: OrgReader, now: Now, product_id: ObjectId
) -> HTMLResponse:
    """A product: its description, its risk level and why, its applications."""
    product = products.get_product(session, user, product_id)
    return _render_product(request, product_page_of(request, session, user, product, now))


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
    organizations.editable_organization(session, user, product.organization_id)
    values = {"version": field_text(form, "version")}
    try:
        application = applications.start_application(
            session,
            actor=user,
            product_id=product.id,
            guideline_version=products.chosen_version(session, parse_int(values["version"])),
            now=now,
        )
    except (Invalid, Conflict) as error:
        return _refused_start(request, session, user, product, now, error, values)
    once.done(f"/applications/{application.id}", now=now)
    session.commit()
    flash(request, STARTED)
    return redirect(f"/applications/{application.id}")


def _refused_start(
    request: Request,
    session: Session,
    user: User,
    product: Product,
    now: dt.datetime,
    error: DomainError,
    values: dict[str, str],
) -> HTMLResponse:
    refused = refuse_form(request, session, error, values)
    page = product_page_of(request, session, user, product, now, refused)
    return _render_product(request, page, status_code=error.status_code)
