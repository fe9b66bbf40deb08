"""Pages for reviews: the reviewer's form, an application's reviews and the private thread."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.accounts import Role, User
from core.api import ObjectId, parse_int
from core.auth import Now, require
from core.db import get_session
from core.errors import N_, Conflict, Invalid
from core.forms import parse_input
from core.pagination import PageOf, page_number
from core.submissions import Once
from core.web import (
    PageForm,
    SubmittedForm,
    field_text,
    flash,
    redirect,
    refuse_form,
    render_page,
    service_settings,
    translator_for,
)
from guidelines.documents import load_version_tree
from guidelines.models import Guideline, GuidelineVersion
from guidelines.service import RISK_LABELS
from quality_marks import applications, reviews
from quality_marks.applications import ChecklistItem
from quality_marks.applications_pages import application_url, human_size
from quality_marks.models import (
    Application,
    Finding,
    Organization,
    Product,
    Recommendation,
    Review,
    ReviewFinding,
    ReviewNote,
)
from quality_marks.reviews import CriterionChange
from quality_marks.schemas import ReviewInput

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]
# Those who may review or read reviews: an applicant's account never does.
Reviewing = Annotated[User, Depends(require(Role.secretariat, Role.council_member, Role.expert))]
# The overall fields of the review form, besides the findings of each criterion.
OVERALL = ("recommendation", "summary", "conditions", "private_note")


def review_url(review_id: int, suffix: str = "") -> str:
    """The page address of a review."""
    return f"/reviews/{review_id}{suffix}"


def _common(request: Request) -> dict[str, Any]:
    tr = translator_for(request)
    return {
        "status_labels": applications.STATUS_LABELS,
        "answer_labels": applications.ANSWER_LABELS,
        "decision_labels": applications.DECISION_LABELS,
        "risk_labels": RISK_LABELS,
        "review_status_labels": reviews.REVIEW_STATUS_LABELS,
        "finding_labels": reviews.FINDING_LABELS,
        "recommendation_labels": reviews.RECOMMENDATION_LABELS,
        "findings_offered": list(Finding),
        "recommendations_offered": list(Recommendation),
        "application_url": application_url,
        "review_url": review_url,
        "size": lambda n: human_size(tr, n),
        "can_edit": False,  # the applicant's evidence is read, never changed, from here
    }


@dataclass
class Header:
    """What every review page names: the application, its product, organisation and version."""

    is_staff: bool
    application: Application
    product: Product
    organization: Organization
    version: GuidelineVersion
    guideline: Guideline


def _header(session: Session, user: User, application: Application) -> Header:
    version = load_version_tree(session, application.guideline_version_id)
    return Header(
        is_staff=user.has_role(Role.secretariat),
        application=application,
        product=application.product,
        organization=application.organization,
        version=version,
        guideline=version.guideline,
    )


@dataclass
class ReviewPage:
    """A review: the applicant's answers and evidence per criterion, the reviewer's findings."""

    header: Header
    review: Review
    items: list[ChecklistItem]
    findings: dict[str, ReviewFinding]
    actions: list[str]
    changes: list[CriterionChange] | None
    changed_codes: set[str]
    form: PageForm

    def context(self) -> dict[str, Any]:
        """The names the review template reads."""
        return {
            **vars(self.header),
            **self.form.context(),
            "review": self.review,
            "items": self.items,
            "findings": self.findings,
            "actions": self.actions,
            "editable": "save" in self.actions,
            "changes": self.changes,
            "changed_codes": self.changed_codes,
        }


def _stored_values(review: Review) -> dict[str, Any]:
    """The review form filled from what is saved."""
    values: dict[str, Any] = {name: getattr(review, name) or "" for name in OVERALL}
    for finding in review.findings:
        code = finding.criterion_code
        values[f"finding-{code}"] = finding.finding.value if finding.finding else ""
        values[f"comment-{code}"] = finding.comment
        values[f"private_note-{code}"] = finding.private_note
    values["version"] = str(review.version)
    return values


def review_page_context(
    session: Session, user: User, review: Review, *, form: PageForm | None = None
) -> ReviewPage:
    """The review page of one person, filled from the saved review unless a form came back."""
    application = applications.get_application(session, user, review.application_id)
    changes = reviews.changes_for(session, review)
    return ReviewPage(
        header=_header(session, user, application),
        review=review,
        items=applications.checklist(session, application),
        findings={f.criterion_code: f for f in review.findings},
        actions=reviews.review_actions(user, review),
        changes=changes,
        changed_codes={change.code for change in changes or []},
        form=form or PageForm("review", _stored_values(review)),
    )


def _render(request: Request, page: ReviewPage, status_code: int = 200) -> HTMLResponse:
    return render_page(
        request,
        "quality_marks/review.html",
        {**_common(request), **page.context()},
        status_code=status_code,
    )


@pages.get("/reviews/{review_id}")
def review_page(
    request: Request, session: DbSession, user: Reviewing, review_id: ObjectId
) -> HTMLResponse:
    """A review: the reviewer's form, or the review as submitted for those who may read it."""
    review = reviews.get_review(session, user, review_id)
    return _render(request, review_page_context(session, user, review))


def _sent_review(form: FormData, codes: list[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """The review form as typed, and as the verbs take it (empty choices are no choice)."""
    values = {name: field_text(form, name) for name in (*OVERALL, "version")}
    findings: dict[str, Any] = {}
    for code in codes:
        names = ("finding", "comment", "private_note")
        sent = {name: field_text(form, f"{name}-{code}") for name in names}
        values.update({f"{name}-{code}": text for name, text in sent.items()})
        if any(sent.values()):
            findings[code] = {**sent, "finding": sent["finding"] or None}
    data: dict[str, Any] = {name: values[name] for name in OVERALL}
    data["recommendation"] = data["recommendation"] or None
    return values, {**data, "findings": findings, "version": parse_int(values["version"]) or 0}


def _field_errors(errors: Mapping[str, str], codes: list[str]) -> dict[str, str]:
    """The verbs name criteria by code; the form names their finding fields."""
    return {f"finding-{name}" if name in codes else name: text for name, text in errors.items()}


def _refused(
    request: Request,
    session: Session,
    user: User,
    review_id: int,
    error: Invalid | Conflict,
    values: dict[str, str],
    codes: list[str],
) -> HTMLResponse:
    """The review form again after a refusal (already rolled back), with what was typed."""
    form = refuse_form(request, session, error, values, name="review")
    form.errors = _field_errors(form.errors, codes)
    review = reviews.get_review(session, user, review_id)
    page = review_page_context(session, user, review, form=form)
    return _render(request, page, status_code=error.status_code)


@pages.post("/reviews/{review_id}", response_model=None)
def save_review_page(
    request: Request,
    session: DbSession,
    user: Reviewing,
    now: Now,
    form: SubmittedForm,
    review_id: ObjectId,
) -> Response:
    """Save the review so far; a stale or refused form comes back filled in."""
    review = reviews.get_review(session, user, review_id)
    codes = reviews.checklist_codes(session, review)
    values, sent = _sent_review(form, codes)
    try:
        data = _parsed(sent)
        reviews.record_review(
            session, actor=user, review=review, **_fields(data), version=data.version, now=now
        )
    except (Invalid, Conflict) as error:
        return _refused(request, session, user, review_id, error, values, codes)
    session.commit()
    flash(request, N_("Your review has been saved."))
    return redirect(review_url(review_id))


def _parsed(sent: dict[str, Any]) -> ReviewInput:
    return parse_input(ReviewInput, sent)


def _fields(data: ReviewInput) -> dict[str, Any]:
    return {
        "findings": data.findings,
        "recommendation": data.recommendation,
        "summary": data.summary,
        "conditions": data.conditions,
        "private_note": data.private_note,
    }


@pages.post("/reviews/{review_id}/submit", response_model=None)
def submit_review_page(
    request: Request,
    session: DbSession,
    user: Reviewing,
    now: Now,
    form: SubmittedForm,
    review_id: ObjectId,
) -> Response:
    """Save the form and submit the review; a missing finding is named next to its criterion."""
    review = reviews.get_review(session, user, review_id)
    codes = reviews.checklist_codes(session, review)
    values, sent = _sent_review(form, codes)
    try:
        data = _parsed(sent)
        reviews.submit_review(
            session,
            actor=user,
            review=review,
            version=data.version,
            draft=data,
            base_url=service_settings(request).base_url,
            now=now,
        )
    except (Invalid, Conflict) as error:
        return _refused(request, session, user, review_id, error, values, codes)
    session.commit()
    flash(request, N_("Your review has been submitted."))
    return redirect(review_url(review_id))


# An application's reviews ------------------------------------------------------------------


@pages.get("/applications/{application_id}/reviews")
def reviews_page(
    request: Request, session: DbSession, user: Reviewing, application_id: ObjectId
) -> HTMLResponse:
    """The reviews of an application the person may read, by round."""
    application = applications.get_application(session, user, application_id)
    visible = reviews.reviews_visible_to(session, user, application)
    return render_page(
        request,
        "quality_marks/reviews.html",
        {
            **_common(request),
            **vars(_header(session, user, application)),
            "reviews": visible,
            "checklist": applications.checklist(session, application),
            "notes_allowed": reviews.may_read_review_notes(session, user, application),
        },
    )


# The private thread ------------------------------------------------------------------------


@dataclass
class NotesPage:
    """One page of the reviewers' private thread on an application, with the form to write."""

    header: Header
    notes: PageOf[ReviewNote]
    form: PageForm = field(default_factory=PageForm)

    def context(self) -> dict[str, Any]:
        """The names the thread's template reads."""
        return {**vars(self.header), **self.form.context(), "notes": self.notes}


def _notes_page(
    session: Session, user: User, application_id: int, page: int, form: PageForm | None = None
) -> NotesPage:
    application = applications.get_application(session, user, application_id)
    notes = reviews.review_notes(session, user, application, page=page)
    return NotesPage(_header(session, user, application), notes, form or PageForm())


@pages.get("/applications/{application_id}/review-notes")
def review_notes_page(
    request: Request, session: DbSession, user: Reviewing, application_id: ObjectId, page: str = ""
) -> HTMLResponse:
    """The private thread of the application's reviewers and the secretariat."""
    context = _notes_page(session, user, application_id, page_number(page)).context()
    return render_page(request, "quality_marks/review_notes.html", {**_common(request), **context})


@pages.post("/applications/{application_id}/review-notes", response_model=None)
def post_review_note_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Reviewing,
    now: Now,
    form: SubmittedForm,
    application_id: ObjectId,
) -> Response:
    """Write in the private thread; an empty note comes back with the reason."""
    application = applications.get_application(session, user, application_id)
    body = field_text(form, "body")
    try:
        reviews.post_review_note(session, actor=user, application=application, body=body, now=now)
    except Invalid as error:
        refused = refuse_form(request, session, error, {"body": body}, name="note")
        context = _notes_page(session, user, application_id, 1, refused).context()
        return render_page(
            request,
            "quality_marks/review_notes.html",
            {**_common(request), **context},
            status_code=422,
        )
    url = application_url(application_id, "/review-notes")
    once.done(url, now=now)
    session.commit()
    flash(request, N_("Your note has been added."))
    return redirect(url)
