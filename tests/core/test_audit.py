"""The hash-chained audit log: chaining, tamper detection, transactional writes, `audit verify`."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.accounts import Role, User, create_user
from core.audit import GENESIS_HASH, AuditEvent, ChainBreak, record_event, verify_chain
from core.db import make_engine, make_sessionmaker
from council.cli import app
from tests.factories import NOW, make_user


def _record(db: Session, n: int) -> AuditEvent:
    return record_event(
        db,
        actor=None,
        action="test.step",
        object_type="test",
        object_id=n,
        summary={"step": n},
        now=NOW,
    )


def _all_events(db: Session) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _event_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_first_event_links_to_genesis_and_next_links_to_it(db: Session) -> None:
    first = _record(db, 1)
    second = _record(db, 2)

    events = _all_events(db)
    assert [event.id for event in events] == [first.id, second.id]
    assert first.prev_hash == GENESIS_HASH == "0" * 64
    assert second.prev_hash == first.hash
    assert len(first.hash) == 64
    assert first.hash != second.hash


def test_event_records_actor_and_summary(db: Session) -> None:
    actor = make_user(db, role=Role.secretariat)
    event = record_event(
        db,
        actor=actor,
        action="guideline.publish",
        object_type="guideline",
        object_id=7,
        summary={"title": "Transparencia algorítmica"},
        now=NOW,
    )
    db.expire_all()
    stored = db.get(AuditEvent, event.id)
    assert stored is not None
    assert stored.actor_id == actor.id
    assert stored.actor_label == actor.email
    assert stored.object_id == "7"
    assert stored.summary == {"title": "Transparencia algorítmica"}
    assert stored.occurred_at == NOW


def test_intact_chain_verifies_with_its_count(db: Session) -> None:
    for n in range(3):
        _record(db, n)
    assert _event_count(db) == 3
    assert verify_chain(db) == (3, None)


def test_empty_chain_verifies(db: Session) -> None:
    assert verify_chain(db) == (0, None)


def test_edited_summary_breaks_chain_at_that_event(db: Session) -> None:
    first = _record(db, 1)
    middle = _record(db, 2)
    _record(db, 3)

    db.execute(
        text("UPDATE audit_events SET summary = :summary WHERE id = :id"),
        {"summary": '{"step": 99}', "id": middle.id},
    )

    checked, broken = verify_chain(db)
    assert broken is not None
    assert broken.event_id == middle.id
    assert broken.event_id != first.id
    assert "hash" in broken.reason
    assert checked == 1


def test_deleted_middle_event_breaks_the_next_link(db: Session) -> None:
    _record(db, 1)
    middle = _record(db, 2)
    last = _record(db, 3)

    db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": middle.id})

    checked, broken = verify_chain(db)
    assert broken == ChainBreak(last.id, "link to the previous event does not match")
    assert checked == 1


def test_event_is_written_in_the_same_transaction_as_its_change(db: Session) -> None:
    user = create_user(
        db,
        email="transaccion@ejemplo.mx",
        full_name="Persona Transaccional",
        role=Role.expert,
        password=None,
        actor=None,
        now=NOW,
    )
    # Not committed yet, but the event is already there in the same transaction.
    event = db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "user.create", AuditEvent.object_id == str(user.id)
        )
    )
    assert event is not None
    assert event.summary == {"email": "transaccion@ejemplo.mx", "role": "expert"}


def test_rolled_back_change_takes_its_event_with_it(db: Session) -> None:
    events_before = _event_count(db)
    savepoint = db.begin_nested()
    user = create_user(
        db,
        email="efimera@ejemplo.mx",
        full_name="Persona Efímera",
        role=Role.applicant,
        password=None,
        actor=None,
        now=NOW,
    )
    user_id = user.id
    assert _event_count(db) == events_before + 1
    savepoint.rollback()

    assert db.scalar(select(User).where(User.email == "efimera@ejemplo.mx")) is None
    assert _event_count(db) == events_before
    assert (
        db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "user.create", AuditEvent.object_id == str(user_id)
            )
        )
        is None
    )


def test_cli_audit_verify_reports_intact_then_names_tampered_event(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    engine = make_engine(fresh_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            users = [
                create_user(
                    session,
                    email=f"auditoria{n}@ejemplo.mx",
                    full_name=f"Persona Auditada {n}",
                    role=Role.council_member,
                    password=None,
                    actor=None,
                    now=NOW,
                )
                for n in range(3)
            ]
            session.commit()
            event_ids = list(
                session.scalars(
                    select(AuditEvent.id)
                    .where(AuditEvent.object_id.in_([str(user.id) for user in users]))
                    .order_by(AuditEvent.id)
                )
            )
        assert len(event_ids) == 3

        runner = CliRunner()
        intact = runner.invoke(app, ["audit", "verify"])
        assert intact.exit_code == 0, intact.output
        assert "Audit chain intact: 3 events verified." in intact.output

        tampered_id = event_ids[1]
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE audit_events SET actor_label = :label WHERE id = :id"),
                {"label": "alguien-mas@ejemplo.mx", "id": tampered_id},
            )

        broken = runner.invoke(app, ["audit", "verify"])
        assert broken.exit_code == 1, broken.output
        assert f"BROKEN at event {tampered_id}:" in broken.output
        assert "1 events before it are intact" in broken.output
    finally:
        engine.dispose()
