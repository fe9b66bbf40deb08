"""Mail a newcomer can see: the file and log backends, the demo's courier, the outbox pages, and
what `council mail send` says of a failure."""

from __future__ import annotations

import datetime as dt
import logging
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.accounts import Role
from core.audit import AuditEvent
from core.db import make_engine, make_sessionmaker
from core.mail import (
    DeliveryReport,
    FileDrop,
    LogDrop,
    MailStatus,
    OutboxMessage,
    deliver_outbox,
    queue_mail,
    start_courier,
    transport_for,
)
from core.pagination import PAGE_SIZE
from core.settings import Settings
from council.cli import app as cli
from tests.conftest import csrf_of
from tests.core.test_mail import RESET_CONTEXT, RESET_LINK, free_port
from tests.factories import NOW, make_user, sign_in_as

SENDER = "CEIA <no-responder@ceia.example.mx>"


def _queue(db: Session, to: str = "lucia@ejemplo.mx", locale: str = "en") -> OutboxMessage:
    return queue_mail(
        db,
        to=to,
        template="mail/password_reset.txt",
        locale=locale,
        context=RESET_CONTEXT,
        now=NOW,
    )


# Backends ------------------------------------------------------------------------------------


def test_the_file_backend_writes_each_message_as_an_eml_file(db: Session, tmp_path: Path) -> None:
    message = _queue(db, locale="es_MX")
    drop = FileDrop(directory=tmp_path / "mail", sender=SENDER)

    report = deliver_outbox(db, smtp=drop, now=NOW, max_attempts=3)

    assert report == DeliveryReport(sent=1, retried=0, failed=0)
    (written,) = (tmp_path / "mail").glob("*.eml")
    assert written.name == f"{message.id:06d}-lucia@ejemplo.mx.eml"
    raw = written.read_bytes()
    # Readable as it is: a newcomer opens the file and follows the link.
    assert RESET_LINK.encode() in raw
    assert "Subject: Elija una nueva contraseña".encode() in raw
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["To"] == "lucia@ejemplo.mx"
    assert parsed["Content-Language"] == "es-MX"
    assert RESET_LINK in parsed.get_content()
    db.refresh(message)
    assert message.status == MailStatus.sent


def test_the_file_backend_reports_a_directory_it_cannot_write(db: Session, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    message = _queue(db)

    report = deliver_outbox(
        db, smtp=FileDrop(directory=blocker, sender=SENDER), now=NOW, max_attempts=3
    )

    assert report == DeliveryReport(sent=0, retried=1, failed=0)
    (problem,) = report.problems
    assert (problem.to_address, problem.template) == ("lucia@ejemplo.mx", message.template)
    assert "Error" in problem.reason


def test_the_log_backend_writes_the_whole_message_to_the_log(
    db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    _queue(db)
    with caplog.at_level(logging.INFO, logger="council.mail"):
        report = deliver_outbox(db, smtp=LogDrop(sender=SENDER), now=NOW, max_attempts=3)
    assert report.sent == 1
    assert "To: lucia@ejemplo.mx" in caplog.text
    assert RESET_LINK in caplog.text


def test_the_setting_chooses_the_backend(tmp_path: Path) -> None:
    def chosen(**values: Any) -> object:
        return transport_for(Settings(_env_file=None, **values))

    assert type(chosen()).__name__ == "SmtpConfig"
    assert chosen(mail_backend="file", mail_dir=tmp_path) == FileDrop(
        directory=tmp_path,
        sender=Settings(_env_file=None).mail_from,
    )
    assert isinstance(chosen(mail_backend="log"), LogDrop)


def test_the_demo_courier_delivers_mail_as_it_is_written(
    fresh_database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(fresh_database_url)
    factory = make_sessionmaker(engine)
    stop = start_courier(
        factory,
        transport=FileDrop(directory=tmp_path / "mail", sender=SENDER),
        max_attempts=3,
        every=0.05,
        clock=lambda: NOW,
    )
    try:
        with factory() as session:
            _queue(session, to="nueva@ejemplo.mx")
            session.commit()
        deadline = time.monotonic() + 10
        while not list((tmp_path / "mail").glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.05)
        (written,) = (tmp_path / "mail").glob("*.eml")
        assert written.name.endswith("-nueva@ejemplo.mx.eml")
    finally:
        stop.set()
        engine.dispose()


# `council mail send` -------------------------------------------------------------------------


def test_mail_send_names_each_failed_message_and_why(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(free_port()))  # nobody listens there
    monkeypatch.setenv("MAIL_MAX_ATTEMPTS", "1")
    engine = make_engine(fresh_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            first = _queue(session, to="jorge@ejemplo.mx").id
            second = _queue(session, to="ana@ejemplo.mx").id
            session.commit()

        result = CliRunner().invoke(cli, ["mail", "send"])
    finally:
        engine.dispose()

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(
        f"#{first} jorge@ejemplo.mx (mail/password_reset.txt), failed: ConnectionRefusedError"
    )
    assert lines[1].startswith(f"#{second} ana@ejemplo.mx (mail/password_reset.txt), failed: ")
    assert lines[-1] == "Sent 0, to retry 0, failed 2 (backend: smtp)."


def test_mail_send_says_which_messages_will_be_retried(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(free_port()))
    engine = make_engine(fresh_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            queued = _queue(session, to="jorge@ejemplo.mx").id
            session.commit()
        result = CliRunner().invoke(cli, ["mail", "send"])
    finally:
        engine.dispose()

    assert result.exit_code == 0
    assert f"#{queued} jorge@ejemplo.mx (mail/password_reset.txt), will retry: " in result.output
    assert "Sent 0, to retry 1, failed 0 (backend: smtp)." in result.output


def test_mail_send_writes_files_with_the_file_backend(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("MAIL_BACKEND", "file")
    monkeypatch.setenv("MAIL_DIR", str(tmp_path / "outbox"))
    engine = make_engine(fresh_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            _queue(session, to="jorge@ejemplo.mx")
            session.commit()
        result = CliRunner().invoke(cli, ["mail", "send"])
    finally:
        engine.dispose()

    assert result.exit_code == 0, result.output
    assert "Sent 1, to retry 0, failed 0 (backend: file)." in result.output
    assert len(list((tmp_path / "outbox").glob("*-jorge@ejemplo.mx.eml"))) == 1


# The outbox pages ----------------------------------------------------------------------------


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def test_the_outbox_lists_messages_filters_them_and_pages_in_sql(
    client: TestClient, db: Session
) -> None:
    staff = make_user(db, role=Role.secretariat)
    for n in range(PAGE_SIZE + 2):
        _queue(db, to=f"persona{n}@ejemplo.mx")
    failed = _queue(db, to="rebota@ejemplo.mx")
    failed.status, failed.last_error = MailStatus.failed, "SMTPRecipientsRefused: 550 no such user"
    db.commit()
    sign_in_as(client, staff)
    client.cookies.set("lang", "en")

    first = soup(client.get("/admin/outbox").text)
    rows = first.select("tbody tr")
    assert len(rows) == PAGE_SIZE
    assert "rebota@ejemplo.mx" in rows[0].get_text()  # newest first
    assert "550 no such user" in rows[0].get_text()
    assert first.select_one("a[rel=next]") is not None

    only_failed = soup(client.get("/admin/outbox?status=failed").text)
    assert [row.select("td")[1].get_text() for row in only_failed.select("tbody tr")] == [
        "rebota@ejemplo.mx"
    ]
    by_text = soup(client.get("/admin/outbox?q=PERSONA2").text)
    addresses = {row.select("td")[1].get_text() for row in by_text.select("tbody tr")}
    assert addresses == {"persona2@ejemplo.mx", *(f"persona{n}@ejemplo.mx" for n in range(20, 30))}
    assert by_text.select_one("#f-q")["value"] == "PERSONA2"  # type: ignore[index]
    # A wildcard is taken literally; a control character matches nothing, without an error.
    assert soup(client.get("/admin/outbox?q=%25").text).select("tbody tr") == []
    assert client.get("/admin/outbox?q=%00").status_code == 200


def test_a_message_shows_its_text_and_error_and_can_be_retried(
    client: TestClient, db: Session
) -> None:
    staff = make_user(db, role=Role.admin)
    message = _queue(db, to="rebota@ejemplo.mx")
    message.status, message.attempts = MailStatus.failed, 5
    message.last_error = "SMTPRecipientsRefused: 550 no such user"
    db.commit()
    sign_in_as(client, staff)
    client.cookies.set("lang", "en")
    url = f"/admin/outbox/{message.id}"

    page = soup(client.get(url).text)
    assert page.select_one("h1").get_text() == message.subject  # type: ignore[union-attr]
    assert RESET_LINK in page.select_one(".mail-text").get_text()  # type: ignore[union-attr]
    assert "550 no such user" in page.select_one(".mail-error").get_text()  # type: ignore[union-attr]
    assert [a["href"] for a in page.select(".mail-links a")] == [RESET_LINK]

    response = client.post(f"{url}/retry", data={"csrf_token": csrf_of(client, url)})

    assert response.status_code == 303
    db.expire_all()
    retried = db.get(OutboxMessage, message.id)
    assert retried is not None
    assert (retried.status, retried.attempts) == (MailStatus.pending, 0)
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.retry")).one()
    assert event.actor_id == staff.id
    assert "The message will be delivered on the next run." in client.get(url).text


def test_a_delivered_message_is_not_retried(client: TestClient, db: Session) -> None:
    staff = make_user(db, role=Role.secretariat)
    message = _queue(db)
    message.status, message.sent_at = MailStatus.sent, NOW + dt.timedelta(minutes=1)
    db.commit()
    sign_in_as(client, staff)
    url = f"/admin/outbox/{message.id}"
    assert soup(client.get(url).text).select_one(f"form[action='{url}/retry']") is None
    assert client.post(f"{url}/retry", data={"csrf_token": csrf_of(client, url)}).status_code == 409
