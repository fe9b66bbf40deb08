"""Assigned reviews: the state changes that assigning, declining and releasing make."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.accounts import Role, User
from core.api import PageParams
from core.audit import record_event
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.i18n import local_date
from core.mail import queue_mail
from core.pagination import PageOf, count_up_to, page_of
from quality_marks.models import (
    ACTIVE_REVIEWS,
    OPEN_REVIEWS,
    Application,
    ApplicationStatus,
    Product,
    Review,
    ReviewStatus,
)
from quality_marks.reviews import REVIEW_LIFE_CYCLE, review_standing

R = ReviewStatus
REVIEWER_ROLES = (Role.council_member, Role.expert)
# How long before the due date the reminder goes out; overdue reviews are reminded once a day.
REMINDER_LEAD = dt.timedelta(days=1)


def assignment_actions(actor: User, review: Review) -> list[str]:
    """What the person may do to the review's assignment now (the page's buttons)."""
    return REVIEW_LIFE_CYCLE.actions(review.status, review_standing(actor, review))


def may_assign_reviewers(actor: User) -> bool:
    """Whether a person assigns reviewers: the secretariat."""
    return actor.has_role(Role.secretariat)


def is_reviewer(user: User) -> bool:
    """Whether an account may be given reviews: an active council member or expert."""
    return user.is_active and user.role in REVIEWER_ROLES


def _link(base_url: str, application_id: int) -> str:
    return f"{base_url.rstrip('/')}/applications/{application_id}"


def _mail(
    session: Session,
    person: User,
    review: Review,
    template: str,
    *,
    base_url: str,
    now: dt.datetime,
    **extra: object,
) -> None:
    queue_mail(
        session,
        to=person.email,
        template=template,
        locale=person.locale,
        context={
            "user_name": person.full_name,
            "application_id": review.application_id,
            "due_on": review.due_on,
            "link": _link(base_url, review.application_id),
            **extra,
        },
        now=now,
    )


def _log(
    session: Session,
    actor: User | None,
    action: str,
    review: Review,
    now: dt.datetime,
    **summary: object,
) -> None:
    record_event(
        session,
        actor=actor,
        action=f"review.{action}",
        object_type="review",
        object_id=review.id,
        summary={"application": review.application_id, "round": review.round, **summary},
        now=now,
    )


def assign_reviewer(
    session: Session,
    *,
    actor: User,
    application: Application,
    reviewer: User,
    due_on: dt.date,
    note: str,
    base_url: str,
    now: dt.datetime,
) -> Review:
    """The secretariat gives one reviewer the current round of an application under review."""
    if not may_assign_reviewers(actor):
        raise Forbidden()
    if application.status != ApplicationStatus.under_review:
        raise Conflict(N_("Reviewers are assigned only while the application is under review."))
    if not is_reviewer(reviewer):
        raise Invalid(
            fields={"reviewer_id": N_("Only an active council member or expert can review.")}
        )
    if due_on <= local_date(now):
        raise Invalid(fields={"due_on": N_("The due date must be after today.")})
    # Two assignments of one application at once would both pass the checks below (PostgreSQL).
    session.execute(
        select(Application.id).where(Application.id == application.id).with_for_update()
    )
    already = session.scalar(
        select(Review.id).where(
            Review.application_id == application.id,
            Review.round == application.revision,
            Review.reviewer_id == reviewer.id,
            Review.status.in_(ACTIVE_REVIEWS),
        )
    )
    if already is not None:
        raise Conflict(N_("This person already reviews this round of the application."))
    review = Review(
        application_id=application.id,
        reviewer_id=reviewer.id,
        round=application.revision,
        status=R.assigned,
        version=1,
        assigned_by_id=actor.id,
        assigned_at=now,
        assignment_note=note.strip(),
        due_on=due_on,
        updated_at=now,
    )
    session.add(review)
    session.flush()
    _log(
        session,
        actor,
        "assign",
        review,
        now,
        reviewer=reviewer.email,
        due_on=due_on.isoformat(),
        note=review.assignment_note,
    )
    _mail(session, reviewer, review, "mail/review_assigned.txt", base_url=base_url, now=now)
    return review


def _end(review: Review, status: ReviewStatus, now: dt.datetime) -> None:
    review.status = status
    review.ended_at = now
    review.updated_at = now
    review.version += 1


def _required_reason(reason: str) -> str:
    if not reason.strip():
        raise Invalid(fields={"reason": N_("Give the reason.")})
    return reason.strip()


def decline_review(
    session: Session,
    *,
    actor: User,
    review: Review,
    reason: str,
    base_url: str,
    now: dt.datetime,
) -> Review:
    """The reviewer gives a review back before submitting it, saying why; staff are told."""
    target = REVIEW_LIFE_CYCLE.require(
        "decline", review.status, review_standing(actor, review)
    ).target
    assert target is not None
    review.declined_reason = _required_reason(reason)
    _end(review, target, now)
    _log(session, actor, "decline", review, now, reason=review.declined_reason)
    for person in session.scalars(
        select(User)
        .where(User.role == Role.secretariat, User.is_active.is_(True))
        .order_by(User.id)
    ):
        _mail(
            session,
            person,
            review,
            "mail/review_declined.txt",
            base_url=base_url,
            now=now,
            reviewer_name=actor.full_name,
            reason=review.declined_reason,
        )
    return review


def release_review(
    session: Session,
    *,
    actor: User,
    review: Review,
    reason: str,
    base_url: str,
    now: dt.datetime,
) -> Review:
    """The secretariat takes a review back (to reassign it, say); the reviewer is told."""
    target = REVIEW_LIFE_CYCLE.require(
        "release", review.status, review_standing(actor, review)
    ).target
    assert target is not None
    released_because = _required_reason(reason)
    _end(review, target, now)
    _log(session, actor, "release", review, now, reason=released_because)
    reviewer = session.get(User, review.reviewer_id)
    assert reviewer is not None
    _mail(
        session,
        reviewer,
        review,
        "mail/review_released.txt",
        base_url=base_url,
        now=now,
        reason=released_because,
    )
    return review


# Queries -----------------------------------------------------------------------------------


def assigned_review(session: Session, user: User, review_id: int) -> Review:
    """A review its reviewer or the secretariat may act on; for anyone else it does not exist."""
    review = session.scalar(
        select(Review).where(Review.id == review_id).options(selectinload(Review.reviewer))
    )
    if review is None or not (review.reviewer_id == user.id or user.has_role(Role.secretariat)):
        raise NotFound()
    return review


def open_review_counts(session: Session, user_ids: Sequence[int]) -> dict[int, int]:
    """How many open reviews each person carries (zero for those with none), in one query."""
    counts = dict.fromkeys(user_ids, 0)
    if not user_ids:
        return counts
    rows = session.execute(
        select(Review.reviewer_id, func.count())
        .where(Review.reviewer_id.in_(user_ids), Review.status.in_(OPEN_REVIEWS))
        .group_by(Review.reviewer_id)
    )
    counts.update({int(reviewer_id): int(number) for reviewer_id, number in rows})
    return counts


def reviews_of_round(session: Session, application_id: int, round: int) -> list[Review]:
    """Every review of one round of an application, ended ones too, with their reviewers."""
    return list(
        session.scalars(
            select(Review)
            .where(Review.application_id == application_id, Review.round == round)
            .options(selectinload(Review.reviewer))
            .order_by(Review.id)
        )
    )


def declined_by(session: Session, application_id: int) -> set[int]:
    """The people who declined a review of the application, in any round."""
    return set(
        session.scalars(
            select(Review.reviewer_id).where(
                Review.application_id == application_id, Review.status == R.declined
            )
        )
    )


@dataclass(frozen=True)
class ReviewWork:
    """One line of a reviewer's work list: the review, its application and product."""

    review: Review
    application: Application
    product: Product


def _work_of(user: User) -> Select[Review, Application, Product]:
    return (
        select(Review, Application, Product)
        .join(Application, Application.id == Review.application_id)
        .join(Product, Product.id == Application.product_id)
        .where(Review.reviewer_id == user.id, Review.status.in_(ACTIVE_REVIEWS))
        .order_by(Review.due_on, Review.id)
    )


def review_work(session: Session, user: User, page: int = 1) -> PageOf[ReviewWork]:
    """A reviewer's work list, the nearest due date first."""
    rows = page_of(session, _work_of(user), page=page, tuples=True)
    return rows.map(lambda row: ReviewWork(row[0], row[1], row[2]))


def my_reviews_page(
    session: Session, user: User, params: PageParams
) -> tuple[list[ReviewWork], int]:
    """One page of a reviewer's work list for the API, and its count (capped)."""
    stmt = _work_of(user)
    cut = stmt.limit(params.page_size).offset((params.page - 1) * params.page_size)
    counted = count_up_to(session, stmt)
    total = counted.number + (1 if counted.more else 0)
    return [ReviewWork(r, a, p) for r, a, p in session.execute(cut)], total


def reviews_due_for_reminder(session: Session, now: dt.datetime) -> list[Review]:
    """Open reviews due within a day and not yet reminded, and overdue ones not reminded today."""
    today = local_date(now)
    return list(
        session.scalars(
            select(Review)
            .where(
                Review.status.in_(OPEN_REVIEWS),
                or_(
                    (Review.due_on >= today)
                    & (Review.due_on <= today + REMINDER_LEAD)
                    & Review.reminded_at.is_(None),
                    (Review.due_on < today)
                    & (Review.reminded_at.is_(None) | (Review.reminded_at <= now - REMINDER_LEAD)),
                ),
            )
            .options(selectinload(Review.reviewer))
            .order_by(Review.id)
        )
    )


def remind_reviewer(session: Session, *, review: Review, base_url: str, now: dt.datetime) -> None:
    """Mail a reviewer that their review is due soon or overdue, and note when."""
    overdue = review.due_on < local_date(now)
    _mail(
        session,
        review.reviewer,
        review,
        "mail/review_reminder.txt",
        base_url=base_url,
        now=now,
        overdue=overdue,
    )
    review.reminded_at = now
    _log(session, None, "remind", review, now, overdue=overdue)
