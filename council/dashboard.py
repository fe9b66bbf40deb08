"""Each person's next steps: the work waiting for them, per role, with its due dates.

Every list is cut in SQL to its most urgent rows (the full lists are one link away), so the
dashboard asks the same number of questions however much work there is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.accounts import Role, User
from core.deadlines import disposition_due, is_late, screening_due
from core.i18n import local_date
from core.settings import Settings
from council.models import Ballot, BallotStatus, BallotVoter, CouncilMember, Position
from guidelines.models import ConsultationTally, Guideline, GuidelineVersion
from quality_marks.complaint_models import Complaint, ComplaintStatus
from quality_marks.models import (
    OPEN_REVIEWS,
    Application,
    ApplicationStatus,
    Message,
    Organization,
    OrganizationMember,
    OrgRole,
    Product,
    Review,
)
from quality_marks.organizations import my_organizations

T = TypeVar("T")

# Rows each list shows; the rest is on the list's own page.
ROWS = 10
# A ballot closing within this is flagged to its voters.
CLOSING_SOON = dt.timedelta(hours=48)
# The screening queue: submitted and not yet accepted nor returned.
SCREENING = (ApplicationStatus.submitted, ApplicationStatus.screening)


@dataclass(frozen=True)
class Deadlines:
    """The rules the due dates are computed by (from the settings)."""

    screening_working_days: int
    disposition_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Deadlines:
        """The deadlines the service is configured with."""
        return cls(settings.screening_working_days, settings.disposition_days)


@dataclass(frozen=True)
class Due:
    """A due date and whether it has passed."""

    on: dt.date
    late: bool


@dataclass(frozen=True)
class Section(Generic[T]):
    """The first rows of a list, and whether more follow them."""

    items: list[T]
    more: bool


def _section(rows: list[T]) -> Section[T]:
    return Section(rows[:ROWS], len(rows) > ROWS)


@dataclass(frozen=True)
class Screening:
    """An application waiting for screening: how long it has waited and by when it is due."""

    application: Application
    product: str
    organization: str
    submitted_on: dt.date
    days_waiting: int
    due: Due


@dataclass(frozen=True)
class AwaitingDisposition:
    """A consultation whose published comments still need a disposition, and its deadline."""

    version: GuidelineVersion
    guideline: Guideline
    awaiting: int
    due: Due | None  # None while the consultation has no closing date

    @property
    def url(self) -> str:
        """Where the dispositions are given: the consultation page."""
        return f"/guidelines/{self.guideline.slug}/{self.version.number}/consultation"


@dataclass(frozen=True)
class OpenBallot:
    """An open ballot and its closing moment; `ended` once voting is over and it awaits closing."""

    ballot: Ballot
    ended: bool
    soon: bool


@dataclass(frozen=True)
class LateReview:
    """A review past its due date, its reviewer and the application."""

    review: Review
    reviewer: str
    application_id: int
    product: str
    due: Due


@dataclass(frozen=True)
class ReviewDue:
    """One of the person's own reviews, with its due date."""

    review: Review
    application_id: int
    product: str
    due: Due


@dataclass(frozen=True)
class InformationRequest:
    """A request for information an organisation of the person's has to answer."""

    application: Application
    product: str
    organization: str
    due: Due | None  # None for requests made before due dates were kept


@dataclass(frozen=True)
class SecretariatWork:
    """What the secretariat has to do: screening, dispositions, ballots, reviews, complaints."""

    screening: Section[Screening]
    dispositions: Section[AwaitingDisposition]
    ballots: Section[OpenBallot]
    late_reviews: Section[LateReview]
    complaints_to_triage: int
    complaints_holder_late: int
    information_late: int


@dataclass(frozen=True)
class Dashboard:
    """One person's dashboard: a section per role they hold (None where they hold none)."""

    secretariat: SecretariatWork | None
    ballots: Section[OpenBallot] | None
    reviews: Section[ReviewDue] | None
    organizations: list[tuple[Organization, OrgRole]] | None
    information: Section[InformationRequest] | None
    administrator: bool

    @property
    def empty(self) -> bool:
        """Whether the person holds no role with work shown here."""
        return not any(
            (self.secretariat, self.ballots, self.reviews, self.organizations is not None)
        )


# The secretariat ---------------------------------------------------------------------------


def screening_queue(session: Session, *, today: dt.date, rules: Deadlines) -> Section[Screening]:
    """Applications waiting for screening, the longest waiting first."""
    rows = session.execute(
        select(Application, Product.name, Organization.legal_name)
        .join(Product, Product.id == Application.product_id)
        .join(Organization, Organization.id == Application.organization_id)
        .where(Application.status.in_(SCREENING))
        .order_by(Application.submitted_at, Application.id)
        .limit(ROWS + 1)
    ).all()
    items = []
    for application, product, organization in rows:
        submitted_on = local_date(application.submitted_at or application.updated_at)
        due_on = screening_due(submitted_on, rules.screening_working_days)
        items.append(
            Screening(
                application=application,
                product=product,
                organization=organization,
                submitted_on=submitted_on,
                days_waiting=(today - submitted_on).days,
                due=Due(due_on, is_late(due_on, today)),
            )
        )
    return _section(items)


def awaiting_dispositions(
    session: Session, *, today: dt.date, rules: Deadlines
) -> Section[AwaitingDisposition]:
    """Consultations with published comments awaiting a disposition, the earliest closing first."""
    awaiting = func.sum(ConsultationTally.count)
    rows = session.execute(
        select(GuidelineVersion, Guideline, awaiting)
        .join(ConsultationTally, ConsultationTally.version_id == GuidelineVersion.id)
        .join(Guideline, Guideline.id == GuidelineVersion.guideline_id)
        .where(ConsultationTally.standing == "awaiting")
        .group_by(GuidelineVersion.id, Guideline.id)
        .having(awaiting > 0)
        .order_by(GuidelineVersion.consultation_closes_at, GuidelineVersion.id)
        .limit(ROWS + 1)
    ).all()
    items = []
    for version, guideline, count in rows:
        last_day = version.closes_on
        due_on = disposition_due(last_day, rules.disposition_days) if last_day else None
        due = Due(due_on, is_late(due_on, today)) if due_on else None
        items.append(AwaitingDisposition(version, guideline, int(count), due))
    return _section(items)


def _open_ballot(ballot: Ballot, now: dt.datetime) -> OpenBallot:
    return OpenBallot(ballot, ballot.closes_at <= now, now < ballot.closes_at <= now + CLOSING_SOON)


def ballots_closing(session: Session, *, now: dt.datetime) -> Section[OpenBallot]:
    """Open ballots, the first to close first (those whose voting is over at the top)."""
    ballots = session.scalars(
        select(Ballot)
        .where(Ballot.status == BallotStatus.open)
        .order_by(Ballot.closes_at, Ballot.id)
        .limit(ROWS + 1)
    ).all()
    return _section([_open_ballot(ballot, now) for ballot in ballots])


def late_reviews(session: Session, *, today: dt.date) -> Section[LateReview]:
    """Open reviews past their due date, the most overdue first."""
    rows = session.execute(
        select(Review, User.full_name, Product.name)
        .join(User, User.id == Review.reviewer_id)
        .join(Application, Application.id == Review.application_id)
        .join(Product, Product.id == Application.product_id)
        .where(Review.status.in_(OPEN_REVIEWS), Review.due_on < today)
        .order_by(Review.due_on, Review.id)
        .limit(ROWS + 1)
    ).all()
    return _section(
        [
            LateReview(review, name, review.application_id, product, Due(review.due_on, True))
            for review, name, product in rows
        ]
    )


def _latest_requests() -> Select[int, int]:
    return (
        select(Message.application_id, func.max(Message.id).label("message_id"))
        .where(Message.is_request.is_(True))
        .group_by(Message.application_id)
    )


def _information_late(session: Session, today: dt.date) -> int:
    latest = _latest_requests().subquery()
    return (
        session.scalar(
            select(func.count(Application.id))
            .join(latest, latest.c.application_id == Application.id)
            .join(Message, Message.id == latest.c.message_id)
            .where(
                Application.status == ApplicationStatus.information_requested,
                Message.due_on < today,
            )
        )
        or 0
    )


def _complaints(session: Session, today: dt.date) -> dict[ComplaintStatus, int]:
    """New complaints to triage, and those whose holder has not answered by the date asked."""
    needing: ColumnElement[bool] = or_(
        Complaint.status == ComplaintStatus.confirmed,
        and_(Complaint.status == ComplaintStatus.holder_asked, Complaint.reply_by < today),
    )
    rows = session.execute(
        select(Complaint.status, func.count(Complaint.id)).where(needing).group_by(Complaint.status)
    ).all()
    return {status: int(count) for status, count in rows}


def secretariat_work(session: Session, *, now: dt.datetime, rules: Deadlines) -> SecretariatWork:
    """Everything waiting for the secretariat, the most urgent first in each list."""
    today = local_date(now)
    complaints = _complaints(session, today)
    return SecretariatWork(
        screening=screening_queue(session, today=today, rules=rules),
        dispositions=awaiting_dispositions(session, today=today, rules=rules),
        ballots=ballots_closing(session, now=now),
        late_reviews=late_reviews(session, today=today),
        complaints_to_triage=complaints.get(ComplaintStatus.confirmed, 0),
        complaints_holder_late=complaints.get(ComplaintStatus.holder_asked, 0),
        information_late=_information_late(session, today),
    )


# Council members and reviewers -------------------------------------------------------------


def ballots_awaiting_position(
    session: Session, user: User, *, now: dt.datetime
) -> Section[OpenBallot]:
    """Open ballots the person votes in and has taken no position on yet, closing first first."""
    mine = aliased(Position)
    ballots = session.scalars(
        select(Ballot)
        .join(BallotVoter, BallotVoter.ballot_id == Ballot.id)
        .join(CouncilMember, CouncilMember.id == BallotVoter.member_id)
        .outerjoin(
            mine,
            and_(
                mine.ballot_id == Ballot.id,
                mine.member_id == CouncilMember.id,
                mine.superseded_at.is_(None),
            ),
        )
        .where(
            Ballot.status == BallotStatus.open,
            Ballot.closes_at > now,
            CouncilMember.user_id == user.id,
            BallotVoter.conflict.is_(None),
            mine.id.is_(None),
        )
        .order_by(Ballot.closes_at, Ballot.id)
        .limit(ROWS + 1)
    ).all()
    return _section([_open_ballot(ballot, now) for ballot in ballots])


def reviews_due(session: Session, user: User, *, today: dt.date) -> Section[ReviewDue]:
    """The person's open reviews, the nearest (or most overdue) due date first."""
    rows = session.execute(
        select(Review, Product.name)
        .join(Application, Application.id == Review.application_id)
        .join(Product, Product.id == Application.product_id)
        .where(Review.reviewer_id == user.id, Review.status.in_(OPEN_REVIEWS))
        .order_by(Review.due_on, Review.id)
        .limit(ROWS + 1)
    ).all()
    return _section(
        [
            ReviewDue(
                review, review.application_id, product, Due(review.due_on, review.due_on < today)
            )
            for review, product in rows
        ]
    )


def _has_seat(session: Session, user: User) -> bool:
    return (
        session.scalar(select(CouncilMember.id).where(CouncilMember.user_id == user.id)) is not None
    )


# Organisations -----------------------------------------------------------------------------


def information_requests(
    session: Session, user: User, *, today: dt.date
) -> Section[InformationRequest]:
    """Requests for information the person's organisations must answer, the earliest due first."""
    latest = _latest_requests().subquery()
    rows = session.execute(
        select(Application, Product.name, Organization.legal_name, Message.due_on)
        .join(OrganizationMember, OrganizationMember.organization_id == Application.organization_id)
        .join(Product, Product.id == Application.product_id)
        .join(Organization, Organization.id == Application.organization_id)
        .outerjoin(latest, latest.c.application_id == Application.id)
        .outerjoin(Message, Message.id == latest.c.message_id)
        .where(
            OrganizationMember.user_id == user.id,
            Application.status == ApplicationStatus.information_requested,
        )
        .order_by(Message.due_on, Application.id)
        .limit(ROWS + 1)
    ).all()
    return _section(
        [
            InformationRequest(
                application,
                product,
                organization,
                Due(due_on, is_late(due_on, today)) if due_on else None,
            )
            for application, product, organization, due_on in rows
        ]
    )


# The whole page ----------------------------------------------------------------------------


def dashboard_of(session: Session, user: User, *, now: dt.datetime, rules: Deadlines) -> Dashboard:
    """The person's dashboard: the sections their role, seat, reviews and organisations call for."""
    today = local_date(now)
    seated = user.role == Role.council_member or _has_seat(session, user)
    reviewer = user.role in (Role.council_member, Role.expert)
    organizations = my_organizations(session, user)
    acting = user.role == Role.applicant or bool(organizations)
    reviews = reviews_due(session, user, today=today)
    return Dashboard(
        secretariat=(
            secretariat_work(session, now=now, rules=rules)
            if user.has_role(Role.secretariat)
            else None
        ),
        ballots=ballots_awaiting_position(session, user, now=now) if seated else None,
        reviews=reviews if reviewer or reviews.items else None,
        organizations=organizations if acting else None,
        information=information_requests(session, user, today=today) if acting else None,
        administrator=user.role == Role.admin,
    )
