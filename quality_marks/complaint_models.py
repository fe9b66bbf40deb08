"""Tables of complaints: what the public tells the council about a certified product."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class ComplaintStatus(enum.StrEnum):
    """Where a complaint stands in the secretariat's triage."""

    received = "received"  # not yet confirmed by its author's e-mailed link: it does not count
    confirmed = "confirmed"
    dismissed = "dismissed"
    holder_asked = "holder_asked"  # the holder's owners were asked to answer by a deadline
    surveillance = "surveillance"  # a surveillance review of the certificate is open
    closed = "closed"


class ComplaintOutcome(enum.StrEnum):
    """How a complaint that was looked into ended, as the public history tells it."""

    unfounded = "unfounded"  # the review found the product still conforms
    corrected = "corrected"  # the holder corrected what the complaint pointed at
    suspension = "suspension"  # the council was asked to suspend the certificate


class Complaint(Base):
    """A complaint from anyone about a certified product, and its triage by the secretariat."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
    status: Mapped[ComplaintStatus] = mapped_column(
        Enum(ComplaintStatus, native_enum=False, length=20)
    )
    # The complainant's data: seen by the secretariat only, never published.
    author_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    confirm_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The secretariat's words: why it was dismissed, what the holder was asked, how it ended.
    dismissal_reason: Mapped[str] = mapped_column(Text, default="")
    holder_message: Mapped[str] = mapped_column(Text, default="")
    reply_by: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[ComplaintOutcome | None] = mapped_column(
        Enum(ComplaintOutcome, native_enum=False, length=20)
    )
    outcome_note: Mapped[str] = mapped_column(Text, default="")
