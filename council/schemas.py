"""Input and output shapes of the council's membership, ballots and resolutions."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.forms import SingleLine
from council.models import BallotResult, BallotRule, BallotStatus, InterestType, PositionKind, Seat
from quality_marks.certificate_models import WithdrawalReason
from quality_marks.models import ReviewStatus


class AppointmentInput(BaseModel):
    """A seat and first term for a council member's account."""

    user_id: int = Field(ge=1, le=2_147_483_647)
    seat: Seat
    areas: SingleLine = Field(default="", max_length=1000)
    starts_on: dt.date
    ends_on: dt.date


class TermInput(BaseModel):
    """A further term."""

    starts_on: dt.date
    ends_on: dt.date


class InterestInput(BaseModel):
    """A declared interest as entered by its holder."""

    organisation: SingleLine = Field(min_length=1, max_length=200)
    rfc: SingleLine = Field(default="", max_length=20)
    interest_type: InterestType
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    note: str = Field(default="", max_length=2000)


class AdoptionBallotInput(BaseModel):
    """What the secretary sets when putting a guideline version to a vote."""

    slug: SingleLine = Field(max_length=80)
    number: SingleLine = Field(max_length=20)
    rule: BallotRule = BallotRule.simple_majority
    quorum_percent: int = Field(default=50, ge=0, le=100)
    closes_on: dt.date
    effective_on: dt.date
    consultation_skipped_reason: str = Field(default="", max_length=2000)
    replaces_newer: bool = False


class AppealBallotInput(BaseModel):
    """What the secretary sets when putting an appeal to the council."""

    rule: BallotRule = BallotRule.simple_majority
    quorum_percent: int = Field(default=50, ge=0, le=100)
    closes_on: dt.date


class DecisionBallotInput(AppealBallotInput):
    """What the secretary sets when putting an application to a decision."""

    proposal: Literal["grant", "refuse"]
    reasons: str = Field(default="", max_length=10000)
    conditions: str = Field(default="", max_length=10000)


class PositionInput(BaseModel):
    """A member's position on a ballot."""

    kind: PositionKind
    text: str = Field(default="", max_length=5000)


class ConflictCheckInput(BaseModel):
    """A person and an organisation to check for conflicts before an invitation or assignment."""

    email: SingleLine = Field(min_length=3, max_length=320)
    organisation: SingleLine = Field(min_length=1, max_length=200)
    rfc: SingleLine = Field(default="", max_length=20)
    email_domain: SingleLine = Field(default="", max_length=200)


class MemberOut(BaseModel):
    """A council member as the public sees them."""

    full_name: str
    seat: Seat
    areas: list[str]
    term_ends_on: dt.date | None
    interests: list[dict[str, Any]]


class PositionOut(BaseModel):
    """A member's current position."""

    member: str
    kind: PositionKind | None
    text: str


class BallotOut(BaseModel):
    """A ballot with its live tally."""

    id: int
    title_es: str
    title_en: str
    rule: BallotRule
    status: BallotStatus
    result: BallotResult | None
    opened_at: dt.datetime
    closes_at: dt.datetime
    needs: int
    passes: bool
    not_voted: list[str]
    positions: list[PositionOut]


class ResolutionOut(BaseModel):
    """A public resolution of the council."""

    model_config = ConfigDict(from_attributes=True)

    number: str
    result: BallotResult
    issued_at: dt.datetime
    record: dict[str, Any]


# Reviewer assignment -----------------------------------------------------------------------


class ReviewerProfileInput(BaseModel):
    """What the secretariat records of a reviewer: sectors, most open reviews, availability."""

    sectors: list[SingleLine] = Field(default_factory=list, max_length=20)
    max_open_reviews: int | None = Field(default=None, ge=0, le=50)
    available: bool = False


class AssignmentInput(BaseModel):
    """Reviewers to assign to an application: automatically, or one person by hand."""

    automatic: bool = False
    reviewer_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    due_on: dt.date | None = None


class ReasonInput(BaseModel):
    """Why a review is given back (declined) or taken back (released)."""

    reason: str = Field(default="", max_length=5000)


class CandidateOut(BaseModel):
    """A possible reviewer of an application: eligible or not, and why."""

    user_id: int
    full_name: str
    kind: str | None = Field(description="`member` (council member in term), `expert` or null.")
    eligible: bool
    load: int
    max_open_reviews: int
    sector_match: bool
    sectors: list[str]
    reasons: list[str] = Field(
        description="Why the person may not be assigned now: `not_a_reviewer`, "
        "`already_assigned`, `declined_before`, `unavailable`, `at_load_limit`."
    )
    conflicts: list[dict[str, Any]]


class ReviewAssignmentOut(BaseModel):
    """A review as its assignment describes it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    application_id: int
    reviewer_id: int
    round: int
    status: ReviewStatus
    due_on: dt.date
    assigned_at: dt.datetime
    assignment_note: str
    declined_reason: str


class MyReviewOut(BaseModel):
    """One line of a reviewer's work list."""

    review: ReviewAssignmentOut
    product: str
    organisation_id: int


class CertificateBallotInput(AppealBallotInput):
    """What the secretary proposes on a certificate: the kind, the public reason, a code."""

    kind: Literal["certificate_suspension", "certificate_reinstatement", "certificate_withdrawal"]
    reason_es: str = Field(default="", max_length=5000)
    reason_en: str = Field(default="", max_length=5000)
    reason_code: WithdrawalReason | None = None


class UrgentSuspensionInput(BaseModel):
    """The chair's urgent suspension: the public reason, and when the confirming ballot closes."""

    reason_es: str = Field(default="", max_length=5000)
    reason_en: str = Field(default="", max_length=5000)


class CertificateActionsOut(BaseModel):
    """A certificate's status and what the caller may do with it next."""

    number: str
    status: str
    confirm_suspension_by: dt.date | None
    renewal_application_id: int | None
    actions: list[str]


class CertificateRenewalOut(BaseModel):
    """The draft application that renews a certificate."""

    number: str
    application_id: int
