"""Small builders for review tests: an application under review and reviews assigned to it.

The assignments issue's `assign_reviewer` creates reviews in the service; until then the tests
write the assigned rows themselves, as it would.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.storage import FileStore
from quality_marks import applications
from quality_marks.models import (
    AnswerValue,
    Application,
    Evidence,
    Finding,
    OrgRole,
    Review,
    ReviewStatus,
)
from quality_marks.organizations import members_of
from quality_marks.schemas import AnswerInput, FindingInput
from tests.factories import NOW, make_user
from tests.quality_marks.factories import (
    make_adopted_version,
    make_application,
    make_organization,
    make_product,
)

BASE_URL = "http://testserver"
# The checklist of a high-risk product under the default layout, in document order.
CODES = ["TR-1", "TR-2", "TR-3", "EQ-1", "EQ-2"]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CONFIDENTIAL = "Solo para el consejo: el modelo se entrena con datos de la cartera vencida."


@dataclass
class UnderReview:
    """An application accepted for review, the people around it and its confidential evidence."""

    staff: User
    owner: User
    application: Application
    evidence: Evidence

    @property
    def url(self) -> str:
        """The application's page."""
        return f"/applications/{self.application.id}"


def under_review(db: Session, store: FileStore) -> UnderReview:
    """A high-risk application with every criterion answered, submitted and accepted for review.

    TR-2's justification and its evidence file are not public.
    """
    staff = make_user(db, role=Role.secretariat)
    version = make_adopted_version(db, staff)
    organization = make_organization(db)
    owner = next(p for p, r in members_of(db, organization.id) if r == OrgRole.owner)
    product = make_product(db, owner, organization)
    application = make_application(db, actor=owner, product=product, version=version)
    answers = {code: AnswerInput(value=AnswerValue.meets) for code in CODES}
    answers["TR-2"] = AnswerInput(
        value=AnswerValue.partly_meets, justification=CONFIDENTIAL, justification_public=False
    )
    applications.save_answers(db, actor=owner, application=application, answers=answers, now=NOW)
    evidence = applications.add_evidence_file(
        db,
        actor=owner,
        application=application,
        criterion_code="TR-2",
        stream=io.BytesIO(PDF),
        filename="auditoria-interna.pdf",
        public=False,
        store=store,
        max_file_bytes=10_000_000,
        max_total_bytes=50_000_000,
        now=NOW,
    )
    applications.submit_application(
        db, actor=owner, application=application, base_url=BASE_URL, now=NOW
    )
    applications.start_screening(db, actor=staff, application=application, now=NOW)
    applications.accept_application(
        db, actor=staff, application=application, base_url=BASE_URL, now=NOW
    )
    db.commit()
    return UnderReview(staff, owner, application, evidence)


def make_reviewer(db: Session, *, role: Role = Role.expert, locale: str = "es_MX") -> User:
    """A person who reviews for the council (an expert unless said otherwise)."""
    return make_user(db, role=role, locale=locale)


def assign(
    db: Session,
    application: Application,
    reviewer: User,
    *,
    by: User,
    status: ReviewStatus = ReviewStatus.assigned,
    round_: int | None = None,
) -> Review:
    """A review of the application's current round assigned to the reviewer, as assignment does."""
    review = Review(
        application_id=application.id,
        reviewer_id=reviewer.id,
        round=round_ or application.revision,
        status=status,
        version=1,
        assigned_by_id=by.id,
        assigned_at=NOW,
        assignment_note="Experiencia en el sector financiero.",
        due_on=NOW.date() + dt.timedelta(days=21),
        updated_at=NOW,
    )
    db.add(review)
    db.commit()
    return review


def complete_findings(
    finding: Finding = Finding.conforms, **special: FindingInput
) -> dict[str, FindingInput]:
    """A finding on every criterion of the checklist; `special` ones by code (TR_2 for TR-2)."""
    chosen = {code.replace("_", "-"): data for code, data in special.items()}
    return {code: chosen.get(code, FindingInput(finding=finding)) for code in CODES}
