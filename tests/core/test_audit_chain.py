"""The audit chain's hash: a fixed canonical form, every column covered, tampering named."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.accounts import Role
from core.audit import AuditEvent, ChainBreak, compute_hash, record_event, verify_chain
from tests.factories import NOW, make_user

MEXICO_NOON = dt.datetime(2026, 11, 25, 12, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=-6)))
FIELDS: dict[str, Any] = {
    "prev_hash": "a" * 64,
    "occurred_at": MEXICO_NOON,
    "actor_id": 7,
    "actor_label": "secretaria@ceia.gob.mx",
    "action": "ballot.open",
    "object_type": "ballot",
    "object_id": "42",
    "summary": {"título": "Ética", "on": dt.date(2026, 12, 1), "n": [1, 2]},
}
# The canonical form: sorted keys, no spaces, UTF-8 kept as is, the time in UTC to the microsecond,
# values JSON cannot hold written as text. Changing any of it breaks every stored chain.
CANONICAL = (
    '{"action":"ballot.open","actor":"secretaria@ceia.gob.mx","actor_id":7,'
    '"at":"2026-11-25T18:00:00.000005+00:00","object_id":"42","object_type":"ballot",'
    '"prev":"' + "a" * 64 + '","summary":{"n":[1,2],"on":"2026-12-01","título":"Ética"}}'
)
KNOWN_HASH = "692ade9d3170740ee4e80d9ed95f88cfdb6173454f7b60f462522e4898e7728f"


@pytest.fixture
def local_zone_mexico(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set to Mexico City, so UTC is never implied by the machine."""
    monkeypatch.setenv("TZ", "America/Mexico_City")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_zone_mexico")
def test_hash_of_a_known_event_is_fixed() -> None:
    assert hashlib.sha256(CANONICAL.encode()).hexdigest() == KNOWN_HASH
    assert compute_hash(**FIELDS) == KNOWN_HASH


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prev_hash", "b" * 64),
        ("occurred_at", MEXICO_NOON + dt.timedelta(microseconds=1)),
        ("actor_id", 8),
        ("actor_label", "otra@ceia.gob.mx"),
        ("action", "ballot.close"),
        ("object_type", "resolution"),
        ("object_id", "43"),
        ("summary", {"título": "Ética", "on": "2026-12-02", "n": [1, 2]}),
    ],
)
def test_every_field_is_part_of_the_hash(field: str, value: object) -> None:
    assert compute_hash(**{**FIELDS, field: value}) != KNOWN_HASH


def test_the_same_instant_in_another_zone_hashes_the_same() -> None:
    in_utc = MEXICO_NOON.astimezone(dt.UTC)
    assert compute_hash(**{**FIELDS, "occurred_at": in_utc}) == KNOWN_HASH


@pytest.mark.usefixtures("local_zone_mexico")
def test_event_time_is_recorded_in_utc(db: Session) -> None:
    event = record_event(
        db, actor=None, action="test.zone", object_type="test", object_id=1, now=MEXICO_NOON
    )
    assert event.occurred_at == MEXICO_NOON
    assert event.occurred_at.utcoffset() == dt.timedelta(0)


def test_event_without_actor_is_signed_by_the_system(db: Session) -> None:
    event = record_event(
        db, actor=None, action="test.system", object_type="test", object_id=1, now=NOW
    )
    assert (event.actor_id, event.actor_label) == (None, "system")


def test_summary_values_json_cannot_hold_are_stored_as_text(db: Session) -> None:
    event = record_event(
        db,
        actor=None,
        action="test.dates",
        object_type="test",
        object_id=1,
        summary={"effective_on": dt.date(2026, 12, 1)},
        now=NOW,
    )
    db.expire_all()
    stored = db.get(AuditEvent, event.id)
    assert stored is not None
    assert stored.summary == {"effective_on": "2026-12-01"}
    assert verify_chain(db) == (1, None)


def _events(db: Session) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))


@pytest.mark.parametrize(
    ("column", "reason"),
    [
        ("occurred_at", "content does not match its hash"),
        ("actor_id", "content does not match its hash"),
        ("actor_label", "content does not match its hash"),
        ("action", "content does not match its hash"),
        ("object_type", "content does not match its hash"),
        ("object_id", "content does not match its hash"),
        ("summary", "content does not match its hash"),
        ("hash", "content does not match its hash"),
        ("prev_hash", "link to the previous event does not match"),
    ],
)
def test_tampering_with_any_column_is_named_at_that_event(
    db: Session, column: str, reason: str
) -> None:
    people = [make_user(db, role=Role.secretariat), make_user(db, role=Role.secretariat)]
    steps = [
        record_event(
            db,
            actor=people[n % 2],
            action="test.step",
            object_type="test",
            object_id=n,
            summary={"paso": n},
            now=NOW + dt.timedelta(minutes=n),
        )
        for n in range(3)
    ]
    events = _events(db)
    assert verify_chain(db) == (len(events), None)
    middle = steps[1]
    replacement = {
        "occurred_at": middle.occurred_at + dt.timedelta(seconds=1),
        "actor_id": people[0].id,
        "actor_label": people[0].email,
        "action": "test.other",
        "object_type": "other",
        "object_id": "99",
        "summary": {"paso": 99},
        "hash": "e" * 64,
        "prev_hash": "f" * 64,
    }[column]
    assert getattr(middle, column) != replacement

    db.execute(update(AuditEvent).where(AuditEvent.id == middle.id).values({column: replacement}))

    assert verify_chain(db) == (events.index(middle), ChainBreak(middle.id, reason))
