"""Tables of the quality-mark side: organisations, products, applications, answers, evidence."""

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

from core.accounts import User
from core.db import Base, UTCDateTime
from core.markdown import RenderedMarkdown
from guidelines.models import GuidelineVersion, RiskLevel


class OrgSize(enum.StrEnum):
    """Company size as Mexico's SMEs classification counts it."""

    micro = "micro"
    small = "small"
    medium = "medium"
    large = "large"


class OrgRole(enum.StrEnum):
    """What a person may do for their organisation."""

    owner = "owner"
    editor = "editor"
    viewer = "viewer"


class OrgVerification(enum.StrEnum):
    """Whether the secretariat has confirmed that an organisation is who it says it is."""

    unverified = "unverified"
    verified = "verified"
    rejected = "rejected"


class VerificationMethod(enum.StrEnum):
    """How the secretariat confirmed an organisation's identity."""

    proof = "proof"  # an uploaded document, such as the constancia de situación fiscal
    domain = "domain"  # the owner's e-mail address is on the organisation's web domain


class InvitationStatus(enum.StrEnum):
    """Where an invitation to an existing account stands."""

    pending = "pending"
    accepted = "accepted"
    declined = "declined"


class DisputeStatus(enum.StrEnum):
    """Where a dispute over an RFC stands."""

    open = "open"
    awarded = "awarded"
    dismissed = "dismissed"


class ApplicationStatus(enum.StrEnum):
    """Where a quality-mark application stands."""

    draft = "draft"
    submitted = "submitted"
    screening = "screening"
    under_review = "under_review"
    information_requested = "information_requested"
    decided = "decided"
    appealed = "appealed"
    withdrawn = "withdrawn"


class Decision(enum.StrEnum):
    """The council's decision on an application."""

    granted = "granted"
    refused = "refused"


class ReviewStatus(enum.StrEnum):
    """Where one reviewer's review of one round of an application stands."""

    assigned = "assigned"
    in_progress = "in_progress"
    submitted = "submitted"
    declined = "declined"  # the reviewer refused the assignment, with a reason
    released = "released"  # the secretariat took the assignment back (reassigned, withdrawn)


# Reviews still waiting for their reviewer's work: the load a reviewer carries.
OPEN_REVIEWS = (ReviewStatus.assigned, ReviewStatus.in_progress)
# Reviews that count for their round (not declined nor taken back): their reviewers read the
# whole application and its decision.
ACTIVE_REVIEWS = (*OPEN_REVIEWS, ReviewStatus.submitted)


class Finding(enum.StrEnum):
    """A reviewer's finding on one criterion of the checklist."""

    conforms = "conforms"
    minor_nonconformity = "minor_nonconformity"
    major_nonconformity = "major_nonconformity"
    not_applicable_confirmed = "not_applicable_confirmed"


class Recommendation(enum.StrEnum):
    """A reviewer's overall recommendation to the council."""

    grant = "grant"
    grant_with_conditions = "grant_with_conditions"
    request_information = "request_information"
    refuse = "refuse"


class AppealStatus(enum.StrEnum):
    """Where an applicant's appeal against a refusal stands."""

    filed = "filed"
    upheld = "upheld"  # the refusal is set aside; the application is reviewed again
    dismissed = "dismissed"  # the refusal stands


class AnswerValue(enum.StrEnum):
    """A self-assessment answer to one criterion."""

    meets = "meets"
    partly_meets = "partly_meets"
    does_not_meet = "does_not_meet"
    not_applicable = "not_applicable"


class Organization(Base):
    """A company or institution that applies for quality marks."""

    __tablename__ = "organizations"
    # The verification queue: unverified organisations, oldest first.
    __table_args__ = (
        Index("ix_organizations_verification_created", "verification", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    rfc: Mapped[str] = mapped_column(String(13), unique=True)
    address: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(40))
    sector: Mapped[str] = mapped_column(String(60))
    size: Mapped[OrgSize] = mapped_column(Enum(OrgSize, native_enum=False, length=10))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Unverified until the secretariat confirms the identity; only verified ones may apply.
    verification: Mapped[OrgVerification] = mapped_column(
        Enum(OrgVerification, native_enum=False, length=12),
        default=OrgVerification.unverified,
        server_default=OrgVerification.unverified.value,
        index=True,
    )
    verification_method: Mapped[VerificationMethod | None] = mapped_column(
        Enum(VerificationMethod, native_enum=False, length=10)
    )
    verification_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The latest proof of identity the organisation uploaded (kept in the file store).
    proof_key: Mapped[str | None] = mapped_column(String(80))
    proof_name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    proof_content_type: Mapped[str] = mapped_column(String(120), default="", server_default="")
    proof_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    proof_uploaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class OrganizationMember(Base):
    """A person's place in an organisation (owner, editor or viewer)."""

    __tablename__ = "organization_members"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[OrgRole] = mapped_column(Enum(OrgRole, native_enum=False, length=10))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class OrganizationInvitation(Base):
    """An owner's offer to an existing account to act for the organisation, until answered."""

    __tablename__ = "organization_invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[OrgRole] = mapped_column(Enum(OrgRole, native_enum=False, length=10))
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[InvitationStatus] = mapped_column(
        Enum(InvitationStatus, native_enum=False, length=10)
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RfcDispute(Base):
    """A claim, with proof, that the organisation registered under an RFC is not its holder."""

    __tablename__ = "organization_disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    claimant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The claimant's registration details; they replace the organisation's if the RFC is awarded.
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    statement: Mapped[str] = mapped_column(Text)
    proof_key: Mapped[str] = mapped_column(String(80))
    proof_name: Mapped[str] = mapped_column(String(255))
    proof_content_type: Mapped[str] = mapped_column(String(120))
    proof_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[DisputeStatus] = mapped_column(
        Enum(DisputeStatus, native_enum=False, length=10), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution_reason: Mapped[str] = mapped_column(Text, default="")


class SignUpRequest(Base):
    """A company sign-up waiting for its e-mail address to be confirmed; nothing exists before."""

    __tablename__ = "sign_up_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(10))
    organization: Mapped[dict[str, Any]] = mapped_column(JSON)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Product(Base):
    """An AI system an organisation offers or deploys (the EU AI Act Annex VIII fields)."""

    __tablename__ = "products"
    # An organisation's products, by name.
    __table_args__ = (Index("ix_products_organization_name", "organization_id", "name", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    identifier: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(40))
    intended_purpose: Mapped[str] = mapped_column(Text)
    sectors: Mapped[list[str]] = mapped_column(JSON)
    states: Mapped[list[str]] = mapped_column(JSON)
    users_affected: Mapped[str] = mapped_column(Text)
    risk_level: Mapped[RiskLevel] = mapped_column(Enum(RiskLevel, native_enum=False, length=10))
    risk_answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    data_description: Mapped[str] = mapped_column(Text)
    personal_data: Mapped[bool] = mapped_column(Boolean)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    model_type: Mapped[str] = mapped_column(String(200))
    human_oversight: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(200))
    deployer: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    # Read-only paths for pages, loaded explicitly by the query functions; writes go by id.
    organization: Mapped[Organization] = relationship(lazy="raise", viewonly=True)


class Application(RenderedMarkdown, Base):
    """A request for the quality mark for one product against one adopted guideline version."""

    __tablename__ = "applications"
    # The work lists' orders: newest change first, overall, by status, organisation or product.
    __table_args__ = (
        Index("ix_applications_updated", "updated_at", "id"),
        Index("ix_applications_status_updated", "status", "updated_at", "id"),
        Index("ix_applications_organization_updated", "organization_id", "updated_at", "id"),
        Index("ix_applications_product_updated", "product_id", "updated_at", "id"),
        # The queue filtered by guideline version.
        Index("ix_applications_version_updated", "guideline_version_id", "updated_at", "id"),
        # The screening queue on the secretariat's dashboard, the longest waiting first.
        Index("ix_applications_status_submitted", "status", "submitted_at", "id"),
    )
    markdown_fields = ("return_reason",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    guideline_version_id: Mapped[int] = mapped_column(ForeignKey("guideline_versions.id"))
    # The product's risk level when the application started; it fixes the checklist.
    risk_level: Mapped[RiskLevel] = mapped_column(Enum(RiskLevel, native_enum=False, length=10))
    status: Mapped[ApplicationStatus] = mapped_column(
        Enum(ApplicationStatus, native_enum=False, length=30), index=True
    )
    decision: Mapped[Decision | None] = mapped_column(Enum(Decision, native_enum=False, length=10))
    decision_resolution: Mapped[str | None] = mapped_column(String(40))
    # Each round of changes (after a return or a request for information) is a new revision.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    return_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    # Read-only paths for pages, loaded explicitly by the query functions; writes go by id.
    organization: Mapped[Organization] = relationship(lazy="raise", viewonly=True)
    product: Mapped[Product] = relationship(lazy="raise", viewonly=True)
    guideline_version: Mapped[GuidelineVersion] = relationship(lazy="raise", viewonly=True)
    answers: Mapped[list[Answer]] = relationship(
        lazy="raise", viewonly=True, order_by="Answer.criterion_code"
    )
    evidence: Mapped[list[Evidence]] = relationship(
        lazy="raise", viewonly=True, order_by="Evidence.id"
    )
    messages: Mapped[list[Message]] = relationship(
        lazy="raise", viewonly=True, order_by="Message.id"
    )


class Answer(RenderedMarkdown, Base):
    """The applicant's self-assessment of one criterion, with its justification."""

    __tablename__ = "application_answers"
    markdown_fields = ("justification",)
    __table_args__ = (UniqueConstraint("application_id", "criterion_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    criterion_code: Mapped[str] = mapped_column(String(20))
    value: Mapped[AnswerValue | None] = mapped_column(
        Enum(AnswerValue, native_enum=False, length=20)
    )
    justification: Mapped[str] = mapped_column(Text, default="")
    answer_public: Mapped[bool] = mapped_column(Boolean, default=True)
    justification_public: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Evidence(Base):
    """A file or link supporting an answer; files live in the file store, never in the web root."""

    __tablename__ = "application_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    criterion_code: Mapped[str] = mapped_column(String(20))
    # A file: the stored key, the name it was uploaded under (shown, never used as a path).
    stored_key: Mapped[str | None] = mapped_column(String(80))
    original_name: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(120), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    url: Mapped[str] = mapped_column(String(1000), default="")
    label: Mapped[str] = mapped_column(String(300), default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ApplicationSnapshot(Base):
    """The self-assessment as frozen at a submission: answers and evidence of one revision."""

    __tablename__ = "application_snapshots"
    __table_args__ = (UniqueConstraint("application_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)


class Message(RenderedMarkdown, Base):
    """A message in an application's thread between the organisation and the secretariat."""

    __tablename__ = "application_messages"
    markdown_fields = ("body",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_secretariat: Mapped[bool] = mapped_column(Boolean)
    # A request for information puts the application on hold until the organisation answers.
    is_request: Mapped[bool] = mapped_column(Boolean, default=False)
    # The day by which a request for information is to be answered (requests for information only).
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    author: Mapped[User] = relationship(lazy="raise", viewonly=True)
    attachments: Mapped[list[MessageAttachment]] = relationship(
        lazy="raise", viewonly=True, order_by="MessageAttachment.id"
    )


class MessageAttachment(Base):
    """A file sent with a message."""

    __tablename__ = "application_message_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("application_messages.id"), index=True)
    stored_key: Mapped[str] = mapped_column(String(80))
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))

    message: Mapped[Message] = relationship(lazy="raise", viewonly=True)


class Review(RenderedMarkdown, Base):
    """One reviewer's assessment of one round of an application, from assignment on."""

    __tablename__ = "application_reviews"
    markdown_fields = ("summary", "conditions")
    __table_args__ = (
        # A reviewer's open work, and the load counted for automatic assignment.
        Index("ix_application_reviews_reviewer_status", "reviewer_id", "status", "id"),
        # A reviewer's work list, by due date.
        Index("ix_application_reviews_reviewer_due", "reviewer_id", "due_on", "id"),
        Index("ix_application_reviews_application_round", "application_id", "round", "id"),
        # Overdue reviews across reviewers, on the secretariat's dashboard.
        Index("ix_application_reviews_status_due", "status", "due_on", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The revision of the self-assessment reviewed (its frozen snapshot's revision).
    round: Mapped[int] = mapped_column(Integer)
    status: Mapped[ReviewStatus] = mapped_column(Enum(ReviewStatus, native_enum=False, length=20))
    # Bumped by every save; a save naming an older version is refused (409).
    version: Mapped[int] = mapped_column(Integer, default=1)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Why the secretariat assigned this person (automatic: the load and expertise considered).
    assignment_note: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[dt.date] = mapped_column(Date)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    recommendation: Mapped[Recommendation | None] = mapped_column(
        Enum(Recommendation, native_enum=False, length=30)
    )
    # For the council and the applicant; conditions proposed when recommending a conditional grant.
    summary: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    # For the council only.
    private_note: Mapped[str] = mapped_column(Text, default="")
    declined_reason: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    reviewer: Mapped[User] = relationship(lazy="raise", viewonly=True, foreign_keys=[reviewer_id])
    findings: Mapped[list[ReviewFinding]] = relationship(
        lazy="raise", viewonly=True, order_by="ReviewFinding.criterion_code"
    )


class ReviewFinding(RenderedMarkdown, Base):
    """A reviewer's finding on one criterion: a comment for the applicant, a private note."""

    __tablename__ = "review_findings"
    markdown_fields = ("comment",)
    __table_args__ = (UniqueConstraint("review_id", "criterion_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("application_reviews.id"), index=True)
    criterion_code: Mapped[str] = mapped_column(String(20))
    finding: Mapped[Finding | None] = mapped_column(Enum(Finding, native_enum=False, length=30))
    # Shown to the applicant with the decision (never the reviewer's name).
    comment: Mapped[str] = mapped_column(Text, default="")
    # For the council only.
    private_note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ReviewNote(RenderedMarkdown, Base):
    """A message in the reviewers' and council's private discussion of an application."""

    __tablename__ = "review_notes"
    markdown_fields = ("body",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    author: Mapped[User] = relationship(lazy="raise", viewonly=True)


class MarkRule(Base):
    """The published rule that turns findings into a mark level, frozen with a guideline version."""

    __tablename__ = "mark_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guideline_version_id: Mapped[int] = mapped_column(
        ForeignKey("guideline_versions.id"), unique=True
    )
    # {"levels": [{"code": "A", "max_major": 0, "max_minor": 0}, ...]}, best level first.
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ApplicationDecision(RenderedMarkdown, Base):
    """The council's decision on an application, as its resolution took it; never changed."""

    __tablename__ = "application_decisions"
    markdown_fields = ("reasons", "conditions")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    outcome: Mapped[Decision] = mapped_column(Enum(Decision, native_enum=False, length=10))
    resolution: Mapped[str] = mapped_column(String(40))
    # The round of reviews decided on, and the findings meant for the applicant, per criterion.
    round: Mapped[int] = mapped_column(Integer)
    findings: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The level the published rule gives (granted only) and the rule as applied.
    level: Mapped[str | None] = mapped_column(String(20))
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    # A refusal may be appealed until this day (the appeal period as it stood when decided).
    appeal_until: Mapped[dt.date | None] = mapped_column(Date)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Appeal(RenderedMarkdown, Base):
    """An applicant's appeal against a refusal, heard by a panel without its reviewers."""

    __tablename__ = "appeals"
    markdown_fields = ("grounds", "outcome_reason")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("application_decisions.id"), unique=True)
    grounds: Mapped[str] = mapped_column(Text)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[AppealStatus] = mapped_column(Enum(AppealStatus, native_enum=False, length=12))
    resolution: Mapped[str | None] = mapped_column(String(40))
    outcome_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
