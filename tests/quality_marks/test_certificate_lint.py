"""The lint before signing: each rule on its own, and the council's ballot facts it reads."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.signing import CouncilKeys
from council.decisions import decision_ballot_facts
from council.models import Ballot, BallotVoter, Position, PositionKind
from guidelines.models import VersionStatus
from quality_marks import certificates
from quality_marks.certificate_models import Certificate, CertificateStatus
from quality_marks.certificates import BallotFacts, LintFacts, lint_certificate
from quality_marks.models import Decision, Evidence, Review
from tests.factories import NOW
from tests.quality_marks.certificate_builders import decision_of, granted, make_certificate
from tests.quality_marks.certificate_issuance import (
    ISSUED_AT,
    PREFIX,
    another_granted,
    issue,
)
from tests.quality_marks.decision_builders import URL, Reviewed

C = certificates


def _allocated(db: Session, case: Reviewed) -> Certificate:
    certificate = C.allocate_certificate(
        db,
        decision_id=decision_of(db, case).id,
        base_url=URL,
        prefix=PREFIX,
        actor=None,
        now=ISSUED_AT,
    )
    db.flush()
    return certificate


@pytest.fixture
def stored(db: Session) -> tuple[dict[str, Any], LintFacts]:
    """A certificate allocated for a granted mark: its payload and the facts, which pass."""
    certificate = _allocated(db, granted(db))
    facts = C.load_lint_facts(db, certificate, ISSUED_AT)
    assert lint_certificate(certificate.payload, facts) == []
    return dict(certificate.payload), facts


def _ballot(facts: LintFacts, **changes: Any) -> LintFacts:
    assert facts.ballot is not None
    return dataclasses.replace(facts, ballot=dataclasses.replace(facts.ballot, **changes))


Change = Callable[[dict[str, Any], LintFacts], LintFacts]


def _refused(payload: dict[str, Any], facts: LintFacts) -> LintFacts:
    facts.decision.outcome = Decision.refused
    return facts


def _dates(payload: dict[str, Any], facts: LintFacts) -> LintFacts:
    payload["valid_until"] = "2029-12-02"
    facts.decision.valid_until = dt.date(2029, 12, 2)
    return facts


def _future(payload: dict[str, Any], facts: LintFacts) -> LintFacts:
    return dataclasses.replace(facts, today=dt.date.fromisoformat(payload["valid_from"]) - ONE_DAY)


def _no_name(payload: dict[str, Any], facts: LintFacts) -> LintFacts:
    payload["product_name"] = "  "
    return facts


def _unhashed(payload: dict[str, Any], facts: LintFacts) -> LintFacts:
    payload["evidence"] = [{"name": "TR-1 #1", "sha256": ""}]
    return dataclasses.replace(facts, evidence=payload["evidence"])


def _other_evidence(payload: dict[str, Any], facts: LintFacts) -> LintFacts:
    return dataclasses.replace(facts, evidence=[{"name": "TR-1 #1", "sha256": "a" * 64}])


def _level(payload: dict[str, Any], facts: LintFacts) -> LintFacts:
    payload["level"] = "A"
    return facts


ONE_DAY = dt.timedelta(days=1)
RULES: dict[str, tuple[Change, list[str]]] = {
    "refused decision": (_refused, [C.LINT_NOT_GRANTED]),
    "ballot open": (lambda p, f: _ballot(f, closed=False), [C.LINT_BALLOT]),
    "ballot failed": (lambda p, f: _ballot(f, passed=False), [C.LINT_BALLOT]),
    "no ballot found": (
        # Without the ballot the validity it set is unknown too.
        lambda p, f: dataclasses.replace(f, ballot=None),
        [C.LINT_BALLOT_UNKNOWN, C.LINT_DATES],
    ),
    "conflicted voter": (lambda p, f: _ballot(f, conflicted_voted=True), [C.LINT_CONFLICTED_VOTER]),
    "reviewer voted": (lambda p, f: _ballot(f, reviewer_voted=True), [C.LINT_REVIEWER_VOTED]),
    "version withdrawn": (
        lambda p, f: dataclasses.replace(f, version_withdrawn=True),
        [C.LINT_VERSION],
    ),
    "version a draft": (
        lambda p, f: dataclasses.replace(f, version_status=VersionStatus.draft),
        [C.LINT_VERSION],
    ),
    "validity off the rule": (_dates, [C.LINT_DATES]),
    "validity not in the ballot": (lambda p, f: _ballot(f, validity_years=None), [C.LINT_DATES]),
    "valid from tomorrow": (_future, [C.LINT_NOT_YET]),
    "validity ended yesterday": (
        lambda p, f: dataclasses.replace(
            f, today=dt.date.fromisoformat(p["valid_until"]) + ONE_DAY
        ),
        [C.LINT_ENDED],
    ),
    "empty name": (_no_name, [C.LINT_NAMES]),
    "product certified": (
        lambda p, f: dataclasses.replace(f, other_live_for_product=1),
        [C.LINT_PRODUCT_TAKEN],
    ),
    "evidence unhashed": (_unhashed, [C.LINT_EVIDENCE]),
    "evidence changed": (_other_evidence, [C.LINT_EVIDENCE]),
    "payload off the decision": (_level, [C.LINT_PAYLOAD]),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_each_lint_rule_refuses_on_its_own(
    stored: tuple[dict[str, Any], LintFacts], rule: str
) -> None:
    payload, facts = stored
    change, expected = RULES[rule]
    assert lint_certificate(payload, change(payload, facts)) == expected


def test_the_ballot_facts_read_a_clean_grant(db: Session) -> None:
    case = granted(db)
    facts = decision_ballot_facts(db, decision_of(db, case))
    assert facts == BallotFacts(
        closed=True,
        passed=True,
        conflicted_voted=False,
        reviewer_voted=False,
        validity_years=2,
    )


def _ballot_of(db: Session, case: Reviewed) -> Ballot:
    return db.scalars(
        select(Ballot).where(Ballot.subject_id == case.application.id).order_by(Ballot.id)
    ).one()


def test_a_recused_voter_who_voted_anyway_voids_the_certificate(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    case = granted(db)
    ballot = _ballot_of(db, case)
    voter = db.scalars(select(BallotVoter).where(BallotVoter.ballot_id == ballot.id)).first()
    assert voter is not None
    voter.conflict = "Consultoría: DataSalud"
    # A position slipped past the check (an edit of the database): the lint still sees it.
    db.add(
        Position(ballot_id=ballot.id, member_id=voter.member_id, kind=PositionKind.yes, cast_at=NOW)
    )
    db.flush()
    certificate = issue(db, council_keys, tmp_path, decision_of(db, case).id)

    assert certificate.status == CertificateStatus.void
    event = db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "certificate.lint_failed",
            AuditEvent.object_id == certificate.number,
        )
    )
    assert event is not None
    assert C.LINT_CONFLICTED_VOTER in event.summary["errors"]


def test_a_reviewer_who_voted_is_found(db: Session) -> None:
    case = granted(db)
    ballot = _ballot_of(db, case)
    user, member = case.council[3]
    review = db.scalars(select(Review).where(Review.application_id == case.application.id)).first()
    assert review is not None
    review.reviewer_id = user.id
    db.flush()
    voted = db.scalar(
        select(Position).where(Position.ballot_id == ballot.id, Position.member_id == member.id)
    )
    assert voted is not None
    facts = decision_ballot_facts(db, decision_of(db, case))
    assert facts is not None
    assert facts.reviewer_voted


def test_a_product_with_a_live_certificate_is_not_certified_twice(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    first = granted(db)
    second = another_granted(db, first)
    second.application.product_id = first.application.product_id
    db.flush()
    make_certificate(db, first)
    certificate = issue(db, council_keys, tmp_path, decision_of(db, second).id)
    assert certificate.status == CertificateStatus.void
    assert "Another live certificate" in certificate.void_reason


def test_evidence_without_a_hash_voids_the_certificate(
    db: Session, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    case = granted(db)
    db.add(
        Evidence(
            application_id=case.application.id,
            criterion_code="TR-1",
            stored_key="ab/" + "x" * 30,
            original_name="auditoria.pdf",
            sha256="",
            uploaded_by_id=case.owner.id,
            uploaded_at=NOW,
        )
    )
    db.flush()
    certificate = issue(db, council_keys, tmp_path, decision_of(db, case).id)
    assert certificate.status == CertificateStatus.void
    evidence_id = db.scalars(select(Evidence.id)).one()
    assert certificate.payload["evidence"] == [{"name": f"TR-1 #{evidence_id}", "sha256": ""}]
    assert C.LINT_EVIDENCE in certificate.void_reason or "SHA-256" in certificate.void_reason
