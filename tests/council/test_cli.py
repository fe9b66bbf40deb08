"""The `council` command line: help texts, creating accounts, seeding the demo."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from core.accounts import Role, User, find_user_by_email, password_matches
from core.db import make_engine, make_sessionmaker, utcnow
from council import adoption
from council.cli import app
from council.demo import DEMO_PASSWORD, DEMO_PEOPLE
from council.models import BallotRule
from tests.council.builders import seat_member
from tests.factories import make_user
from tests.guidelines.builders import make_draft

runner = CliRunner()


@pytest.fixture
def cli_database(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Engine]:
    """Point the CLI at a fresh database; yields an engine on it for checking results."""
    monkeypatch.chdir(tmp_path)  # no stray .env file
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    engine = make_engine(fresh_database_url)
    yield engine
    engine.dispose()


def _user_count(engine: Engine) -> int:
    with make_sessionmaker(engine)() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


HELP_CASES: list[tuple[list[str], str]] = [
    ([], "Command line of the AI ethics council's system."),
    (["serve"], "Run the web service with uvicorn, first finishing any certificate"),
    (["db"], "Database schema."),
    (["db", "upgrade"], "Apply the Alembic migrations to DATABASE_URL."),
    (["users"], "Accounts."),
    (["users", "create"], "Create an account with a password."),
    (["demo"], "Migrate an empty database and seed it with realistic Spanish demo data."),
    (["audit"], "The audit log."),
    (["audit", "verify"], "Walk the audit hash chain and name the first broken event."),
    (["mail"], "The mail outbox."),
    (["mail", "send"], "Deliver pending outbox messages (MAIL_BACKEND), retrying failures later."),
    (["certificates"], "Certificates of the quality mark."),
    (["certificates", "issue"], "Issue the certificate of every granted mark that has never"),
    (["certificates", "reconcile"], "Finish (lint, sign, store) or void every certificate"),
    (["transparency"], "The transparency log."),
    (["transparency", "checkpoint"], "The daily checkpoint: append the audit chain's head"),
    (["transparency", "sth"], "Print the current signed tree head as JSON"),
    (["transparency", "verify"], "Check the current tree head's signature, that it extends"),
]


@pytest.mark.parametrize(
    ("args", "purpose"),
    HELP_CASES,
    ids=[" ".join(args) or "council" for args, _ in HELP_CASES],
)
def test_help_describes_command(args: list[str], purpose: str) -> None:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"Usage: root {' '.join(args)}".rstrip() in result.output
    assert purpose in " ".join(result.output.split())


def test_help_lists_sub_commands_with_their_options() -> None:
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    for name in ("serve", "demo", "db", "users", "audit", "mail"):
        assert f" {name} " in top.output
    create = runner.invoke(app, ["users", "create", "--help"], env={"COLUMNS": "200"})
    for option in ("--email", "--name", "--role", "--password"):
        assert option in create.output
    demo = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert "--no-serve" in demo.output


def test_users_create_makes_account_whose_password_works(cli_database: Engine) -> None:
    result = runner.invoke(
        app,
        [
            "users",
            "create",
            "--email",
            "Nueva.Secretaria@CEIA.gob.mx",
            "--name",
            "  Carmen Ruiz Delgado ",
            "--role",
            "secretariat",
            "--password",
            "una-clave-bastante-larga",
        ],
    )

    assert result.exit_code == 0, result.output
    assert "Created nueva.secretaria@ceia.gob.mx (secretariat)." in result.output
    with make_sessionmaker(cli_database)() as session:
        user = find_user_by_email(session, "nueva.secretaria@ceia.gob.mx")
        assert user is not None
        assert user.full_name == "Carmen Ruiz Delgado"
        assert user.role == Role.secretariat
        assert password_matches(user.password_hash, "una-clave-bastante-larga")
        assert not password_matches(user.password_hash, "otra-clave-cualquiera")


def test_users_create_refuses_short_password(cli_database: Engine) -> None:
    result = runner.invoke(
        app,
        [
            "users",
            "create",
            "--email",
            "corta@ceia.gob.mx",
            "--name",
            "Clave Corta",
            "--role",
            "admin",
            "--password",
            "corta",
        ],
    )

    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "password: The password must have at least 10 characters." in result.output
    assert "%(" not in result.output
    assert _user_count(cli_database) == 0


def test_users_create_refuses_duplicate_email(cli_database: Engine) -> None:
    args = ["users", "create", "--email", "dup@ceia.gob.mx", "--name", "Dup", "--role", "expert"]
    first = runner.invoke(app, [*args, "--password", "clave-suficientemente-larga"])
    assert first.exit_code == 0, first.output

    second = runner.invoke(app, [*args, "--password", "clave-suficientemente-larga"])

    assert second.exit_code == 1
    assert "already exists" in second.output
    assert _user_count(cli_database) == 1


def test_demo_loads_sign_ins_once(cli_database: Engine) -> None:
    first = runner.invoke(app, ["demo", "--no-serve"])

    assert first.exit_code == 0, first.output
    assert "Demo data loaded." in first.output
    assert DEMO_PASSWORD in first.output
    for email, _name, role in DEMO_PEOPLE:
        assert email in first.output
        assert role.value in first.output
    assert "council serve" in first.output
    users_after_first = _user_count(cli_database)
    assert users_after_first == len(DEMO_PEOPLE)
    with make_sessionmaker(cli_database)() as session:
        admin = find_user_by_email(session, "admin@ceia.gob.mx")
        assert admin is not None
        assert admin.role == Role.admin
        assert password_matches(admin.password_hash, DEMO_PASSWORD)

    second = runner.invoke(app, ["demo", "--no-serve"])

    assert second.exit_code == 0, second.output
    assert "already holds data; demo data was not loaded again" in second.output
    assert "Demo data loaded." not in second.output
    assert "admin@ceia.gob.mx" not in second.output
    assert _user_count(cli_database) == users_after_first


def test_ballots_remind_queues_reminders_for_ballots_closing_soon(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    engine = make_engine(fresh_database_url)
    now = utcnow()
    with make_sessionmaker(engine)() as session:
        secretariat = make_user(session, role=Role.secretariat)
        for _ in range(3):  # terms around the real clock, which the command uses
            seat_member(
                session,
                secretariat,
                starts_on=now.date() - dt.timedelta(days=365),
                ends_on=now.date() + dt.timedelta(days=365),
            )
        version = make_draft(session, secretariat)
        adoption.open_adoption_ballot(
            session,
            actor=secretariat,
            version=version,
            rule=BallotRule.simple_majority,
            quorum_percent=50,
            closes_at=now + dt.timedelta(hours=12),
            effective_on=now.date(),
            consultation_skipped_reason="Versión de prueba sin consulta.",
            now=now,
        )
        session.commit()
    result = CliRunner().invoke(app, ["ballots", "remind"])
    assert result.exit_code == 0, result.output
    assert "Queued 3 reminders" in result.output
    again = CliRunner().invoke(app, ["ballots", "remind"])
    assert "Queued 0 reminders" in again.output
    engine.dispose()
