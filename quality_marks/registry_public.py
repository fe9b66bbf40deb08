"""The registry's public pages of certified products and their holders: public fields only.

What the public reads of an application is what its applicant chose to publish (answers marked
public, justifications marked public, evidence files marked public, by name) and the council's
consolidated finding per criterion; never reviewers, their comments or notes, nor the product's
purpose, data, affected users or legal basis.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import N_, NotFound
from guidelines.models import Criterion
from quality_marks.certificate_models import ISSUED_CERTIFICATES, Certificate
from quality_marks.models import (
    Answer,
    AnswerValue,
    ApplicationDecision,
    Evidence,
    Finding,
    Organization,
    Product,
)
from quality_marks.verification import CertificateView, view_of


@dataclass(frozen=True)
class PublicHolder:
    """An organisation holding certificates, as the registry shows it: name and state only."""

    id: int
    legal_name: str
    state: str


@dataclass(frozen=True)
class PublicProduct:
    """A certified product's public fields."""

    identifier: str
    name: str
    version: str
    sectors: list[str]
    states: list[str]
    risk_level: str
    provider: str
    deployer: str
    holder: PublicHolder
    updated_at: dt.datetime


@dataclass(frozen=True)
class CriterionResult:
    """One criterion of a decided application, as the public may read it."""

    code: str
    title_es: str
    title_en: str
    answer: AnswerValue | None  # None: not answered, or the applicant kept it private
    justification: Markup | None  # None unless the applicant made it public
    finding: Finding | None  # the council's consolidated finding
    evidence: list[str] = field(default_factory=list)  # names of the public evidence files


@dataclass(frozen=True)
class CertifiedResult:
    """A certificate of the product with the public results of the application behind it."""

    certificate: CertificateView
    criteria: list[CriterionResult]


@dataclass(frozen=True)
class ProductPage:
    """The public page of a certified product: its fields, certificates and results."""

    product: PublicProduct
    certificates: list[CertifiedResult]


@dataclass(frozen=True)
class HolderProduct:
    """A certified product on its holder's page, with its latest certificate."""

    identifier: str
    name: str
    version: str
    latest_number: str
    latest_status: str
    latest_level: str


@dataclass(frozen=True)
class HolderPage:
    """The public page of an organisation holding certificates."""

    holder: PublicHolder
    products: list[HolderProduct]


NO_PRODUCT = N_("No certified product with this identifier is in the registry.")
NO_HOLDER = N_("No organisation with certified products has this number in the registry.")


def _public_product(product: Product, organization: Organization) -> PublicProduct:
    return PublicProduct(
        identifier=product.identifier,
        name=product.name,
        version=product.version,
        sectors=list(product.sectors or []),
        states=list(product.states or []),
        risk_level=product.risk_level.value,
        provider=product.provider,
        deployer=product.deployer,
        holder=PublicHolder(organization.id, organization.legal_name, organization.state),
        updated_at=product.updated_at,
    )


def certified_product(session: Session, identifier: str) -> PublicProduct:
    """A product the council certified, whatever became of its certificates (NotFound otherwise)."""
    found = session.execute(
        select(Product, Organization)
        .join(Organization, Organization.id == Product.organization_id)
        .where(
            Product.identifier == identifier[:40],
            select(Certificate.id)
            .where(
                Certificate.product_id == Product.id,
                Certificate.status.in_(ISSUED_CERTIFICATES),
            )
            .exists(),
        )
    ).one_or_none()
    if found is None:
        raise NotFound(NO_PRODUCT)
    return _public_product(*found)


def _criteria(session: Session, certificate: Certificate) -> list[CriterionResult]:
    """The public results of the application behind a certificate, criterion by criterion."""
    decision = session.get(ApplicationDecision, certificate.decision_id)
    findings = decision.findings if decision is not None else {}
    answers = {
        answer.criterion_code: answer
        for answer in session.scalars(
            select(Answer).where(Answer.application_id == certificate.application_id)
        )
    }
    evidence: dict[str, list[str]] = {}
    for code, name in session.execute(
        select(Evidence.criterion_code, Evidence.original_name)
        .where(
            Evidence.application_id == certificate.application_id,
            Evidence.public.is_(True),
            Evidence.original_name != "",
        )
        .order_by(Evidence.id)
    ):
        evidence.setdefault(code, []).append(name)
    criteria = session.scalars(
        select(Criterion)
        .where(Criterion.version_id == certificate.guideline_version_id)
        .order_by(Criterion.position, Criterion.id)
    )
    results = []
    for criterion in criteria:
        answer = answers.get(criterion.code)
        item = findings.get(criterion.code)
        finding = item.get("finding") if isinstance(item, dict) else None
        if answer is None and finding is None:
            continue  # a criterion that did not apply to the product
        results.append(
            CriterionResult(
                code=criterion.code,
                title_es=criterion.title_es,
                title_en=criterion.title_en,
                answer=answer.value if answer is not None and answer.answer_public else None,
                justification=(
                    answer.html("justification")
                    if answer is not None
                    and answer.justification_public
                    and answer.justification.strip()
                    else None
                ),
                finding=Finding(finding) if finding in set(Finding) else None,
                evidence=evidence.get(criterion.code, []),
            )
        )
    return results


def product_page(session: Session, identifier: str, *, now: dt.datetime) -> ProductPage:
    """What the registry publishes about a certified product, newest certificate first."""
    product = certified_product(session, identifier)
    certificates = session.scalars(
        select(Certificate)
        .join(Product, Product.id == Certificate.product_id)
        .where(
            Product.identifier == product.identifier,
            Certificate.status.in_(ISSUED_CERTIFICATES),
        )
        .order_by(Certificate.id.desc())
    )
    return ProductPage(
        product=product,
        certificates=[
            CertifiedResult(view_of(session, c, now=now), _criteria(session, c))
            for c in certificates
        ],
    )


def certified_holder(session: Session, organization_id: int) -> PublicHolder:
    """An organisation that holds or held a certificate (NotFound for any other)."""
    organization = session.scalar(
        select(Organization).where(
            Organization.id == organization_id,
            select(Certificate.id)
            .where(
                Certificate.organization_id == Organization.id,
                Certificate.status.in_(ISSUED_CERTIFICATES),
            )
            .exists(),
        )
    )
    if organization is None:
        raise NotFound(NO_HOLDER)
    return PublicHolder(organization.id, organization.legal_name, organization.state)


def holder_page(session: Session, organization_id: int) -> HolderPage:
    """An organisation's public page: its certified products, each with its latest certificate."""
    holder = certified_holder(session, organization_id)
    latest = (
        select(func.max(Certificate.id))
        .where(
            Certificate.organization_id == holder.id,
            Certificate.status.in_(ISSUED_CERTIFICATES),
        )
        .group_by(Certificate.product_id)
    )
    rows = session.execute(
        select(Product, Certificate)
        .join(Certificate, Certificate.product_id == Product.id)
        .where(Certificate.id.in_(latest))
        .order_by(Product.name, Product.id)
    )
    return HolderPage(
        holder=holder,
        products=[
            HolderProduct(
                identifier=product.identifier,
                name=product.name,
                version=product.version,
                latest_number=certificate.number,
                latest_status=certificate.status.value,
                latest_level=certificate.level,
            )
            for product, certificate in rows
        ],
    )


def holder_changed_at(session: Session, organization_id: int) -> dt.datetime | None:
    """When the holder's products' public fields last changed (part of its page's validator)."""
    changed: dt.datetime | None = session.scalar(
        select(func.max(Product.updated_at)).where(Product.organization_id == organization_id)
    )
    return changed
