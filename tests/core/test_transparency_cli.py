"""`council transparency` and `council audit verify` on a database of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.audit import AuditEvent, record_event
from core.db import make_engine, make_sessionmaker
from core.signing import CouncilKeys
from core.transparency import LogLeaf, append_leaf
from council import cli
from tests.factories import NOW

runner = CliRunner()


@pytest.fixture
def factory(
    fresh_database_url: str,
    council_keys: CouncilKeys,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[sessionmaker[Session]]:
    """Sessions on the commands' database, with the commands' settings."""
    monkeypatch.chdir(tmp_path)  # no stray .env file
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("KEYS_DIR", str(council_keys.directory))
    monkeypatch.setattr(cli, "utcnow", lambda: NOW)
    engine = make_engine(fresh_database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _activity(factory: sessionmaker[Session], steps: int, *, certificate: str | None) -> None:
    with factory() as db:
        for step in range(steps):
            record_event(
                db, actor=None, action="test.step", object_type="t", object_id=step, now=NOW
            )
        append_leaf(
            db,
            kind="registry_event",
            data={"event": "issued", "certificate": certificate},
            certificate_number=certificate,
            now=NOW,
        )
        db.commit()


def test_the_log_verifies_and_extends_a_saved_head(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _activity(factory, 3, certificate="MX-CEIA-2026-000001")
    checkpoint = runner.invoke(cli.app, ["transparency", "checkpoint"])
    saved = runner.invoke(cli.app, ["transparency", "sth"])
    (tmp_path / "sth.json").write_text(saved.output)
    _activity(factory, 2, certificate="MX-CEIA-2026-000002")

    checked = runner.invoke(
        cli.app,
        [
            "transparency",
            "verify",
            "--from-sth",
            str(tmp_path / "sth.json"),
            "--certificate",
            "MX-CEIA-2026-000001",
        ],
    )
    unknown = runner.invoke(cli.app, ["transparency", "verify", "--certificate", "MX-0"])

    assert checkpoint.exit_code == 0, checkpoint.output
    assert '"tree_size":2' in saved.output.replace(" ", "")
    assert checked.exit_code == 0, checked.output
    assert "FAIL" not in checked.output
    assert "extends the earlier one of size 2" in checked.output
    assert "event 'issued' (entry 0) is in the log" in checked.output
    assert unknown.exit_code == 1
    assert "[FAIL] certificate MX-0 has no event in the log" in unknown.output


def test_an_altered_entry_fails_the_verification(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _activity(factory, 1, certificate="MX-CEIA-2026-000001")
    saved = runner.invoke(cli.app, ["transparency", "sth"])
    (tmp_path / "sth.json").write_text(saved.output)
    with factory() as db:
        db.execute(
            update(LogLeaf)
            .where(LogLeaf.index == 0)
            .values(data='{"certificate":"MX-CEIA-2026-000001","event":"withdrawn"}')
        )
        db.commit()

    checked = runner.invoke(
        cli.app, ["transparency", "verify", "--certificate", "MX-CEIA-2026-000001"]
    )

    assert checked.exit_code == 1
    assert "[FAIL] leaf 0: data does not match its hash" in checked.output
    assert "[FAIL] certificate MX-CEIA-2026-000001: event 'withdrawn'" in checked.output


def test_audit_verify_catches_the_newest_events_deleted(factory: sessionmaker[Session]) -> None:
    _activity(factory, 4, certificate=None)
    runner.invoke(cli.app, ["transparency", "checkpoint"])
    intact = runner.invoke(cli.app, ["audit", "verify"])
    with factory() as db:
        newest = db.query(AuditEvent).order_by(AuditEvent.id.desc()).first()
        assert newest is not None
        db.execute(delete(AuditEvent).where(AuditEvent.id >= newest.id - 1))
        db.commit()

    truncated = runner.invoke(cli.app, ["audit", "verify"])

    assert intact.exit_code == 0, intact.output
    assert "Audit chain intact: 4 events verified" in intact.output
    assert truncated.exit_code == 1
    assert f"BROKEN at event {newest.id}" in truncated.output
    assert "truncated" in truncated.output


def test_the_daily_job_appends_the_days_checkpoint(factory: sessionmaker[Session]) -> None:
    _activity(factory, 2, certificate=None)
    ran = runner.invoke(cli.app, ["certificates", "expire"])
    again = runner.invoke(cli.app, ["transparency", "checkpoint"])

    assert ran.exit_code == 0, ran.output
    assert "Audit checkpoint appended; tree head signed at size 2." in ran.output
    assert "Audit checkpoint already in the log" in again.output
