"""The council's pages: home, members and interests, conflict checks, ballots and resolutions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.api import ERROR_RESPONSES, ObjectId, Page, PageParams, page_params, paginate, parse_int
from core.auth import Now, Staff, require
from core.db import get_session
from core.errors import N_, Conflict, Invalid, NotFound
from core.forms import parse_input
from core.i18n import DISPLAY_ZONE, local_date
from core.pdf import render_pdf
from core.submissions import Once
from core.templating import render_text
from core.web import (
    SubmittedForm,
    error_fields,
    error_message,
    flash,
    redirect,
    render_page,
    translator_for,
)
from council import ballots, members
from council.conflicts import KIND_LABELS, Party, check_conflicts, dismiss_conflict
from council.models import Ballot, BallotStatus, CouncilMember, PositionKind, Resolution, Seat
from council.schemas import (
    AdoptionBallotInput,
    AppointmentInput,
    BallotOut,
    ConflictCheckInput,
    InterestInput,
    MemberOut,
    PositionInput,
    PositionOut,
    ResolutionOut,
    TermInput,
)
from guidelines import service as guidelines
from guidelines.diff import render_segments_html
from guidelines.models import GuidelineVersion

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/council", tags=["council"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]
Voter = Annotated[User, Depends(require(Role.council_member, Role.secretariat))]
Declarant = Annotated[User, Depends(require(Role.council_member, Role.expert))]
Member = Annotated[User, Depends(require(Role.council_member))]

LABELS = {
    "seat_labels": members.SEAT_LABELS,
    "interest_labels": members.INTEREST_LABELS,
    "rule_labels": ballots.RULE_LABELS,
    "position_labels": ballots.POSITION_LABELS,
    "result_labels": ballots.RESULT_LABELS,
    "conflict_labels": KIND_LABELS,
}


def end_of_day(day: dt.date) -> dt.datetime:
    """Midnight after a date in Mexico City, in UTC (ballots close at the end of their day)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), DISPLAY_ZONE).astimezone(
        dt.UTC
    )


def _field_errors(request: Request, error: Invalid | Conflict, field: str) -> dict[str, str]:
    """Field messages of a refused form; a conflict is shown on the field it concerns."""
    if isinstance(error, Invalid) and error.fields:
        return error_fields(request, error)
    return {field: error_message(request, error)}


def _form_values(form: Any) -> dict[str, Any]:
    # Empty fields are left out: optional ones take their defaults (None would fail a str
    # field) and a form shown again keeps them empty (None would render as "None").
    return {key: value for key in form if key != "csrf_token" and (value := form.get(key))}


@pages.get("/")
async def home(request: Request) -> HTMLResponse:
    """The public home page."""
    return render_page(request, "council/home.html")


@pages.get("/healthz")
def health() -> dict[str, str]:
    """Liveness probe for the process supervisor."""
    return {"status": "ok"}


# Members and interests ---------------------------------------------------------------------


def _public_members(session: Session, on: dt.date) -> list[dict[str, Any]]:
    seated = members.members_in_term(session, on)
    people = members.users_by_id(session, [m.user_id for m in seated])
    interests = members.current_interests(session, list(people))
    order = {Seat.chair: 0, Seat.secretary: 1, Seat.member: 2}
    return [
        {
            "member": m,
            "user": people[m.user_id],
            "term": next(t for t in m.terms if t.starts_on <= on <= t.ends_on),
            "interests": [i for i in interests if i.user_id == m.user_id],
        }
        for m in sorted(seated, key=lambda m: (order[m.seat], people[m.user_id].full_name))
    ]


@pages.get("/council")
def council_page(request: Request, session: DbSession, now: Now) -> HTMLResponse:
    """The council's current members and their declared interests."""
    return render_page(
        request,
        "council/council.html",
        {**LABELS, "rows": _public_members(session, local_date(now))},
    )


@pages.get("/council/interests")
def interests_page(request: Request, session: DbSession, user: Declarant) -> HTMLResponse:
    """A member's or expert's own register of interests, with its history."""
    return _interests_page(request, session, user, values={}, errors={})


def _interests_page(
    request: Request,
    session: Session,
    user: User,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
    editing_id: int | None = None,
) -> HTMLResponse:
    return render_page(
        request,
        "council/interests.html",
        {
            **LABELS,
            "current": members.current_interests(session, [user.id]),
            "history": members.interest_history(session, user.id),
            "values": values,
            "errors": errors,
            "editing_id": editing_id,
        },
        status_code=status_code,
    )


@pages.post("/council/interests", response_model=None)
def declare_interest_page(
    request: Request, session: DbSession, once: Once, user: Declarant, now: Now, form: SubmittedForm
) -> Response:
    """Add a declaration to one's register."""
    values = _form_values(form)
    try:
        data = parse_input(InterestInput, values)
        members.declare_interest(session, actor=user, now=now, **data.model_dump())
    except Invalid as error:
        session.rollback()
        return _interests_page(
            request,
            session,
            user,
            values=values,
            errors=error_fields(request, error),
            status_code=422,
        )
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
    values = _form_values(form)
    try:
        data = parse_input(InterestInput, values)
        members.revise_interest(
            session, actor=user, declaration_id=declaration_id, now=now, **data.model_dump()
        )
    except Invalid as error:
        session.rollback()
        return _interests_page(
            request,
            session,
            user,
            values=values,
            errors=error_fields(request, error),
            status_code=422,
            editing_id=declaration_id,
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


@pages.get("/council/members")
def members_page(request: Request, session: DbSession, user: Staff, now: Now) -> HTMLResponse:
    """The secretariat's roster: seats, terms, and appointing members."""
    return _members_page(request, session, now, values={}, errors={})


def _members_page(
    request: Request,
    session: Session,
    now: dt.datetime,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    roster = members.list_members(session)
    seated_ids = {m.user_id for m in roster}
    candidates = [
        u
        for u in session.scalars(select(User).where(User.role == Role.council_member))
        if u.id not in seated_ids
    ]
    return render_page(
        request,
        "council/members.html",
        {
            **LABELS,
            "roster": roster,
            "people": members.users_by_id(session, list(seated_ids)),
            "candidates": candidates,
            "today": local_date(now),
            "in_term": members.in_term,
            "values": values,
            "errors": errors,
        },
        status_code=status_code,
    )


@pages.post("/council/members", response_model=None)
def appoint_member_page(
    request: Request, session: DbSession, once: Once, user: Staff, now: Now, form: SubmittedForm
) -> Response:
    """Seat a council member for a first term."""
    values = _form_values(form)
    try:
        data = parse_input(AppointmentInput, values)
        appointee = session.get(User, data.user_id)
        if appointee is None:
            raise Invalid(fields={"user_id": N_("Choose one of the options.")})
        members.appoint_member(
            session,
            actor=user,
            user=appointee,
            seat=data.seat,
            areas=data.areas.split(","),
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            now=now,
        )
    except (Invalid, Conflict) as error:
        session.rollback()
        return _members_page(
            request,
            session,
            now,
            values=values,
            errors=_field_errors(request, error, "user_id"),
            status_code=error.status_code,
        )
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
    values = _form_values(form)
    try:
        data = parse_input(TermInput, values)
        members.add_term(
            session,
            actor=user,
            member_id=member_id,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            now=now,
        )
    except Invalid as error:
        session.rollback()
        fields = {f"term-{member_id}-{k}": v for k, v in error_fields(request, error).items()}
        return _members_page(request, session, now, values={}, errors=fields, status_code=422)
    once.done("/council/members", now=now)
    session.commit()
    flash(request, N_("The term has been added."))
    return redirect("/council/members")


# Conflicts ---------------------------------------------------------------------------------


@pages.get("/council/conflicts")
def conflicts_page(request: Request, session: DbSession, user: Voter, now: Now) -> HTMLResponse:
    """Check a person against an organisation before inviting or assigning them."""
    values = dict(request.query_params)
    results = None
    errors: dict[str, str] = {}
    person = None
    party = None
    if values:
        try:
            data = parse_input(ConflictCheckInput, values)
        except Invalid as error:
            errors = error_fields(request, error)
        else:
            party = Party(name=data.organisation, rfc=data.rfc, email_domain=data.email_domain)
            person = session.scalar(select(User).where(User.email == data.email.strip().lower()))
            results = check_conflicts(
                session, email=data.email, user=person, parties=[party], on=local_date(now)
            )
    return render_page(
        request,
        "council/conflicts.html",
        {
            **LABELS,
            "values": values,
            "errors": errors,
            "results": results,
            "person": person,
            "party": party,
            "is_chair": members.holds_seat(session, user, Seat.chair, local_date(now)),
        },
    )


@pages.post("/council/conflicts/dismiss")
def dismiss_conflict_page(
    request: Request, session: DbSession, user: Member, now: Now, form: SubmittedForm
) -> Response:
    """The chair dismisses a detected conflict with a reason."""
    values = {
        k: str(form.get(k) or "")
        for k in ("user_id", "kind", "reason", "organisation", "rfc", "email_domain")
    }
    person_id = parse_int(values["user_id"])
    person = session.get(User, person_id) if person_id else None
    if person is None:
        raise NotFound()
    dismiss_conflict(
        session,
        actor=user,
        user=person,
        party=Party(
            name=values["organisation"], rfc=values["rfc"], email_domain=values["email_domain"]
        ),
        kind=values["kind"],
        reason=values["reason"],
        now=now,
    )
    session.commit()
    flash(request, N_("The conflict has been dismissed and the reason recorded."))
    query = urlencode(
        {
            "email": person.email,
            "organisation": values["organisation"],
            "rfc": values["rfc"],
            "email_domain": values["email_domain"],
        }
    )
    return redirect(f"/council/conflicts?{query}")


# Ballots -----------------------------------------------------------------------------------


def _ballot_context(
    session: Session, ballot: Ballot, user: User, now: dt.datetime
) -> dict[str, Any]:
    tally = ballots.tally_ballot(session, ballot)
    positions = ballots.ballot_positions(session, ballot)
    seated = {
        m.id: m
        for m in session.scalars(
            select(CouncilMember).where(CouncilMember.id.in_([v.member_id for v in ballot.voters]))
        )
    }
    people = members.users_by_id(session, [m.user_id for m in seated.values()])
    names = {mid: people[m.user_id].full_name for mid, m in seated.items()}
    current = {p.member_id: p for p in positions if p.superseded_at is None}
    me = members.member_of(session, user)
    my_voter = next((v for v in ballot.voters if me and v.member_id == me.id), None)
    return {
        **LABELS,
        "ballot": ballot,
        "tally": tally,
        "voters": ballot.voters,
        "names": names,
        "seats": {mid: m.seat for mid, m in seated.items()},
        "current": current,
        "history": positions,
        "my_voter": my_voter,
        "my_position": current.get(me.id) if me else None,
        "position_kinds": list(PositionKind),
        "is_open": ballot.status == "open" and now < ballot.closes_at,
        "can_close": ballot.status == "open"
        and (now >= ballot.closes_at or not tally.not_voted)
        and _may_run_ballots(session, user, now),
        "subject": _subject(session, ballot),
        "values": {},
        "errors": {},
    }


def _ballot_page_context(
    session: Session, ballot: Ballot, user: User, now: dt.datetime
) -> dict[str, Any]:
    """The ballot page's context: the tally, and for an adoption what is being adopted."""
    return {
        **_ballot_context(session, ballot, user, now),
        "review": ballots.adoption_review(session, ballot, now),
        "segments_html": render_segments_html,
    }


def _may_run_ballots(session: Session, user: User, now: dt.datetime) -> bool:
    return user.has_role(Role.secretariat) or members.holds_seat(
        session, user, Seat.secretary, local_date(now)
    )


def _subject(session: Session, ballot: Ballot) -> dict[str, str] | None:
    if ballot.subject_type == ballots.SUBJECT_GUIDELINE_VERSION:
        version = session.get(GuidelineVersion, ballot.subject_id)
        if version is not None:
            slug = guidelines.slug_of(session, version)
            return {"href": f"/guidelines/{slug}/{version.number}", "label": version.number}
    return None


@pages.get("/council/ballots")
def ballots_page(request: Request, session: DbSession, user: Voter, now: Now) -> HTMLResponse:
    """Open and closed ballots."""
    # Closed ballots show their result; only open ones need a live tally.
    items = [
        (b, ballots.tally_ballot(session, b) if b.status == BallotStatus.open else None)
        for b in ballots.list_ballots(session)
    ]
    resolutions = {r.ballot_id: r for r in session.scalars(select(Resolution))}
    return render_page(
        request,
        "council/ballots.html",
        {
            **LABELS,
            "items": items,
            "resolutions": resolutions,
            "can_open": _may_run_ballots(session, user, now),
        },
    )


@pages.get("/council/ballots/new")
def new_ballot_form(
    request: Request,
    session: DbSession,
    user: Voter,
    now: Now,
    slug: str = "",
    number: str = "",
) -> HTMLResponse:
    """The secretary's form to put a guideline version to a vote."""
    default_close = (now + dt.timedelta(days=7)).astimezone(DISPLAY_ZONE).date()
    values = {
        "slug": slug,
        "number": number,
        "rule": "simple_majority",
        "quorum_percent": "50",
        "closes_on": default_close.isoformat(),
        "effective_on": (default_close + dt.timedelta(days=30)).isoformat(),
    }
    return render_page(
        request, "council/ballot_new.html", {**LABELS, "values": values, "errors": {}}
    )


@pages.post("/council/ballots", response_model=None)
def open_ballot_page(
    request: Request, session: DbSession, once: Once, user: Voter, now: Now, form: SubmittedForm
) -> Response:
    """Open an adoption ballot."""
    values = {key: str(form.get(key) or "") for key in form if key != "csrf_token"}
    try:
        data = parse_input(AdoptionBallotInput, values)
        version = guidelines.get_version(session, slug=data.slug, number=data.number, viewer=user)
        ballot = ballots.open_adoption_ballot(
            session,
            actor=user,
            version=version,
            rule=data.rule,
            quorum_percent=data.quorum_percent,
            closes_at=end_of_day(data.closes_on),
            effective_on=data.effective_on,
            replaces_newer=data.replaces_newer,
            consultation_skipped_reason=data.consultation_skipped_reason,
            now=now,
        )
    except (Invalid, NotFound, Conflict) as error:
        session.rollback()
        fields = error_fields(request, error) if isinstance(error, Invalid) else {}
        return render_page(
            request,
            "council/ballot_new.html",
            {
                **LABELS,
                "values": values,
                "errors": fields,
                "form_error": None if fields else error_message(request, error),
            },
            status_code=error.status_code,
        )
    once.done(f"/council/ballots/{ballot.id}", now=now)
    session.commit()
    flash(request, N_("The ballot is open."))
    return redirect(f"/council/ballots/{ballot.id}")


@pages.get("/council/ballots/{ballot_id}")
def ballot_page(
    request: Request, session: DbSession, user: Voter, now: Now, ballot_id: ObjectId
) -> HTMLResponse:
    """A ballot: live tally, who has not voted, positions and their history."""
    ballot = ballots.get_ballot(session, ballot_id)
    return render_page(
        request, "council/ballot.html", _ballot_page_context(session, ballot, user, now)
    )


@pages.post("/council/ballots/{ballot_id}/positions", response_model=None)
def cast_position_page(
    request: Request,
    session: DbSession,
    user: Member,
    now: Now,
    form: SubmittedForm,
    ballot_id: ObjectId,
) -> Response:
    """State or change one's position."""
    ballot = ballots.get_ballot(session, ballot_id)
    values = {key: str(form.get(key) or "") for key in ("kind", "text")}
    try:
        data = parse_input(PositionInput, values)
        ballots.cast_position(
            session, actor=user, ballot=ballot, kind=data.kind, text=data.text, now=now
        )
    except (Invalid, Conflict) as error:
        session.rollback()
        ballot = ballots.get_ballot(session, ballot_id)
        context = _ballot_page_context(session, ballot, user, now)
        context.update(values=values, errors=_field_errors(request, error, "kind"))
        return render_page(request, "council/ballot.html", context, status_code=error.status_code)
    session.commit()
    flash(request, N_("Your position has been recorded."))
    return redirect(f"/council/ballots/{ballot_id}")


@pages.post("/council/ballots/{ballot_id}/close")
def close_ballot_page(
    request: Request, session: DbSession, user: Voter, now: Now, ballot_id: ObjectId
) -> Response:
    """Close a ballot into its resolution."""
    ballot = ballots.get_ballot(session, ballot_id)
    resolution = ballots.close_ballot(session, actor=user, ballot=ballot, now=now)
    session.commit()
    flash(request, N_("The ballot is closed: resolution %(number)s."), number=resolution.number)
    return redirect(f"/council/resolutions/{resolution.number}")


# Resolutions -------------------------------------------------------------------------------


def _resolution_context(session: Session, resolution: Resolution) -> dict[str, Any]:
    ballot = ballots.get_ballot(session, resolution.ballot_id)
    effective_on = resolution.record.get("terms", {}).get("effective_on")
    return {
        **LABELS,
        "resolution": resolution,
        "ballot": ballot,
        "subject": _subject(session, ballot),
        "effective_on": dt.date.fromisoformat(effective_on) if effective_on else None,
    }


@pages.get("/council/resolutions")
def resolutions_page(request: Request, session: DbSession) -> HTMLResponse:
    """The council's public resolutions."""
    return render_page(
        request,
        "council/resolutions.html",
        {**LABELS, "resolutions": ballots.list_resolutions(session)},
    )


@pages.get("/council/resolutions/{number}")
def resolution_page(request: Request, session: DbSession, number: str) -> HTMLResponse:
    """A resolution with its result and every position."""
    resolution = ballots.get_resolution(session, number)
    return render_page(request, "council/resolution.html", _resolution_context(session, resolution))


@pages.get("/council/resolutions/{number}/pdf")
def resolution_pdf(request: Request, session: DbSession, number: str) -> Response:
    """A resolution as a PDF in the reader's language."""
    resolution = ballots.get_resolution(session, number)
    tr = translator_for(request)
    html = render_text(
        "council/resolution.pdf.html", tr, **_resolution_context(session, resolution)
    )
    return Response(
        render_pdf(html),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'},
    )


# API ---------------------------------------------------------------------------------------


@api.get("/members", response_model=list[MemberOut])
def api_members(session: DbSession, now: Now) -> list[MemberOut]:
    """The members in term and their declared interests (public part)."""
    return [
        MemberOut(
            full_name=row["user"].full_name,
            seat=row["member"].seat,
            areas=row["member"].areas,
            term_ends_on=row["term"].ends_on,
            interests=[
                {
                    "organisation": i.organisation,
                    "rfc": i.rfc,
                    "type": i.interest_type,
                    "starts_on": i.starts_on,
                    "ends_on": i.ends_on,
                }
                for i in row["interests"]
            ],
        )
        for row in _public_members(session, local_date(now))
    ]


def _ballot_out(session: Session, ballot: Ballot, user: User, now: dt.datetime) -> BallotOut:
    context = _ballot_context(session, ballot, user, now)
    tally = context["tally"]
    names = context["names"]
    return BallotOut(
        id=ballot.id,
        title_es=ballot.title_es,
        title_en=ballot.title_en,
        rule=ballot.rule,
        status=ballot.status,
        result=ballot.result,
        opened_at=ballot.opened_at,
        closes_at=ballot.closes_at,
        needs=tally.needs,
        passes=tally.passes,
        not_voted=[names[m] for m in tally.not_voted],
        positions=[
            PositionOut(
                member=names[v.member_id],
                kind=PositionKind.recuse
                if v.conflict
                else getattr(context["current"].get(v.member_id), "kind", None),
                text=getattr(context["current"].get(v.member_id), "text", ""),
            )
            for v in ballot.voters
        ],
    )


@api.get("/ballots/{ballot_id}", response_model=BallotOut)
def api_ballot(session: DbSession, user: Voter, now: Now, ballot_id: ObjectId) -> BallotOut:
    """A ballot and its live tally."""
    return _ballot_out(session, ballots.get_ballot(session, ballot_id), user, now)


@api.post("/ballots/{ballot_id}/positions", response_model=BallotOut, status_code=201)
def api_cast_position(
    session: DbSession, user: Member, now: Now, ballot_id: ObjectId, body: PositionInput
) -> BallotOut:
    """State or change one's position on a ballot."""
    ballot = ballots.get_ballot(session, ballot_id)
    ballots.cast_position(
        session, actor=user, ballot=ballot, kind=body.kind, text=body.text, now=now
    )
    session.commit()
    return _ballot_out(session, ballots.get_ballot(session, ballot_id), user, now)


@api.get("/resolutions", response_model=Page[ResolutionOut])
def api_resolutions(
    session: DbSession, params: Annotated[PageParams, Depends(page_params)]
) -> Page[ResolutionOut]:
    """The council's resolutions, newest first."""
    rows, total = paginate(
        session, select(Resolution).order_by(Resolution.issued_at.desc()), params
    )
    return Page[ResolutionOut](
        items=[ResolutionOut.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@api.get("/resolutions/{number}", response_model=ResolutionOut)
def api_resolution(session: DbSession, number: str) -> Resolution:
    """One resolution with the tally and every position."""
    return ballots.get_resolution(session, number)
