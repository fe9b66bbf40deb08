"""Guidelines: identities, versions, principles, criteria, revisions and public comments."""

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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime
from core.i18n import DISPLAY_ZONE
from core.markdown import RenderedMarkdown


class VersionStatus(enum.StrEnum):
    """Where a guideline version stands in its life."""

    draft = "draft"
    consultation = "consultation"
    adopted = "adopted"
    superseded = "superseded"
    withdrawn = "withdrawn"


class RiskLevel(enum.StrEnum):
    """How much harm an AI product can do; decides which criteria apply to it."""

    minimal = "minimal"
    limited = "limited"
    high = "high"


class CommenterType(enum.StrEnum):
    """Who a public commenter speaks for."""

    individual = "individual"
    company = "company"
    academia = "academia"
    civil_society = "civil_society"
    government = "government"


class Disposition(enum.StrEnum):
    """The secretariat's answer to a consultation comment."""

    accepted = "accepted"
    partly_accepted = "partly_accepted"
    not_accepted = "not_accepted"
    noted = "noted"


class Guideline(Base):
    """A guideline's stable identity (e.g. "Ética en sistemas de IA"), across all its versions."""

    __tablename__ = "guidelines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title_es: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    versions: Mapped[list[GuidelineVersion]] = relationship(
        back_populates="guideline", lazy="raise", order_by="GuidelineVersion.id"
    )


class GuidelineVersion(RenderedMarkdown, Base):
    """One numbered version of a guideline (1.0, 1.1, 2.0); immutable once adopted."""

    __tablename__ = "guideline_versions"
    markdown_fields = ("summary_es", "summary_en")
    __table_args__ = (UniqueConstraint("guideline_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guideline_id: Mapped[int] = mapped_column(ForeignKey("guidelines.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    summary_es: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[VersionStatus] = mapped_column(
        Enum(VersionStatus, native_enum=False, length=20), index=True
    )
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("guideline_versions.id"))
    # The adopted version whose text a draft builds on now; a rebase moves it to a newer one.
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("guideline_versions.id"))
    effective_on: Mapped[dt.date | None] = mapped_column(Date)
    adopted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    adoption_resolution: Mapped[str | None] = mapped_column(String(40))
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    consultation_opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    consultation_closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Optimistic lock: every saved change bumps it; a stale edit gets 409.
    revision_number: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def closes_on(self) -> dt.date | None:
        """The last day of the consultation, in Mexico City."""
        if self.consultation_closes_at is None:
            return None
        last_moment = self.consultation_closes_at - dt.timedelta(microseconds=1)
        return last_moment.astimezone(DISPLAY_ZONE).date()

    guideline: Mapped[Guideline] = relationship(back_populates="versions", lazy="raise")
    principles: Mapped[list[Principle]] = relationship(
        back_populates="version",
        lazy="raise",
        order_by="Principle.position",
        cascade="all, delete-orphan",
    )


class Principle(RenderedMarkdown, Base):
    """An ordered section of a version (Transparency, Fairness...) holding criteria."""

    __tablename__ = "guideline_principles"
    markdown_fields = ("description_es", "description_en")
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("guideline_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(20))
    title_es: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    description_es: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[GuidelineVersion] = relationship(back_populates="principles", lazy="raise")
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="principle",
        lazy="raise",
        order_by="Criterion.position",
        cascade="all, delete-orphan",
    )


class Criterion(RenderedMarkdown, Base):
    """A checkable requirement whose code (TR-2) stays stable across versions."""

    __tablename__ = "guideline_criteria"
    markdown_fields = (
        "requirement_es",
        "requirement_en",
        "guidance_es",
        "guidance_en",
        "evidence_es",
        "evidence_en",
    )
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principle_id: Mapped[int] = mapped_column(ForeignKey("guideline_principles.id"), index=True)
    # Denormalised so a criterion code is unique within its version.
    version_id: Mapped[int] = mapped_column(ForeignKey("guideline_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(20))
    title_es: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    requirement_es: Mapped[str] = mapped_column(Text)
    requirement_en: Mapped[str] = mapped_column(Text)
    guidance_es: Mapped[str] = mapped_column(Text, default="")
    guidance_en: Mapped[str] = mapped_column(Text, default="")
    evidence_es: Mapped[str] = mapped_column(Text, default="")
    evidence_en: Mapped[str] = mapped_column(Text, default="")
    risk_levels: Mapped[list[str]] = mapped_column(JSON)

    principle: Mapped[Principle] = relationship(back_populates="criteria", lazy="raise")


class VersionRevision(Base):
    """A saved state of a version's text: who saved it, when, and the whole document."""

    __tablename__ = "guideline_revisions"
    __table_args__ = (UniqueConstraint("version_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("guideline_versions.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_label: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    document: Mapped[dict[str, Any]] = mapped_column(JSON)


class PeriodChange(enum.StrEnum):
    """How the secretariat changed a consultation's closing moment."""

    extended = "extended"
    closed_early = "closed_early"


class ConsultationPeriodChange(Base):
    """An extension or early close of a public consultation, with the public reason for it."""

    __tablename__ = "consultation_period_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("guideline_versions.id"), index=True)
    kind: Mapped[PeriodChange] = mapped_column(Enum(PeriodChange, native_enum=False, length=20))
    old_closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    new_closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ConsultationComment(RenderedMarkdown, Base):
    """A public comment on a draft in consultation: the whole draft, a principle or a criterion."""

    __tablename__ = "consultation_comments"
    __table_args__ = (
        # The consultation page: comments in order of arrival, and where one stands in it.
        Index("ix_consultation_comments_arrival", "version_id", "created_at", "id", "confirmed_at"),
        # One target's comments in order of arrival; the counts per target, type and
        # disposition read from the index alone.
        Index(
            "ix_consultation_comments_tallies",
            "version_id",
            "target_code",
            "created_at",
            "id",
            "confirmed_at",
            "hidden_at",
            "commenter_type",
            "disposition",
        ),
    )
    markdown_fields = ("body", "response")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("guideline_versions.id"), index=True)
    # What the comment is about: empty for the whole draft, else a principle or criterion code.
    target_code: Mapped[str] = mapped_column(String(20), default="")
    author_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320))
    commenter_type: Mapped[CommenterType] = mapped_column(
        Enum(CommenterType, native_enum=False, length=20)
    )
    organisation: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    confirm_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    hidden_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disposition: Mapped[Disposition | None] = mapped_column(
        Enum(Disposition, native_enum=False, length=20)
    )
    response: Mapped[str | None] = mapped_column(Text)
    changed_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    disposed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ConsultationTally(Base):
    """How many of a version's comments share a target, a commenter type and a standing.

    Kept by the verbs that receive, confirm, hide and answer comments, so the consultation page
    reads a few rows whatever the number of comments. `standing` is "unconfirmed", "hidden",
    "awaiting" (published, no disposition yet) or the disposition given.
    """

    __tablename__ = "consultation_tallies"
    __table_args__ = (UniqueConstraint("version_id", "target_code", "commenter_type", "standing"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("guideline_versions.id"))
    target_code: Mapped[str] = mapped_column(String(20))
    commenter_type: Mapped[CommenterType] = mapped_column(
        Enum(CommenterType, native_enum=False, length=20)
    )
    standing: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer)
