"""The council's pages: home, members and interests, conflict checks, ballots and resolutions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.api import ERROR_RESPONSES
from core.auth import require
from core.db import get_session
from council import ballots, members
from council.conflicts import KIND_LABELS
from council.models import Resolution
from council.schemas import (
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


@api.get("/resolutions/{number}", response_model=ResolutionOut)
def api_resolution(session: DbSession, number: str) -> Resolution:
    """One resolution with the tally and every position."""
    return ballots.get_resolution(session, number)
