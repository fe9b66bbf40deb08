"""The council's records: members, terms, declared interests, ballots, positions, resolutions."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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


class Seat(enum.StrEnum):
    """A member's seat on the council."""

    chair = "chair"
    secretary = "secretary"
    member = "member"


class InterestType(enum.StrEnum):
    """The kind of tie a person declares with an organisation."""

    employment = "employment"
    consulting = "consulting"
    shareholding = "shareholding"
    family = "family"
    collaboration = "collaboration"
    other = "other"


class BallotRule(enum.StrEnum):
    """How many favourable positions a ballot needs."""

    simple_majority = "simple_majority"
    two_thirds = "two_thirds"


class BallotStatus(enum.StrEnum):
    """Whether a ballot still takes positions."""

    open = "open"
    closed = "closed"


class BallotResult(enum.StrEnum):
    """The outcome of a closed ballot."""

    passed = "passed"
    failed = "failed"


class PositionKind(enum.StrEnum):
    """A member's position on a ballot (IESG style)."""

    yes = "yes"
    no_objection = "no_objection"
    abstain = "abstain"
    discuss = "discuss"
    recuse = "recuse"


class CouncilMember(Base):
    """A person who sits on the council, with a seat and areas of expertise."""

    __tablename__ = "council_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    seat: Mapped[Seat] = mapped_column(Enum(Seat, native_enum=False, length=20))
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    terms: Mapped[list[Term]] = relationship(
        back_populates="member", lazy="raise", order_by="Term.starts_on"
    )


class Term(Base):
    """A period in which a member may vote."""

    __tablename__ = "council_terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("council_members.id"), index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)

    member: Mapped[CouncilMember] = relationship(back_populates="terms", lazy="raise")


class InterestDeclaration(Base):
    """One version of a declared interest; a change adds a version and keeps the old one."""

    __tablename__ = "interest_declarations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # All versions of one declared interest share the id of the first.
    series_id: Mapped[int | None] = mapped_column(Integer, index=True)
    organisation: Mapped[str] = mapped_column(String(200))
    rfc: Mapped[str] = mapped_column(String(13), default="", index=True)
    interest_type: Mapped[InterestType] = mapped_column(
        Enum(InterestType, native_enum=False, length=20)
    )
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    retracted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ConflictDismissal(Base):
    """The chair's recorded decision that a detected conflict does not bar a person."""

    __tablename__ = "conflict_dismissals"
    __table_args__ = (UniqueConstraint("user_id", "organisation_key", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    dismissed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    dismissed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Ballot(Base):
    """A vote of the council on one subject (adopting a guideline version, an application)."""

    __tablename__ = "ballots"
    # The ballots page: open and closed ballots, newest first.
    __table_args__ = (Index("ix_ballots_status_opened", "status", "opened_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    title_es: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    rule: Mapped[BallotRule] = mapped_column(Enum(BallotRule, native_enum=False, length=20))
    # Share of the eligible voters whose positions (recusals aside) must be in for a valid vote.
    quorum_percent: Mapped[int] = mapped_column(Integer, default=50)
    # What a passing ballot does, e.g. {"effective_on": "2027-01-01"} for an adoption.
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[BallotStatus] = mapped_column(Enum(BallotStatus, native_enum=False, length=10))
    result: Mapped[BallotResult | None] = mapped_column(
        Enum(BallotResult, native_enum=False, length=10)
    )
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    voters: Mapped[list[BallotVoter]] = relationship(back_populates="ballot", lazy="raise")


class BallotVoter(Base):
    """A member in term when the ballot opened: eligible, or excluded for a conflict of interest."""

    __tablename__ = "ballot_voters"
    __table_args__ = (UniqueConstraint("ballot_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("council_members.id"))
    conflict: Mapped[str | None] = mapped_column(Text)

    ballot: Mapped[Ballot] = relationship(back_populates="voters", lazy="raise")


class Position(Base):
    """A member's position on a ballot; a change adds a row, the latest one counts."""

    __tablename__ = "ballot_positions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("council_members.id"))
    kind: Mapped[PositionKind] = mapped_column(Enum(PositionKind, native_enum=False, length=20))
    text: Mapped[str] = mapped_column(Text, default="")
    cast_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Resolution(Base):
    """A numbered public resolution of the council (CEIA-2026-014), the result of a ballot."""

    __tablename__ = "resolutions"
    # The resolutions list: newest first.
    __table_args__ = (
        UniqueConstraint("year", "sequence"),
        Index("ix_resolutions_issued", "issued_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), unique=True)
    result: Mapped[BallotResult] = mapped_column(Enum(BallotResult, native_enum=False, length=10))
    # The tally and every position, frozen when the ballot closed.
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ReviewerProfile(Base):
    """What the secretariat knows of a reviewer: the sectors they know and how much they take on."""

    __tablename__ = "reviewer_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    # Codes of quality_marks.geography.SECTORS, matched against a product's sectors.
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    # None: the council's default maximum of open reviews.
    max_open_reviews: Mapped[int | None] = mapped_column(Integer)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
