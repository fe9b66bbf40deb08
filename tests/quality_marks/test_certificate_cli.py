"""`council certificates issue` and `council certificates reconcile` on a database of their own."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from core.db import make_engine, make_sessionmaker
from core.signing import CouncilKeys
from council import cli
from quality_marks import certificates
from quality_marks.certificate_models import Certificate, CertificateStatus
from tests.quality_marks.certificate_builders import decision_of, granted
from tests.quality_marks.certificate_issuance import ISSUED_AT, PREFIX
from tests.quality_marks.decision_builders import URL

runner = CliRunner()


def test_the_batch_issues_every_granted_mark_once_and_the_reconciler_finishes_the_rest(
    fresh_database_url: str,
    council_keys: CouncilKeys,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name, value in {
        "DATABASE_URL": fresh_database_url,
        "KEYS_DIR": str(council_keys.directory),
        "STORAGE_DIR": str(tmp_path / "files"),
        "BASE_URL": URL,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli, "utcnow", lambda: ISSUED_AT)
    engine = make_engine(fresh_database_url)
    factory = make_sessionmaker(engine)
    with factory() as db:
        case = granted(db)
        decision_id = decision_of(db, case).id
        db.commit()

    first = runner.invoke(cli.app, ["certificates", "issue"])
    again = runner.invoke(cli.app, ["certificates", "issue"])

    assert first.exit_code == 0, first.output
    assert f"{PREFIX}-2026-000001 valid" in first.output
    assert "taken up: 0" in again.output
    with factory() as db:
        # A retry left unfinished (a crash after its number was given) is finished; only a
        # void certificate's decision may be tried again.
        db.execute(update(Certificate).values(status=CertificateStatus.void))
        certificates.allocate_certificate(
            db, decision_id=decision_id, base_url=URL, prefix=PREFIX, actor=None, now=ISSUED_AT
        )
        db.commit()
    reconciled = runner.invoke(cli.app, ["certificates", "reconcile"])
    assert reconciled.exit_code == 0, reconciled.output
    assert "1 issued, 0 voided, 0 still failing" in reconciled.output
    with factory() as db:
        statuses = db.scalars(select(Certificate.status).order_by(Certificate.serial)).all()
    assert statuses == [CertificateStatus.void, CertificateStatus.valid]
    engine.dispose()
