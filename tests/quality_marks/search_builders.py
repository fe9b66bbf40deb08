"""A small registry of issued certificates with Spanish names, for the search tests."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from guidelines.models import GuidelineVersion
from quality_marks.certificate_history import record_registry_event
from quality_marks.certificate_models import Certificate, CertificateStatus, RegistryEventKind
from quality_marks.models import Answer, AnswerValue, Product
from quality_marks.organizations import members_of
from tests.factories import NOW
from tests.quality_marks.certificate_builders import decision_of, granted
from tests.quality_marks.factories import (
    make_application,
    make_organization,
    make_product,
)
from tests.quality_marks.verification_builders import ISSUED_REASON

_serials = itertools.count(1)


@dataclass(frozen=True)
class Listing:
    """What one registry entry of the corpus says."""

    key: str
    product: str
    organization: str
    sectors: tuple[str, ...]
    state: str
    level: str
    status: CertificateStatus
    issued_on: dt.date
    valid_until: dt.date
    justification: str
    private_purpose: str = "Propósito confidencial del producto."


CORPUS = (
    Listing(
        "clinica",
        "Asistente de Salud Digital",
        "Clínica Médica del Norte S.A.",
        ("salud",),
        "Nuevo León",
        "A",
        CertificateStatus.valid,
        dt.date(2025, 3, 1),
        dt.date(2027, 3, 1),
        "El sistema explica cada diagnóstico al paciente.",
    ),
    Listing(
        "vida",
        "Plataforma Saludable",
        "Vida Sana S.C.",
        ("salud", "seguros"),
        "Jalisco",
        "B",
        CertificateStatus.valid,
        dt.date(2026, 2, 1),
        dt.date(2028, 2, 1),
        'Alimentación saludable <script>alert(1)</script> & "supervisión" humana.',
    ),
    Listing(
        "credito",
        "Evaluador de crédito",
        "Finanzas Éticas S.A.",
        ("finanzas",),
        "Ciudad de México",
        "B",
        CertificateStatus.suspended,
        dt.date(2026, 5, 1),
        dt.date(2028, 5, 1),
        "Se auditó el sesgo por género y edad.",
    ),
    Listing(
        "tutor",
        "Tutor de educación",
        "Aprende México A.C.",
        ("educación",),
        "Yucatán",
        "A",
        CertificateStatus.withdrawn,
        dt.date(2026, 7, 1),
        dt.date(2026, 12, 31),
        "Los contenidos los revisan docentes.",
    ),
    Listing(
        "ruta",
        "Ruta Óptima",
        "Transporte Veloz S.A.",
        ("transporte",),
        "Jalisco",
        "B",
        CertificateStatus.expired,
        dt.date(2024, 1, 15),
        dt.date(2026, 1, 15),
        "Las rutas se calculan sin datos personales.",
    ),
)


def _listed(db: Session, listing: Listing, decision_id: int, version_id: int) -> Certificate:
    organization = make_organization(db, legal_name=listing.organization)
    organization.state = listing.state
    owner_user = members_of(db, organization.id)[0][0]
    product = make_product(db, owner_user, organization, name=listing.product)
    stored = db.get(Product, product.id)
    assert stored is not None
    stored.sectors = list(listing.sectors)
    stored.intended_purpose = listing.private_purpose
    version = db.get(GuidelineVersion, version_id)
    assert version is not None
    application = make_application(db, actor=owner_user, product=product, version=version)
    db.add(
        Answer(
            application_id=application.id,
            criterion_code="TR-1",
            value=AnswerValue.meets,
            justification=listing.justification,
            answer_public=True,
            justification_public=True,
            updated_at=NOW,
        )
    )
    db.add(
        Answer(
            application_id=application.id,
            criterion_code="TR-2",
            value=AnswerValue.meets,
            justification="Nota reservada del solicitante.",
            answer_public=True,
            justification_public=False,
            updated_at=NOW,
        )
    )
    serial = next(_serials)
    number = f"MX-CEIA-2099-{serial:06d}"
    certificate = Certificate(
        number=number,
        year=2099,
        serial=serial,
        application_id=application.id,
        decision_id=decision_id,
        organization_id=organization.id,
        product_id=product.id,
        guideline_version_id=version_id,
        level=listing.level,
        status=CertificateStatus.valid,
        payload={"number": number, "issued_on": listing.issued_on.isoformat()},
        template_version="test",
        status_list_index=90_000 + serial,
        valid_from=listing.issued_on,
        valid_until=listing.valid_until,
        allocated_at=NOW,
        issued_at=NOW,
        status_changed_at=NOW,
    )
    db.add(certificate)
    db.flush()
    record_registry_event(
        db,
        kind=RegistryEventKind.issued,
        certificate=certificate,
        public_reason=ISSUED_REASON,
        now=NOW,
    )
    if listing.status != CertificateStatus.valid:
        certificate.status = listing.status
        kind = {
            CertificateStatus.suspended: RegistryEventKind.suspended,
            CertificateStatus.withdrawn: RegistryEventKind.withdrawn,
            CertificateStatus.expired: RegistryEventKind.expired,
        }[listing.status]
        record_registry_event(
            db, kind=kind, certificate=certificate, public_reason=ISSUED_REASON, now=NOW
        )
    db.flush()
    return certificate


def registry_corpus(db: Session) -> dict[str, Certificate]:
    """The corpus issued: its certificates by key."""
    case = granted(db)
    decision = decision_of(db, case)
    version_id = case.application.guideline_version_id
    return {listing.key: _listed(db, listing, decision.id, version_id) for listing in CORPUS}
