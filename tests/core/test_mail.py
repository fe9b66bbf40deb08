"""The mail outbox: rendering in the recipient's language, SMTP delivery, retries, `mail send`."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.db import make_engine, make_sessionmaker
from core.mail import (
    RETRY_BASE_DELAY,
    DeliveryReport,
    MailStatus,
    OutboxMessage,
    SmtpConfig,
    deliver_outbox,
    queue_mail,
)
from council.cli import app
from tests.factories import NOW

SENDER = "Consejo de Ética de IA <no-responder@ceia.example.mx>"
RESET_LINK = "http://testserver/password/reset/tok-3f9a2c"
RESET_CONTEXT = {"user_name": "Lucía Hernández", "link": RESET_LINK, "hours": 2}


class RecordingHandler:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A loopback port nobody listens on (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[RecordingHandler, int]]:
    """A real SMTP server on loopback; yields its handler and port."""
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _queue_reset(
    db: Session, *, to: str = "lucia@ejemplo.mx", locale: str = "es_MX"
) -> OutboxMessage:
    return queue_mail(
        db,
        to=to,
        template="mail/password_reset.txt",
        locale=locale,
        context=RESET_CONTEXT,
        now=NOW,
    )


def test_queued_mail_is_rendered_in_spanish_for_es_mx(db: Session) -> None:
    message = _queue_reset(db, locale="es_MX")
    assert message.subject == "Elija una nueva contraseña para el Consejo de Ética de la IA"
    assert message.locale == "es_MX"
    assert "Hola, Lucía Hernández:" in message.body_text
    assert RESET_LINK in message.body_text
    assert message.status == MailStatus.pending
    assert message.attempts == 0
    assert message.next_attempt_at == NOW


def test_queued_mail_is_rendered_in_english_for_en(db: Session) -> None:
    message = _queue_reset(db, locale="en")
    assert message.subject == "Choose a new password for the AI Ethics Council"
    assert message.locale == "en"
    assert "Hello Lucía Hernández," in message.body_text
    assert "expires in 2 hours" in message.body_text
    assert RESET_LINK in message.body_text


def test_queued_mail_for_unknown_language_falls_back_to_spanish(db: Session) -> None:
    message = _queue_reset(db, locale="")
    assert message.locale == "es_MX"
    assert message.subject.startswith("Elija una nueva contraseña")


def test_delivery_sends_message_to_real_smtp_server(
    db: Session, smtp_server: tuple[RecordingHandler, int]
) -> None:
    handler, port = smtp_server
    message = _queue_reset(db)

    report = deliver_outbox(
        db, smtp=SmtpConfig(host="127.0.0.1", port=port, sender=SENDER), now=NOW, max_attempts=3
    )

    assert report == DeliveryReport(sent=1, retried=0, failed=0)
    db.refresh(message)
    assert message.status == MailStatus.sent
    assert message.sent_at == NOW
    assert message.attempts == 1
    assert message.last_error is None

    assert len(handler.envelopes) == 1
    mail_from, rcpt_tos, received = handler.envelopes[0]
    assert mail_from == "no-responder@ceia.example.mx"
    assert rcpt_tos == ["lucia@ejemplo.mx"]
    assert received["To"] == "lucia@ejemplo.mx"
    assert received["Subject"] == "Elija una nueva contraseña para el Consejo de Ética de la IA"
    assert received["Content-Language"] == "es-MX"
    body = received.get_content()
    assert RESET_LINK in body
    assert "Hola, Lucía Hernández:" in body


def test_sent_message_is_not_sent_again(
    db: Session, smtp_server: tuple[RecordingHandler, int]
) -> None:
    handler, port = smtp_server
    _queue_reset(db)
    smtp = SmtpConfig(host="127.0.0.1", port=port, sender=SENDER)

    deliver_outbox(db, smtp=smtp, now=NOW, max_attempts=3)
    second = deliver_outbox(db, smtp=smtp, now=NOW + dt.timedelta(hours=1), max_attempts=3)

    assert second == DeliveryReport(sent=0, retried=0, failed=0)
    assert len(handler.envelopes) == 1


def test_unreachable_server_schedules_a_retry_one_minute_later(db: Session) -> None:
    message = _queue_reset(db)
    smtp = SmtpConfig(host="127.0.0.1", port=free_port(), sender=SENDER, timeout=2.0)

    report = deliver_outbox(db, smtp=smtp, now=NOW, max_attempts=3)

    assert report == DeliveryReport(sent=0, retried=1, failed=0)
    db.refresh(message)
    assert message.attempts == 1
    assert message.status == MailStatus.pending
    assert message.next_attempt_at == NOW + dt.timedelta(minutes=1)
    assert message.last_error is not None
    assert "ConnectionRefusedError" in message.last_error
    assert message.sent_at is None

    # Before the retry is due, nothing is attempted.
    early = deliver_outbox(db, smtp=smtp, now=NOW + dt.timedelta(seconds=59), max_attempts=3)
    assert early == DeliveryReport(sent=0, retried=0, failed=0)
    db.refresh(message)
    assert message.attempts == 1


def test_repeated_failures_back_off_then_mark_failed(db: Session) -> None:
    message = _queue_reset(db)
    smtp = SmtpConfig(host="127.0.0.1", port=free_port(), sender=SENDER, timeout=2.0)

    first = deliver_outbox(db, smtp=smtp, now=NOW, max_attempts=3)
    second_at = NOW + RETRY_BASE_DELAY
    second = deliver_outbox(db, smtp=smtp, now=second_at, max_attempts=3)
    db.refresh(message)
    assert (first.retried, second.retried) == (1, 1)
    assert message.attempts == 2
    assert message.next_attempt_at == second_at + dt.timedelta(minutes=2)

    third = deliver_outbox(db, smtp=smtp, now=message.next_attempt_at, max_attempts=3)

    assert third == DeliveryReport(sent=0, retried=0, failed=1)
    db.refresh(message)
    assert message.status == MailStatus.failed
    assert message.attempts == 3
    assert message.last_error is not None
    later = deliver_outbox(db, smtp=smtp, now=NOW + dt.timedelta(days=1), max_attempts=3)
    assert later == DeliveryReport(sent=0, retried=0, failed=0)


def test_cli_mail_send_delivers_committed_outbox(
    fresh_database_url: str,
    smtp_server: tuple[RecordingHandler, int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    handler, port = smtp_server
    monkeypatch.chdir(tmp_path)  # no stray .env file
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    engine = make_engine(fresh_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            _queue_reset(session, to="jorge@ejemplo.mx", locale="en")
            session.commit()

        result = CliRunner().invoke(app, ["mail", "send"])

        assert result.exit_code == 0, result.output
        assert "Sent 1, to retry 0, failed 0 (backend: smtp)." in result.output
        assert len(handler.envelopes) == 1
        _, rcpt_tos, received = handler.envelopes[0]
        assert rcpt_tos == ["jorge@ejemplo.mx"]
        assert received["Subject"] == "Choose a new password for the AI Ethics Council"
        assert RESET_LINK in received.get_content()
        with make_sessionmaker(engine)() as session:
            statuses = list(session.scalars(select(OutboxMessage.status)))
        assert statuses == [MailStatus.sent]
    finally:
        engine.dispose()


def test_a_message_that_cannot_be_built_is_failed_and_the_rest_are_sent(
    db: Session, smtp_server: tuple[RecordingHandler, int]
) -> None:
    handler, port = smtp_server
    # A row written before names were checked: its subject carries a header injection.
    broken = OutboxMessage(
        to_address="legal@evil.example",
        subject="Bienvenida, Evil Corp\r\nBcc: victima@ejemplo.mx",
        body_text="Hola\n",
        template="mail/added_to_organization.txt",
        locale="es_MX",
        status=MailStatus.pending,
        attempts=0,
        created_at=NOW,
        next_attempt_at=NOW,
    )
    db.add(broken)
    db.flush()
    reset = _queue_reset(db)
    smtp = SmtpConfig(host="127.0.0.1", port=port, sender=SENDER)

    report = deliver_outbox(db, smtp=smtp, now=NOW, max_attempts=3)

    assert report == DeliveryReport(sent=1, retried=0, failed=1)
    db.refresh(broken)
    db.refresh(reset)
    assert broken.status == MailStatus.failed
    assert broken.last_error is not None
    assert broken.last_error.startswith("cannot build the message")
    assert reset.status == MailStatus.sent
    assert [rcpt for _, rcpt, _ in handler.envelopes] == [["lucia@ejemplo.mx"]]
    again = deliver_outbox(db, smtp=smtp, now=NOW + dt.timedelta(hours=1), max_attempts=3)
    assert again == DeliveryReport(sent=0, retried=0, failed=0)


def test_a_name_with_a_line_break_cannot_break_a_subject(
    db: Session, smtp_server: tuple[RecordingHandler, int]
) -> None:
    handler, port = smtp_server
    message = queue_mail(
        db,
        to="nueva@ejemplo.mx",
        template="mail/added_to_organization.txt",
        locale="es_MX",
        context={
            "organisation": "Evil Corp\r\nBcc: victima@ejemplo.mx",
            "user_name": "Nueva Persona",
            "inviter": "Alguien",
            "role": "Editor",
            "link": "http://testserver/organisation",
        },
        now=NOW,
    )
    assert "\n" not in message.subject
    assert "\r" not in message.subject

    deliver_outbox(
        db, smtp=SmtpConfig(host="127.0.0.1", port=port, sender=SENDER), now=NOW, max_attempts=3
    )

    ((_, rcpt_tos, received),) = handler.envelopes
    assert rcpt_tos == ["nueva@ejemplo.mx"]
    assert received["Bcc"] is None
    assert received["Subject"] == message.subject


def test_no_transaction_is_open_while_the_smtp_server_answers(
    db: Session, smtp_server: tuple[RecordingHandler, int]
) -> None:
    # On SQLite the mail run's transaction would hold the write lock while a slow SMTP server
    # answers, and every writer of the site would wait on it.
    handler, port = smtp_server
    during: list[bool] = []
    accept = handler.handle_DATA

    async def watching(server: Any, session: Any, envelope: Any) -> str:
        during.append(db.in_transaction())
        return await accept(server, session, envelope)

    handler.handle_DATA = watching  # type: ignore[method-assign]
    _queue_reset(db)
    _queue_reset(db, to="pedro@ejemplo.mx")
    db.commit()
    deliver_outbox(
        db, smtp=SmtpConfig(host="127.0.0.1", port=port, sender=SENDER), now=NOW, max_attempts=3
    )
    assert during == [False, False]
