"""Issuing certificates in tests: a session factory on the test's own connection, the file store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from core.signing import CouncilKeys
from core.storage import FileStore
from quality_marks import certificates
from quality_marks.certificate_models import Certificate
from tests.factories import NOW
from tests.quality_marks.decision_builders import URL

PREFIX = "MX-CEIA"
# After the builders' decision ballots close (a week after NOW): the grant is in force.
ISSUED_AT = NOW + dt.timedelta(days=8)


def joined_factory(db: Session) -> sessionmaker[Session]:
    """Sessions on the test's connection whose commits are savepoints, rolled back after it."""
    return sessionmaker(
        bind=db.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )


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
