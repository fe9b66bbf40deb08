"""The council's `/api/v1` routes: members and interests, ballots and positions, resolutions."""

from __future__ import annotations

from fastapi import APIRouter

from core.api import ERROR_RESPONSES
from core.auth import Now
from core.i18n import local_date
from council import members
from council.home_pages import DbSession
from council.schemas import MemberOut

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
