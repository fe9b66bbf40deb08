"""An application under review with its reviews written directly, and a council to decide it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.accounts import Role, User
from council.members import declare_interest
from council.models import CouncilMember, InterestType
from guidelines.models import RiskLevel
from quality_marks import applications
from quality_marks.models import (
    AnswerValue,
    Application,
    Finding,
    Organization,
    OrgRole,
    Recommendation,
    Review,
    ReviewFinding,
    ReviewStatus,
)
from quality_marks.organizations import members_of
from quality_marks.schemas import AnswerInput
from tests.council.builders import seat_council
from tests.factories import NOW, make_user
from tests.quality_marks.factories import (
    make_adopted_version,
    make_application,
    make_organization,
    make_product,
)

ALL = [RiskLevel.minimal, RiskLevel.limited, RiskLevel.high]
CODES = ["TR-1", "TR-2", "TR-3", "TR-4", "TR-5"]
LAYOUT = {"TR": dict.fromkeys(CODES, ALL)}
URL = "http://testserver"
F = Finding


@dataclass
class Reviewed:
    """An application under review, its people and the council that decides it."""

    application: Application
    organization: Organization
    owner: User
    staff: User
    council: list[tuple[User, CouncilMember]]
    reviewers: list[User]


def under_review(db: Session) -> Reviewed:
    """A complete application accepted for review, and a council of five in term."""
    staff, council = seat_council(db)
    version = make_adopted_version(db, staff, layout=LAYOUT)
    organization = make_organization(db, legal_name="DataSalud Analítica S.A. de C.V.")
    owner = next(p for p, r in members_of(db, organization.id) if r == OrgRole.owner)
    product = make_product(db, owner, organization)
    application = make_application(db, actor=owner, product=product, version=version)
    applications.save_answers(
        db,
        actor=owner,
        application=application,
        answers={code: AnswerInput(value=AnswerValue.meets) for code in CODES},
        now=NOW,
    )
    applications.submit_application(db, actor=owner, application=application, base_url=URL, now=NOW)
    applications.start_screening(db, actor=staff, application=application, now=NOW)
    applications.accept_application(db, actor=staff, application=application, base_url=URL, now=NOW)
    db.flush()
    return Reviewed(application, organization, owner, staff, council, [])


def add_review(
    db: Session,
    case: Reviewed,
    findings: Mapping[str, Finding | None],
    *,
    reviewer: User | None = None,
    recommendation: Recommendation = Recommendation.grant,
    status: ReviewStatus = ReviewStatus.submitted,
    comments: dict[str, str] | None = None,
    private_note: str = "",
    conditions: str = "",
) -> Review:
    """One reviewer's review of the current round, with a finding per criterion given."""
    reviewer = reviewer or make_user(db, role=Role.expert, full_name="Revisora Ximena Ibarra")
    review = Review(
        application_id=case.application.id,
        reviewer_id=reviewer.id,
        round=case.application.revision,
        status=status,
        assigned_by_id=case.staff.id,
        assigned_at=NOW,
        assignment_note="",
        due_on=NOW.date() + dt.timedelta(days=21),
        recommendation=recommendation if status == ReviewStatus.submitted else None,
        summary="Revisión completa." if status == ReviewStatus.submitted else "",
        conditions=conditions,
        private_note=private_note,
        submitted_at=NOW if status == ReviewStatus.submitted else None,
        updated_at=NOW,
    )
    db.add(review)
    db.flush()
    for code, finding in findings.items():
        db.add(
            ReviewFinding(
                review_id=review.id,
                criterion_code=code,
                finding=finding,
                comment=(comments or {}).get(code, ""),
                private_note=f"Nota privada {code}" if private_note else "",
                updated_at=NOW,
            )
        )
    db.flush()
    case.reviewers.append(reviewer)
    return review


def declare_tie(db: Session, member: User, organization: Organization) -> None:
    """A council member declares a consulting tie with the applying organisation."""
    declare_interest(
        db,
        actor=member,
        organisation=organization.legal_name,
        rfc=organization.rfc,
        interest_type=InterestType.consulting,
        starts_on=dt.date(2025, 1, 1),
        ends_on=None,
        note="Asesoría en protección de datos.",
        now=NOW,
    )
