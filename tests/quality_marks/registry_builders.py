"""A certified product for the public registry's tests, with confidential strings planted in it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from quality_marks.certificate_history import record_registry_event
from quality_marks.certificate_models import Certificate, RegistryEventKind
from quality_marks.models import Answer, Evidence, Organization, Product
from tests.factories import NOW
from tests.quality_marks.certificate_builders import granted, make_certificate
from tests.quality_marks.decision_builders import Reviewed

# Written where only the applicant and the council may read them: never in a public output.
SECRET_PURPOSE = "PROPOSITO-CONFIDENCIAL-7741"
SECRET_JUSTIFICATION = "JUSTIFICACION-CONFIDENCIAL-5521"
SECRET_DATA = "DATOS-CONFIDENCIALES-3390"
SECRET_RFC_ADDRESS = "DOMICILIO-CONFIDENCIAL-8812"
SECRET_FILE = "informe-interno-confidencial.pdf"
# What the applicant chose to publish.
PUBLIC_JUSTIFICATION = "Auditoría externa publicada en 2026"
PUBLIC_FILE = "resumen-publico.pdf"
# What reviewers wrote (tests.council.test_decision_ballots._reviewed): the council's only.
REVIEWER_COMMENT = "Falta"
REVIEWER_PRIVATE_NOTE = "Sólo para el consejo."
ISSUED = {"es": "Certificado emitido.", "en": "Certificate issued."}
SECRETS = (
    SECRET_PURPOSE,
    SECRET_JUSTIFICATION,
    SECRET_DATA,
    SECRET_RFC_ADDRESS,
    SECRET_FILE,
    REVIEWER_PRIVATE_NOTE,
)


@dataclass(frozen=True)
class Certified:
    """A granted case, its issued certificate and its product."""

    case: Reviewed
    certificate: Certificate
    product: Product


def certified(db: Session, *, now: dt.datetime = NOW) -> Certified:
    """An issued certificate whose application holds public and confidential answers and files."""
    case = granted(db)
    product = db.get(Product, case.application.product_id)
    organization = db.get(Organization, case.organization.id)
    assert product is not None
    assert organization is not None
    product.intended_purpose = SECRET_PURPOSE
    product.data_description = SECRET_DATA
    organization.address = SECRET_RFC_ADDRESS
    answers = list(
        db.scalars(
            select(Answer)
            .where(Answer.application_id == case.application.id)
            .order_by(Answer.criterion_code)
        )
    )
    hidden, shown = answers[0], answers[1]
    hidden.justification = SECRET_JUSTIFICATION
    hidden.justification_public = False
    hidden.answer_public = False
    shown.justification = PUBLIC_JUSTIFICATION
    shown.justification_public = True
    shown.answer_public = True
    for name, public in ((SECRET_FILE, False), (PUBLIC_FILE, True)):
        db.add(
            Evidence(
                application_id=case.application.id,
                criterion_code=shown.criterion_code,
                original_name=name,
                public=public,
                uploaded_by_id=case.owner.id,
                uploaded_at=NOW,
            )
        )
    certificate = make_certificate(db, case)
    record_registry_event(
        db, kind=RegistryEventKind.issued, certificate=certificate, public_reason=ISSUED, now=now
    )
    db.flush()
    return Certified(case, certificate, product)
