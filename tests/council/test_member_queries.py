"""What the member pages ask of members.py and conflicts.py, asked at the query functions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from core.accounts import Role
from core.errors import Invalid, NotFound
from council import conflicts, members
from council.models import InterestType, Seat
from tests.council.builders import TERM_START, seat_council, seat_member
from tests.factories import NOW, make_user

TODAY = dt.date(2026, 6, 1)


def test_the_public_council_lists_the_chair_then_the_secretary_with_their_interests(
    db: Session,
) -> None:
    secretariat, council = seat_council(db, 3)
    (chair, _), (secretary, _), (member, _) = council
    members.declare_interest(
        db,
        actor=member,
        organisation="FinIntel",
        rfc="",
        interest_type=InterestType.employment,
        starts_on=None,
        ends_on=None,
        note="",
        now=NOW,
    )
    seat_member(db, secretariat, starts_on=TODAY + dt.timedelta(days=1))  # not yet in term
    rows = members.council_in_term(db, TODAY)
    assert [row.user.id for row in rows] == [chair.id, secretary.id, member.id]
    assert [row.member.seat for row in rows] == [Seat.chair, Seat.secretary, Seat.member]
    assert rows[0].term.starts_on == TERM_START
    assert [i.organisation for i in rows[2].interests] == ["FinIntel"]
    assert rows[0].interests == []


def test_the_roster_offers_only_council_member_accounts_without_a_seat(db: Session) -> None:
    _secretariat, council = seat_council(db, 3)
    unseated = make_user(db, role=Role.council_member)
    make_user(db, role=Role.expert)
    roster = members.roster(db, TODAY)
    assert [m.id for m in roster.members] == [m.id for _, m in council]
    assert set(roster.people) == {u.id for u, _ in council}
    assert [u.id for u in roster.candidates] == [unseated.id]
    assert roster.context()["today"] == TODAY


def test_an_unknown_account_cannot_be_seated(db: Session) -> None:
    with pytest.raises(Invalid) as refused:
        members.account_to_seat(db, 999_999)
    assert set(refused.value.fields) == {"user_id"}


def test_a_conflict_check_finds_the_account_by_its_address(db: Session) -> None:
    person = make_user(db, role=Role.expert, email="ana@datasalud.example.mx")
    party = conflicts.Party(name="DataSalud", email_domain="datasalud.example.mx")
    check = conflicts.check_person(db, email="ANA@datasalud.example.mx", party=party, on=TODAY)
    assert check.person is not None
    assert check.person.id == person.id
    assert [c.kind for c in check.conflicts] == ["email_domain"]
    unknown = conflicts.check_person(db, email="x@otra.mx", party=party, on=TODAY)
    assert unknown.person is None
    assert unknown.conflicts == []


def test_a_conflict_is_ruled_on_for_an_existing_person(db: Session) -> None:
    person = make_user(db, role=Role.expert)
    assert conflicts.conflicted_person(db, person.id).id == person.id
    for missing in (None, 0, 999_999):
        with pytest.raises(NotFound):
            conflicts.conflicted_person(db, missing)


def test_only_the_chair_in_term_may_dismiss_conflicts(db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    (chair, _), (secretary, _), _member = council
    assert conflicts.may_dismiss_conflicts(db, chair, TODAY)
    assert not conflicts.may_dismiss_conflicts(db, secretary, TODAY)
    assert not conflicts.may_dismiss_conflicts(db, secretariat, TODAY)
    assert not conflicts.may_dismiss_conflicts(db, chair, dt.date(2030, 1, 1))
