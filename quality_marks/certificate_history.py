"""A certificate's public history: the registry events that say what happened to it and why,
and the words the public reads for its statuses, events and reasons."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.documents import republish_documents
from core.errors import N_
from core.i18n import translator
from core.transparency import log_registry_event
from quality_marks.certificate_models import (
    Certificate,
    CertificateStatus,
    RegistryEvent,
    RegistryEventKind,
    WithdrawalReason,
)
from quality_marks.registry import refresh_registry_entry

# A certificate is masculine in Spanish where an application or a version is feminine: its
# "withdrawn" is its own message, whose English catalog entry drops the bracketed context.
WITHDRAWN = N_("Withdrawn (certificate)")
STATUS_LABELS = {
    CertificateStatus.issuing: N_("Being issued"),
    CertificateStatus.valid: N_("Valid"),
    CertificateStatus.suspended: N_("Suspended"),
    CertificateStatus.withdrawn: WITHDRAWN,
    CertificateStatus.expired: N_("Expired"),
    CertificateStatus.superseded: N_("Superseded (renewed)"),
    CertificateStatus.void: N_("Void (not issued)"),
}
EVENT_LABELS = {
    RegistryEventKind.issued: N_("Issued"),
    RegistryEventKind.suspended: N_("Suspended"),
    RegistryEventKind.reinstated: N_("Reinstated"),
    RegistryEventKind.withdrawn: WITHDRAWN,
    RegistryEventKind.expired: N_("Expired"),
    RegistryEventKind.superseded: N_("Superseded"),
    RegistryEventKind.voided: N_("Voided"),
    RegistryEventKind.reassessment_requested: N_("Re-assessment requested"),
    RegistryEventKind.complaint_dismissed: N_("Complaint dismissed"),
    RegistryEventKind.complaint_surveillance_opened: N_("Surveillance review opened"),
    RegistryEventKind.complaint_closed: N_("Complaint closed"),
}
WITHDRAWAL_LABELS = {
    WithdrawalReason.nonconformity: N_("Nonconformity with the guideline"),
    WithdrawalReason.misuse: N_("Misuse of the mark"),
    WithdrawalReason.holder_request: N_("At the holder's request"),
    WithdrawalReason.fraud: N_("Fraud"),
    WithdrawalReason.discontinued: N_("Product discontinued"),
}


def reason_in_both(message: str, **params: object) -> dict[str, str]:
    """A public reason the system writes, as the registry stores it: Spanish and English."""
    return {
        key: translator(locale).gettext(message, **params)
        for key, locale in (("es", "es_MX"), ("en", "en"))
    }


def record_registry_event(
    session: Session,
    *,
    kind: RegistryEventKind,
    certificate: Certificate | None,
    public_reason: dict[str, str],
    now: dt.datetime,
    reason_code: str | None = None,
    resolution: str | None = None,
    details: dict[str, Any] | None = None,
) -> RegistryEvent:
    """Append an event to the public registry (public reason given in Spanish and English).

    What the public reads of the certificate (its page, the status lists) says something else
    from now, so the public answers kept in memory are renewed.
    """
    republish_documents(session, now=now)
    event = RegistryEvent(
        kind=kind,
        certificate_id=certificate.id if certificate is not None else None,
        occurred_at=now,
        reason_code=reason_code,
        public_reason=public_reason,
        resolution=resolution,
        details=details or {},
    )
    session.add(event)
    session.flush()
    log_registry_event(
        session,
        event_id=event.id,
        kind=kind.value,
        certificate_number=certificate.number if certificate is not None else None,
        public_reason=public_reason,
        resolution=resolution,
        public=kind is not RegistryEventKind.voided,
        now=now,
    )
    if certificate is not None:
        refresh_registry_entry(session, certificate)
    return event


def certificate_history(session: Session, certificate_id: int) -> list[RegistryEvent]:
    """Everything the registry records about a certificate, oldest first."""
    return list(
        session.scalars(
            select(RegistryEvent)
            .where(RegistryEvent.certificate_id == certificate_id)
            .order_by(RegistryEvent.id)
        )
    )


def void_reasons(certificate: Certificate) -> list[str]:
    """Why a void certificate was not signed: the lint's message ids, to translate when shown."""
    if not certificate.void_reason:
        return []
    try:
        reasons = json.loads(certificate.void_reason)
    except ValueError:
        reasons = None
    if isinstance(reasons, list) and all(isinstance(reason, str) for reason in reasons):
        return reasons
    return certificate.void_reason.splitlines()  # written before reasons were stored as ids
