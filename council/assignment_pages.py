"""Reviewer assignment pages: the pool, an application's assignment panel, my reviews."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from core.accounts import User
from core.api import ObjectId
from core.auth import Now, Staff
from core.errors import N_, Conflict, DomainError, Invalid
from core.forms import parse_input
from core.pagination import page_number
from core.submissions import Once
from core.web import (
    PageForm,
    SubmittedForm,
    field_list,
    flash,
    form_values,
    redirect,
    refuse_form,
    render_page,
    service_settings,
)
from council import assignment
from council.conflicts import KIND_LABELS
from council.home_pages import DbSession, Declarant
from council.schemas import AssignmentInput, ReasonInput, ReviewerProfileInput
from quality_marks import assignments, reviews
from quality_marks.applications import STATUS_LABELS
from quality_marks.geography import SECTORS

pages = APIRouter(include_in_schema=False)

LABELS = {
    "kind_labels": assignment.POOL_KIND_LABELS,
    "review_status_labels": reviews.REVIEW_STATUS_LABELS,
    "application_status_labels": STATUS_LABELS,
    "conflict_labels": KIND_LABELS,
}


def _rules(request: Request) -> assignment.AssignmentRules:
    return assignment.AssignmentRules.from_settings(service_settings(request))


# The pool ----------------------------------------------------------------------------------


@pages.get("/council/reviewers")
def reviewers_page(request: Request, session: DbSession, user: Staff, now: Now) -> HTMLResponse:
    """The reviewer pool: council members and experts, their sectors and open loads."""
    pool = assignment.reviewer_pool(
        session, rules=_rules(request), now=now, page=page_number(request.query_params.get("page"))
    )
    return render_page(request, "council/reviewers.html", {**LABELS, "pool": pool})


def _profile_page(
    request: Request,
    session: Session,
    actor: User,
    reviewer_id: int,
    form: PageForm | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    person = assignment.pool_member(session, actor, reviewer_id)
    profile = assignment.reviewer_profile(session, person)
    form = form or PageForm(values=assignment.profile_values(profile))
    context = {**LABELS, "person": person, "sectors": SECTORS, **form.context()}
    return render_page(request, "council/reviewers_edit.html", context, status_code=status_code)


@pages.get("/council/reviewers/{reviewer_id}")
def reviewer_profile_page(
    request: Request, session: DbSession, user: Staff, reviewer_id: ObjectId
) -> HTMLResponse:
    """A reviewer's profile: sectors known, most open reviews, availability."""
    return _profile_page(request, session, user, reviewer_id)


@pages.post("/council/reviewers/{reviewer_id}", response_model=None)
def update_reviewer_profile_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    reviewer_id: ObjectId,
) -> Response:
    """Record a reviewer's profile."""
    values: dict[str, Any] = {**form_values(form), "sectors": field_list(form, "sectors")}
    try:
        data = parse_input(ReviewerProfileInput, values)
        person = assignment.pool_member(session, user, reviewer_id)
        assignment.update_reviewer_profile(
            session, actor=user, user=person, now=now, **data.model_dump()
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, values)
        return _profile_page(request, session, user, reviewer_id, refused, status_code=422)
    session.commit()
    flash(request, N_("The reviewer's profile has been saved."))
    return redirect("/council/reviewers")


# An application's assignment panel ---------------------------------------------------------


def _panel(
    request: Request,
    session: Session,
    actor: User,
    application_id: int,
    now: dt.datetime,
    form: PageForm | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    panel = assignment.assignment_panel(
        session, actor, application_id, now=now, rules=_rules(request)
    )
    context = {**LABELS, **panel.context(), **(form or PageForm()).context()}
    return render_page(request, "council/assign.html", context, status_code=status_code)


@dataclass(frozen=True)
class PanelRefusal:
    """A refused form of the assignment panel: the error, what was typed, which form."""

    error: DomainError
    values: dict[str, str]
    name: str
    on_field: str | None = None


def _refused_panel(
    request: Request,
    session: Session,
    actor: User,
    application_id: int,
    now: dt.datetime,
    refusal: PanelRefusal,
) -> HTMLResponse:
    form = refuse_form(
        request,
        session,
        refusal.error,
        refusal.values,
        name=refusal.name,
        on_field=refusal.on_field,
    )
    status = refusal.error.status_code
    return _panel(request, session, actor, application_id, now, form, status_code=status)


@pages.get("/applications/{application_id}/assignment")
def assignment_page(
    request: Request, session: DbSession, user: Staff, now: Now, application_id: ObjectId
) -> HTMLResponse:
    """Who may review the application and why, and who reviews it now."""
    return _panel(request, session, user, application_id, now)


@pages.post("/applications/{application_id}/assignment/automatic", response_model=None)
def assign_automatically_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Staff,
    now: Now,
    application_id: ObjectId,
) -> Response:
    """Fill the round's reviewers from the eligible pool."""
    target = f"/applications/{application_id}/assignment"
    try:
        application = assignment.application_for_assignment(session, user, application_id)
        assignment.assign_automatically(
            session,
            actor=user,
            application=application,
            rules=_rules(request),
            base_url=service_settings(request).base_url,
            now=now,
        )
    except Conflict as error:
        refused = PanelRefusal(error, {}, name="automatic")
        return _refused_panel(request, session, user, application_id, now, refused)
    once.done(target, now=now)
    session.commit()
    flash(request, N_("The reviewers have been assigned and told by e-mail."))
    return redirect(target)


@pages.post("/applications/{application_id}/assignment", response_model=None)
def assign_by_hand_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    application_id: ObjectId,
) -> Response:
    """Assign one reviewer chosen by the secretariat."""
    values = form_values(form)
    target = f"/applications/{application_id}/assignment"
    try:
        data = parse_input(AssignmentInput, values)
        application = assignment.application_for_assignment(session, user, application_id)
        assignment.assign_by_hand(
            session,
            actor=user,
            application=application,
            reviewer_id=data.reviewer_id,
            due_on=data.due_on,
            rules=_rules(request),
            base_url=service_settings(request).base_url,
            now=now,
        )
    except (Invalid, Conflict) as error:
        refused = PanelRefusal(error, values, name="by_hand", on_field="reviewer_id")
        return _refused_panel(request, session, user, application_id, now, refused)
    once.done(target, now=now)
    session.commit()
    flash(request, N_("The reviewer has been assigned and told by e-mail."))
    return redirect(target)


@pages.post("/reviews/{review_id}/release", response_model=None)
def release_review_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    review_id: ObjectId,
) -> Response:
    """Take a review back from its reviewer, with the reason."""
    values = form_values(form)
    review = assignment.review_to_release(session, user, review_id)
    application_id = review.application_id
    try:
        data = parse_input(ReasonInput, values)
        assignments.release_review(
            session,
            actor=user,
            review=review,
            reason=data.reason,
            base_url=service_settings(request).base_url,
            now=now,
        )
    except Invalid as error:
        refused = PanelRefusal(error, values, name=f"release-{review_id}")
        return _refused_panel(request, session, user, application_id, now, refused)
    session.commit()
    flash(request, N_("The review has been released; the reviewer has been told."))
    return redirect(f"/applications/{application_id}/assignment")


# The reviewer's side -----------------------------------------------------------------------


def _my_reviews(
    request: Request,
    session: Session,
    user: User,
    form: PageForm | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    work = assignments.review_work(session, user, page_number(request.query_params.get("page")))
    context = {**LABELS, "work": work, **(form or PageForm()).context()}
    return render_page(request, "council/reviews_mine.html", context, status_code=status_code)


@pages.get("/reviews")
def my_reviews_page(request: Request, session: DbSession, user: Declarant) -> HTMLResponse:
    """A reviewer's assigned reviews, the nearest due date first."""
    return _my_reviews(request, session, user)


@pages.post("/reviews/{review_id}/decline", response_model=None)
def decline_review_page(
    request: Request,
    session: DbSession,
    user: Declarant,
    now: Now,
    form: SubmittedForm,
    review_id: ObjectId,
) -> Response:
    """Give a review back, saying why; the secretariat is told."""
    values = form_values(form)
    try:
        data = parse_input(ReasonInput, values)
        review = assignments.assigned_review(session, user, review_id)
        assignments.decline_review(
            session,
            actor=user,
            review=review,
            reason=data.reason,
            base_url=service_settings(request).base_url,
            now=now,
        )
    except (Invalid, Conflict) as error:
        refused = refuse_form(request, session, error, values, name=f"decline-{review_id}")
        return _my_reviews(request, session, user, refused, status_code=error.status_code)
    session.commit()
    flash(request, N_("You have declined the review; the secretariat has been told."))
    return redirect("/reviews")
