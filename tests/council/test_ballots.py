"""Ballots: the pass rule on constructed cases, eligibility, position history, closing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role
from core.audit import AuditEvent
from core.errors import Conflict, Forbidden, Invalid
from core.mail import OutboxMessage
from council import adoption, ballots
from council.conflicts import Party
from council.members import appoint_member, declare_interest
from council.models import (
    Ballot,
    BallotResult,
    BallotRule,
    BallotStatus,
    BallotVoter,
    InterestType,
    Position,
    PositionKind,
    Seat,
)
from guidelines.documents import load_version_tree
from guidelines.models import GuidelineVersion, VersionStatus
from guidelines.service import (
    adopt_version,
    get_guideline,
    open_consultation,
    start_new_draft,
    update_criterion,
)
from tests.council.builders import seat_council, seat_member
from tests.factories import NOW, make_user
from tests.guidelines.builders import adopt, make_criterion_input, make_draft

K = PositionKind
CLOSES = NOW + dt.timedelta(days=7)


def _tally(
    rule: BallotRule, kinds: list[PositionKind | None], conflicted: int = 0, quorum: int = 50
) -> ballots.Tally:
    voters = [
        BallotVoter(member_id=i, conflict="x" if i < conflicted else None)
        for i in range(len(kinds))
    ]
    positions = [
        Position(member_id=i, kind=kind, superseded_at=None)
        for i, kind in enumerate(kinds)
        if kind is not None
    ]
    return ballots.compute_tally(
        rule=rule, quorum_percent=quorum, voters=voters, positions=positions
    )


@pytest.mark.parametrize(
    ("rule", "kinds", "conflicted", "passes", "needs"),
    [
        # 5 members, majority needs 3 favourable.
        (BallotRule.simple_majority, [K.yes, K.yes, K.no_objection, None, None], 0, True, 0),
        (BallotRule.simple_majority, [K.yes, K.yes, K.abstain, K.abstain, None], 0, False, 1),
        # A standing discuss blocks even a unanimous rest.
        (BallotRule.simple_majority, [K.yes, K.yes, K.yes, K.yes, K.discuss], 0, False, 0),
        # Two thirds of 6 is 4; one recusal makes it two thirds of 5, still 4.
        (BallotRule.two_thirds, [K.yes, K.yes, K.yes, K.no_objection, None, None], 0, True, 0),
        (BallotRule.two_thirds, [K.yes, K.yes, K.yes, K.recuse, K.abstain, None], 0, False, 1),
        # Two recusals (one by conflict at opening): two thirds of 4 is 3.
        (BallotRule.two_thirds, [None, K.recuse, K.yes, K.yes, K.yes, None], 1, True, 0),
    ],
)
def test_pass_rule_on_constructed_cases(
    rule: BallotRule,
    kinds: list[PositionKind | None],
    conflicted: int,
    passes: bool,
    needs: int,
) -> None:
    tally = _tally(rule, kinds, conflicted)
    assert tally.passes is passes
    assert tally.needs == needs


def test_quorum_not_met_fails_even_if_all_cast_are_yes() -> None:
    tally = _tally(
        BallotRule.simple_majority, [K.yes, K.yes, K.yes, None, None, None, None], quorum=60
    )
    # 7 count; majority needs 4 and quorum needs ceil(4.2) = 5 positions.
    assert (tally.required, tally.quorum, tally.cast) == (4, 5, 3)
    assert not tally.passes
    assert tally.needs == 2


def test_everyone_recused_cannot_pass() -> None:
    tally = _tally(BallotRule.simple_majority, [K.recuse, K.recuse])
    assert tally.counted == 0
    assert not tally.passes


def test_not_voted_lists_members_without_position_or_recusal() -> None:
    tally = _tally(BallotRule.simple_majority, [K.yes, None, K.recuse, None], conflicted=0)
    assert tally.not_voted == [1, 3]


def _adoption_ballot(db: Session, size: int = 5) -> tuple[Ballot, list[Any]]:
    secretariat, council = seat_council(db, size)
    version = make_draft(db, secretariat)
    ballot = adoption.open_adoption_ballot(
        db,
        actor=secretariat,
        version=version,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        effective_on=dt.date(2027, 1, 1),
        consultation_skipped_reason="Versión de prueba sin consulta.",
        now=NOW,
    )
    return ballot, [secretariat, *council]


def test_eligible_voters_are_the_members_in_term_at_opening(db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    seat_member(db, secretariat, starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2023, 12, 31))
    seat_member(db, secretariat, starts_on=dt.date(2027, 1, 1), ends_on=dt.date(2029, 12, 31))
    make_user(db, role=Role.expert)  # experts review but never vote
    version = make_draft(db, secretariat)
    ballot = adoption.open_adoption_ballot(
        db,
        actor=secretariat,
        version=version,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        effective_on=dt.date(2027, 1, 1),
        consultation_skipped_reason="Versión de prueba sin consulta.",
        now=NOW,
    )
    assert sorted(v.member_id for v in ballot.voters) == sorted(m.id for _, m in council)


def test_member_whose_term_ended_cannot_vote(db: Session) -> None:
    secretariat, _council = seat_council(db, 3)
    leaving, _ = seat_member(db, secretariat, ends_on=dt.date(2026, 11, 30))
    version = make_draft(db, secretariat)
    ballot = adoption.open_adoption_ballot(
        db,
        actor=secretariat,
        version=version,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        effective_on=dt.date(2027, 1, 1),
        consultation_skipped_reason="Versión de prueba sin consulta.",
        now=NOW,
    )
    assert len(ballot.voters) == 4  # in term when the ballot opened
    after_term = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC)
    with pytest.raises(Forbidden):
        ballots.cast_position(db, actor=leaving, ballot=ballot, kind=K.yes, text="", now=after_term)


def test_experts_and_staff_are_not_voters(db: Session) -> None:
    ballot, people = _adoption_ballot(db)
    for outsider in (make_user(db, role=Role.expert), people[0]):
        with pytest.raises(Forbidden):
            ballots.cast_position(db, actor=outsider, ballot=ballot, kind=K.yes, text="", now=NOW)


def test_conflicted_member_is_recused_at_opening(db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    conflicted_user, conflicted_member = council[2]
    declare_interest(
        db,
        actor=conflicted_user,
        organisation="DataSalud Analítica, S.A. de C.V.",
        rfc="DSA180523KL9",
        interest_type=InterestType.consulting,
        starts_on=None,
        ends_on=None,
        note="",
        now=NOW,
    )
    ballot = ballots.open_ballot(
        db,
        actor=secretariat,
        subject_type="application",
        subject_id=1,
        title_es="Solicitud",
        title_en="Application",
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        parties=[Party(name="DataSalud Analítica", rfc="DSA180523KL9")],
        terms={},
        now=NOW,
    )
    voter = next(v for v in ballot.voters if v.member_id == conflicted_member.id)
    assert voter.conflict is not None
    assert "DataSalud" in voter.conflict
    with pytest.raises(Conflict):
        ballots.cast_position(
            db, actor=conflicted_user, ballot=ballot, kind=K.yes, text="", now=NOW
        )
    assert ballots.tally_ballot(db, ballot).recused == 1


def test_only_the_secretary_opens_ballots(db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    version = make_draft(db, secretariat)
    chair_user = council[0][0]
    with pytest.raises(Forbidden):
        adoption.open_adoption_ballot(
            db,
            actor=chair_user,
            version=version,
            rule=BallotRule.simple_majority,
            quorum_percent=50,
            closes_at=CLOSES,
            effective_on=dt.date(2027, 1, 1),
            consultation_skipped_reason="Versión de prueba sin consulta.",
            now=NOW,
        )
    secretary_user = council[1][0]
    ballot = adoption.open_adoption_ballot(
        db,
        actor=secretary_user,
        version=version,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        effective_on=dt.date(2027, 1, 1),
        consultation_skipped_reason="Versión de prueba sin consulta.",
        now=NOW,
    )
    assert ballot.status == BallotStatus.open


def test_changing_a_position_keeps_the_old_one_in_the_history(db: Session) -> None:
    ballot, people = _adoption_ballot(db)
    user, member = people[3]
    ballots.cast_position(db, actor=user, ballot=ballot, kind=K.discuss, text="Falta TR-2", now=NOW)
    later = NOW + dt.timedelta(hours=5)
    ballots.cast_position(db, actor=user, ballot=ballot, kind=K.yes, text="Resuelto", now=later)
    history = [
        (p.kind, p.superseded_at)
        for p in ballots.ballot_positions(db, ballot)
        if p.member_id == member.id
    ]
    assert history == [(K.discuss, later), (K.yes, None)]
    assert ballots.tally_ballot(db, ballot).discuss == 0
    events = db.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "ballot")).all()
    assert events.count("ballot.position") == 2


def test_discuss_needs_a_text(db: Session) -> None:
    ballot, people = _adoption_ballot(db)
    with pytest.raises(Invalid):
        ballots.cast_position(
            db, actor=people[3][0], ballot=ballot, kind=K.discuss, text=" ", now=NOW
        )


def test_passed_adoption_ballot_adopts_the_version_by_its_resolution(db: Session) -> None:
    ballot, people = _adoption_ballot(db)
    secretariat = people[0]
    for user, _member in people[1:4]:
        ballots.cast_position(db, actor=user, ballot=ballot, kind=K.yes, text="", now=NOW)
    ballots.cast_position(db, actor=people[4][0], ballot=ballot, kind=K.recuse, text="", now=NOW)
    with pytest.raises(Conflict):  # one member has not voted and the ballot is still open
        ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=NOW)
    resolution = ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=CLOSES)
    assert resolution.number == f"CEIA-{CLOSES.year}-001"
    assert resolution.result == BallotResult.passed
    version = db.get(GuidelineVersion, ballot.subject_id)
    assert version is not None
    assert version.status == VersionStatus.adopted
    assert version.adoption_resolution == resolution.number
    assert version.effective_on == dt.date(2027, 1, 1)
    kinds = [p["kind"] for p in resolution.record["positions"]]
    assert sorted(k or "none" for k in kinds) == ["none", "recuse", "yes", "yes", "yes"]


def test_failed_ballot_leaves_the_version_a_draft(db: Session) -> None:
    ballot, people = _adoption_ballot(db)
    ballots.cast_position(db, actor=people[1][0], ballot=ballot, kind=K.yes, text="", now=NOW)
    ballots.cast_position(db, actor=people[2][0], ballot=ballot, kind=K.discuss, text="No", now=NOW)
    resolution = ballots.close_ballot(db, actor=people[0], ballot=ballot, now=CLOSES)
    assert resolution.result == BallotResult.failed
    version = db.get(GuidelineVersion, ballot.subject_id)
    assert version is not None
    assert version.status == VersionStatus.draft


def test_resolution_numbers_run_per_year(db: Session) -> None:
    secretariat, _council = seat_council(db, 3)
    numbers = []
    for index in range(2):
        version = make_draft(db, secretariat, slug=f"lineamiento-{index}")
        ballot = adoption.open_adoption_ballot(
            db,
            actor=secretariat,
            version=version,
            rule=BallotRule.simple_majority,
            quorum_percent=50,
            closes_at=CLOSES,
            effective_on=dt.date(2027, 1, 1),
            consultation_skipped_reason="Versión de prueba sin consulta.",
            now=NOW,
        )
        numbers.append(
            ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=CLOSES).number
        )
    assert numbers == ["CEIA-2026-001", "CEIA-2026-002"]


def test_no_position_after_closing(db: Session) -> None:
    ballot, people = _adoption_ballot(db)
    ballots.close_ballot(db, actor=people[0], ballot=ballot, now=CLOSES)
    with pytest.raises(Conflict):
        ballots.cast_position(
            db, actor=people[1][0], ballot=ballot, kind=K.yes, text="", now=CLOSES
        )


def test_reminders_go_once_to_members_who_have_not_voted(db: Session) -> None:
    ballot, people = _adoption_ballot(db)
    ballots.cast_position(db, actor=people[1][0], ballot=ballot, kind=K.yes, text="", now=NOW)
    assert ballots.send_ballot_reminders(db, base_url="http://x", now=NOW) == 0  # a week ahead
    almost = CLOSES - dt.timedelta(hours=20)
    assert ballots.send_ballot_reminders(db, base_url="http://x", now=almost) == 4
    assert ballots.send_ballot_reminders(db, base_url="http://x", now=almost) == 0
    reminders = select(OutboxMessage.to_address).where(
        OutboxMessage.template == "mail/ballot_reminder.txt"
    )
    recipients = set(db.scalars(reminders))
    assert people[1][0].email not in recipients
    assert {u.email for u, _ in people[2:]} <= recipients


def test_seats_are_for_council_member_accounts(db: Session) -> None:
    secretariat, _ = seat_council(db, 3)
    expert = make_user(db, role=Role.expert)
    with pytest.raises(Invalid):
        appoint_member(
            db,
            actor=secretariat,
            user=expert,
            seat=Seat.member,
            areas=[],
            starts_on=dt.date(2026, 1, 1),
            ends_on=dt.date(2027, 1, 1),
            now=NOW,
        )


def test_a_version_changed_during_the_ballot_is_not_adopted(db: Session) -> None:
    ballot, people = _adoption_ballot(db)
    version = db.get(GuidelineVersion, ballot.subject_id)
    assert version is not None
    tree = load_version_tree(db, version.id)
    criterion = tree.principles[0].criteria[0]
    update_criterion(
        db,
        actor=people[0],
        version=tree,
        criterion_id=criterion.id,
        data=make_criterion_input(criterion.code, tree.principles[0].code, "Texto cambiado."),
        expected_revision=None,
        now=NOW,
    )
    for user, _member in people[1:]:
        ballots.cast_position(db, actor=user, ballot=ballot, kind=K.yes, text="", now=NOW)
    resolution = ballots.close_ballot(db, actor=people[0], ballot=ballot, now=CLOSES)
    assert resolution.result == BallotResult.failed
    assert (
        resolution.record["void_reason"]
        == "The text of the version changed after the ballot opened."
    )
    assert db.get(GuidelineVersion, ballot.subject_id).status == VersionStatus.draft  # type: ignore[union-attr]


def test_no_adoption_ballot_while_the_consultation_is_open(db: Session) -> None:
    secretariat, _council = seat_council(db, 3)
    version = make_draft(db, secretariat)
    open_consultation(
        db,
        actor=secretariat,
        version=version,
        closes_on=(NOW + dt.timedelta(days=5)).date(),
        min_days=5,
        now=NOW,
    )
    with pytest.raises(Conflict):
        adoption.open_adoption_ballot(
            db,
            actor=secretariat,
            version=version,
            rule=BallotRule.simple_majority,
            quorum_percent=50,
            closes_at=CLOSES,
            effective_on=dt.date(2027, 1, 1),
            consultation_skipped_reason="Versión de prueba sin consulta.",
            now=NOW,
        )


def _two_drafts_from_one(db: Session) -> tuple[list[Any], GuidelineVersion, GuidelineVersion]:
    """A council; 1.0 adopted; drafts 1.1 and 1.2 both copied from 1.0; 1.1 adopted by ballot."""
    secretariat, council = seat_council(db, 3)
    adopt(db, make_draft(db, secretariat))
    guideline = get_guideline(db, "etica-ia")
    first = start_new_draft(db, actor=secretariat, guideline=guideline, number="1.1", now=NOW)
    second = start_new_draft(
        db, actor=secretariat, guideline=get_guideline(db, "etica-ia"), number="1.2", now=NOW
    )
    ballot = adoption.open_adoption_ballot(
        db,
        actor=secretariat,
        version=load_version_tree(db, first.id),
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        effective_on=dt.date(2027, 1, 6),
        consultation_skipped_reason="Versión de prueba sin consulta.",
        now=NOW,
    )
    for user, _member in council:
        ballots.cast_position(db, actor=user, ballot=ballot, kind=K.yes, text="", now=NOW)
    ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=NOW)
    assert load_version_tree(db, first.id).status == VersionStatus.adopted
    return [secretariat, *council], first, load_version_tree(db, second.id)


def _open_on(db: Session, people: list[Any], version: GuidelineVersion, **extra: Any) -> Ballot:
    return adoption.open_adoption_ballot(
        db,
        actor=people[0],
        version=version,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        effective_on=dt.date(2027, 2, 1),
        consultation_skipped_reason="Versión de prueba sin consulta.",
        now=NOW,
        **extra,
    )


def test_no_adoption_ballot_on_a_draft_that_misses_a_newer_adopted_version(db: Session) -> None:
    people, _first, second = _two_drafts_from_one(db)
    with pytest.raises(Conflict) as caught:
        _open_on(db, people, second)
    assert caught.value.params == {"numbers": "1.1"}
    # The ballot may instead state that the version replaces 1.1's changes; the resolution says so.
    ballot = _open_on(db, people, second, replaces_newer=True)
    assert ballot.terms["replaces"] == ["1.1"]
    for user, _member in people[1:]:
        ballots.cast_position(db, actor=user, ballot=ballot, kind=K.yes, text="", now=NOW)
    resolution = ballots.close_ballot(db, actor=people[0], ballot=ballot, now=NOW)
    assert resolution.result == BallotResult.passed
    assert resolution.record["terms"]["replaces"] == ["1.1"]
    assert load_version_tree(db, second.id).status == VersionStatus.adopted


def test_a_ballot_fails_when_a_newer_version_is_adopted_while_it_is_open(db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    people = [secretariat, *council]
    adopt(db, make_draft(db, secretariat))
    first = start_new_draft(
        db, actor=secretariat, guideline=get_guideline(db, "etica-ia"), number="1.1", now=NOW
    )
    second = start_new_draft(
        db, actor=secretariat, guideline=get_guideline(db, "etica-ia"), number="1.2", now=NOW
    )
    late = _open_on(db, people, load_version_tree(db, second.id))
    adopt(db, load_version_tree(db, first.id), now=NOW + dt.timedelta(days=1))
    for user, _member in council:
        ballots.cast_position(db, actor=user, ballot=late, kind=K.yes, text="", now=NOW)
    resolution = ballots.close_ballot(db, actor=secretariat, ballot=late, now=CLOSES)
    assert resolution.result == BallotResult.failed
    assert resolution.record["void_reason"] == (
        "A newer version was adopted while the ballot was open; the draft misses it."
    )
    assert load_version_tree(db, second.id).status == VersionStatus.draft


def test_adopting_without_consultation_needs_a_recorded_reason(db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    version = make_draft(db, secretariat)
    arguments: dict[str, Any] = {
        "actor": secretariat,
        "version": version,
        "rule": BallotRule.simple_majority,
        "quorum_percent": 50,
        "closes_at": CLOSES,
        "effective_on": dt.date(2027, 1, 1),
        "now": NOW,
    }
    with pytest.raises(Invalid) as caught:
        adoption.open_adoption_ballot(db, **arguments, consultation_skipped_reason="  ")
    assert set(caught.value.fields) == {"consultation_skipped_reason"}
    with pytest.raises(Conflict):  # nor can the service adopt it without one
        adopt_version(
            db,
            version=version,
            resolution="CEIA-2026-001",
            effective_on=dt.date(2027, 1, 1),
            actor=None,
            now=NOW,
        )
    reason = "Actualización urgente ordenada por una reforma legal."
    ballot = adoption.open_adoption_ballot(db, **arguments, consultation_skipped_reason=reason)
    for user, _member in council:
        ballots.cast_position(db, actor=user, ballot=ballot, kind=K.yes, text="", now=NOW)
    resolution = ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=NOW)
    assert resolution.record["terms"]["consultation_skipped_reason"] == reason
    assert load_version_tree(db, version.id).status == VersionStatus.adopted


def test_a_ballot_opened_before_reasons_were_required_closes_as_failed(db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    version = make_draft(db, secretariat)
    ballot = adoption.open_adoption_ballot(
        db,
        actor=secretariat,
        version=version,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        effective_on=dt.date(2027, 1, 1),
        consultation_skipped_reason="Reforma legal urgente.",
        now=NOW,
    )
    # Terms as written before a version without consultation needed a reason.
    ballot.terms = {k: v for k, v in ballot.terms.items() if k != "consultation_skipped_reason"}
    db.flush()
    for user, _member in council:
        ballots.cast_position(db, actor=user, ballot=ballot, kind=K.yes, text="", now=NOW)
    resolution = ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=NOW)
    assert resolution.result == BallotResult.failed
    assert resolution.record["void_reason"] == (
        "The version skipped public consultation and the ballot gives no reason."
    )
    assert load_version_tree(db, version.id).status == VersionStatus.draft
