"""One-time submission keys: a form that creates something, sent twice, creates it once."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Index, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, get_session
from core.errors import N_

FIELD = "submission_key"
KEY_MAX_CHARS = 64
# Long enough to cover the browser's back button and a resend; the table stays small.
RETENTION = dt.timedelta(days=2)


class SubmissionKey(Base):
    """A key a create form carried, and the page its first send led to."""

    __tablename__ = "submission_keys"
    __table_args__ = (Index("ix_submission_keys_created_at", "created_at"),)

    key: Mapped[str] = mapped_column(String(KEY_MAX_CHARS), primary_key=True)
    result_url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AlreadySubmitted(Exception):
    """The form was sent before: the visitor is shown what the first send produced."""

    message = N_("This form had already been sent; it was not sent again.")

    def __init__(self, result_url: str) -> None:
        super().__init__(result_url)
        self.result_url = result_url


def new_key() -> str:
    """A fresh key for one rendering of a form (the shared csrf macro puts it in every form)."""
    return secrets.token_urlsafe(24)


def _earlier_result(session: Session, key: str) -> str | None:
    return session.scalar(select(SubmissionKey.result_url).where(SubmissionKey.key == key))


class Submission:
    """The key a create form was sent with; `done` records what the send produced."""

    def __init__(self, session: Session, key: str | None) -> None:
        self.session = session
        self.key = key

    def done(self, result_url: str, *, now: dt.datetime) -> None:
        """Remember where this send led, in the transaction that created the thing.

        Two sends racing each other both pass the first check; the key's uniqueness stops the
        second at this point, and it is answered like any other repeat.
        """
        if self.key is None:
            return
        self.session.execute(
            delete(SubmissionKey).where(SubmissionKey.created_at < now - RETENTION)
        )
        try:
            with self.session.begin_nested():
                self.session.add(SubmissionKey(key=self.key, result_url=result_url, created_at=now))
        except IntegrityError:
            raise AlreadySubmitted(_earlier_result(self.session, self.key) or result_url) from None


async def _form_key(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    value = (await request.form()).get(FIELD)
    if isinstance(value, str) and 0 < len(value) <= KEY_MAX_CHARS:
        return value
    return None


def submission(
    session: Annotated[Session, Depends(get_session)],
    key: Annotated[str | None, Depends(_form_key)],
) -> Submission:
    """The send's key; a key already used ends the request at the first send's result."""
    if key is not None and (earlier := _earlier_result(session, key)) is not None:
        raise AlreadySubmitted(earlier)
    return Submission(session, key)


Once = Annotated[Submission, Depends(submission)]
