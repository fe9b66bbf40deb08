"""Conflicts of interest: declared or detected, and dismissal by the chair."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role
from core.audit import AuditEvent
from core.errors import Conflict, Forbidden, Invalid
from council.conflicts import Party, check_conflicts, dismiss_conflict
from council.members import (
    current_interests,
    declare_interest,
    interest_history,
    retract_interest,
    revise_interest,
)
from council.models import InterestType, Seat
from tests.council.builders import seat_council, seat_member
from tests.factories import NOW, make_user

DATASALUD = Party(
    name="DataSalud Analítica, S.A. de C.V.",
    rfc="DSA180523KL9",
    email_domain="datasalud.example.mx",
)
TODAY = NOW.date()


def test_declared_interest_conflicts_by_rfc_or_name(db: Session) -> None:
    expert = make_user(db, role=Role.expert)
    declare_interest(
        db,
        actor=expert,
        organisation="Datasalud Analitica SA de CV",
        rfc="",
        interest_type=InterestType.consulting,
        starts_on=dt.date(2025, 1, 1),
        ends_on=None,
        note="Asesoría en 2025",
        now=NOW,
    )
    by_name = check_conflicts(
        db, email=expert.email, user=expert, parties=[Party(name=DATASALUD.name)], on=TODAY
    )
    assert [(c.kind, c.blocking) for c in by_name] == [("declared", True)]
    other = check_conflicts(
        db,
        email=expert.email,
        user=expert,
        parties=[Party(name="FinIntel", rfc="FIN190101AB1")],
        on=TODAY,
    )
    assert other == []


def test_ended_interest_stops_conflicting_after_cooling_off_except_past_employer(
    db: Session,
) -> None:
    member = make_user(db, role=Role.council_member)
    declare_interest(
        db,
        actor=member,
        organisation="DataSalud",
        rfc="DSA180523KL9",
        interest_type=InterestType.employment,
        starts_on=dt.date(2015, 1, 1),
        ends_on=dt.date(2020, 6, 30),
        note="",
        now=NOW,
    )
    declare_interest(
        db,
        actor=member,
        organisation="DataSalud",
        rfc="DSA180523KL9",
        interest_type=InterestType.shareholding,
        starts_on=dt.date(2016, 1, 1),
        ends_on=dt.date(2019, 1, 1),
        note="",
        now=NOW,
    )
    found = check_conflicts(db, email=member.email, user=member, parties=[DATASALUD], on=TODAY)
    assert [c.kind for c in found] == ["past_employer"]


def test_same_email_domain_is_detected_even_before_an_account_exists(db: Session) -> None:
    found = check_conflicts(
        db, email="ana@datasalud.example.mx", user=None, parties=[DATASALUD], on=TODAY
    )
    assert [(c.kind, c.detail) for c in found] == [("email_domain", "datasalud.example.mx")]


def test_only_the_chair_dismisses_detected_conflicts(db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    chair, _ = council[0]
    secretary, _ = council[1]
    expert = make_user(db, role=Role.expert, email="eva@datasalud.example.mx")
    for outsider in (secretary, secretariat):
        with pytest.raises(Forbidden):
            dismiss_conflict(
                db,
                actor=outsider,
                user=expert,
                party=DATASALUD,
                kind="email_domain",
                reason="x",
                now=NOW,
            )
    with pytest.raises(Invalid):
        dismiss_conflict(
            db, actor=chair, user=expert, party=DATASALUD, kind="email_domain", reason=" ", now=NOW
        )
    dismiss_conflict(
        db,
        actor=chair,
        user=expert,
        party=DATASALUD,
        kind="email_domain",
        reason="Cuenta de correo heredada; no trabaja ahí desde 2019.",
        now=NOW,
    )
    found = check_conflicts(db, email=expert.email, user=expert, parties=[DATASALUD], on=TODAY)
    assert [(c.kind, c.dismissed, c.blocking) for c in found] == [("email_domain", True, False)]
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "conflict.dismiss")).one()
    assert event.summary["reason"].startswith("Cuenta de correo")


def test_declared_interests_cannot_be_dismissed(db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    chair, _ = council[0]
    member, _ = seat_member(db, secretariat, seat=Seat.member)
    declare_interest(
        db,
        actor=member,
        organisation="DataSalud",
        rfc="DSA180523KL9",
        interest_type=InterestType.family,
        starts_on=None,
        ends_on=None,
        note="Hermana directora",
        now=NOW,
    )
    with pytest.raises(Invalid):
        dismiss_conflict(
            db, actor=chair, user=member, party=DATASALUD, kind="declared", reason="x", now=NOW
        )


def test_revising_a_declaration_keeps_the_old_version(db: Session) -> None:
    member = make_user(db, role=Role.council_member)
    first = declare_interest(
        db,
        actor=member,
        organisation="Universidad X",
        rfc="",
        interest_type=InterestType.collaboration,
        starts_on=dt.date(2024, 1, 1),
        ends_on=None,
        note="",
        now=NOW,
    )
    later = NOW + dt.timedelta(days=3)
    second = revise_interest(
        db,
        actor=member,
        declaration_id=first.id,
        organisation="Universidad X",
        rfc="",
        interest_type=InterestType.collaboration,
        starts_on=dt.date(2024, 1, 1),
        ends_on=dt.date(2026, 5, 1),
        note="Terminó el proyecto",
        now=later,
    )
    assert second.series_id == first.id
    assert first.superseded_at == later
    assert [d.id for d in current_interests(db, [member.id])] == [second.id]
    assert [d.id for d in interest_history(db, member.id)] == [second.id, first.id]
    with pytest.raises(Conflict):
        revise_interest(
            db,
            actor=member,
            declaration_id=first.id,
            organisation="Y",
            rfc="",
            interest_type=InterestType.other,
            starts_on=None,
            ends_on=None,
            note="",
            now=later,
        )
    retract_interest(db, actor=member, declaration_id=second.id, now=later)
    assert current_interests(db, [member.id]) == []
    assert len(interest_history(db, member.id)) == 2
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == member.id)).all()
    assert {"interest.declare", "interest.revise", "interest.retract"} <= set(actions)


def test_declarations_are_checked(db: Session) -> None:
    member = make_user(db, role=Role.council_member)
    applicant = make_user(db, role=Role.applicant)
    with pytest.raises(Forbidden):
        declare_interest(
            db,
            actor=applicant,
            organisation="X",
            rfc="",
            interest_type=InterestType.other,
            starts_on=None,
            ends_on=None,
            note="",
            now=NOW,
        )
    with pytest.raises(Invalid) as caught:
        declare_interest(
            db,
            actor=member,
            organisation="X",
            rfc="123",
            interest_type=InterestType.other,
            starts_on=None,
            ends_on=None,
            note="",
            now=NOW,
        )
    assert "rfc" in caught.value.fields


def test_a_conflict_is_dismissed_once_and_only_if_it_stands(db: Session) -> None:
    _secretariat, council = seat_council(db, 3)
    chair, _ = council[0]
    expert = make_user(db, role=Role.expert, email="leo@datasalud.example.mx")
    dismiss_conflict(
        db,
        actor=chair,
        user=expert,
        party=DATASALUD,
        kind="email_domain",
        reason="Heredada.",
        now=NOW,
    )
    with pytest.raises(Conflict):
        dismiss_conflict(
            db,
            actor=chair,
            user=expert,
            party=DATASALUD,
            kind="email_domain",
            reason="Otra vez.",
            now=NOW,
        )
    unrelated = make_user(db, role=Role.expert, email="ana@otra.example.mx")
    with pytest.raises(Conflict):
        dismiss_conflict(
            db,
            actor=chair,
            user=unrelated,
            party=DATASALUD,
            kind="email_domain",
            reason="x",
            now=NOW,
        )
