"""The council's member pages: the public council, the roster and terms, interests, conflicts."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from core.accounts import User
from core.api import ObjectId, parse_int
from core.auth import Now, Staff
from core.errors import N_, Conflict, Invalid
from core.forms import parse_input
from core.i18n import local_date
from core.submissions import Once
from core.web import (
    PageForm,
    SubmittedForm,
    error_fields,
    flash,
    form_values,
    redirect,
    refuse_form,
    render_page,
)
from council import conflicts, members
from council.home_pages import LABELS, DbSession, Declarant, Member, Voter
from council.schemas import AppointmentInput, ConflictCheckInput, InterestInput, TermInput

pages = APIRouter(include_in_schema=False)

# The fields of the chair's dismissal form, hidden copies of the check it answers.
DISMISSAL_FIELDS = ("user_id", "kind", "reason", "organisation", "rfc", "email_domain")


@pages.get("/council")
def council_page(request: Request, session: DbSession, now: Now) -> HTMLResponse:
    """The council's current members and their declared interests."""
    rows = members.council_in_term(session, local_date(now))
    return render_page(request, "council/council.html", {**LABELS, "rows": rows})


# Interests ---------------------------------------------------------------------------------


def _interests_page(
    request: Request,
    session: Session,
    user: User,
    form: PageForm | None = None,
    *,
    editing_id: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        **LABELS,
        "current": members.current_interests(session, [user.id]),
        "history": members.interest_history(session, user.id),
        **(form or PageForm()).context(),
        "editing_id": editing_id,
    }
    return render_page(request, "council/interests.html", context, status_code=status_code)


@pages.get("/council/interests")
def interests_page(request: Request, session: DbSession, user: Declarant) -> HTMLResponse:
    """A member's or expert's own register of interests, with its history."""
    return _interests_page(request, session, user)


@pages.post("/council/interests", response_model=None)
def declare_interest_page(
    request: Request, session: DbSession, once: Once, user: Declarant, now: Now, form: SubmittedForm
) -> Response:
    """Add a declaration to one's register."""
    values = form_values(form)
    try:
        data = parse_input(InterestInput, values)
        members.declare_interest(session, actor=user, now=now, **data.model_dump())
    except Invalid as error:
        refused = refuse_form(request, session, error, values)
        return _interests_page(request, session, user, refused, status_code=422)
    once.done("/council/interests", now=now)
    session.commit()
    flash(request, N_("Your declaration has been recorded."))
    return redirect("/council/interests")


@pages.post("/council/interests/{declaration_id}", response_model=None)
def revise_interest_page(
    request: Request,
    session: DbSession,
    user: Declarant,
    now: Now,
    form: SubmittedForm,
    declaration_id: ObjectId,
) -> Response:
    """Change a declaration: a new version is added and the old one kept."""
    values = form_values(form)
    try:
        data = parse_input(InterestInput, values)
        members.revise_interest(
            session, actor=user, declaration_id=declaration_id, now=now, **data.model_dump()
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, values)
        return _interests_page(
            request, session, user, refused, editing_id=declaration_id, status_code=422
        )
    session.commit()
    flash(request, N_("Your declaration has been updated; the earlier version stays on record."))
    return redirect("/council/interests")


@pages.post("/council/interests/{declaration_id}/retract")
def retract_interest_page(
    request: Request, session: DbSession, user: Declarant, now: Now, declaration_id: ObjectId
) -> Response:
    """Withdraw a declaration that no longer applies."""
    members.retract_interest(session, actor=user, declaration_id=declaration_id, now=now)
    session.commit()
    flash(request, N_("The declaration has been withdrawn; it stays in your history."))
    return redirect("/council/interests")


# The roster --------------------------------------------------------------------------------


def _members_page(
    request: Request,
    session: Session,
    roster: members.Roster,
    form: PageForm | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    context = {**LABELS, **roster.context(), **(form or PageForm()).context()}
    return render_page(request, "council/members.html", context, status_code=status_code)


@pages.get("/council/members")
def members_page(request: Request, session: DbSession, user: Staff, now: Now) -> HTMLResponse:
    """The secretariat's roster: seats, terms, and appointing members."""
    return _members_page(request, session, members.roster(session, local_date(now)))


@pages.post("/council/members", response_model=None)
def appoint_member_page(
    request: Request, session: DbSession, once: Once, user: Staff, now: Now, form: SubmittedForm
) -> Response:
    """Seat a council member for a first term."""
    values = form_values(form)
    try:
        data = parse_input(AppointmentInput, values)
        members.appoint_member(
            session,
            actor=user,
            user=members.account_to_seat(session, data.user_id),
            seat=data.seat,
            areas=data.areas.split(","),
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            now=now,
        )
    except (Invalid, Conflict) as error:
        refused = refuse_form(request, session, error, values, on_field="user_id")
        roster = members.roster(session, local_date(now))
        return _members_page(request, session, roster, refused, status_code=error.status_code)
    once.done("/council/members", now=now)
    session.commit()
    flash(request, N_("The member has been seated."))
    return redirect("/council/members")


@pages.post("/council/members/{member_id}/terms", response_model=None)
def add_term_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    member_id: ObjectId,
) -> Response:
    """Add a term to a member."""
    try:
        data = parse_input(TermInput, form_values(form))
        members.add_term(
            session,
            actor=user,
            member_id=member_id,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            now=now,
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, {})
        # Each member's row has its own term form: its messages carry the member's prefix.
        refused.errors = {f"term-{member_id}-{k}": v for k, v in refused.errors.items()}
        roster = members.roster(session, local_date(now))
        return _members_page(request, session, roster, refused, status_code=422)
    once.done("/council/members", now=now)
    session.commit()
    flash(request, N_("The term has been added."))
    return redirect("/council/members")


# Conflicts ---------------------------------------------------------------------------------


@pages.get("/council/conflicts")
def conflicts_page(request: Request, session: DbSession, user: Voter, now: Now) -> HTMLResponse:
    """Check a person against an organisation before inviting or assigning them."""
    values = dict(request.query_params)
    errors: dict[str, str] = {}
    check = None
    if values:
        try:
            data = parse_input(ConflictCheckInput, values)
        except Invalid as error:
            errors = error_fields(request, error)
        else:
            party = conflicts.Party(data.organisation, data.rfc, data.email_domain)
            check = conflicts.check_person(
                session, email=data.email, party=party, on=local_date(now)
            )
    is_chair = conflicts.may_dismiss_conflicts(session, user, local_date(now))
    return render_page(
        request,
        "council/conflicts.html",
        {**LABELS, "values": values, "errors": errors, "check": check, "is_chair": is_chair},
    )


@pages.post("/council/conflicts/dismiss")
def dismiss_conflict_page(
    request: Request, session: DbSession, user: Member, now: Now, form: SubmittedForm
) -> Response:
    """The chair dismisses a detected conflict with a reason."""
    values = {name: str(form.get(name) or "") for name in DISMISSAL_FIELDS}
    person = conflicts.conflicted_person(session, parse_int(values["user_id"]))
    party = conflicts.Party(values["organisation"], values["rfc"], values["email_domain"])
    conflicts.dismiss_conflict(
        session,
        actor=user,
        user=person,
        party=party,
        kind=values["kind"],
        reason=values["reason"],
        now=now,
    )
    session.commit()
    flash(request, N_("The conflict has been dismissed and the reason recorded."))
    again = {"email": person.email, "organisation": party.name, "rfc": party.rfc}
    query = urlencode({**again, "email_domain": party.email_domain})
    return redirect(f"/council/conflicts?{query}")
