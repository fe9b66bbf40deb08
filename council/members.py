"""Verbs on the council's membership: appointing members, their terms and declared interests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.accounts import Role, User
from core.audit import record_event
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.identifiers import is_valid_rfc, normalize_rfc
from council.models import CouncilMember, InterestDeclaration, InterestType, Seat, Term

SEAT_LABELS = {Seat.chair: N_("Chair"), Seat.secretary: N_("Secretary"), Seat.member: N_("Member")}
INTEREST_LABELS = {
    InterestType.employment: N_("Employment"),
    InterestType.consulting: N_("Consulting"),
    InterestType.shareholding: N_("Shareholding"),
    InterestType.family: N_("Family tie"),
    InterestType.collaboration: N_("Recent collaboration"),
    InterestType.other: N_("Other"),
}
DECLARING_ROLES = (Role.council_member, Role.expert)


def _require_secretariat(actor: User) -> None:
    if not actor.has_role(Role.secretariat):
        raise Forbidden()


def in_term(member: CouncilMember, on: dt.date) -> bool:
    """Whether the member's terms cover the day (terms must be loaded)."""
    return any(term.starts_on <= on <= term.ends_on for term in member.terms)


def list_members(session: Session) -> list[CouncilMember]:
    """Every member with their terms."""
    return list(
        session.scalars(
            select(CouncilMember)
            .options(selectinload(CouncilMember.terms))
            .order_by(CouncilMember.id)
        )
    )


def members_in_term(session: Session, on: dt.date) -> list[CouncilMember]:
    """The members who may vote on a day."""
    return [m for m in list_members(session) if in_term(m, on)]


def member_of(session: Session, user: User) -> CouncilMember | None:
    """The council seat a person holds, if any."""
    return session.scalar(
        select(CouncilMember)
        .where(CouncilMember.user_id == user.id)
        .options(selectinload(CouncilMember.terms))
    )


def holds_seat(session: Session, user: User, seat: Seat, on: dt.date) -> bool:
    """Whether the person holds a seat and is in term on the day."""
    member = member_of(session, user)
    return member is not None and member.seat == seat and in_term(member, on)


def _check_term(starts_on: dt.date, ends_on: dt.date) -> None:
    if ends_on <= starts_on:
        raise Invalid(fields={"ends_on": N_("The term must end after it starts.")})


def appoint_member(
    session: Session,
    *,
    actor: User,
    user: User,
    seat: Seat,
    areas: list[str],
    starts_on: dt.date,
    ends_on: dt.date,
    now: dt.datetime,
) -> CouncilMember:
    """Give a council member's account a seat and a first term."""
    _require_secretariat(actor)
    if user.role != Role.council_member:
        raise Invalid(
            fields={"user_id": N_("Only accounts with the council member role can hold a seat.")}
        )
    if member_of(session, user) is not None:
        raise Conflict(N_("This person already holds a seat."))
    _check_term(starts_on, ends_on)
    member = CouncilMember(
        user_id=user.id, seat=seat, areas=[a.strip() for a in areas if a.strip()], created_at=now
    )
    session.add(member)
    session.flush()
    session.add(Term(member_id=member.id, starts_on=starts_on, ends_on=ends_on))
    session.flush()
    record_event(
        session,
        actor=actor,
        action="council_member.appoint",
        object_type="council_member",
        object_id=member.id,
        summary={
            "user": user.email,
            "seat": seat.value,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
        },
        now=now,
    )
    return member


def add_term(
    session: Session,
    *,
    actor: User,
    member_id: int,
    starts_on: dt.date,
    ends_on: dt.date,
    now: dt.datetime,
) -> Term:
    """Add a further term to a member; terms may not overlap."""
    _require_secretariat(actor)
    member = session.scalar(
        select(CouncilMember)
        .where(CouncilMember.id == member_id)
        .options(selectinload(CouncilMember.terms))
    )
    if member is None:
        raise NotFound()
    _check_term(starts_on, ends_on)
    if any(t.starts_on <= ends_on and starts_on <= t.ends_on for t in member.terms):
        raise Invalid(fields={"starts_on": N_("The term overlaps an existing term.")})
    term = Term(member_id=member.id, starts_on=starts_on, ends_on=ends_on)
    session.add(term)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="council_member.add_term",
        object_type="council_member",
        object_id=member.id,
        summary={"starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
        now=now,
    )
    return term


def _clean_declaration(
    organisation: str, rfc: str, starts_on: dt.date | None, ends_on: dt.date | None
) -> str:
    if not organisation.strip():
        raise Invalid(fields={"organisation": N_("Name the organisation.")})
    cleaned = normalize_rfc(rfc)
    if cleaned and not is_valid_rfc(cleaned):
        raise Invalid(fields={"rfc": N_("The RFC does not have a valid format.")})
    if starts_on and ends_on and ends_on < starts_on:
        raise Invalid(fields={"ends_on": N_("The end date is before the start date.")})
    return cleaned


def declare_interest(
    session: Session,
    *,
    actor: User,
    organisation: str,
    rfc: str,
    interest_type: InterestType,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
    note: str,
    now: dt.datetime,
) -> InterestDeclaration:
    """A member or expert adds an interest to their own register."""
    if actor.role not in DECLARING_ROLES:
        raise Forbidden()
    cleaned_rfc = _clean_declaration(organisation, rfc, starts_on, ends_on)
    declaration = InterestDeclaration(
        user_id=actor.id,
        organisation=organisation.strip(),
        rfc=cleaned_rfc,
        interest_type=interest_type,
        starts_on=starts_on,
        ends_on=ends_on,
        note=note.strip(),
        declared_at=now,
    )
    session.add(declaration)
    session.flush()
    declaration.series_id = declaration.id
    record_event(
        session,
        actor=actor,
        action="interest.declare",
        object_type="interest_declaration",
        object_id=declaration.id,
        summary={"organisation": declaration.organisation, "type": interest_type.value},
        now=now,
    )
    return declaration


def _own_current(session: Session, actor: User, declaration_id: int) -> InterestDeclaration:
    declaration = session.get(InterestDeclaration, declaration_id)
    if declaration is None or declaration.user_id != actor.id:
        raise NotFound()
    if declaration.superseded_at or declaration.retracted_at:
        raise Conflict(N_("This declaration has been replaced; change the current version."))
    return declaration


def revise_interest(
    session: Session,
    *,
    actor: User,
    declaration_id: int,
    organisation: str,
    rfc: str,
    interest_type: InterestType,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
    note: str,
    now: dt.datetime,
) -> InterestDeclaration:
    """Change a declaration by adding a new version; the old one stays in the register."""
    old = _own_current(session, actor, declaration_id)
    cleaned_rfc = _clean_declaration(organisation, rfc, starts_on, ends_on)
    old.superseded_at = now
    new = InterestDeclaration(
        user_id=actor.id,
        series_id=old.series_id,
        organisation=organisation.strip(),
        rfc=cleaned_rfc,
        interest_type=interest_type,
        starts_on=starts_on,
        ends_on=ends_on,
        note=note.strip(),
        declared_at=now,
    )
    session.add(new)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="interest.revise",
        object_type="interest_declaration",
        object_id=new.id,
        summary={"replaces": old.id, "organisation": new.organisation, "type": interest_type.value},
        now=now,
    )
    return new


def retract_interest(
    session: Session, *, actor: User, declaration_id: int, now: dt.datetime
) -> None:
    """Withdraw a declaration that no longer applies; it stays in the history."""
    declaration = _own_current(session, actor, declaration_id)
    declaration.retracted_at = now
    record_event(
        session,
        actor=actor,
        action="interest.retract",
        object_type="interest_declaration",
        object_id=declaration.id,
        summary={"organisation": declaration.organisation},
        now=now,
    )


def current_interests(session: Session, user_ids: list[int]) -> list[InterestDeclaration]:
    """The standing declarations of some people."""
    if not user_ids:
        return []
    return list(
        session.scalars(
            select(InterestDeclaration)
            .where(
                InterestDeclaration.user_id.in_(user_ids),
                InterestDeclaration.superseded_at.is_(None),
                InterestDeclaration.retracted_at.is_(None),
            )
            .order_by(InterestDeclaration.organisation)
        )
    )


def interest_history(session: Session, user_id: int) -> list[InterestDeclaration]:
    """Every version a person ever declared, newest first."""
    return list(
        session.scalars(
            select(InterestDeclaration)
            .where(InterestDeclaration.user_id == user_id)
            .order_by(InterestDeclaration.declared_at.desc(), InterestDeclaration.id.desc())
        )
    )


def users_by_id(session: Session, ids: list[int]) -> dict[int, User]:
    """Accounts by id, in one query."""
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


def account_to_seat(session: Session, user_id: int) -> User:
    """The account chosen on the appointment form."""
    user = session.get(User, user_id)
    if user is None:
        raise Invalid(fields={"user_id": N_("Choose one of the options.")})
    return user


@dataclass(frozen=True)
class SeatedMember:
    """A member in term as the public sees them: seat, current term and declared interests."""

    member: CouncilMember
    user: User
    term: Term
    interests: list[InterestDeclaration]


# The public list shows the chair first, then the secretary, then the members.
SEAT_ORDER = {Seat.chair: 0, Seat.secretary: 1, Seat.member: 2}


def council_in_term(session: Session, on: dt.date) -> list[SeatedMember]:
    """The members in term on a day with their standing interests, chair first, then by name."""
    seated = members_in_term(session, on)
    people = users_by_id(session, [m.user_id for m in seated])
    interests = current_interests(session, list(people))
    return [
        SeatedMember(
            member=m,
            user=people[m.user_id],
            term=next(t for t in m.terms if t.starts_on <= on <= t.ends_on),
            interests=[i for i in interests if i.user_id == m.user_id],
        )
        for m in sorted(seated, key=lambda m: (SEAT_ORDER[m.seat], people[m.user_id].full_name))
    ]


@dataclass(frozen=True)
class Roster:
    """The secretariat's roster: every member with their terms, and who could be seated."""

    members: list[CouncilMember]
    people: dict[int, User]
    candidates: list[User]
    today: dt.date

    def context(self) -> dict[str, Any]:
        """The names the roster page's template reads."""
        return {
            "roster": self.members,
            "people": self.people,
            "candidates": self.candidates,
            "today": self.today,
            "in_term": in_term,
        }


def roster(session: Session, on: dt.date) -> Roster:
    """Every member and their terms, and the council member accounts without a seat."""
    members = list_members(session)
    candidates = session.scalars(
        select(User).where(
            User.role == Role.council_member, User.id.not_in(select(CouncilMember.user_id))
        )
    )
    return Roster(
        members=members,
        people=users_by_id(session, [m.user_id for m in members]),
        candidates=list(candidates),
        today=on,
    )
