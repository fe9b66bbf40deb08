"""The council's pages: home, members and interests, conflict checks, ballots and resolutions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.api import ERROR_RESPONSES, ObjectId, Page, PageParams, page_params, paginate
from core.auth import Now, require
from core.db import get_session
from core.i18n import local_date
from council import ballots, members
from council.conflicts import KIND_LABELS
from council.models import Ballot, CouncilMember, PositionKind, Resolution, Seat
from council.schemas import (
    BallotOut,
    PositionInput,
    PositionOut,
    ResolutionOut,
)

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


def _may_run_ballots(session: Session, user: User, now: dt.datetime) -> bool:
    return user.has_role(Role.secretariat) or members.holds_seat(
        session, user, Seat.secretary, local_date(now)
    )


def _subject(session: Session, ballot: Ballot) -> ballots.SubjectLink | None:
    return ballots.describe_subject(session, ballot)


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
