"""A granted application, and certificate rows written directly for tests that need no PDF."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select
from sqlalchemy.orm import Session

from council.models import PositionKind
from quality_marks.certificate_models import Certificate, CertificateStatus
from quality_marks.models import ApplicationDecision, Finding, Product
from tests.council.test_decision_ballots import _close, _open, _reviewed, _vote
from tests.factories import NOW
from tests.quality_marks.decision_builders import URL, Reviewed

_serials = itertools.count(1)


def granted(db: Session) -> Reviewed:
    """An application the council granted (level B) by a closed decision ballot."""
    case = _reviewed(db, Finding.minor_nonconformity, Finding.conforms)
    ballot = _open(db, case)
    _vote(db, case, ballot, PositionKind.yes)
    _close(db, case, ballot)
    db.flush()
    return case


def decision_of(db: Session, case: Reviewed) -> ApplicationDecision:
    """The granted decision of a case."""
    return db.scalars(
        select(ApplicationDecision).where(ApplicationDecision.application_id == case.application.id)
    ).one()


def make_certificate(
    db: Session,
    case: Reviewed,
    *,
    status: CertificateStatus = CertificateStatus.valid,
    valid_from: dt.date = dt.date(2026, 6, 1),
    valid_until: dt.date = dt.date(2028, 6, 1),
) -> Certificate:
    """A certificate row for a granted case, as issuance leaves it (without a stored PDF)."""
    decision = decision_of(db, case)
    product = db.get(Product, case.application.product_id)
    assert product is not None
    serial = next(_serials)
    # Shaped like an allocated number (lookups refuse any other shape), with a prefix of its own.
    number = f"MX-CEIA-T{case.application.id}-{1000 + case.application.id}-{serial:06d}"
    certificate = Certificate(
        number=number,
        year=1000 + case.application.id,  # builder rows never collide with allocated ones
        serial=serial,
        application_id=case.application.id,
        decision_id=decision.id,
        organization_id=case.organization.id,
        product_id=product.id,
        guideline_version_id=case.application.guideline_version_id,
        level=decision.level or "B",
        status=status,
        payload={
            "number": number,
            "organization_name": case.organization.legal_name,
            "product_name": product.name,
            "product_identifier": product.identifier,
            "level": decision.level or "B",
            "resolution": decision.resolution,
            "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat(),
            "verify_url": f"{URL}/verify/{number}",
        },
        template_version="test",
        status_list_index=serial * 7 + case.application.id,
        valid_from=valid_from,
        valid_until=valid_until,
        allocated_at=NOW,
        issued_at=NOW if status != CertificateStatus.issuing else None,
        status_changed_at=NOW,
    )
    db.add(certificate)
    db.flush()
    return certificate
