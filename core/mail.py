"""The mail outbox: messages written in the same transaction as their cause, delivered later."""

from __future__ import annotations

import copy
import datetime as dt
import enum
import logging
import re
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy import Enum, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.db import Base, UTCDateTime, open_session
from core.i18n import DISPLAY_ZONE, normalize_locale, translator
from core.settings import Settings
from core.templating import render_blocks

RETRY_BASE_DELAY = dt.timedelta(minutes=1)
# Names the outbox row a delivered message came from, for whoever reads it in a file or log.
OUTBOX_ID_HEADER = "X-Council-Outbox-Id"

# Files and logs are read by people: headers and text are written as UTF-8, not encoded.
FILE_POLICY = SMTP_POLICY.clone(utf8=True)

logger = logging.getLogger("council.mail")


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


def closing_words(moment: dt.datetime) -> dict[str, Any]:
    """A deadline as people write it: the Mexico City day and its 24-hour time, midnight as 23:59.

    A ballot or consultation that closes at midnight closes at the end of the day before it.
    """
    local = moment.astimezone(DISPLAY_ZONE)
    if local.time() == dt.time(0, 0):
        return {"closes_day": local.date() - dt.timedelta(days=1), "closes_time": "23:59"}
    return {"closes_day": local.date(), "closes_time": local.strftime("%H:%M")}


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


class MailBackend(enum.StrEnum):
    """How the outbox hands its messages over: to an SMTP server, to files, or to the log."""

    smtp = "smtp"
    file = "file"
    log = "log"


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

    def send(self, email: EmailMessage) -> str | None:
        """Hand one message to the SMTP server; what went wrong, if anything."""
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
                if self.starttls:
                    client.starttls()
                if self.username:
                    client.login(self.username, self.password)
                client.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            return f"{type(exc).__name__}: {exc}"[:2000]
        return None


def _readable(email: EmailMessage) -> EmailMessage:
    """The message with its text in plain UTF-8, so a person can read (and click) it in a file."""
    readable = copy.deepcopy(email)
    language = readable["Content-Language"]
    readable.set_content(str(email.get_content()), cte="8bit")
    if language is not None:
        readable["Content-Language"] = language  # set_content clears every Content-* header
    return readable


@dataclass(frozen=True)
class FileDrop:
    """Mail written as one .eml file per message into a directory, for development and demos."""

    directory: Path
    sender: str

    def send(self, email: EmailMessage) -> str | None:
        """Write the message as `<id>-<address>.eml`; what went wrong, if anything."""
        number = email[OUTBOX_ID_HEADER] or "0"
        address = re.sub(r"[^A-Za-z0-9@._-]", "_", str(email["To"]))[:100]
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            target = self.directory / f"{int(number):06d}-{address}.eml"
            partial = target.with_suffix(".tmp")
            partial.write_bytes(_readable(email).as_bytes(policy=FILE_POLICY))
            partial.replace(target)
        except (OSError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"[:2000]
        return None


@dataclass(frozen=True)
class LogDrop:
    """Mail written whole to the service's log, for development."""

    sender: str

    def send(self, email: EmailMessage) -> str | None:
        """Log the message's headers and text at INFO level."""
        logger.info(
            "mail (not sent: MAIL_BACKEND=log)\n%s",
            _readable(email).as_bytes(policy=FILE_POLICY).decode(),
        )
        return None


Transport = SmtpConfig | FileDrop | LogDrop


@dataclass(frozen=True)
class DeliveryProblem:
    """Why one message was not delivered on this run: its address, template and the reason."""

    message_id: int
    to_address: str
    template: str
    reason: str
    given_up: bool


@dataclass(frozen=True)
class DeliveryReport:
    """What one run of the outbox delivery did."""

    sent: int
    retried: int
    failed: int
    problems: tuple[DeliveryProblem, ...] = field(default=(), compare=False)


def _to_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="ceia.local")
    email[OUTBOX_ID_HEADER] = str(message.id)
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
    session: Session, *, smtp: Transport, now: dt.datetime, max_attempts: int
) -> DeliveryReport:
    """Hand due messages to the transport; a failure is retried with growing delays, then failed."""
    sent = retried = failed = 0
    problems: list[DeliveryProblem] = []
    outgoing = [
        (message, _build(message, smtp.sender)) for message in pending_messages(session, now=now)
    ]
    # End the reading transaction before talking to SMTP: on SQLite a writing transaction holds
    # the database's write lock, which no server's slowness may keep. Each outcome is written
    # in a short transaction of its own, after its exchange.
    session.commit()
    for message, email in outgoing:
        # Talk to the server before touching the row: reading an expired row opens a transaction.
        problem = email if isinstance(email, str) else smtp.send(email)
        message.attempts += 1
        message.last_error = problem
        if problem is None:
            message.status = MailStatus.sent
            message.sent_at = now
            sent += 1
        else:
            # A message that cannot be built never will be: it is given up at once.
            given_up = isinstance(email, str) or message.attempts >= max_attempts
            if given_up:
                message.status = MailStatus.failed
                failed += 1
            else:
                message.next_attempt_at = now + RETRY_BASE_DELAY * 2 ** (message.attempts - 1)
                retried += 1
            problems.append(
                DeliveryProblem(message.id, message.to_address, message.template, problem, given_up)
            )
        # Commit per message so a crash mid-run never sends a message twice.
        session.commit()
    return DeliveryReport(sent=sent, retried=retried, failed=failed, problems=tuple(problems))


def transport_for(settings: Settings) -> Transport:
    """The transport the settings name (MAIL_BACKEND)."""
    if settings.mail_backend == MailBackend.file:
        return FileDrop(directory=settings.mail_dir, sender=settings.mail_from)
    if settings.mail_backend == MailBackend.log:
        return LogDrop(sender=settings.mail_from)
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.mail_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
    )


def has_due_messages(session: Session, *, now: dt.datetime) -> bool:
    """Whether any message awaits a delivery attempt."""
    return bool(pending_messages(session, now=now, limit=1))


def start_courier(
    factory: sessionmaker[Session],
    *,
    transport: Transport,
    max_attempts: int,
    every: float,
    clock: Callable[[], dt.datetime],
) -> threading.Event:
    """Deliver the outbox every `every` seconds in a background thread (the demo's postman).

    Returns the event that stops it. It looks with a reading session first, so an idle outbox
    never takes SQLite's write lock.
    """
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            try:
                now = clock()
                with open_session(factory, writes=False) as reader:
                    if not has_due_messages(reader, now=now):
                        continue
                with open_session(factory, writes=True) as writer:
                    deliver_outbox(writer, smtp=transport, now=now, max_attempts=max_attempts)
            except Exception:  # a bad run is logged; the next one tries again
                logger.exception("outbox delivery failed")

    threading.Thread(target=run, name="outbox-courier", daemon=True).start()
    return stop
