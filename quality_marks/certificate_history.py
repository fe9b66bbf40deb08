"""A certificate's public history: the registry events that say what happened to it and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quality_marks.certificate_models import Certificate, RegistryEvent, RegistryEventKind


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
    """Append an event to the public registry (public reason given in Spanish and English)."""
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
