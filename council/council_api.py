"""The council's `/api/v1` routes: members and interests, ballots and positions, resolutions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from core.accounts import User
from core.api import ERROR_RESPONSES, ObjectId, Page, PageParams, page_params
from core.auth import Now, Staff
from core.i18n import local_date
from core.web import service_settings
from council import ballots, decisions, members
from council.ballots_pages import certify_after_close
from council.home_pages import DbSession, Member, Voter
from council.models import PositionKind, Resolution
from council.schemas import (
    AppealBallotInput,
    BallotOut,
    DecisionBallotInput,
    MemberOut,
    PositionInput,
    PositionOut,
    ResolutionOut,
)

api = APIRouter(prefix="/api/v1/council", tags=["council"], responses=ERROR_RESPONSES)


def _member_out(row: members.SeatedMember) -> MemberOut:
    return MemberOut(
        full_name=row.user.full_name,
        seat=row.member.seat,
        areas=row.member.areas,
        term_ends_on=row.term.ends_on,
        interests=[
            {
                "organisation": i.organisation,
                "rfc": i.rfc,
                "type": i.interest_type,
                "starts_on": i.starts_on,
                "ends_on": i.ends_on,
            }
            for i in row.interests
        ],
    )


@api.get("/members", response_model=list[MemberOut])
def api_members(session: DbSession, now: Now) -> list[MemberOut]:
    """The members in term and their declared interests (public part)."""
    return [_member_out(row) for row in members.council_in_term(session, local_date(now))]


def _ballot_out(session: Session, ballot_id: int, user: User, now: dt.datetime) -> BallotOut:
    view = ballots.ballot_view(session, ballot_id, user, now, review=False)
    ballot, names = view.ballot, view.names
    return BallotOut(
        id=ballot.id,
        title_es=ballot.title_es,
        title_en=ballot.title_en,
        rule=ballot.rule,
        status=ballot.status,
        result=ballot.result,
        opened_at=ballot.opened_at,
        closes_at=ballot.closes_at,
        needs=view.tally.needs,
        passes=view.tally.passes,
        not_voted=[names[m] for m in view.tally.not_voted],
        positions=[
            PositionOut(
                member=names[v.member_id],
                kind=PositionKind.recuse
                if v.conflict
                else getattr(view.current.get(v.member_id), "kind", None),
                text=getattr(view.current.get(v.member_id), "text", ""),
            )
            for v in ballot.voters
        ],
    )


@api.get("/ballots/{ballot_id}", response_model=BallotOut)
def api_ballot(session: DbSession, user: Voter, now: Now, ballot_id: ObjectId) -> BallotOut:
    """A ballot and its live tally."""
    return _ballot_out(session, ballot_id, user, now)


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
    return _ballot_out(session, ballot_id, user, now)


@api.post("/ballots/{ballot_id}/close", response_model=ResolutionOut, status_code=201)
def api_close_ballot(
    request: Request, session: DbSession, user: Voter, now: Now, ballot_id: ObjectId
) -> Resolution:
    """Close a ballot into its resolution (the secretary), carrying out what it decided.

    A granted mark's certificate is issued right after the close is committed.
    """
    resolution = ballots.close_ballot(
        session, actor=user, ballot=ballots.get_ballot(session, ballot_id), now=now
    )
    session.commit()
    certify_after_close(request, session, resolution.number, user.id, now)
    return resolution


@api.post(
    "/applications/{application_id}/decision-ballot", response_model=BallotOut, status_code=201
)
def api_open_decision_ballot(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    application_id: ObjectId,
    body: DecisionBallotInput,
) -> BallotOut:
    """Put an application whose round is fully reviewed to the council: grant or refuse."""
    ballot = decisions.put_to_decision(
        session,
        actor=user,
        application_id=application_id,
        terms=body,
        settings=service_settings(request),
        now=now,
    )
    session.commit()
    return _ballot_out(session, ballot.id, user, now)


@api.post("/applications/{application_id}/appeal-ballot", response_model=BallotOut, status_code=201)
def api_open_appeal_ballot(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    application_id: ObjectId,
    body: AppealBallotInput,
) -> BallotOut:
    """Put a filed appeal to a panel of the council without the original reviewers."""
    ballot = decisions.put_to_appeal(
        session,
        actor=user,
        application_id=application_id,
        terms=body,
        base_url=service_settings(request).base_url,
        now=now,
    )
    session.commit()
    return _ballot_out(session, ballot.id, user, now)


@api.get("/resolutions", response_model=Page[ResolutionOut])
def api_resolutions(
    session: DbSession, params: Annotated[PageParams, Depends(page_params)]
) -> Page[ResolutionOut]:
    """The council's resolutions, newest first."""
    rows, total = ballots.resolutions_page(session, params)
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
