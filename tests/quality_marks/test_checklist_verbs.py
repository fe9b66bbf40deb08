"""The checklist form's verb, files that follow their transaction, and who may write in a thread."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.errors import Conflict, Invalid
from core.storage import FileStore
from quality_marks import applications
from quality_marks.applications import CriterionSent
from quality_marks.models import Answer, AnswerValue, Application, Evidence, OrgRole
from quality_marks.models import ApplicationStatus as S
from quality_marks.organizations import members_of
from tests.factories import NOW, make_user
from tests.quality_marks.factories import (
    make_adopted_version,
    make_application,
    make_member,
    make_organization,
    make_product,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n"
URL = "http://testserver"


@dataclass
class Case:
    """A draft application, its owner, a viewer, the secretariat and an empty file store."""

    application: Application
    owner: User
    viewer: User
    staff: User
    store: FileStore


@pytest.fixture
def case(db: Session, tmp_path: Path) -> Case:
    staff = make_user(db, role=Role.secretariat)
    organization = make_organization(db)
    owner = next(p for p, r in members_of(db, organization.id) if r == OrgRole.owner)
    viewer = make_member(db, organization, OrgRole.viewer)
    product = make_product(db, owner, organization)
    application = make_application(
        db, actor=owner, product=product, version=make_adopted_version(db, staff)
    )
    return Case(application, owner, viewer, staff, FileStore(tmp_path / "store"))


def _stored_files(store: FileStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()] if store.root.exists() else []


def _save(db: Session, case: Case, sent: dict[str, CriterionSent]) -> applications.SavedChecklist:
    return applications.save_checklist(
        db,
        actor=case.owner,
        application=case.application,
        sent=sent,
        store=case.store,
        max_file_bytes=10_000,
        max_total_bytes=100_000,
        now=NOW,
    )


def _evidence(db: Session, application: Application) -> list[Evidence]:
    return list(db.scalars(select(Evidence).where(Evidence.application_id == application.id)))


def _answer(db: Session, application: Application, code: str) -> Answer | None:
    return db.scalar(
        select(Answer).where(Answer.application_id == application.id, Answer.criterion_code == code)
    )


def test_answers_files_and_links_are_saved_together(db: Session, case: Case) -> None:
    saved = _save(
        db,
        case,
        {
            "TR-1": CriterionSent(
                answer={"value": "meets"},
                files=[(io.BytesIO(PDF), "informe.pdf")],
                link_url="https://example.mx/politica",
                link_label="Política",
            )
        },
    )
    db.commit()
    assert saved.refusals == {}
    answer = _answer(db, case.application, "TR-1")
    assert answer is not None
    assert answer.value == AnswerValue.meets
    evidence = _evidence(db, case.application)
    assert sorted((e.original_name, e.url) for e in evidence) == [
        ("", "https://example.mx/politica"),
        ("informe.pdf", ""),
    ]
    assert len(_stored_files(case.store)) == 1


def test_a_refused_batch_keeps_the_answers_and_leaves_no_file(db: Session, case: Case) -> None:
    saved = _save(
        db,
        case,
        {
            "TR-1": CriterionSent(
                answer={"value": "meets"},
                files=[(io.BytesIO(PDF), "bueno.pdf"), (io.BytesIO(b""), "vacio.pdf")],
                link_url="https://example.mx/politica",
            )
        },
    )
    db.commit()
    assert not saved.answers_refused
    (refusal,) = saved.refusals["files-TR-1"]
    assert refusal.name == "vacio.pdf"
    assert refusal.error.message == "The file is empty."
    answer = _answer(db, case.application, "TR-1")
    assert answer is not None
    assert answer.value == AnswerValue.meets
    assert _evidence(db, case.application) == []
    assert _stored_files(case.store) == []


def test_a_refused_link_takes_the_accepted_file_with_it(db: Session, case: Case) -> None:
    saved = _save(
        db,
        case,
        {
            "TR-1": CriterionSent(
                answer={"value": "meets"},
                files=[(io.BytesIO(PDF), "bueno.pdf")],
                link_url="ftp://example.mx/politica",
            )
        },
    )
    db.commit()
    assert list(saved.refusals) == ["link_url-TR-1"]
    assert _evidence(db, case.application) == []
    assert _stored_files(case.store) == []


def test_an_invalid_answer_keeps_the_others_and_adds_no_evidence(db: Session, case: Case) -> None:
    saved = _save(
        db,
        case,
        {
            "TR-1": CriterionSent(answer={"value": "meets"}),
            "TR-2": CriterionSent(
                answer={"value": "excellent"}, files=[(io.BytesIO(PDF), "informe.pdf")]
            ),
        },
    )
    db.commit()
    assert saved.answers_refused
    assert list(saved.refusals) == ["answer-TR-2"]
    assert saved.refusals["answer-TR-2"][0].field == "value"
    assert _answer(db, case.application, "TR-1") is not None
    assert _answer(db, case.application, "TR-2") is None
    assert _evidence(db, case.application) == []
    assert _stored_files(case.store) == []


def test_a_frozen_self_assessment_refuses_the_whole_form(db: Session, case: Case) -> None:
    case.application.status = S.submitted
    db.flush()
    with pytest.raises(Conflict):
        _save(db, case, {"TR-1": CriterionSent(answer={"value": "meets"})})


def _stored_evidence(db: Session, case: Case) -> Evidence:
    evidence = applications.add_evidence_file(
        db,
        actor=case.owner,
        application=case.application,
        criterion_code="TR-1",
        stream=io.BytesIO(PDF),
        filename="informe.pdf",
        public=False,
        store=case.store,
        max_file_bytes=10_000,
        max_total_bytes=100_000,
        now=NOW,
    )
    db.commit()
    assert evidence.stored_key is not None
    return evidence


def test_removed_evidence_leaves_the_store_only_when_the_removal_commits(
    db: Session, case: Case
) -> None:
    evidence = _stored_evidence(db, case)
    path = case.store.path_of(evidence.stored_key or "")
    applications.remove_evidence(
        db,
        actor=case.owner,
        application=case.application,
        evidence_id=evidence.id,
        store=case.store,
        now=NOW,
    )
    assert path.exists()
    db.commit()
    assert not path.exists()


def test_removed_evidence_keeps_its_file_when_the_removal_rolls_back(
    db: Session, case: Case
) -> None:
    evidence = _stored_evidence(db, case)
    path = case.store.path_of(evidence.stored_key or "")
    applications.remove_evidence(
        db,
        actor=case.owner,
        application=case.application,
        evidence_id=evidence.id,
        store=case.store,
        now=NOW,
    )
    db.rollback()
    assert path.exists()


def test_a_refused_attachment_leaves_no_file_once_rolled_back(db: Session, case: Case) -> None:
    with pytest.raises(Invalid):
        applications.post_message(
            db,
            actor=case.owner,
            application=case.application,
            body="Adjunto el informe.",
            attachments=[(io.BytesIO(PDF), "bueno.pdf"), (io.BytesIO(b"\x00\x01"), "malo.bin")],
            store=case.store,
            max_file_bytes=10_000,
            max_total_bytes=100_000,
            max_files=5,
            base_url=URL,
            now=NOW,
        )
    db.rollback()
    assert _stored_files(case.store) == []


def test_editors_and_the_secretariat_may_write_in_the_thread(db: Session, case: Case) -> None:
    stranger = make_user(db, role=Role.applicant)
    may = {
        "owner": applications.may_post_message(db, case.owner, case.application),
        "viewer": applications.may_post_message(db, case.viewer, case.application),
        "staff": applications.may_post_message(db, case.staff, case.application),
        "stranger": applications.may_post_message(db, stranger, case.application),
    }
    assert may == {"owner": True, "viewer": False, "staff": True, "stranger": False}


def test_the_life_cycle_table_is_the_written_rule() -> None:
    assert applications.LIFE_CYCLE.transitions(S) == {
        S.draft: {S.submitted, S.withdrawn},
        S.submitted: {S.screening, S.withdrawn},
        S.screening: {S.under_review, S.draft, S.withdrawn},
        S.under_review: {S.information_requested, S.decided, S.withdrawn},
        S.information_requested: {S.under_review, S.withdrawn},
        S.decided: {S.appealed},
        S.appealed: {S.under_review, S.decided},
        S.withdrawn: set(),
    }
    assert {S.draft, S.information_requested} == applications.EDITABLE
