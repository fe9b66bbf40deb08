"""The council's ballot pages: the list, opening an adoption ballot, voting and closing."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from core.accounts import Role
from core.api import ObjectId
from core.auth import Now, Staff
from core.db import sibling_factory, writes
from core.downloads import export_download
from core.errors import N_, Conflict, Invalid, NotFound
from core.exports import ExportFormat, export_chunks
from core.forms import parse_input
from core.i18n import local_date
from core.pagination import page_number
from core.submissions import Once
from core.web import (
    PageForm,
    SubmittedForm,
    council_keys,
    flash,
    redirect,
    refuse_form,
    render_page,
    service_settings,
)
from council import adoption, ballot_list, ballots, decisions
from council.home_pages import LABELS, DbSession, Member, Voter
from council.models import PositionKind
from council.schemas import AdoptionBallotInput, PositionInput
from guidelines.diff import render_change_html, render_segments_html
from guidelines.service import RISK_LABELS

pages = APIRouter(include_in_schema=False)


def certify_after_close(
    request: Request, session: Session, resolution: str, actor_id: int, now: dt.datetime
) -> None:
    """Issue the certificate of a mark the closed ballot granted (after the close's commit)."""
    decisions.certify_granted(
        sibling_factory(session),
        resolution=resolution,
        keys=lambda: council_keys(request),
        store=request.app.state.file_store,
        settings=service_settings(request),
        actor_id=actor_id,
        now=now,
    )


def _ballot_page(
    request: Request,
    session: Session,
    view: ballots.BallotView,
    form: PageForm | None = None,
    *,
    now: dt.datetime,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "today": local_date(now),
        **LABELS,
        **view.context(),
        "position_kinds": list(PositionKind),
        "segments_html": render_segments_html,
        "change_html": render_change_html,
        "risk_labels": RISK_LABELS,
        **(form or PageForm()).context(),
    }
    return render_page(request, "council/ballot.html", context, status_code=status_code)


@pages.get("/council/ballots")
def ballots_page(
    request: Request,
    session: DbSession,
    user: Voter,
    now: Now,
    q: str = "",
    status: str = "",
    kind: str = "",
    result: str = "",
    page: str = "",
    open_page: str = "",
) -> HTMLResponse:
    """Open and closed ballots, searched and filtered, a page of each at a time."""
    filters = ballot_list.ballot_filters(text=q, status=status, kind=kind, result=result)
    lists = ballot_list.ballot_lists(
        session, filters=filters, open_page=page_number(open_page), closed_page=page_number(page)
    )
    return render_page(
        request,
        "council/ballots.html",
        {
            **LABELS,
            "open_ballots": lists.open,
            "closed_ballots": lists.closed,
            "filters": filters,
            "values": filters.query(),
            "subject_labels": ballot_list.SUBJECT_LABELS,
            "can_open": ballots.may_open_ballot(session, user, now),
            "can_export": user.has_role(Role.secretariat),
        },
    )


@pages.get("/exports/ballots.{fmt}")
@writes  # the export is recorded in the audit log
def ballots_export(
    session: DbSession,
    user: Staff,
    now: Now,
    fmt: ExportFormat,
    q: str = "",
    status: str = "",
    kind: str = "",
    result: str = "",
) -> StreamingResponse:
    """The filtered ballots with each member's position, one row per member, as CSV or JSON."""
    filters = ballot_list.ballot_filters(text=q, status=status, kind=kind, result=result)
    rows = ballot_list.export_ballots(session, actor=user, filters=filters, fmt=fmt, now=now)
    session.commit()
    chunks = export_chunks(fmt, ballot_list.EXPORT_COLUMNS, rows)
    return export_download(chunks, fmt=fmt, name=f"votaciones-{now:%Y-%m-%d}")


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
    values = adoption.ballot_form_defaults(now, slug=slug, number=number)
    return render_page(
        request, "council/ballot_new.html", {**LABELS, "values": values, "errors": {}}
    )


@pages.post("/council/ballots", response_model=None)
def open_ballot_page(
    request: Request, session: DbSession, once: Once, user: Voter, now: Now, form: SubmittedForm
) -> Response:
    """Open an adoption ballot."""
    # Empty fields are kept: an empty number or date is refused, not given its default.
    values = {key: str(form.get(key) or "") for key in form if key != "csrf_token"}
    try:
        data = parse_input(AdoptionBallotInput, values)
        settings = service_settings(request)
        ballot = adoption.put_to_adoption(
            session,
            actor=user,
            terms=data,
            base_url=settings.base_url,
            reassessment_days=settings.reassessment_days,
            now=now,
        )
    except (Invalid, NotFound, Conflict) as error:
        refused = refuse_form(request, session, error, values)
        context = {**LABELS, **refused.context()}
        return render_page(
            request, "council/ballot_new.html", context, status_code=error.status_code
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
    return _ballot_page(
        request, session, ballots.ballot_view(session, ballot_id, user, now), now=now
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
    values = {key: str(form.get(key) or "") for key in ("kind", "text")}
    try:
        data = parse_input(PositionInput, values)
        ballot = ballots.get_ballot(session, ballot_id)
        ballots.cast_position(
            session, actor=user, ballot=ballot, kind=data.kind, text=data.text, now=now
        )
    except (Invalid, Conflict) as error:
        refused = refuse_form(request, session, error, values, on_field="kind")
        view = ballots.ballot_view(session, ballot_id, user, now)
        return _ballot_page(request, session, view, refused, now=now, status_code=error.status_code)
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
    certify_after_close(request, session, resolution.number, user.id, now)
    flash(request, N_("The ballot is closed: resolution %(number)s."), number=resolution.number)
    return redirect(f"/council/resolutions/{resolution.number}")
