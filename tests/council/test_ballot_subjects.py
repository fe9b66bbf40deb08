"""Ballot subjects are a registry: a new kind plugs in without ballots.py knowing of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.errors import Conflict, Forbidden
from council import adoption, ballots
from council.conflicts import Party
from council.members import declare_interest
from council.models import Ballot, BallotResult, BallotRule, InterestType, PositionKind, Resolution
from tests.council.builders import seat_council
from tests.factories import NOW, make_user
from tests.guidelines.builders import make_draft

K = PositionKind
CLOSES = NOW + dt.timedelta(days=7)
SUSPENDED = Party(name="DataSalud Analítica", rfc="DSA180523KL9")


@dataclass
class Suspension:
    """A stand-in for the certificates issue's kind: suspending a certificate."""

    changed: str | None = None
    excluded: dict[int, str] = field(default_factory=dict)
    done: list[tuple[str, int, str]] = field(default_factory=list)

    def kind(self) -> ballots.BallotSubjectKind:
        return ballots.BallotSubjectKind(
            name="certificate_suspension",
            describe=lambda session, ballot: ballots.SubjectLink(
                label=f"C-{ballot.subject_id}", href=f"/certificates/{ballot.subject_id}"
            ),
            changed_since_opened=lambda session, ballot: self.changed,
            parties=lambda session, subject_id: [SUSPENDED],
            review=lambda session, ballot, now: {"certificate": ballot.subject_id},
            review_template="",
            excluded=lambda session, subject_id: self.excluded,
            carry_out_passed=self._record("suspend"),
            carry_out_failed=self._record("keep"),
        )

    def _record(self, what: str) -> ballots.CarryOut:
        def carry_out(
            session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
        ) -> None:
            self.done.append((what, ballot.subject_id, resolution.number))

        return carry_out


@pytest.fixture
def suspension(monkeypatch: pytest.MonkeyPatch) -> Suspension:
    plugged = Suspension()
    monkeypatch.setitem(ballots.SUBJECT_KINDS, "certificate_suspension", plugged.kind())
    return plugged


def _open(db: Session, secretariat: User) -> Ballot:
    return ballots.open_ballot(
        db,
        actor=secretariat,
        subject_type="certificate_suspension",
        subject_id=7,
        title_es="Suspensión del certificado C-7",
        title_en="Suspension of certificate C-7",
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        parties=[],
        terms={},
        now=NOW,
    )


def test_guideline_adoption_is_a_registered_kind() -> None:
    kind = ballots.SUBJECT_KINDS[adoption.SUBJECT_GUIDELINE_VERSION]
    assert kind is adoption.GUIDELINE_ADOPTION


def test_a_registered_kind_names_the_parties_whose_conflicts_recuse(
    db: Session, suspension: Suspension
) -> None:
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
    ballot = _open(db, secretariat)
    voter = next(v for v in ballot.voters if v.member_id == conflicted_member.id)
    assert voter.conflict is not None
    assert "DataSalud" in voter.conflict
    assert ballots.tally_ballot(db, ballot).recused == 1


def test_a_registered_kind_excludes_people_whatever_their_interests(
    db: Session, suspension: Suspension
) -> None:
    secretariat, council = seat_council(db, 3)
    excluded_user, excluded_member = council[1]
    suspension.excluded = {excluded_user.id: "Revisó la solicitud original."}
    ballot = _open(db, secretariat)
    voters = {v.member_id: v.conflict for v in ballot.voters}
    assert voters[excluded_member.id] == "Revisó la solicitud original."
    assert sum(conflict is not None for conflict in voters.values()) == 1
    with pytest.raises(Conflict):
        ballots.cast_position(db, actor=excluded_user, ballot=ballot, kind=K.yes, text="", now=NOW)


def test_a_registered_kind_describes_itself_on_pages(db: Session, suspension: Suspension) -> None:
    secretariat, _council = seat_council(db, 3)
    ballot = _open(db, secretariat)
    view = ballots.ballot_view(db, ballot.id, secretariat, NOW)
    assert view.subject == ballots.SubjectLink(label="C-7", href="/certificates/7")
    assert view.review == {"certificate": 7}


def test_a_passed_ballot_carries_out_its_kinds_decision(
    db: Session, suspension: Suspension
) -> None:
    secretariat, council = seat_council(db, 3)
    ballot = _open(db, secretariat)
    for user, _member in council:
        ballots.cast_position(db, actor=user, ballot=ballot, kind=K.yes, text="", now=NOW)
    resolution = ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=NOW)
    assert resolution.result == BallotResult.passed
    assert suspension.done == [("suspend", 7, resolution.number)]


def test_a_failed_ballot_carries_out_what_its_kind_does_on_failure(
    db: Session, suspension: Suspension
) -> None:
    secretariat, _council = seat_council(db, 3)
    ballot = _open(db, secretariat)
    resolution = ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=CLOSES)
    assert resolution.result == BallotResult.failed
    assert suspension.done == [("keep", 7, resolution.number)]


def test_a_subject_changed_while_voting_voids_the_ballot(
    db: Session, suspension: Suspension
) -> None:
    secretariat, council = seat_council(db, 3)
    ballot = _open(db, secretariat)
    for user, _member in council:
        ballots.cast_position(db, actor=user, ballot=ballot, kind=K.yes, text="", now=NOW)
    suspension.changed = "The certificate was withdrawn while the ballot was open."
    resolution = ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=NOW)
    assert resolution.result == BallotResult.failed
    assert resolution.record["void_reason"] == suspension.changed
    assert suspension.done == [("keep", 7, resolution.number)]


def test_a_subject_of_no_registered_kind_changes_nothing(db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    ballot = ballots.open_ballot(
        db,
        actor=secretariat,
        subject_type="unregistered",
        subject_id=1,
        title_es="Consulta",
        title_en="Question",
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        parties=[],
        terms={},
        now=NOW,
    )
    assert ballots.describe_subject(db, ballot) is None
    for user, _member in council:
        ballots.cast_position(db, actor=user, ballot=ballot, kind=K.yes, text="", now=NOW)
    assert ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=NOW).result == (
        BallotResult.passed
    )


# The rules the pages show and the verbs enforce ----------------------------------------------


def test_who_may_open_a_ballot_is_who_the_verb_lets(db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    (chair, _), (secretary, _), (member, _) = council
    version = make_draft(db, secretariat)
    for person, may in ((secretariat, True), (secretary, True), (chair, False), (member, False)):
        assert ballots.may_open_ballot(db, person, NOW) is may
    assert not ballots.may_open_ballot(db, make_user(db, role=Role.expert), NOW)
    with pytest.raises(Forbidden):
        adoption.open_adoption_ballot(
            db,
            actor=chair,
            version=version,
            rule=BallotRule.simple_majority,
            quorum_percent=50,
            closes_at=CLOSES,
            effective_on=dt.date(2027, 1, 1),
            consultation_skipped_reason="Prueba.",
            now=NOW,
        )


def test_a_ballot_is_open_until_its_closing_time(db: Session, suspension: Suspension) -> None:
    secretariat, council = seat_council(db, 3)
    ballot = _open(db, secretariat)
    assert ballots.is_open(ballot, NOW)
    assert not ballots.is_open(ballot, CLOSES)
    with pytest.raises(Conflict):
        ballots.cast_position(
            db, actor=council[0][0], ballot=ballot, kind=K.yes, text="", now=CLOSES
        )


def test_can_close_says_what_close_ballot_allows(db: Session, suspension: Suspension) -> None:
    secretariat, council = seat_council(db, 3)
    (chair, _), (secretary, _), _rest = council
    ballot = _open(db, secretariat)
    tally = ballots.tally_ballot(db, ballot)
    # Before its closing time, with members still to vote: nobody may close it.
    assert not ballots.can_close(db, ballot, tally, secretary, NOW)
    with pytest.raises(Conflict):
        ballots.close_ballot(db, actor=secretary, ballot=ballot, now=NOW)
    # At its closing time: the secretary may, the chair may not.
    assert ballots.can_close(db, ballot, tally, secretary, CLOSES)
    assert not ballots.can_close(db, ballot, tally, chair, CLOSES)
    with pytest.raises(Forbidden):
        ballots.close_ballot(db, actor=chair, ballot=ballot, now=CLOSES)
    ballots.close_ballot(db, actor=secretary, ballot=ballot, now=CLOSES)
    assert not ballots.can_close(db, ballot, tally, secretary, CLOSES)


def test_a_version_without_criteria_is_not_put_to_a_vote(db: Session) -> None:
    secretariat, _council = seat_council(db, 3)
    version = make_draft(db, secretariat, criteria={"TR": []})
    with pytest.raises(Conflict):
        adoption.open_adoption_ballot(
            db,
            actor=secretariat,
            version=version,
            rule=BallotRule.simple_majority,
            quorum_percent=50,
            closes_at=CLOSES,
            effective_on=dt.date(2027, 1, 1),
            consultation_skipped_reason="Prueba.",
            now=NOW,
        )
