"""Plain functions that seat council members through the real verbs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core.accounts import Role, User
from council.members import appoint_member
from council.models import CouncilMember, Seat
from tests.factories import NOW, make_user

TERM_START = dt.date(2026, 1, 1)
TERM_END = dt.date(2028, 12, 31)


def seat_member(
    db: Session,
    secretariat: User,
    *,
    seat: Seat = Seat.member,
    email: str | None = None,
    starts_on: dt.date = TERM_START,
    ends_on: dt.date = TERM_END,
) -> tuple[User, CouncilMember]:
    """A council member account with a seat and a term."""
    user = make_user(db, role=Role.council_member, email=email)
    member = appoint_member(
        db,
        actor=secretariat,
        user=user,
        seat=seat,
        areas=["ética"],
        starts_on=starts_on,
        ends_on=ends_on,
        now=NOW,
    )
    return user, member


def seat_council(db: Session, size: int = 5) -> tuple[User, list[tuple[User, CouncilMember]]]:
    """A secretariat account and a council: a chair, a secretary and ordinary members."""
    secretariat = make_user(db, role=Role.secretariat)
    seats = [Seat.chair, Seat.secretary] + [Seat.member] * (size - 2)
    return secretariat, [seat_member(db, secretariat, seat=seat) for seat in seats]
