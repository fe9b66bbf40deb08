"""Tables of certificates: the numbers given, the certificates, the registry's public history."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class CertificateStatus(enum.StrEnum):
    """Where a certificate stands: being issued, in force, or ended and why."""

    issuing = "issuing"  # number given and payload stored; not yet signed and stored
    valid = "valid"
    suspended = "suspended"
    withdrawn = "withdrawn"
    expired = "expired"
    superseded = "superseded"  # renewed by a later certificate
    void = "void"  # issuance never finished; the number stays taken so the sequence has no gap


# At most one of these per application (a partial unique index, not only a check).
LIVE_CERTIFICATES = (
    CertificateStatus.issuing,
    CertificateStatus.valid,
    CertificateStatus.suspended,
)
# Certificates that were issued, whatever became of them since: what the public registry shows.
ISSUED_CERTIFICATES = (
    CertificateStatus.valid,
    CertificateStatus.suspended,
    CertificateStatus.withdrawn,
    CertificateStatus.expired,
    CertificateStatus.superseded,
)
_LIVE_SQL = text("status IN ('issuing', 'valid', 'suspended')")


class WithdrawalReason(enum.StrEnum):
    """Why the council withdrew a certificate, as certification registries report it."""

    nonconformity = "nonconformity"
    misuse = "misuse"  # misuse of the mark
    holder_request = "holder_request"
    fraud = "fraud"
    discontinued = "discontinued"  # the product is no longer offered


class RegistryEventKind(enum.StrEnum):
    """What happened to a certificate, as the public registry records it."""

    issued = "issued"
    suspended = "suspended"
    reinstated = "reinstated"
    withdrawn = "withdrawn"
    expired = "expired"
    superseded = "superseded"
    voided = "voided"  # a number given but never issued, so readers can account for every number
    reassessment_requested = "reassessment_requested"  # a new guideline version changed criteria
    # A complaint's triage, told without the complainant's data.
    complaint_dismissed = "complaint_dismissed"
    complaint_surveillance_opened = "complaint_surveillance_opened"
    complaint_closed = "complaint_closed"


class CertificateCounter(Base):
    """The last certificate number given in a year: numbers run without gaps within a year."""

    __tablename__ = "certificate_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class Certificate(Base):
    """The council's signed attestation that a product holds the quality mark at a level."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("year", "serial"),
        Index(
            "uq_certificates_live_application",
            "application_id",
            unique=True,
            sqlite_where=_LIVE_SQL,
            postgresql_where=_LIVE_SQL,
        ),
        Index("ix_certificates_status_valid_until", "status", "valid_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "MX-CEIA-2026-000123": the prefix, the year and the serial within the year.
    number: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("application_decisions.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    guideline_version_id: Mapped[int] = mapped_column(ForeignKey("guideline_versions.id"))
    level: Mapped[str] = mapped_column(String(20))
    status: Mapped[CertificateStatus] = mapped_column(
        Enum(CertificateStatus, native_enum=False, length=12)
    )
    # Every field the certificate states, fixed when the number is given, before anything is signed.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    template_version: Mapped[str] = mapped_column(String(40))
    # Its bit in the published status lists (revocation and suspension).
    status_list_index: Mapped[int] = mapped_column(Integer, unique=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    allocated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Filled when issuance finishes: the signed credential, the signed PDF in the file store.
    key_id: Mapped[str | None] = mapped_column(String(100))
    credential: Mapped[str | None] = mapped_column(Text)
    pdf_key: Mapped[str | None] = mapped_column(String(100))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_size: Mapped[int | None] = mapped_column(Integer)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # An urgent suspension by the chair lapses unless a ballot confirms it by this day.
    confirm_suspension_by: Mapped[dt.date | None] = mapped_column(Date)
    withdrawal_reason: Mapped[WithdrawalReason | None] = mapped_column(
        Enum(WithdrawalReason, native_enum=False, length=20)
    )
    # Why issuance was abandoned (void only).
    void_reason: Mapped[str] = mapped_column(Text, default="")
    # The certificate this one renews, which it supersedes on issue.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    # The application that renews this certificate, once the holder starts one.
    renewal_application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    # The last expiry reminder sent, in days before expiry (90, then 30).
    reminded_days_before: Mapped[int | None] = mapped_column(Integer)
    # A newer guideline version changed criteria it was assessed on: re-assess against it by then.
    reassess_version_id: Mapped[int | None] = mapped_column(ForeignKey("guideline_versions.id"))
    reassess_by: Mapped[dt.date | None] = mapped_column(Date)


class RegistryEvent(Base):
    """One entry of the registry's public history: a certificate issued, suspended, withdrawn..."""

    __tablename__ = "registry_events"
    __table_args__ = (Index("ix_registry_events_certificate", "certificate_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[RegistryEventKind] = mapped_column(
        Enum(RegistryEventKind, native_enum=False, length=30)
    )
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    # A reason code where the kind has them (a withdrawal's), and the public reason per language.
    reason_code: Mapped[str | None] = mapped_column(String(30))
    public_reason: Mapped[dict[str, str]] = mapped_column(JSON)
    # The council resolution behind the event, when a ballot took it.
    resolution: Mapped[str | None] = mapped_column(String(40))
    # Anything else the public may read about the event (the new status, a confirm-by date...).
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
