"""The append-only audit log, hash-chained so that any edit of history is detectable."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime

if TYPE_CHECKING:
    from core.accounts import User

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    """One state change of the system: who did what to which object, chained to the event before."""

    __tablename__ = "audit_events"
    # One object's history in order (an application's status history in the exports).
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str] = mapped_column(String(80))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def compute_hash(
    *,
    prev_hash: str,
    occurred_at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    summary: dict[str, Any],
) -> str:
    """The SHA-256 of an event's content together with the previous event's hash."""
    payload = json.dumps(
        {
            "prev": prev_hash,
            "at": occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "summary": summary,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    # Two transactions appending at once would both link to the same predecessor.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))


def record_event(
    session: Session,
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object,
    summary: dict[str, Any] | None = None,
    now: dt.datetime,
) -> AuditEvent:
    """Append an audit event in the caller's transaction."""
    _lock_chain(session)
    session.flush()
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    # JSON round trip so the stored summary and the hashed one are the same value.
    clean_summary: dict[str, Any] = json.loads(json.dumps(summary or {}, default=str))
    occurred_at = now.astimezone(dt.UTC)
    fields: dict[str, Any] = {
        "occurred_at": occurred_at,
        "actor_id": actor.id if actor else None,
        "actor_label": actor.email if actor else "system",
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "summary": clean_summary,
    }
    prev_hash = prev or GENESIS_HASH
    event = AuditEvent(
        **fields, prev_hash=prev_hash, hash=compute_hash(prev_hash=prev_hash, **fields)
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainBreak:
    """The first event whose stored hash or link does not match its content."""

    event_id: int
    reason: str


def _events(session: Session) -> Iterator[AuditEvent]:
    # populate_existing: verify what is stored, not objects the session loaded earlier.
    yield from session.scalars(
        select(AuditEvent)
        .order_by(AuditEvent.id)
        .execution_options(yield_per=500, populate_existing=True)
    )


def verify_chain(session: Session) -> tuple[int, ChainBreak | None]:
    """Walk the chain from the start; return the number of events checked and the first break."""
    expected_prev = GENESIS_HASH
    checked = 0
    for event in _events(session):
        if event.prev_hash != expected_prev:
            return checked, ChainBreak(event.id, "link to the previous event does not match")
        recomputed = compute_hash(
            prev_hash=event.prev_hash,
            occurred_at=event.occurred_at,
            actor_id=event.actor_id,
            actor_label=event.actor_label,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            summary=event.summary,
        )
        if recomputed != event.hash:
            return checked, ChainBreak(event.id, "content does not match its hash")
        expected_prev = event.hash
        checked += 1
    return checked, None


def verify_checkpoints(
    session: Session, checkpoints: Iterable[tuple[int, str]]
) -> ChainBreak | None:
    """Check the chain against heads recorded outside it (the transparency log's checkpoints):
    a truncated or recomputed chain no longer holds an event with the hash once recorded."""
    pending = list(checkpoints)
    for start in range(0, len(pending), 500):  # a few queries, however many checkpoints
        chunk = pending[start : start + 500]
        stored = {
            row.id: row.hash
            for row in session.execute(
                select(AuditEvent.id, AuditEvent.hash).where(
                    AuditEvent.id.in_({event_id for event_id, _ in chunk})
                )
            )
        }
        for event_id, event_hash in chunk:
            if event_id not in stored:
                return ChainBreak(
                    event_id, "a checkpoint names this event, which is gone (truncated)"
                )
            if stored[event_id] != event_hash:
                return ChainBreak(event_id, "hash differs from its checkpoint (chain recomputed)")
    return None
