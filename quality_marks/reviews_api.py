"""The reviews API under /api/v1: a review, its saves and submission, the private thread."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.api import ERROR_RESPONSES, ObjectId, Page, PageParams, page_params
from core.auth import Now, require
from core.db import get_session
from core.web import service_settings
from quality_marks import applications, reviews
from quality_marks.models import Review, ReviewNote
from quality_marks.schemas import (
    FindingOut,
    ReviewInput,
    ReviewNoteInput,
    ReviewNoteOut,
    ReviewOut,
    ReviewSubmitInput,
)

api = APIRouter(prefix="/api/v1", tags=["reviews"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]
Pagination = Annotated[PageParams, Depends(page_params)]
# Those who may review or read reviews: an applicant's account never does.
Reviewing = Annotated[User, Depends(require(Role.secretariat, Role.council_member, Role.expert))]


def _review_out(user: User, review: Review) -> ReviewOut:
    return ReviewOut(
        id=review.id,
        application_id=review.application_id,
        round=review.round,
        status=review.status,
        version=review.version,
        reviewer=review.reviewer.full_name,
        due_on=review.due_on,
        recommendation=review.recommendation,
        summary=review.summary,
        conditions=review.conditions,
        private_note=review.private_note,
        submitted_at=review.submitted_at,
        findings=[
            FindingOut(
                criterion_code=f.criterion_code,
                finding=f.finding,
                comment=f.comment,
                private_note=f.private_note,
            )
            for f in review.findings
        ],
        actions=reviews.review_actions(user, review),
    )


def _note_out(note: ReviewNote) -> ReviewNoteOut:
    return ReviewNoteOut(
        id=note.id, author=note.author.full_name, body=note.body, created_at=note.created_at
    )


@api.get("/reviews/{review_id}", response_model=ReviewOut)
def api_review(session: DbSession, user: Reviewing, review_id: ObjectId) -> ReviewOut:
    """A review, for its reviewer, the secretariat and the reviewers of its round who submitted."""
    return _review_out(user, reviews.get_review(session, user, review_id))


@api.put("/reviews/{review_id}", response_model=ReviewOut)
def api_save_review(
    session: DbSession, user: Reviewing, now: Now, review_id: ObjectId, body: ReviewInput
) -> ReviewOut:
    """Save the review with the `version` read; 409 when someone saved it since."""
    review = reviews.get_review(session, user, review_id)
    reviews.record_review(
        session,
        actor=user,
        review=review,
        findings=body.findings,
        recommendation=body.recommendation,
        summary=body.summary,
        conditions=body.conditions,
        private_note=body.private_note,
        version=body.version,
        now=now,
    )
    session.commit()
    return _review_out(user, reviews.get_review(session, user, review_id))


@api.post("/reviews/{review_id}/submit", response_model=ReviewOut)
def api_submit_review(
    request: Request,
    session: DbSession,
    user: Reviewing,
    now: Now,
    review_id: ObjectId,
    body: ReviewSubmitInput,
) -> ReviewOut:
    """Submit the review; 422 names every criterion without a finding and other gaps."""
    review = reviews.get_review(session, user, review_id)
    reviews.submit_review(
        session,
        actor=user,
        review=review,
        version=body.version,
        base_url=service_settings(request).base_url,
        now=now,
    )
    session.commit()
    return _review_out(user, reviews.get_review(session, user, review_id))


@api.get("/applications/{application_id}/reviews", response_model=list[ReviewOut])
def api_application_reviews(
    session: DbSession, user: Reviewing, application_id: ObjectId
) -> list[ReviewOut]:
    """The application's reviews the caller may read (never the applicant's to read)."""
    application = applications.get_application(session, user, application_id)
    return [_review_out(user, r) for r in reviews.reviews_visible_to(session, user, application)]


@api.get("/applications/{application_id}/review-notes", response_model=Page[ReviewNoteOut])
def api_review_notes(
    session: DbSession, user: Reviewing, params: Pagination, application_id: ObjectId
) -> Page[ReviewNoteOut]:
    """The reviewers' and the secretariat's private thread on the application, newest first."""
    application = applications.get_application(session, user, application_id)
    notes = reviews.review_notes(
        session, user, application, page=params.page, page_size=params.page_size
    )
    assert notes.count is not None
    return Page[ReviewNoteOut](
        items=[_note_out(note) for note in notes.items],
        total=notes.count.number + (1 if notes.count.more else 0),
        page=params.page,
        page_size=params.page_size,
    )


@api.post(
    "/applications/{application_id}/review-notes", response_model=ReviewNoteOut, status_code=201
)
def api_post_review_note(
    session: DbSession, user: Reviewing, now: Now, application_id: ObjectId, body: ReviewNoteInput
) -> ReviewNoteOut:
    """Write in the private thread on the application."""
    application = applications.get_application(session, user, application_id)
    note = reviews.post_review_note(
        session, actor=user, application=application, body=body.body, now=now
    )
    session.commit()
    return _note_out(reviews.written_note(session, note.id))
