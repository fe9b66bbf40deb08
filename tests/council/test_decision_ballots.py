"""Deciding applications and hearing appeals by ballot, through the real verbs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role
from core.audit import AuditEvent
from core.errors import Conflict, Forbidden, Invalid
from core.i18n import local_date
from core.mail import OutboxMessage
from council import assignment, ballots
from council import decisions as council_decisions
from council.models import Ballot, BallotResult, BallotRule, PositionKind, Resolution
from quality_marks import applications, decisions
from quality_marks.models import (
    Appeal,
    AppealStatus,
    ApplicationDecision,
    ApplicationSnapshot,
    ApplicationStatus,
    Decision,
    Finding,
    OrgRole,
    Recommendation,
    Review,
    ReviewFinding,
    ReviewNote,
    ReviewStatus,
)
from tests.factories import NOW, make_user
from tests.quality_marks.decision_builders import (
    URL,
    Reviewed,
    add_review,
    declare_tie,
    under_review,
)
from tests.quality_marks.factories import make_member

F = Finding
K = PositionKind
CLOSES = NOW + dt.timedelta(days=7)
AFTER = CLOSES + dt.timedelta(hours=1)


def _open(db: Session, case: Reviewed, proposal: str = "grant", **changes: object) -> Ballot:
    terms: dict[str, object] = {
        "actor": case.staff,
        "application": case.application,
        "proposal": proposal,
        "reasons": "La revisión respalda la propuesta.",
        "conditions": "Publicar el informe de sesgos cada año.",
        "rule": BallotRule.simple_majority,
        "quorum_percent": 50,
        "closes_at": CLOSES,
        "reviewers_required": 2,
        "validity_years": 2,
        "appeal_days": 30,
        "base_url": URL,
        "now": NOW,
        **changes,
    }
    return council_decisions.open_decision_ballot(db, **terms)  # type: ignore[arg-type]


def _vote(db: Session, case: Reviewed, ballot: Ballot, kind: PositionKind, text: str = "") -> None:
    for user, member in case.council:
        voter = next(v for v in ballot.voters if v.member_id == member.id)
        if voter.conflict is None:
            ballots.cast_position(db, actor=user, ballot=ballot, kind=kind, text=text, now=NOW)


def _close(db: Session, case: Reviewed, ballot: Ballot) -> Resolution:
    return ballots.close_ballot(db, actor=case.staff, ballot=ballot, now=AFTER)


def _reviewed(db: Session, *found: Finding) -> Reviewed:
    case = under_review(db)
    findings = {f"TR-{i}": f for i, f in enumerate(found, 1)}
    add_review(db, case, findings, comments={"TR-1": "Falta **evidencia** de auditoría."})
    add_review(
        db,
        case,
        dict.fromkeys(findings, F.conforms),
        recommendation=Recommendation.grant_with_conditions,
        conditions="Auditoría externa en 12 meses.",
        private_note="Sólo para el consejo.",
    )
    return case


def _outbox(db: Session, to: str) -> list[OutboxMessage]:
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == to)))


def test_a_conflicted_member_is_recused_and_a_passed_grant_is_recorded(db: Session) -> None:
    case = _reviewed(db, F.minor_nonconformity, F.conforms, F.not_applicable_confirmed)
    tied_user, tied_member = case.council[2]
    declare_tie(db, tied_user, case.organization)
    ballot = _open(db, case)
    recused = {v.member_id for v in ballot.voters if v.conflict}
    assert recused == {tied_member.id}
    assert ballot.terms["level"] == "B"
    with pytest.raises(Conflict):
        ballots.cast_position(db, actor=tied_user, ballot=ballot, kind=K.yes, text="", now=NOW)
    _vote(db, case, ballot, K.yes)
    resolution = _close(db, case, ballot)

    assert resolution.result == BallotResult.passed
    assert case.application.status == ApplicationStatus.decided
    assert case.application.decision == Decision.granted
    assert case.application.decision_resolution == resolution.number
    decision = decisions.latest_decision(db, case.application)
    assert decision is not None
    assert (decision.outcome, decision.level, decision.round) == (Decision.granted, "B", 1)
    assert decision.valid_from == local_date(AFTER)
    assert decision.valid_until == local_date(AFTER).replace(year=local_date(AFTER).year + 2)
    assert decision.conditions == "Publicar el informe de sesgos cada año."
    assert decision.rule == decisions.DEFAULT_RULE
    assert decision.appeal_until is None
    # Per criterion the consolidated finding and the comments, never who wrote them.
    assert decision.findings["TR-1"]["finding"] == "minor_nonconformity"
    assert "<strong>evidencia</strong>" in decision.findings["TR-1"]["comments"][0]
    assert "Ximena" not in str(decision.findings)
    assert "privada" not in str(decision.findings)
    # The organisation is told, and certificate issuance finds the grant.
    mail = _outbox(db, case.owner.email)[-1]
    assert resolution.number in mail.subject or resolution.number in mail.body_text
    assert "Otorgado" in mail.subject
    assert decisions.granted_marks_awaiting_certificate(db) == [decision]
    granted = db.scalar(select(AuditEvent).where(AuditEvent.action == "mark.granted"))
    assert granted is not None
    assert granted.object_id == str(decision.id)


def test_a_member_who_reviewed_the_round_does_not_vote_on_its_decision(db: Session) -> None:
    case = under_review(db)
    assessor, assessor_seat = case.council[2]
    add_review(db, case, {"TR-1": F.conforms}, reviewer=assessor)
    add_review(db, case, {"TR-1": F.conforms})
    ballot = _open(db, case)
    recused = {v.member_id: v.conflict for v in ballot.voters if v.conflict}
    assert recused == {assessor_seat.id: "Revisó esta solicitud / Reviewed this application"}
    with pytest.raises(Conflict):
        ballots.cast_position(db, actor=assessor, ballot=ballot, kind=K.yes, text="", now=NOW)
    # The recused assessor does not weigh the subject on the ballot page either.
    assert ballots.ballot_view(db, ballot.id, assessor, NOW).review is None
    assert ballots.ballot_view(db, ballot.id, case.council[0][0], NOW).review is not None
    # The public record says who was recused, never that they reviewed the application.
    _vote(db, case, ballot, K.yes)
    resolution = _close(db, case, ballot)
    assert {row["conflict"] for row in resolution.record["positions"]} == {True, False}
    assert "Revisó" not in str(resolution.record)


def test_every_voter_is_mailed_when_a_ballot_opens(db: Session) -> None:
    case = _reviewed(db, F.conforms)
    tied_user, _ = case.council[1]
    declare_tie(db, tied_user, case.organization)
    ballot = _open(db, case)
    for user, _member in case.council:
        mails = [m for m in _outbox(db, user.email) if "Nueva votación" in m.subject]
        assert len(mails) == 1, user.email
        assert f"{URL}/council/ballots/{ballot.id}" in mails[0].body_text
    (recused_mail,) = [m for m in _outbox(db, tied_user.email) if "Nueva" in m.subject]
    assert "Se le excusa de esta votación" in recused_mail.body_text


def test_a_failed_grant_is_a_refusal_with_the_councils_objections(db: Session) -> None:
    case = _reviewed(db, F.conforms, F.conforms)
    ballot = _open(db, case)
    user, _member = case.council[0]
    ballots.cast_position(
        db, actor=user, ballot=ballot, kind=K.discuss, text="El sesgo no está medido.", now=NOW
    )
    resolution = _close(db, case, ballot)
    assert resolution.result == BallotResult.failed
    decision = decisions.latest_decision(db, case.application)
    assert decision is not None
    assert decision.outcome == Decision.refused
    assert decision.level is None
    assert decision.valid_until is None
    assert "El Consejo no aprobó el otorgamiento" in decision.reasons
    assert "El sesgo no está medido." in decision.reasons
    assert decision.appeal_until == local_date(AFTER) + dt.timedelta(days=30)
    assert case.application.status == ApplicationStatus.decided


def test_a_failed_refusal_leaves_the_application_under_review(db: Session) -> None:
    case = _reviewed(db, F.major_nonconformity)
    ballot = _open(db, case, "refuse")
    _vote(db, case, ballot, K.abstain)
    resolution = _close(db, case, ballot)
    assert resolution.result == BallotResult.failed
    assert case.application.status == ApplicationStatus.under_review
    assert decisions.latest_decision(db, case.application) is None
    event = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "application.decision_not_taken")
    )
    assert event is not None
    assert event.summary["outcome"] == "refusal not approved; still under review"


def test_a_passed_refusal_is_recorded_as_a_refusal(db: Session) -> None:
    case = _reviewed(db, F.major_nonconformity)
    ballot = _open(db, case, "refuse")
    _vote(db, case, ballot, K.yes)
    _close(db, case, ballot)
    decision = decisions.latest_decision(db, case.application)
    assert decision is not None
    assert decision.outcome == Decision.refused
    assert decision.reasons == "La revisión respalda la propuesta."
    assert decision.conditions == ""


def test_a_ballot_is_void_when_a_new_round_starts_while_voting(db: Session) -> None:
    case = _reviewed(db, F.conforms)
    ballot = _open(db, case)
    _vote(db, case, ballot, K.yes)
    case.application.revision += 1
    db.flush()
    resolution = _close(db, case, ballot)
    assert resolution.result == BallotResult.failed
    assert resolution.record["void_reason"] == (
        "A new round of review started after the ballot opened."
    )
    assert decisions.latest_decision(db, case.application) is None


def test_a_grant_is_void_when_the_findings_change_its_level_while_voting(db: Session) -> None:
    case = _reviewed(db, F.conforms)
    ballot = _open(db, case)
    assert ballot.terms["level"] == "A"
    _vote(db, case, ballot, K.yes)
    finding = db.scalar(select(ReviewFinding).where(ReviewFinding.criterion_code == "TR-1"))
    assert finding is not None
    finding.finding = F.minor_nonconformity
    db.flush()
    resolution = _close(db, case, ballot)
    assert resolution.result == BallotResult.failed
    assert resolution.record["void_reason"] == (
        "The findings changed after the ballot opened; the level is no longer the same."
    )
    assert case.application.status == ApplicationStatus.under_review


def test_a_decision_waits_for_every_review_of_the_round(db: Session) -> None:
    case = under_review(db)
    add_review(db, case, {"TR-1": F.conforms})
    with pytest.raises(Conflict) as one_only:
        _open(db, case)
    assert one_only.value.params == {"count": 2}
    add_review(db, case, {"TR-1": F.conforms})
    pending = add_review(db, case, {}, status=ReviewStatus.in_progress)
    with pytest.raises(Conflict):
        _open(db, case)
    pending.status = ReviewStatus.declined  # handed back: it no longer counts
    db.flush()
    assert _open(db, case).subject_id == case.application.id


def test_a_grant_needs_a_level_and_every_proposal_its_reasons(db: Session) -> None:
    case = _reviewed(db, F.major_nonconformity)
    with pytest.raises(Invalid) as no_level:
        _open(db, case, "grant")
    assert set(no_level.value.fields) == {"proposal"}
    with pytest.raises(Invalid) as no_reasons:
        _open(db, case, "refuse", reasons="  ")
    assert set(no_reasons.value.fields) == {"reasons"}


def test_the_form_proposes_what_the_level_implies_with_the_reviewers_conditions(
    db: Session,
) -> None:
    case = _reviewed(db, F.minor_nonconformity)
    values = council_decisions.decision_form_defaults(db, case.application, NOW)
    assert values["proposal"] == "grant"
    assert values["conditions"] == "Auditoría externa en 12 meses."


def test_the_form_proposes_a_refusal_when_no_level_is_reached(db: Session) -> None:
    case = _reviewed(db, F.major_nonconformity)
    values = council_decisions.decision_form_defaults(db, case.application, NOW)
    assert values["proposal"] == "refuse"


# Appeals -----------------------------------------------------------------------------------


def _refused(db: Session, *, reviewer_in_council: bool = False) -> Reviewed:
    """An application the council refused by ballot (one reviewer sits on the council)."""
    case = under_review(db)
    reviewer = case.council[3][0] if reviewer_in_council else None
    add_review(db, case, {"TR-1": F.major_nonconformity}, reviewer=reviewer)
    add_review(db, case, {"TR-1": F.minor_nonconformity})
    ballot = _open(db, case, "refuse")
    _vote(db, case, ballot, K.yes)
    _close(db, case, ballot)
    assert case.application.decision == Decision.refused
    return case


def _appeal(db: Session, case: Reviewed, now: dt.datetime = AFTER) -> Appeal:
    return decisions.file_appeal(
        db,
        actor=case.owner,
        application=case.application,
        grounds="La revisión no consideró la auditoría de 2026.",
        base_url=URL,
        now=now,
    )


def test_an_appeal_filed_in_time_tells_the_secretariat(db: Session) -> None:
    case = _refused(db)
    last_day = dt.datetime.combine(
        local_date(AFTER) + dt.timedelta(days=30), dt.time(12), tzinfo=dt.UTC
    )
    appeal = _appeal(db, case, last_day)
    assert appeal.status == AppealStatus.filed
    assert case.application.status == ApplicationStatus.appealed
    decision = decisions.latest_decision(db, case.application)
    assert decision is not None
    assert appeal.decision_id == decision.id
    mails = _outbox(db, case.staff.email)
    assert any("Apelación" in m.subject for m in mails)


def test_an_appeal_after_the_period_is_refused(db: Session) -> None:
    case = _refused(db)
    too_late = AFTER + dt.timedelta(days=32)
    with pytest.raises(Conflict) as refused:
        _appeal(db, case, too_late)
    assert refused.value.message == (
        "Only a refusal can be appealed, once, within the appeal period after the decision."
    )
    assert case.application.status == ApplicationStatus.decided


def test_a_grant_cannot_be_appealed(db: Session) -> None:
    granted = _reviewed(db, F.conforms)
    ballot = _open(db, granted)
    _vote(db, granted, ballot, K.yes)
    _close(db, granted, ballot)
    assert not decisions.may_appeal(db, granted.owner, granted.application, AFTER)
    with pytest.raises(Conflict):
        _appeal(db, granted)
    assert granted.application.status == ApplicationStatus.decided


def test_a_refusal_is_appealed_only_once(db: Session) -> None:
    case = _refused(db)
    _appeal(db, case)
    with pytest.raises(Conflict):
        _appeal(db, case)


def test_only_owners_and_editors_appeal(db: Session) -> None:
    case = _refused(db)
    viewer = make_member(db, case.organization, OrgRole.viewer)
    with pytest.raises(Forbidden):
        decisions.file_appeal(
            db, actor=viewer, application=case.application, grounds="X", base_url=URL, now=AFTER
        )
    assert not decisions.may_appeal(db, viewer, case.application, AFTER)
    assert decisions.may_appeal(db, case.owner, case.application, AFTER)
    with pytest.raises(Invalid):
        decisions.file_appeal(
            db, actor=case.owner, application=case.application, grounds=" ", base_url=URL, now=AFTER
        )


def _appeal_ballot(db: Session, case: Reviewed) -> Ballot:
    return council_decisions.open_appeal_ballot(
        db,
        actor=case.staff,
        application=case.application,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=AFTER + dt.timedelta(days=7),
        base_url=URL,
        now=AFTER,
    )


def test_the_appeal_panel_excludes_the_original_reviewers(db: Session) -> None:
    case = _refused(db, reviewer_in_council=True)
    _appeal(db, case)
    reviewer_user, reviewer_member = case.council[3]
    assert decisions.excluded_reviewers(db, case.application) == {r.id for r in case.reviewers}
    ballot = _appeal_ballot(db, case)
    recused = {v.member_id: v.conflict for v in ballot.voters if v.conflict}
    assert recused == {
        reviewer_member.id: "Revisó la solicitud original / Reviewed the original application"
    }
    with pytest.raises(Conflict):
        ballots.cast_position(
            db, actor=reviewer_user, ballot=ballot, kind=K.yes, text="", now=AFTER
        )


def _close_appeal(db: Session, case: Reviewed, ballot: Ballot, kind: PositionKind) -> None:
    for user, member in case.council:
        voter = next(v for v in ballot.voters if v.member_id == member.id)
        if voter.conflict is None:
            ballots.cast_position(db, actor=user, ballot=ballot, kind=kind, text="", now=AFTER)
    ballots.close_ballot(db, actor=case.staff, ballot=ballot, now=AFTER + dt.timedelta(days=8))


def test_an_upheld_appeal_sends_the_application_to_a_new_round(db: Session) -> None:
    case = _refused(db)
    appeal = _appeal(db, case)
    ballot = _appeal_ballot(db, case)
    _close_appeal(db, case, ballot, K.yes)
    assert appeal.status == AppealStatus.upheld
    assert appeal.resolution is not None
    assert case.application.status == ApplicationStatus.under_review
    assert case.application.revision == 2
    assert case.application.decision is None
    # The new round has its frozen self-assessment; the refusal stays on record.
    snapshots = db.scalar(
        select(func.count()).where(ApplicationSnapshot.application_id == case.application.id)
    )
    assert snapshots == 2
    assert db.scalar(select(func.count()).select_from(ApplicationDecision)) == 1
    mail = _outbox(db, case.owner.email)[-1]
    assert "fue declarada procedente" in mail.subject


def test_the_original_reviewers_are_not_assigned_to_an_upheld_appeals_round(
    db: Session,
) -> None:
    case = _refused(db, reviewer_in_council=True)
    _appeal(db, case)
    _close_appeal(db, case, _appeal_ballot(db, case), K.yes)
    rules = assignment.AssignmentRules(
        reviewers_per_application=2, max_open_reviews=4, review_days=21
    )
    candidates = {
        c.user.id: c
        for c in assignment.reviewer_candidates(db, case.application, AFTER, rules=rules)
    }
    for reviewer in case.reviewers:
        if reviewer.id in candidates:
            codes = [reason.code for reason in candidates[reviewer.id].reasons]
            assert "reviewed_appealed" in codes
            assert not candidates[reviewer.id].eligible
    chosen = assignment.assign_automatically(
        db, actor=case.staff, application=case.application, rules=rules, base_url=URL, now=AFTER
    )
    assert {r.reviewer_id for r in chosen}.isdisjoint({u.id for u in case.reviewers})


def test_an_answer_after_an_upheld_appeal_does_not_hand_the_round_back_to_its_reviewers(
    db: Session,
) -> None:
    case = _refused(db)
    _appeal(db, case)
    _close_appeal(db, case, _appeal_ballot(db, case), K.yes)
    applications.request_information(
        db,
        actor=case.staff,
        application=case.application,
        body="¿Y la auditoría?",
        base_url=URL,
        now=AFTER,
    )
    applications.answer_request(
        db,
        actor=case.owner,
        application=case.application,
        body="Aquí está.",
        base_url=URL,
        now=AFTER,
    )
    reviewers = db.scalars(
        select(Review.reviewer_id).where(
            Review.application_id == case.application.id,
            Review.round == case.application.revision,
        )
    ).all()
    assert reviewers == []  # the secretariat assigns new reviewers, the appeal's exclusions apply


def test_a_dismissed_appeal_leaves_the_refusal_standing(db: Session) -> None:
    case = _refused(db)
    appeal = _appeal(db, case)
    ballot = _appeal_ballot(db, case)
    _close_appeal(db, case, ballot, K.abstain)
    assert appeal.status == AppealStatus.dismissed
    assert case.application.status == ApplicationStatus.decided
    assert case.application.decision == Decision.refused
    assert case.application.revision == 1


def test_an_appeal_ballot_needs_a_filed_appeal(db: Session) -> None:
    case = _refused(db)
    with pytest.raises(Conflict):
        _appeal_ballot(db, case)


def test_voters_read_the_application_only_while_open_and_not_recused(db: Session) -> None:
    case = _reviewed(db, F.conforms)
    tied_user, _ = case.council[2]
    declare_tie(db, tied_user, case.organization)
    db.add(
        ReviewNote(
            application_id=case.application.id,
            author_id=case.reviewers[0].id,
            body="La evidencia de TR-1 es de 2024.",
            created_at=NOW,
        )
    )
    ballot = _open(db, case)
    voter_user, _ = case.council[0]
    view = council_decisions.ballot_application(db, ballot.id, voter_user, NOW)
    assert [a["code"] for a in view.answers] == ["TR-1", "TR-2", "TR-3", "TR-4", "TR-5"]
    # Voters weigh the reviewers' private discussion too.
    assert [note.body for note in view.notes] == ["La evidencia de TR-1 es de 2024."]
    with pytest.raises(Forbidden):
        council_decisions.ballot_application(db, ballot.id, tied_user, NOW)
    with pytest.raises(Forbidden):
        council_decisions.ballot_application(db, ballot.id, voter_user, AFTER)
    outsider = make_user(db, role=Role.council_member)
    with pytest.raises(Forbidden):
        council_decisions.ballot_application(db, ballot.id, outsider, NOW)
    assert council_decisions.ballot_application(db, ballot.id, case.staff, AFTER) is not None
