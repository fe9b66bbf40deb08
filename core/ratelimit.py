"""Sliding-window rate limits kept in the database, so every worker process sees the same counts.

Checking a limit and counting the attempt are one atomic step per key: `check_limit` holds the
key until the transaction ends, so concurrent requests cannot all see the count under the limit.
On PostgreSQL that is an advisory transaction lock per bucket and key; on SQLite the write lock,
which a writing request takes when its transaction begins (`BEGIN IMMEDIATE`, see core/db.py).
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import Index, Integer, String, delete, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime
from core.errors import RateLimited

# Longer than any window a limit uses.
RETENTION = dt.timedelta(days=1)
# Namespace of the advisory locks on limit keys (two-integer form; the audit chain uses one bigint).
LOCK_CLASS = 4242002


class RateLimitHit(Base):
    """One counted attempt (a failed sign-in, a public post) against a limit bucket."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_lookup", "bucket", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(320))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


def record_hit(session: Session, *, bucket: str, key: str, now: dt.datetime) -> None:
    """Count one attempt, forgetting the key's attempts too old to matter to any limit."""
    session.execute(
        delete(RateLimitHit).where(
            RateLimitHit.bucket == bucket,
            RateLimitHit.key == key.lower(),
            RateLimitHit.at < now - RETENTION,
        )
    )
    session.add(RateLimitHit(bucket=bucket, key=key.lower(), at=now))
    session.flush()


def check_limit(
    session: Session, *, bucket: str, key: str, limit: int, window: dt.timedelta, now: dt.datetime
) -> None:
    """Refuse with RateLimited when `limit` attempts were counted within `window` before `now`.

    The key stays held until the transaction ends, so the attempt it then records counts.
    """
    _hold_key(session, bucket=bucket, key=key)
    since = now - window
    count, oldest = session.execute(
        select(func.count(RateLimitHit.id), func.min(RateLimitHit.at)).where(
            RateLimitHit.bucket == bucket, RateLimitHit.key == key.lower(), RateLimitHit.at > since
        )
    ).one()
    if count >= limit and oldest is not None:
        oldest_at = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
        remaining = (oldest_at + window) - now
        raise RateLimited(minutes=max(1, math.ceil(remaining.total_seconds() / 60)))


def _hold_key(session: Session, *, bucket: str, key: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:cls, hashtext(:key))"),
            {"cls": LOCK_CLASS, "key": f"{bucket}:{key.lower()}"},
        )


def clear_hits(session: Session, *, bucket: str, key: str) -> None:
    """Forget the attempts of one key (after a successful sign-in)."""
    session.execute(
        delete(RateLimitHit).where(RateLimitHit.bucket == bucket, RateLimitHit.key == key.lower())
    )
