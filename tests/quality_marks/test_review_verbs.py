"""Reviews through their verbs: the life cycle, saving, submitting, visibility, rounds, notes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.audit import AuditEvent
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.mail import OutboxMessage
from core.storage import FileStore
from quality_marks import applications, reviews
from quality_marks.models import (
    AnswerValue,
    Finding,
    Recommendation,
    Review,
    ReviewNote,
    ReviewStatus,
)
from quality_marks.reviews import REVIEW_LIFE_CYCLE
from quality_marks.schemas import AnswerInput, FindingInput
from tests.factories import NOW
from tests.quality_marks.review_builders import (
    BASE_URL,
    UnderReview,
    assign,
    complete_findings,
    make_reviewer,
    under_review,
)

R = ReviewStatus
LATER = NOW + dt.timedelta(hours=2)

# The rule, written out: from each status, where a review may go next.
ALLOWED: dict[ReviewStatus, set[ReviewStatus]] = {
    R.assigned: {R.in_progress, R.submitted, R.declined, R.released},
    R.in_progress: {R.submitted, R.declined, R.released},
    R.submitted: set(),
    R.declined: set(),
    R.released: set(),
}


@dataclass
class Case:
    """An application under review with two reviewers and an expert who is not one."""

    app: UnderReview
    alice: User
    bruno: User
    stranger: User
    review_a: Review
    review_b: Review


@pytest.fixture
def case(db: Session, tmp_path: Path) -> Case:
    app = under_review(db, FileStore(tmp_path / "store"))
    alice = make_reviewer(db)
    bruno = make_reviewer(db, role=Role.council_member)
    stranger = make_reviewer(db)
    review_a = assign(db, app.application, alice, by=app.staff)
    review_b = assign(db, app.application, bruno, by=app.staff)
    return Case(app, alice, bruno, stranger, review_a, review_b)


def save(
    db: Session, reviewer: User, review: Review, *, version: int | None = None, **changes: object
) -> Review:
    """Save a review as its reviewer, by default complete and recommending a grant."""
    fields: dict[str, object] = {
        "findings": complete_findings(),
        "recommendation": Recommendation.grant,
        "summary": "Cumple los criterios revisados.",
        "conditions": "",
        "private_note": "",
    }
    fields.update(changes)
    return reviews.record_review(
        db,
        actor=reviewer,
        review=reviews.get_review(db, reviewer, review.id),
        version=review.version if version is None else version,
        now=NOW,
        **fields,  # type: ignore[arg-type]
    )


def submit(db: Session, reviewer: User, review: Review) -> Review:
    """Submit the review at its current version."""
    return reviews.submit_review(
        db, actor=reviewer, review=review, version=review.version, base_url=BASE_URL, now=LATER
    )


def test_the_life_cycle_table_is_the_written_rule() -> None:
    assert REVIEW_LIFE_CYCLE.transitions(list(R)) == ALLOWED


def test_the_reviewer_is_offered_save_and_submit_and_the_secretariat_release(
    db: Session, case: Case
) -> None:
    assert reviews.review_actions(case.alice, case.review_a) == [
        "start",
        "save",
        "submit",
        "decline",
    ]
    assert reviews.review_actions(case.app.staff, case.review_a) == ["release"]
    assert reviews.review_actions(case.bruno, case.review_a) == []


def test_start_review_moves_an_assigned_review_to_in_progress(db: Session, case: Case) -> None:
    reviews.start_review(db, actor=case.alice, review=case.review_a, now=NOW)
    assert case.review_a.status == R.in_progress
    assert case.review_a.started_at == NOW
    with pytest.raises(Conflict):
        reviews.start_review(db, actor=case.alice, review=case.review_a, now=NOW)
    with pytest.raises(Forbidden):
        reviews.start_review(db, actor=case.app.staff, review=case.review_b, now=NOW)


def test_saving_starts_the_review_bumps_the_version_and_keeps_the_findings(
    db: Session, case: Case
) -> None:
    saved = save(
        db,
        case.alice,
        case.review_a,
        findings={"TR-2": FindingInput(finding=Finding.minor_nonconformity, comment="Falta X.")},
    )
    assert saved.status == R.in_progress
    assert saved.version == 2
    again = reviews.get_review(db, case.alice, case.review_a.id)
    assert [(f.criterion_code, f.finding, f.comment) for f in again.findings] == [
        ("TR-2", Finding.minor_nonconformity, "Falta X.")
    ]


def test_a_stale_save_is_refused_naming_who_changed_it_and_when(db: Session, case: Case) -> None:
    save(db, case.alice, case.review_a)
    with pytest.raises(Conflict) as refused:
        save(db, case.alice, case.review_a, version=1, summary="Otra cosa.")
    assert refused.value.status_code == 409
    assert refused.value.params["name"] == case.alice.full_name
    assert refused.value.params["when"] == "2026-11-25 12:00"  # Mexico City time
    assert reviews.get_review(db, case.alice, case.review_a.id).summary != "Otra cosa."


def test_only_criteria_of_the_checklist_take_findings(db: Session, case: Case) -> None:
    with pytest.raises(Invalid) as refused:
        save(db, case.alice, case.review_a, findings={"ZZ-9": FindingInput()})
    assert refused.value.params == {"codes": "ZZ-9"}


def test_only_the_reviewer_saves_their_review(db: Session, case: Case) -> None:
    with pytest.raises(NotFound):
        reviews.get_review(db, case.bruno, case.review_a.id)
    with pytest.raises(NotFound):
        reviews.record_review(
            db,
            actor=case.bruno,
            review=case.review_a,
            findings={},
            recommendation=None,
            summary="",
            conditions="",
            private_note="",
            version=1,
            now=NOW,
        )
    with pytest.raises(Forbidden):
        save(db, case.app.staff, case.review_a)


def test_submission_names_every_missing_finding_and_overall_field(db: Session, case: Case) -> None:
    save(
        db,
        case.alice,
        case.review_a,
        findings={"TR-1": FindingInput(finding=Finding.conforms)},
        recommendation=Recommendation.grant_with_conditions,
        summary="",
    )
    with pytest.raises(Invalid) as refused:
        submit(db, case.alice, case.review_a)
    assert refused.value.params == {"codes": "TR-2, TR-3, EQ-1, EQ-2"}
    assert set(refused.value.fields) == {"TR-2", "TR-3", "EQ-1", "EQ-2", "summary", "conditions"}


def test_a_submitted_review_is_frozen(db: Session, case: Case) -> None:
    save(db, case.alice, case.review_a)
    submitted = submit(db, case.alice, case.review_a)
    assert submitted.status == R.submitted
    assert submitted.submitted_at == LATER
    with pytest.raises(Conflict):
        save(db, case.alice, case.review_a)
    with pytest.raises(Conflict):
        submit(db, case.alice, case.review_a)


def test_the_secretariat_hears_when_every_review_of_the_round_is_in(
    db: Session, case: Case
) -> None:
    def round_mails() -> list[str]:
        return list(
            db.scalars(
                select(OutboxMessage.to_address).where(
                    OutboxMessage.template == "mail/review_round_complete.txt"
                )
            )
        )

    save(db, case.alice, case.review_a)
    submit(db, case.alice, case.review_a)
    assert round_mails() == []
    case.review_b.status = R.declined  # a declined review does not hold the round up
    save(db, case.bruno, assign(db, case.app.application, case.bruno, by=case.app.staff))
    review = db.scalars(
        select(Review).where(Review.reviewer_id == case.bruno.id, Review.status == R.in_progress)
    ).one()
    submit(db, case.bruno, review)
    assert case.app.staff.email in round_mails()
    assert case.alice.email not in round_mails()


def test_every_change_writes_an_audit_event(db: Session, case: Case) -> None:
    save(db, case.alice, case.review_a)
    submit(db, case.alice, case.review_a)
    reviews.post_review_note(
        db, actor=case.alice, application=case.app.application, body="Nota.", now=NOW
    )
    actions = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.actor_id == case.alice.id)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["review.save", "review.submit", "review_note.post"]


# Visibility --------------------------------------------------------------------------------


def test_a_reviewer_sees_the_others_only_after_submitting_theirs(db: Session, case: Case) -> None:
    save(db, case.bruno, case.review_b)
    submit(db, case.bruno, case.review_b)
    seen = reviews.reviews_visible_to(db, case.alice, case.app.application)
    assert [r.id for r in seen] == [case.review_a.id]
    with pytest.raises(NotFound):
        reviews.get_review(db, case.alice, case.review_b.id)
    save(db, case.alice, case.review_a)
    submit(db, case.alice, case.review_a)
    seen = reviews.reviews_visible_to(db, case.alice, case.app.application)
    assert [r.id for r in seen] == [case.review_a.id, case.review_b.id]
    assert reviews.get_review(db, case.alice, case.review_b.id).reviewer.full_name


def test_the_secretariat_sees_all_the_applicant_none(db: Session, case: Case) -> None:
    seen = reviews.reviews_visible_to(db, case.app.staff, case.app.application)
    assert {r.id for r in seen} == {case.review_a.id, case.review_b.id}
    with pytest.raises(Forbidden):
        reviews.reviews_visible_to(db, case.app.owner, case.app.application)
    with pytest.raises(NotFound):
        reviews.get_review(db, case.app.owner, case.review_a.id)


def test_reviewers_read_the_application_others_do_not(db: Session, case: Case) -> None:
    application_id = case.app.application.id
    assert applications.get_application(db, case.alice, application_id).id == application_id
    with pytest.raises(NotFound):
        applications.get_application(db, case.stranger, application_id)
    found = applications.evidence_file(
        db, user=case.alice, application_id=application_id, evidence_id=case.app.evidence.id
    )
    assert found.name == "auditoria-interna.pdf"
    case.review_a.status = R.declined
    db.flush()
    with pytest.raises(NotFound):
        applications.get_application(db, case.alice, application_id)


# The private thread ------------------------------------------------------------------------


def test_the_private_thread_is_for_reviewers_and_the_secretariat(db: Session, case: Case) -> None:
    application = case.app.application
    reviews.post_review_note(db, actor=case.alice, application=application, body="¿X?", now=NOW)
    reviews.post_review_note(db, actor=case.app.staff, application=application, body="Y.", now=NOW)
    page = reviews.review_notes(db, case.bruno, application)
    assert [n.body for n in page.items] == ["Y.", "¿X?"]
    with pytest.raises(Forbidden):
        reviews.review_notes(db, case.app.owner, application)
    with pytest.raises(Forbidden):
        reviews.post_review_note(
            db, actor=case.app.owner, application=application, body="Hola", now=NOW
        )
    with pytest.raises(Invalid):
        reviews.post_review_note(db, actor=case.alice, application=application, body=" ", now=NOW)
    assert db.scalars(select(ReviewNote.body)).all() == ["¿X?", "Y."]


# Rounds ------------------------------------------------------------------------------------


def _request_information_round(db: Session, case: Case) -> None:
    """Both reviewers ask for information on TR-2; Bruno's EQ-1 comment is a conforming one."""
    for reviewer, review in ((case.alice, case.review_a), (case.bruno, case.review_b)):
        save(
            db,
            reviewer,
            review,
            recommendation=Recommendation.request_information,
            findings=complete_findings(
                TR_2=FindingInput(
                    finding=Finding.major_nonconformity,
                    comment=f"Aclare el origen de los datos ({reviewer.full_name}).",
                    private_note="Sospecho sesgo.",
                ),
                EQ_1=FindingInput(finding=Finding.conforms, comment="Bien."),
            ),
        )
        submit(db, reviewer, review)


def test_the_reviewers_questions_prefill_the_request(db: Session, case: Case) -> None:
    _request_information_round(db, case)
    questions = reviews.questions_for_applicant(db, case.app.application)
    assert [(q.criterion_code, q.comment) for q in questions] == [
        ("TR-2", f"Aclare el origen de los datos ({case.alice.full_name})."),
        ("TR-2", f"Aclare el origen de los datos ({case.bruno.full_name})."),
    ]
    text = reviews.request_text(questions)
    assert text.startswith("- **TR-2**: Aclare")
    assert "Sospecho" not in text


def test_the_answer_starts_the_next_round_with_copied_findings_and_a_diff(
    db: Session, case: Case, tmp_path: Path
) -> None:
    _request_information_round(db, case)
    application = case.app.application
    applications.request_information(
        db,
        actor=case.app.staff,
        application=application,
        body="Aclare TR-2.",
        base_url=BASE_URL,
        now=NOW,
    )
    applications.save_answers(
        db,
        actor=case.app.owner,
        application=application,
        answers={"TR-2": AnswerInput(value=AnswerValue.meets, justification="Datos propios.")},
        now=NOW,
    )
    applications.add_evidence_link(
        db,
        actor=case.app.owner,
        application=application,
        criterion_code="EQ-1",
        url="https://datos.example.mx/sesgo",
        label="Informe de sesgo",
        public=True,
        now=NOW,
    )
    applications.answer_request(
        db,
        actor=case.app.owner,
        application=application,
        body="Listo.",
        base_url=BASE_URL,
        now=LATER,
        review_days=10,
    )
    new = db.scalars(
        select(Review).where(Review.round == application.revision).order_by(Review.id)
    ).all()
    assert [(r.reviewer_id, r.status) for r in new] == [
        (case.alice.id, R.assigned),
        (case.bruno.id, R.assigned),
    ]
    assert new[0].due_on == dt.date(2026, 12, 5)
    copied = reviews.get_review(db, case.alice, new[0].id)
    assert {f.criterion_code: f.finding for f in copied.findings}["TR-2"] == (
        Finding.major_nonconformity
    )
    mails = db.scalars(
        select(OutboxMessage.to_address).where(
            OutboxMessage.template == "mail/review_next_round.txt"
        )
    ).all()
    assert sorted(mails) == sorted([case.alice.email, case.bruno.email])
    changes = reviews.changes_for(db, copied)
    assert changes is not None
    assert [c.code for c in changes] == ["TR-2", "EQ-1"]
    tr2, eq1 = changes
    assert (tr2.value_before, tr2.value_after) == ("partly_meets", "meets")
    assert tr2.justification_after == "Datos propios."
    assert [e["label"] for e in eq1.evidence_added] == ["Informe de sesgo"]
    assert eq1.evidence_removed == []
    assert reviews.changes_for(db, case.review_a) is None
    # the first round's reviews stay as submitted
    assert reviews.get_review(db, case.alice, case.review_a.id).status == R.submitted


def test_round_changes_compares_two_revisions(db: Session, case: Case) -> None:
    application = case.app.application
    assert reviews.round_changes(db, application, 1, 1) == []
    with pytest.raises(NotFound):
        reviews.round_changes(db, application, 1, 7)


def test_only_reviews_asking_for_information_give_questions(db: Session, case: Case) -> None:
    question = FindingInput(finding=Finding.minor_nonconformity, comment="¿Quién supervisa?")
    save(db, case.alice, case.review_a, findings=complete_findings(EQ_2=question))
    submit(db, case.alice, case.review_a)
    assert reviews.questions_for_applicant(db, case.app.application) == []
    save(
        db,
        case.bruno,
        case.review_b,
        recommendation=Recommendation.request_information,
        findings=complete_findings(EQ_2=question),
    )
    assert reviews.questions_for_applicant(db, case.app.application) == []  # not submitted yet
    submit(db, case.bruno, case.review_b)
    assert reviews.questions_for_applicant(db, case.app.application) == [
        reviews.Question("EQ-2", "¿Quién supervisa?")
    ]


def test_a_withdrawn_application_ends_its_open_reviews(db: Session, case: Case) -> None:
    submit(db, case.alice, save(db, case.alice, case.review_a))
    applications.withdraw_application(
        db, actor=case.app.owner, application=case.app.application, reason="Cambio.", now=LATER
    )
    db.expire_all()
    assert reviews.get_review(db, case.alice, case.review_a.id).status == R.submitted
    ended = db.get(Review, case.review_b.id)
    assert ended is not None
    assert (ended.status, ended.ended_at) == (R.released, LATER)
    # The reviewer can no longer work on it, and it no longer counts as theirs to do.
    assert "save" not in reviews.review_actions(case.bruno, ended)
    assert applications.may_review(db, case.bruno, case.app.application) is False
