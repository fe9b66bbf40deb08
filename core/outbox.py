"""The outbox as the secretariat and administrators read it: each message, its fate, a retry."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from core.accounts import Role, User
from core.audit import record_event
from core.errors import N_, Conflict, Forbidden, NotFound
from core.mail import MailStatus, OutboxMessage
from core.pagination import PageOf, page_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


MAX_TEXT_CHARS = 200
LINK = re.compile(r"https?://[^\s<>\"]+")
STATUS_LABELS = {
    MailStatus.pending: N_("Waiting"),
    MailStatus.sent: N_("Sent"),
    MailStatus.failed: N_("Not delivered"),
}


def _require_mail_staff(actor: User | None) -> User:
    """Only the secretariat (and administrators, who hold every role) read other people's mail."""
    if actor is None or not actor.has_role(Role.secretariat):
        raise Forbidden()
    return actor


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def clean_text(text: str) -> str:
    """A search text as a reader's address gives it, kept only if a stored message could hold it."""
    text = text.strip()[:MAX_TEXT_CHARS]
    # No stored address or subject holds a control character, and PostgreSQL refuses a NUL.
    if any(unicodedata.category(char) == "Cc" for char in text):
        return "\x00"
    return text


def outbox_page(
    session: Session,
    *,
    actor: User | None,
    status: str = "",
    text: str = "",
    page: int = 1,
) -> PageOf[OutboxMessage]:
    """One page of the outbox, newest first, filtered by status and by address or subject text."""
    _require_mail_staff(actor)
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    filters: dict[str, str] = {}
    chosen = next((known for known in MailStatus if known.value == status), None)
    if chosen is not None:
        stmt = stmt.where(OutboxMessage.status == chosen)
        filters["status"] = chosen.value
    wanted = clean_text(text)
    if wanted == "\x00":
        stmt = stmt.where(OutboxMessage.id.is_(None))  # matches nothing
        filters["q"] = text[:MAX_TEXT_CHARS]
    elif wanted:
        pattern = _like(wanted.lower())
        stmt = stmt.where(
            or_(
                OutboxMessage.to_address.ilike(pattern, escape="\\"),
                OutboxMessage.subject.ilike(pattern, escape="\\"),
            )
        )
        filters["q"] = wanted
    return page_of(session, stmt, page=page, counted=True, filters=filters)


def get_outbox_message(session: Session, *, actor: User | None, message_id: int) -> OutboxMessage:
    """One message of the outbox with its whole text."""
    _require_mail_staff(actor)
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound()
    return message


def retry_message(
    session: Session, *, actor: User | None, message_id: int, now: dt.datetime
) -> OutboxMessage:
    """Put an undelivered message back in line for the next delivery, its attempts counted anew."""
    staff = _require_mail_staff(actor)
    message = get_outbox_message(session, actor=staff, message_id=message_id)
    if message.status == MailStatus.sent:
        raise Conflict(N_("This message has already been delivered."))
    previous = message.status
    message.status = MailStatus.pending
    message.attempts = 0
    message.next_attempt_at = now
    session.flush()
    record_event(
        session,
        actor=staff,
        action="outbox.retry",
        object_type="outbox_message",
        object_id=message.id,
        summary={"to": message.to_address, "template": message.template, "was": previous.value},
        now=now,
    )
    return message


def links_in(message: OutboxMessage) -> list[str]:
    """The web addresses a message's text holds, in order, each once (to follow from its page)."""
    return list(dict.fromkeys(LINK.findall(message.body_text)))
