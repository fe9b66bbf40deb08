"""Issuing certificates in tests: a session factory on the test's own connection, the file store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from core.db import sibling_factory
from core.signing import CouncilKeys
from core.storage import FileStore
from council.models import PositionKind
from guidelines.models import GuidelineVersion
from quality_marks import applications, certificates
from quality_marks.certificate_models import Certificate
from quality_marks.models import AnswerValue, Finding, OrgRole
from quality_marks.organizations import members_of
from quality_marks.schemas import AnswerInput
from tests.council.test_decision_ballots import _close, _open, _vote
from tests.factories import NOW
from tests.quality_marks.decision_builders import CODES, URL, Reviewed, add_review
from tests.quality_marks.factories import make_application, make_organization, make_product

PREFIX = "MX-CEIA"
# After the builders' decision ballots close (a week after NOW): the grant is in force.
ISSUED_AT = NOW + dt.timedelta(days=8)


def joined_factory(db: Session) -> sessionmaker[Session]:
    """Sessions on the test's connection whose commits are savepoints, rolled back after it."""
    return sibling_factory(db)


def issue(
    db: Session,
    keys: CouncilKeys,
    store_dir: Path,
    decision_id: int,
    *,
    now: dt.datetime = ISSUED_AT,
) -> Certificate:
    """Issue a decision's certificate through the real verb, on the test's connection."""
    return certificates.issue_certificate(
        joined_factory(db),
        decision_id=decision_id,
        keys=keys,
        store=FileStore(store_dir),
        base_url=URL,
        prefix=PREFIX,
        actor_id=None,
        now=now,
    )


def another_granted(db: Session, case: Reviewed) -> Reviewed:
    """A second granted application on the same guideline version, decided by the same council."""
    version = db.get(GuidelineVersion, case.application.guideline_version_id)
    assert version is not None
    organization = make_organization(db)
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
    applications.start_screening(db, actor=case.staff, application=application, now=NOW)
    applications.accept_application(
        db, actor=case.staff, application=application, base_url=URL, now=NOW
    )
    db.flush()
    other = Reviewed(application, organization, owner, case.staff, case.council, [])
    findings = {"TR-1": Finding.minor_nonconformity, "TR-2": Finding.conforms}
    add_review(db, other, findings)
    add_review(db, other, dict.fromkeys(findings, Finding.conforms))
    ballot = _open(db, other)
    _vote(db, other, ballot, PositionKind.yes)
    _close(db, other, ballot)
    db.flush()
    return other
