"""The secretary's pages to put an application or an appeal to the council, and the voters' view."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.accounts import User
from core.api import ObjectId
from core.auth import Now, Staff
from core.errors import N_, Conflict, Invalid
from core.forms import parse_input
from core.submissions import Once
from core.web import (
    PageForm,
    SubmittedForm,
    flash,
    redirect,
    refuse_form,
    render_page,
    service_settings,
)
from council import decisions
from council.home_pages import LABELS, DbSession, Voter
from council.schemas import AppealBallotInput, DecisionBallotInput
from quality_marks import applications
from quality_marks.decisions import FINDING_LABELS, LEVEL_LABELS, pending_appeal

pages = APIRouter(include_in_schema=False)

DECISION_FIELDS = ("proposal", "reasons", "conditions", "rule", "quorum_percent", "closes_on")
APPEAL_FIELDS = ("rule", "quorum_percent", "closes_on")


def _values(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name) or "") for name in names}


def _decision_form(
    session: Session, user: User, application_id: int, form: PageForm
) -> dict[str, Any]:
    """The decision ballot form's page: the round's findings beside the form."""
    application = applications.get_application(session, user, application_id)
    review = decisions.weigh_application(session, application.id, application.revision)
    return {
        **LABELS,
        **form.context(),
        "review": review,
        "proposal_labels": decisions.PROPOSAL_LABELS,
        "level_labels": LEVEL_LABELS,
        "finding_labels": FINDING_LABELS,
    }


@pages.get("/applications/{application_id}/decision-ballot")
def decision_ballot_form(
    request: Request, session: DbSession, user: Staff, now: Now, application_id: ObjectId
) -> HTMLResponse:
    """The secretary's form to put an application to a decision, prefilled from its reviews."""
    application = applications.get_application(session, user, application_id)
    form = PageForm(values=decisions.decision_form_defaults(session, application, now))
    context = _decision_form(session, user, application_id, form)
    return render_page(request, "quality_marks/decision_ballot.html", context)


@pages.post("/applications/{application_id}/decision-ballot", response_model=None)
def open_decision_ballot_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    application_id: ObjectId,
) -> Response:
    """Open the decision ballot; a refused form comes back with what was typed."""
    values = _values(form, DECISION_FIELDS)
    try:
        data = parse_input(DecisionBallotInput, values)
        ballot = decisions.put_to_decision(
            session,
            actor=user,
            application_id=application_id,
            terms=data,
            settings=service_settings(request),
            now=now,
        )
    except (Invalid, Conflict) as error:
        refused = refuse_form(request, session, error, values, on_field="proposal")
        context = _decision_form(session, user, application_id, refused)
        return render_page(
            request, "quality_marks/decision_ballot.html", context, status_code=error.status_code
        )
    once.done(f"/council/ballots/{ballot.id}", now=now)
    session.commit()
    flash(request, N_("The ballot is open."))
    return redirect(f"/council/ballots/{ballot.id}")


def _appeal_form(
    session: Session, user: User, application_id: int, form: PageForm
) -> dict[str, Any]:
    """The appeal ballot form's page: the appeal's grounds beside the form."""
    application = applications.get_application(session, user, application_id)
    return {
        **LABELS,
        **form.context(),
        "application": application,
        "appeal": pending_appeal(session, application),
    }


@pages.get("/applications/{application_id}/appeal-ballot")
def appeal_ballot_form(
    request: Request, session: DbSession, user: Staff, now: Now, application_id: ObjectId
) -> HTMLResponse:
    """The secretary's form to put an appeal to a panel of the council."""
    form = PageForm(values=decisions.ballot_form_defaults(now))
    context = _appeal_form(session, user, application_id, form)
    return render_page(request, "quality_marks/appeal_ballot.html", context)


@pages.post("/applications/{application_id}/appeal-ballot", response_model=None)
def open_appeal_ballot_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    application_id: ObjectId,
) -> Response:
    """Open the appeal ballot; the original reviewers are recused from it."""
    values = _values(form, APPEAL_FIELDS)
    try:
        data = parse_input(AppealBallotInput, values)
        ballot = decisions.put_to_appeal(
            session,
            actor=user,
            application_id=application_id,
            terms=data,
            base_url=service_settings(request).base_url,
            now=now,
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, values)
        context = _appeal_form(session, user, application_id, refused)
        return render_page(request, "quality_marks/appeal_ballot.html", context, status_code=422)
    once.done(f"/council/ballots/{ballot.id}", now=now)
    session.commit()
    flash(request, N_("The ballot is open."))
    return redirect(f"/council/ballots/{ballot.id}")


@pages.get("/council/ballots/{ballot_id}/application")
def ballot_application_page(
    request: Request, session: DbSession, user: Voter, now: Now, ballot_id: ObjectId
) -> HTMLResponse:
    """The application a decision or appeal ballot is about, for its voters while it is open."""
    view = decisions.ballot_application(session, ballot_id, user, now)
    context = {
        **LABELS,
        "ballot": view.ballot,
        "review": view.review,
        "answers": view.answers,
        "notes": view.notes,
        "answer_labels": applications.ANSWER_LABELS,
    }
    return render_page(request, "quality_marks/decision_ballot_application.html", context)
