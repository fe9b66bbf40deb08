"""The `/api/v1` routes of reviewer assignment: candidates, assigning, declining, my reviews."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from core.api import ERROR_RESPONSES, ObjectId, Page, PageParams, page_params
from core.auth import Now, Staff
from core.web import service_settings
from council import assignment
from council.home_pages import DbSession, Declarant
from council.schemas import (
    AssignmentInput,
    CandidateOut,
    MyReviewOut,
    ReasonInput,
    ReviewAssignmentOut,
)
from quality_marks import assignments
from quality_marks.models import Review

api = APIRouter(prefix="/api/v1", tags=["council"], responses=ERROR_RESPONSES)


def _candidate_out(candidate: assignment.Candidate) -> CandidateOut:
    return CandidateOut(
        user_id=candidate.user.id,
        full_name=candidate.user.full_name,
        kind=candidate.kind,
        eligible=candidate.eligible,
        load=candidate.load,
        max_open_reviews=candidate.limit,
        sector_match=candidate.sector_match,
        sectors=candidate.sectors,
        reasons=[r.code for r in candidate.reasons],
        conflicts=[
            {"kind": c.kind, "detail": c.detail, "dismissed": c.dismissed}
            for c in candidate.conflicts
        ],
    )


@api.get("/applications/{application_id}/candidates", response_model=list[CandidateOut])
def api_candidates(
    request: Request, session: DbSession, user: Staff, now: Now, application_id: ObjectId
) -> list[CandidateOut]:
    """Everyone who might review the application: eligible or not, and why; best first."""
    application = assignment.application_for_assignment(session, user, application_id)
    rules = assignment.AssignmentRules.from_settings(service_settings(request))
    candidates = assignment.reviewer_candidates(session, application, now, rules=rules)
    return [_candidate_out(c) for c in candidates]


@api.post(
    "/applications/{application_id}/reviewers",
    response_model=list[ReviewAssignmentOut],
    status_code=201,
)
def api_assign_reviewers(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    application_id: ObjectId,
    body: AssignmentInput,
) -> list[Review]:
    """Assign reviewers: `{"automatic": true}`, or one person with `reviewer_id` (and `due_on`)."""
    application = assignment.application_for_assignment(session, user, application_id)
    reviews = assignment.assign_reviewers(
        session,
        actor=user,
        application=application,
        automatic=body.automatic,
        reviewer_id=body.reviewer_id,
        due_on=body.due_on,
        rules=assignment.AssignmentRules.from_settings(service_settings(request)),
        base_url=service_settings(request).base_url,
        now=now,
    )
    session.commit()
    return reviews


@api.post("/reviews/{review_id}/decline", response_model=ReviewAssignmentOut)
def api_decline_review(
    request: Request,
    session: DbSession,
    user: Declarant,
    now: Now,
    review_id: ObjectId,
    body: ReasonInput,
) -> Review:
    """Give one's review back before submitting it, saying why."""
    review = assignments.assigned_review(session, user, review_id)
    assignments.decline_review(
        session,
        actor=user,
        review=review,
        reason=body.reason,
        base_url=service_settings(request).base_url,
        now=now,
    )
    session.commit()
    return review


@api.get("/reviews", response_model=Page[MyReviewOut])
def api_my_reviews(
    session: DbSession, user: Declarant, params: Annotated[PageParams, Depends(page_params)]
) -> Page[MyReviewOut]:
    """The caller's assigned reviews, the nearest due date first."""
    rows, total = assignments.my_reviews_page(session, user, params)
    return Page[MyReviewOut](
        items=[
            MyReviewOut(
                review=ReviewAssignmentOut.model_validate(work.review),
                product=work.product.name,
                organisation_id=work.application.organization_id,
            )
            for work in rows
        ],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )
