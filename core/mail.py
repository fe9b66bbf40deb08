"""The mail outbox: messages written in the same transaction as their cause, delivered later."""

from __future__ import annotations

import datetime as dt
import enum
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from sqlalchemy import Enum, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime
from core.i18n import normalize_locale, translator
from core.templating import render_blocks

RETRY_BASE_DELAY = dt.timedelta(minutes=1)


class MailStatus(enum.StrEnum):
    """Where an outbox message stands."""

    pending = "pending"
    sent = "sent"
    failed = "failed"


class OutboxMessage(Base):
    """An e-mail waiting to be delivered, delivered, or given up on after repeated failures."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(10))
    status: Mapped[MailStatus] = mapped_column(
        Enum(MailStatus, native_enum=False, length=10), index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


def queue_mail(
    session: Session,
    *,
    to: str,
    template: str,
    locale: str,
    context: dict[str, Any],
    now: dt.datetime,
) -> OutboxMessage:
    """Render a bilingual mail template in the recipient's language and put it in the outbox."""
    chosen = normalize_locale(locale) or "es_MX"
    blocks = render_blocks(template, translator(chosen), **context)
    message = OutboxMessage(
        to_address=to,
        # A subject is one line whatever the names put into it (headers cannot hold a break).
        subject=" ".join(blocks["subject"].split())[:300],
        body_text=blocks["body"] + "\n",
        template=template,
        locale=chosen,
        status=MailStatus.pending,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(message)
    session.flush()
    return message


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to deliver mail."""

    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class DeliveryReport:
    """What one run of the outbox delivery did."""

    sent: int
    retried: int
    failed: int


def _to_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="ceia.local")
    email.set_content(message.body_text)
    # After set_content, which clears every Content-* header.
    email["Content-Language"] = message.locale.replace("_", "-")
    return email


def _build(message: OutboxMessage, sender: str) -> EmailMessage | str:
    """The message ready to send, or why it cannot be built."""
    try:
        return _to_email(message, sender)
    except (ValueError, TypeError, IndexError) as exc:
        return f"cannot build the message: {type(exc).__name__}: {exc}"[:2000]


def _send(email: EmailMessage, smtp: SmtpConfig) -> str | None:
    """Hand one message to the SMTP server; what went wrong, if anything."""
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username:
                client.login(smtp.username, smtp.password)
            client.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        return f"{type(exc).__name__}: {exc}"[:2000]
    return None


def pending_messages(
    session: Session, *, now: dt.datetime, limit: int = 100
) -> list[OutboxMessage]:
    """Messages due for a delivery attempt, oldest first."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == MailStatus.pending,
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def deliver_outbox(
    session: Session, *, smtp: SmtpConfig, now: dt.datetime, max_attempts: int
) -> DeliveryReport:
    """Send due messages over SMTP; a failure is retried with growing delays, then marked failed."""
    sent = retried = failed = 0
    outgoing = [
        (message, _build(message, smtp.sender)) for message in pending_messages(session, now=now)
    ]
    # End the reading transaction before talking to SMTP: on SQLite a writing transaction holds
    # the database's write lock, which no server's slowness may keep. Each outcome is written
    # in a short transaction of its own, after its exchange.
    session.commit()
    for message, email in outgoing:
        if isinstance(email, str):
            # A message that cannot be built never will be: give up on it, go on with the rest.
            message.attempts += 1
            message.last_error = email
            message.status = MailStatus.failed
            failed += 1
            session.commit()
            continue
        problem = _send(email, smtp)
        message.attempts += 1
        if problem is not None:
            message.last_error = problem
            if message.attempts >= max_attempts:
                message.status = MailStatus.failed
                failed += 1
            else:
                message.next_attempt_at = now + RETRY_BASE_DELAY * 2 ** (message.attempts - 1)
                retried += 1
        else:
            message.status = MailStatus.sent
            message.sent_at = now
            message.last_error = None
            sent += 1
        # Commit per message so a crash mid-run never sends a message twice.
        session.commit()
    return DeliveryReport(sent=sent, retried=retried, failed=failed)
