"""Certificates with a real signed PDF and credential, built without the issuance pipeline."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfWriter
from sqlalchemy.orm import Session

from core.signing import CouncilKeys, sign_jwt, sign_pdf
from core.storage import FileStore
from quality_marks.certificate_history import record_registry_event
from quality_marks.certificate_models import Certificate, CertificateStatus, RegistryEventKind
from tests.factories import NOW
from tests.quality_marks.certificate_builders import granted, make_certificate
from tests.quality_marks.decision_builders import Reviewed

BASE_URL = "http://testserver"
ISSUED_REASON = {
    "es": "El Consejo otorgó la marca por resolución.",
    "en": "The council granted the mark by resolution.",
}


def credential_for(keys: CouncilKeys, certificate: Certificate) -> str:
    """An Open Badges credential for the certificate, shaped as issuance makes it."""
    verify_url = f"{BASE_URL}/verify/{certificate.number}"
    return sign_jwt(
        keys,
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": verify_url,
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": f"{BASE_URL}/issuer"},
            "validFrom": f"{certificate.valid_from.isoformat()}T00:00:00Z",
            "credentialSubject": {"achievement": {"name": "Marca de calidad"}},
        },
    )


def certificate_pdf(token: str) -> bytes:
    """A one-page PDF with the credential attached, as issuance attaches it (unsigned)."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_attachment("credential.jwt", token.encode("ascii"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def full_payload(certificate: Certificate) -> dict[str, object]:
    """The payload keys issuance writes, on top of the builder's."""
    return {
        **certificate.payload,
        "guideline_title": "Lineamientos de ética para la IA",
        "guideline_title_en": "Ethics guidelines for AI",
        "guideline_version": "1.0",
        "guideline_url": "/guidelines/lineamientos/1.0",
        "issued_on": "2026-06-01",
        "verify_url": f"{BASE_URL}/verify/{certificate.number}",
    }


def signed_certificate(
    db: Session,
    keys: CouncilKeys,
    store: FileStore,
    *,
    status: CertificateStatus = CertificateStatus.valid,
    valid_until: dt.date = dt.date(2028, 6, 1),
    pdf_keys: CouncilKeys | None = None,
    case: Reviewed | None = None,
) -> tuple[Certificate, bytes]:
    """An issued certificate with its signed PDF stored, and the PDF's bytes.

    `pdf_keys` signs the PDF with another authority (the credential stays the council's);
    `case` is the granted application to certify (a new one when not given).
    """
    case = case or granted(db)
    certificate = make_certificate(db, case, status=status, valid_until=valid_until)
    certificate.payload = full_payload(certificate)
    token = credential_for(keys, certificate)
    pdf = sign_pdf(pdf_keys or keys, certificate_pdf(token), reason="Certificado", location="CDMX")
    stored = store.save(io.BytesIO(pdf), original_name="c.pdf", max_bytes=10**7, session=db)
    certificate.credential = token
    certificate.key_id = keys.kid
    certificate.pdf_key = stored.key
    certificate.pdf_sha256 = stored.sha256
    certificate.pdf_size = stored.size
    record_registry_event(
        db,
        kind=RegistryEventKind.issued,
        certificate=certificate,
        public_reason=ISSUED_REASON,
        now=NOW,
    )
    db.flush()
    return certificate, pdf


def change_status(
    db: Session,
    certificate: Certificate,
    status: CertificateStatus,
    kind: RegistryEventKind,
    reason: dict[str, str],
    *,
    now: dt.datetime = NOW,
) -> None:
    """A status change written directly, as the lifecycle verbs leave it."""
    certificate.status = status
    certificate.status_changed_at = now
    record_registry_event(db, kind=kind, certificate=certificate, public_reason=reason, now=now)
    db.flush()
