"""Reviews of applications: one reviewer's findings per round, who sees them, the private thread."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from core.accounts import Role, User
from core.audit import record_event
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.i18n import DISPLAY_ZONE, local_date
from core.mail import queue_mail
from core.pagination import PAGE_SIZE, PageOf, page_of
from core.workflow import Step, Workflow
from guidelines.models import Criterion, Principle
from quality_marks import applications
from quality_marks.applications import may_review
from quality_marks.models import (
    ACTIVE_REVIEWS,
    OPEN_REVIEWS,
    Application,
    ApplicationDecision,
    ApplicationSnapshot,
    Finding,
    Recommendation,
    Review,
    ReviewFinding,
    ReviewNote,
    ReviewStatus,
)
from quality_marks.schemas import FindingInput, ReviewInput

R = ReviewStatus


@dataclass(frozen=True)
class ReviewStanding:
    """What the review life cycle's rules read: who the person is to the review."""

    reviewer: bool  # the person the review is assigned to
    staff: bool  # the secretariat


def _by_reviewer(standing: ReviewStanding) -> bool:
    return standing.reviewer


def _by_staff(standing: ReviewStanding) -> bool:
    return standing.staff


# The life cycle of one review. `save` keeps an open review open (an assigned one starts on its
# first save); a submitted review is frozen. Declining and releasing are the assignments' verbs.
REVIEW_LIFE_CYCLE: Workflow[ReviewStatus, ReviewStanding] = Workflow(
    [
        Step("start", R.assigned, R.in_progress, may=_by_reviewer),
        Step("save", R.assigned, R.in_progress, may=_by_reviewer),
        Step("save", R.in_progress, may=_by_reviewer),
        Step("submit", R.assigned, R.submitted, may=_by_reviewer),
        Step("submit", R.in_progress, R.submitted, may=_by_reviewer),
        # Giving an assignment back, or taking it back: the assignments' verbs.
        Step("decline", R.assigned, R.declined, may=_by_reviewer),
        Step("decline", R.in_progress, R.declined, may=_by_reviewer),
        Step("release", R.assigned, R.released, may=_by_staff),
        Step("release", R.in_progress, R.released, may=_by_staff),
    ]
)
REVIEW_STATUS_LABELS = {
    R.assigned: N_("Assigned"),
    R.in_progress: N_("In progress"),
    R.submitted: N_("Submitted"),
    R.declined: N_("Declined"),
    R.released: N_("Released"),
}
FINDING_LABELS = {
    Finding.conforms: N_("Conforms"),
    Finding.minor_nonconformity: N_("Minor nonconformity"),
    Finding.major_nonconformity: N_("Major nonconformity"),
    Finding.not_applicable_confirmed: N_("Not applicable (confirmed)"),
}
RECOMMENDATION_LABELS = {
    Recommendation.grant: N_("Grant the mark"),
    Recommendation.grant_with_conditions: N_("Grant the mark with conditions"),
    Recommendation.request_information: N_("Request more information"),
    Recommendation.refuse: N_("Refuse the mark"),
}
STALE = N_(
    "%(name)s changed this review on %(when)s, after you opened it. Open it again to see "
    "the saved version and make your changes there."
)
MISSING_FINDING = N_("Choose a finding.")


def review_standing(user: User, review: Review) -> ReviewStanding:
    """Who the person is to the review, as its life cycle's rules read it."""
    return ReviewStanding(
        reviewer=review.reviewer_id == user.id, staff=user.has_role(Role.secretariat)
    )


def review_actions(user: User, review: Review) -> list[str]:
    """What the person may do next with the review (drives the page's buttons and the API)."""
    return REVIEW_LIFE_CYCLE.actions(review.status, review_standing(user, review))


def _take(review: Review, action: str, actor: User) -> None:
    """Move the review by a step of its life cycle, or refuse (Forbidden, Conflict)."""
    if review.reviewer_id != actor.id and not actor.has_role(Role.secretariat):
        raise NotFound()
    if review.status not in OPEN_REVIEWS and action in {"save", "submit"}:
        raise Conflict(
            N_("This review is %(status)s and can no longer be changed."),
            status=REVIEW_STATUS_LABELS[review.status],
        )
    step = REVIEW_LIFE_CYCLE.require(action, review.status, review_standing(actor, review))
    if step.target is not None:
        review.status = step.target


def _log(
    session: Session,
    actor: User | None,
    action: str,
    review: Review,
    now: dt.datetime,
    **extra: Any,
) -> None:
    review.updated_at = now
    record_event(
        session,
        actor=actor,
        action=f"review.{action}",
        object_type="review",
        object_id=review.id,
        summary={
            "application": review.application_id,
            "round": review.round,
            "status": review.status.value,
            "version": review.version,
            **extra,
        },
        now=now,
    )


# Reading -----------------------------------------------------------------------------------


def _load(session: Session, review_id: int) -> Review | None:
    return session.scalar(
        select(Review)
        .where(Review.id == review_id)
        .options(joinedload(Review.reviewer), selectinload(Review.findings))
        # A review just saved is read again with its findings as they are now.
        .execution_options(populate_existing=True)
    )


def _rounds_submitted_by(session: Session, user: User, application_id: int) -> set[int]:
    return set(
        session.scalars(
            select(Review.round).where(
                Review.application_id == application_id,
                Review.reviewer_id == user.id,
                Review.status == R.submitted,
            )
        )
    )


def may_see_review(session: Session, user: User, review: Review) -> bool:
    """Whether the person may read the review.

    Its reviewer and the secretariat may; so may the reviewers who submitted their own review of
    the same round, once this one is submitted too.
    """
    if review.reviewer_id == user.id or user.has_role(Role.secretariat):
        return True
    return review.status == R.submitted and review.round in _rounds_submitted_by(
        session, user, review.application_id
    )


def get_review(session: Session, user: User, review_id: int) -> Review:
    """A review, with its reviewer and findings, for those who may read it; NotFound otherwise."""
    review = _load(session, review_id)
    if review is None or not may_see_review(session, user, review):
        raise NotFound()
    return review


def reviews_visible_to(session: Session, user: User, application: Application) -> list[Review]:
    """The application's reviews the person may read, by round and reviewer.

    The secretariat sees every review; a reviewer sees their own, and the submitted reviews of a
    round once they have submitted theirs; the applicant sees none (Forbidden), others NotFound.
    """
    staff = user.has_role(Role.secretariat)
    if not staff and not may_review(session, user, application):
        raise Forbidden()
    query = (
        select(Review)
        .where(Review.application_id == application.id)
        .options(joinedload(Review.reviewer), selectinload(Review.findings))
        .order_by(Review.round, Review.id)
    )
    if staff:
        return list(session.scalars(query))
    rounds = _rounds_submitted_by(session, user, application.id)
    return [
        review
        for review in session.scalars(query)
        if review.reviewer_id == user.id
        or (review.status == R.submitted and review.round in rounds)
    ]


def my_reviews(session: Session, user: User, application: Application) -> list[Review]:
    """The person's own reviews of the application, latest round first."""
    return list(
        session.scalars(
            select(Review)
            .where(Review.application_id == application.id, Review.reviewer_id == user.id)
            .order_by(Review.round.desc(), Review.id.desc())
        )
    )


def _ordered_codes(session: Session, application: Application) -> list[str]:
    """The codes of the application's checklist in document order (one query, no tree)."""
    rows = session.execute(
        select(Criterion.code, Criterion.risk_levels)
        .join(Principle, Criterion.principle_id == Principle.id)
        .where(Criterion.version_id == application.guideline_version_id)
        .order_by(Principle.position, Criterion.position)
    )
    # risk_levels is a JSON list: filtering here keeps the query the same on both databases.
    return [code for code, levels in rows if application.risk_level.value in levels]


def checklist_codes(session: Session, review: Review) -> list[str]:
    """The codes of the criteria the review has findings on: the application's checklist."""
    application = session.get(Application, review.application_id)
    assert application is not None
    return _ordered_codes(session, application)


# Saving and submitting ---------------------------------------------------------------------


def start_review(session: Session, *, actor: User, review: Review, now: dt.datetime) -> None:
    """The reviewer starts work on an assigned review."""
    _take(review, "start", actor)
    review.started_at = now
    _log(session, actor, "start", review, now)


def _require_version(session: Session, review: Review, version: int) -> None:
    if version != review.version:
        # Only the reviewer saves a review: whoever changed it since was them (another tab).
        reviewer = session.get(User, review.reviewer_id)
        assert reviewer is not None
        when = review.updated_at.astimezone(DISPLAY_ZONE).strftime("%Y-%m-%d %H:%M")
        raise Conflict(STALE, name=reviewer.full_name, when=when)


def record_review(
    session: Session,
    *,
    actor: User,
    review: Review,
    findings: dict[str, FindingInput],
    recommendation: Recommendation | None,
    summary: str,
    conditions: str,
    private_note: str,
    version: int,
    now: dt.datetime,
) -> Review:
    """Save the reviewer's work so far: findings on some criteria and the overall view.

    The version must be the one the reviewer opened (409 naming who changed it since); an
    assigned review starts with its first save.
    """
    _take(review, "save", actor)
    _require_version(session, review, version)
    application = session.get(Application, review.application_id)
    assert application is not None
    if unknown := sorted(set(findings) - applications.applicable_codes(session, application)):
        raise Invalid(applications.NOT_ON_CHECKLIST, codes=", ".join(unknown))
    existing = {
        f.criterion_code: f
        for f in session.scalars(select(ReviewFinding).where(ReviewFinding.review_id == review.id))
    }
    for code, data in findings.items():
        row = existing.get(code) or ReviewFinding(review_id=review.id, criterion_code=code)
        row.finding = data.finding
        row.comment = data.comment.strip()
        row.private_note = data.private_note.strip()
        row.updated_at = now
        session.add(row)
    review.recommendation = recommendation
    review.summary = summary.strip()
    review.conditions = conditions.strip()
    review.private_note = private_note.strip()
    review.started_at = review.started_at or now
    review.version += 1
    session.flush()
    _log(session, actor, "save", review, now, criteria=sorted(findings))
    return review


def _missing_for_submission(
    session: Session, application: Application, review: Review
) -> dict[str, str]:
    """Form fields that must be filled before the review is submitted, with why."""
    found = {
        f.criterion_code
        for f in session.scalars(select(ReviewFinding).where(ReviewFinding.review_id == review.id))
        if f.finding is not None
    }
    missing = dict.fromkeys(
        [code for code in _ordered_codes(session, application) if code not in found],
        MISSING_FINDING,
    )
    if review.recommendation is None:
        missing["recommendation"] = N_("Choose a recommendation.")
    if not review.summary.strip():
        missing["summary"] = N_("Write a summary for the council and the applicant.")
    if review.recommendation == Recommendation.grant_with_conditions and not review.conditions:
        missing["conditions"] = N_("State the conditions of the grant you recommend.")
    return missing


def submit_review(
    session: Session,
    *,
    actor: User,
    review: Review,
    version: int,
    base_url: str,
    now: dt.datetime,
    draft: ReviewInput | None = None,
) -> Review:
    """Submit a complete review (saving the `draft` sent with it first); then it is frozen.

    Every criterion of the checklist needs a finding; a recommendation and a summary are needed,
    and conditions for a conditional grant. The secretariat hears when the round is complete.
    """
    if draft is not None:
        record_review(
            session,
            actor=actor,
            review=review,
            findings=draft.findings,
            recommendation=draft.recommendation,
            summary=draft.summary,
            conditions=draft.conditions,
            private_note=draft.private_note,
            version=version,
            now=now,
        )
        version = review.version
    _take(review, "submit", actor)
    _require_version(session, review, version)
    application = session.get(Application, review.application_id)
    assert application is not None
    if missing := _missing_for_submission(session, application, review):
        codes = [
            name for name in missing if name not in {"recommendation", "summary", "conditions"}
        ]
        raise Invalid(
            N_("The review cannot be submitted yet. Findings missing for: %(codes)s."),
            fields=missing,
            codes=", ".join(codes) or "—",
        )
    review.started_at = review.started_at or now
    review.submitted_at = now
    review.ended_at = now
    review.version += 1
    session.flush()
    _log(session, actor, "submit", review, now, recommendation=str(review.recommendation))
    if round_complete(session, application, review.round):
        _notify_secretariat(session, application, review.round, base_url, now)
    return review


def round_complete(session: Session, application: Application, round_: int) -> bool:
    """Whether every review of the round still assigned has been submitted (and there is one)."""
    statuses = list(
        session.scalars(
            select(Review.status).where(
                Review.application_id == application.id,
                Review.round == round_,
                Review.status.in_(ACTIVE_REVIEWS),
            )
        )
    )
    return bool(statuses) and all(status == R.submitted for status in statuses)


def _notify_secretariat(
    session: Session, application: Application, round_: int, base_url: str, now: dt.datetime
) -> None:
    for person in session.scalars(
        select(User).where(User.role == Role.secretariat, User.is_active.is_(True))
    ):
        queue_mail(
            session,
            to=person.email,
            template="mail/review_round_complete.txt",
            locale=person.locale,
            context={
                "user_name": person.full_name,
                "application_id": application.id,
                "round": round_,
                "link": f"{base_url.rstrip('/')}/applications/{application.id}/reviews",
            },
            now=now,
        )


# Rounds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """A reviewer's comment for the applicant on a criterion that does not yet conform."""

    criterion_code: str
    comment: str


def latest_round(session: Session, application: Application) -> int | None:
    """The round of the application's latest reviews, if it has any."""
    rounds = session.scalars(
        select(Review.round)
        .where(Review.application_id == application.id)
        .order_by(Review.round.desc())
        .limit(1)
    )
    return next(iter(rounds), None)


def questions_for_applicant(session: Session, application: Application) -> list[Question]:
    """The comments of the latest round's reviews recommending a request for information.

    Only findings that are not `conforms` and carry a comment for the applicant, in checklist
    order; they prefill the secretariat's request.
    """
    round_ = latest_round(session, application)
    if round_ is None:
        return []
    rows = session.execute(
        select(ReviewFinding.criterion_code, ReviewFinding.comment)
        .join(Review, Review.id == ReviewFinding.review_id)
        .where(
            Review.application_id == application.id,
            Review.round == round_,
            Review.status == R.submitted,
            Review.recommendation == Recommendation.request_information,
            ReviewFinding.finding.is_not(None),
            ReviewFinding.finding != Finding.conforms,
            ReviewFinding.comment != "",
        )
        .order_by(Review.id)
    ).all()
    if not rows:
        return []
    order = {
        item.criterion.code: n
        for n, item in enumerate(applications.checklist(session, application))
    }
    ranked = sorted(rows, key=lambda row: order.get(row[0], len(order)))
    return [Question(code, comment) for code, comment in ranked]


def request_text(questions: list[Question]) -> str:
    """The reviewers' questions as the Markdown of a request for information."""
    return "\n".join(f"- **{q.criterion_code}**: {' '.join(q.comment.split())}" for q in questions)


def start_next_round(
    session: Session,
    *,
    application: Application,
    review_days: int,
    base_url: str,
    now: dt.datetime,
) -> list[Review]:
    """After the organisation's answer, each reviewer of the last round reviews the new revision.

    A new review for the application's revision, assigned and due in `review_days`, starting
    from the findings of the reviewer's previous review; the reviewer is told by e-mail.
    """
    previous_round = latest_round(session, application)
    if previous_round is None or previous_round >= application.revision:
        return []
    decided = session.scalar(
        select(ApplicationDecision.id).where(
            ApplicationDecision.application_id == application.id,
            ApplicationDecision.round == previous_round,
        )
    )
    if decided is not None:
        # A round the council decided on (an upheld appeal reopens review): its reviewers do not
        # carry on; the secretariat assigns new ones, whom the appeal's exclusions apply to.
        return []
    previous = list(
        session.scalars(
            select(Review)
            .where(
                Review.application_id == application.id,
                Review.round == previous_round,
                Review.status.in_(ACTIVE_REVIEWS),
            )
            .options(joinedload(Review.reviewer), selectinload(Review.findings))
            .order_by(Review.id)
            .execution_options(populate_existing=True)
        )
    )
    started = []
    for old in previous:
        if old.status in OPEN_REVIEWS:
            # Unfinished when the organisation answered: it ends here, and its reviewer takes
            # up the new revision with the rest.
            old.status = R.released
            old.ended_at = now
            old.updated_at = now
        review = Review(
            application_id=application.id,
            reviewer_id=old.reviewer_id,
            round=application.revision,
            status=R.assigned,
            version=1,
            assigned_by_id=old.assigned_by_id,
            assigned_at=now,
            assignment_note=old.assignment_note,
            due_on=local_date(now) + dt.timedelta(days=review_days),
            updated_at=now,
        )
        session.add(review)
        session.flush()
        for finding in old.findings:
            session.add(
                ReviewFinding(
                    review_id=review.id,
                    criterion_code=finding.criterion_code,
                    finding=finding.finding,
                    comment=finding.comment,
                    private_note=finding.private_note,
                    updated_at=now,
                )
            )
        session.flush()
        _log(session, None, "next_round", review, now, previous=old.id)
        _mail_reviewer(session, old.reviewer, review, base_url, now)
        started.append(review)
    return started


def _mail_reviewer(
    session: Session, person: User, review: Review, base_url: str, now: dt.datetime
) -> None:
    queue_mail(
        session,
        to=person.email,
        template="mail/review_next_round.txt",
        locale=person.locale,
        context={
            "user_name": person.full_name,
            "application_id": review.application_id,
            "round": review.round,
            "due_on": review.due_on,
            "link": f"{base_url.rstrip('/')}/reviews/{review.id}",
        },
        now=now,
    )


@dataclass
class CriterionChange:
    """What the organisation changed in one criterion between two frozen revisions."""

    code: str
    value_before: str | None
    value_after: str | None
    justification_before: str
    justification_after: str
    evidence_added: list[dict[str, Any]] = field(default_factory=list)
    evidence_removed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def value_changed(self) -> bool:
        """Whether the answer itself changed."""
        return self.value_before != self.value_after

    @property
    def justification_changed(self) -> bool:
        """Whether the justification's text changed."""
        return self.justification_before != self.justification_after


def _snapshot_answers(session: Session, application: Application, revision: int) -> dict[str, Any]:
    document = session.scalar(
        select(ApplicationSnapshot.document).where(
            ApplicationSnapshot.application_id == application.id,
            ApplicationSnapshot.revision == revision,
        )
    )
    if document is None:
        raise NotFound()
    return {answer["code"]: answer for answer in document.get("answers", [])}


def _evidence_key(item: dict[str, Any]) -> Any:
    return item.get("id") or (item.get("sha256"), item.get("url"), item.get("name"))


def round_changes(
    session: Session, application: Application, from_revision: int, to_revision: int
) -> list[CriterionChange]:
    """Per criterion, what changed between two frozen revisions: answer, justification, evidence.

    Only criteria with a change, in the order of the later revision.
    """
    before = _snapshot_answers(session, application, from_revision)
    after = _snapshot_answers(session, application, to_revision)
    changes = []
    for code in [*after, *(c for c in before if c not in after)]:
        old, new = before.get(code, {}), after.get(code, {})
        old_evidence = {_evidence_key(e): e for e in old.get("evidence", [])}
        new_evidence = {_evidence_key(e): e for e in new.get("evidence", [])}
        change = CriterionChange(
            code=code,
            value_before=old.get("value"),
            value_after=new.get("value"),
            justification_before=old.get("justification", ""),
            justification_after=new.get("justification", ""),
            evidence_added=[e for k, e in new_evidence.items() if k not in old_evidence],
            evidence_removed=[e for k, e in old_evidence.items() if k not in new_evidence],
        )
        if (
            change.value_changed
            or change.justification_changed
            or change.evidence_added
            or change.evidence_removed
        ):
            changes.append(change)
    return changes


def previous_revision(session: Session, application: Application, revision: int) -> int | None:
    """The latest frozen revision of the application before the one given."""
    found = session.scalars(
        select(ApplicationSnapshot.revision)
        .where(
            ApplicationSnapshot.application_id == application.id,
            ApplicationSnapshot.revision < revision,
        )
        .order_by(ApplicationSnapshot.revision.desc())
        .limit(1)
    )
    return next(iter(found), None)


def changes_for(session: Session, review: Review) -> list[CriterionChange] | None:
    """What changed since the revision the previous round reviewed; None in the first round."""
    application = session.get(Application, review.application_id)
    assert application is not None
    before = previous_revision(session, application, review.round)
    if before is None:
        return None
    return round_changes(session, application, before, review.round)


# The private thread ------------------------------------------------------------------------


def may_read_review_notes(session: Session, user: User, application: Application) -> bool:
    """Whether the person may read and write the reviewers' private thread on the application.

    Its active reviewers and the secretariat (the council members voting on it join later).
    """
    return user.has_role(Role.secretariat) or may_review(session, user, application)


def _require_notes(session: Session, user: User, application: Application) -> None:
    if not may_read_review_notes(session, user, application):
        raise Forbidden()


def review_notes(
    session: Session,
    user: User,
    application: Application,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> PageOf[ReviewNote]:
    """One page of the private thread, newest first, with authors."""
    _require_notes(session, user, application)
    query = (
        select(ReviewNote)
        .where(ReviewNote.application_id == application.id)
        .options(joinedload(ReviewNote.author))
        .order_by(ReviewNote.id.desc())
    )
    return page_of(session, query, page=page, page_size=page_size, counted=True)


def latest_review_notes(
    session: Session, application_id: int, *, limit: int = PAGE_SIZE
) -> list[ReviewNote]:
    """The newest notes of the private thread, for a reader the caller has already admitted."""
    return list(
        session.scalars(
            select(ReviewNote)
            .where(ReviewNote.application_id == application_id)
            .options(joinedload(ReviewNote.author))
            .order_by(ReviewNote.id.desc())
            .limit(limit)
        )
    )


def post_review_note(
    session: Session, *, actor: User, application: Application, body: str, now: dt.datetime
) -> ReviewNote:
    """Write in the reviewers' and council's private thread on the application."""
    _require_notes(session, actor, application)
    if not body.strip():
        raise Invalid(fields={"body": N_("Write a note.")})
    note = ReviewNote(
        application_id=application.id, author_id=actor.id, body=body.strip(), created_at=now
    )
    session.add(note)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="review_note.post",
        object_type="application",
        object_id=application.id,
        summary={"note": note.id},
        now=now,
    )
    return note


def written_note(session: Session, note_id: int) -> ReviewNote:
    """A note just written, with its author."""
    note = session.scalar(
        select(ReviewNote).where(ReviewNote.id == note_id).options(joinedload(ReviewNote.author))
    )
    assert note is not None
    return note
