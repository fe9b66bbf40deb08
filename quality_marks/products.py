"""AI products of an organisation, and the guided questionnaire that sets their risk level."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import User
from core.api import PageParams, paginate
from core.audit import record_event
from core.errors import N_, Invalid, NotFound
from core.pagination import DASHBOARD_PAGE_SIZE, PageOf, page_of
from guidelines.models import GuidelineVersion, RiskLevel
from quality_marks.geography import MEXICAN_STATES, SECTORS
from quality_marks.models import Application, Organization, Product
from quality_marks.organizations import EDITING_ROLES, require_member
from quality_marks.schemas import ProductInput


@dataclass(frozen=True)
class RiskQuestion:
    """A yes/no question; a yes raises the product at least to `level`."""

    key: str
    text: str
    level: RiskLevel


# Modelled on the EU AI Act's high-risk areas and transparency duties, in Mexico's terms.
RISK_QUESTIONS: tuple[RiskQuestion, ...] = (
    RiskQuestion(
        "essential_services",
        N_(
            "Does it help decide access to credit, insurance, employment, education, health care, "
            "social programmes or housing?"
        ),
        RiskLevel.high,
    ),
    RiskQuestion(
        "rights_and_safety",
        N_(
            "Is it used by authorities (justice, policing, migration) or in the safety components "
            "of critical infrastructure, vehicles or medical devices?"
        ),
        RiskLevel.high,
    ),
    RiskQuestion(
        "biometrics",
        N_("Does it identify or categorise people by their face, voice or other biometric data?"),
        RiskLevel.high,
    ),
    RiskQuestion(
        "interacts",
        N_("Does it talk with people, or produce text, images, audio or video they will see?"),
        RiskLevel.limited,
    ),
    RiskQuestion(
        "emotions",
        N_("Does it infer people's emotions or intentions?"),
        RiskLevel.limited,
    ),
)
RISK_ORDER = {RiskLevel.minimal: 0, RiskLevel.limited: 1, RiskLevel.high: 2}


def risk_from_answers(answers: dict[str, bool]) -> RiskLevel:
    """The risk level the questionnaire answers lead to."""
    level = RiskLevel.minimal
    for question in RISK_QUESTIONS:
        if answers.get(question.key) and RISK_ORDER[question.level] > RISK_ORDER[level]:
            level = question.level
    return level


def decisive_questions(product: Product) -> list[str]:
    """The questions answered yes whose level is the product's: why it has that level."""
    return [
        q.key
        for q in RISK_QUESTIONS
        if product.risk_answers.get(q.key) and q.level == product.risk_level
    ]


def _check_product(session: Session, data: ProductInput, *, product_id: int | None) -> None:
    fields: dict[str, str] = {}
    if any(s not in SECTORS for s in data.sectors):
        fields["sectors"] = N_("Choose one of the options.")
    if any(s not in MEXICAN_STATES for s in data.states):
        fields["states"] = N_("Choose one of the options.")
    if data.personal_data and not data.legal_basis.strip():
        fields["legal_basis"] = N_(
            "Give the legal basis for processing personal data (LFPDPPP): consent, contract, "
            "legal obligation..."
        )
    if any(q.key not in data.risk_answers for q in RISK_QUESTIONS):
        fields["risk_answers"] = N_("Answer every question of the questionnaire.")
    if data.identifier:
        clash = session.scalar(select(Product.id).where(Product.identifier == data.identifier))
        if clash is not None and clash != product_id:
            fields["identifier"] = N_("Another product already uses this identifier.")
    if fields:
        raise Invalid(fields=fields)


def _new_identifier() -> str:
    return "MX-IA-" + secrets.token_hex(4).upper()


def get_product(session: Session, user: User, product_id: int) -> Product:
    """A product its organisation's people or the secretariat may read."""
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound()
    require_member(session, user, product.organization_id)
    return product


def organization_products(
    session: Session, organization_id: int, *, page: int = 1, param: str = "page"
) -> PageOf[Product]:
    """One page of an organisation's products, by name."""
    query = (
        select(Product)
        .where(Product.organization_id == organization_id)
        .order_by(Product.name, Product.id)
    )
    return page_of(session, query, page=page, param=param, page_size=DASHBOARD_PAGE_SIZE)


def _apply(product: Product, data: ProductInput) -> None:
    product.name = data.name.strip()
    product.version = data.version.strip()
    product.intended_purpose = data.intended_purpose.strip()
    product.sectors = list(dict.fromkeys(data.sectors))
    product.states = list(dict.fromkeys(data.states))
    product.users_affected = data.users_affected.strip()
    product.risk_answers = {q.key: bool(data.risk_answers.get(q.key)) for q in RISK_QUESTIONS}
    product.risk_level = risk_from_answers(data.risk_answers)
    product.data_description = data.data_description.strip()
    product.personal_data = data.personal_data
    product.legal_basis = data.legal_basis.strip() if data.personal_data else ""
    product.model_type = data.model_type.strip()
    product.human_oversight = data.human_oversight.strip()
    product.provider = data.provider.strip()
    product.deployer = data.deployer.strip()


def create_product(
    session: Session, *, actor: User, organization_id: int, data: ProductInput, now: dt.datetime
) -> Product:
    """Describe a new AI product of the organisation."""
    require_member(session, actor, organization_id, *EDITING_ROLES)
    _check_product(session, data, product_id=None)
    product = Product(
        organization_id=organization_id,
        identifier=data.identifier or _new_identifier(),
        created_at=now,
        updated_at=now,
    )
    _apply(product, data)
    session.add(product)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="product.create",
        object_type="product",
        object_id=product.id,
        summary={"name": product.name, "risk_level": product.risk_level.value},
        now=now,
    )
    return product


def update_product(
    session: Session, *, actor: User, product_id: int, data: ProductInput, now: dt.datetime
) -> Product:
    """Change a product's description (applications keep the risk level they started with)."""
    product = get_product(session, actor, product_id)
    require_member(session, actor, product.organization_id, *EDITING_ROLES)
    _check_product(session, data, product_id=product.id)
    before = product.risk_level
    _apply(product, data)
    if data.identifier:
        product.identifier = data.identifier
    product.updated_at = now
    record_event(
        session,
        actor=actor,
        action="product.update",
        object_type="product",
        object_id=product.id,
        summary={"risk_level": product.risk_level.value, "risk_level_before": before.value},
        now=now,
    )
    return product


# Queries for the pages ---------------------------------------------------------------------


def product_applications(
    session: Session, product_id: int, *, page: int = 1
) -> PageOf[Application]:
    """One page of a product's applications, newest first."""
    query = (
        select(Application)
        .where(Application.product_id == product_id)
        .order_by(Application.updated_at.desc(), Application.id.desc())
    )
    return page_of(session, query, page=page)


def chosen_version(session: Session, version_id: int | None) -> GuidelineVersion:
    """The guideline version chosen for a new application, refused when there is none."""
    version = session.get(GuidelineVersion, version_id) if version_id is not None else None
    if version is None:
        raise Invalid(fields={"version": N_("Choose one of the options.")})
    return version


# Queries for the API -----------------------------------------------------------------------


def products_page(
    session: Session, organization: Organization, *, params: PageParams
) -> tuple[list[Product], int]:
    """One page of an organisation's products, by name."""
    query = (
        select(Product)
        .where(Product.organization_id == organization.id)
        .order_by(Product.name, Product.id)
    )
    return paginate(session, query, params)
