"""Sign-in, sign-out, lockout, CSRF and the session cookie."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import Type
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import accounts
from core.accounts import Role
from core.audit import AuditEvent
from core.db import get_session, make_engine, make_sessionmaker, open_session
from core.errors import Invalid
from core.schema import upgrade_database
from core.settings import Settings
from council.app import create_app
from tests.conftest import PRODUCTION_HASHER, csrf_of
from tests.factories import NOW, PASSWORD, make_user, sign_in_as


def _post_signin(client: TestClient, email: str, password: str) -> str:
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin", data={"email": email, "password": password, "csrf_token": token}
    )
    return response.text if response.status_code != 303 else ""


def test_signin_starts_session_and_records_audit_event(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.secretariat)
    sign_in_as(client, user)
    page = BeautifulSoup(client.get("/account").text, "html.parser")
    assert page.h1 is not None
    assert user.email in page.get_text()
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == user.id)).all()
    assert "user.signin" in actions


def test_session_cookie_is_httponly_and_samesite_lax(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # base_url is http in tests


def test_wrong_password_keeps_email_and_says_why(client: TestClient, db: Session) -> None:
    user = make_user(db)
    html = _post_signin(client, user.email, "wrong-password")
    page = BeautifulSoup(html, "html.parser")
    email_input = page.select_one('input[name="email"]')
    assert email_input is not None
    assert email_input["value"] == user.email
    alert = page.select_one('[role="alert"]')
    assert alert is not None
    assert "contraseña" in alert.get_text()
    assert client.get("/account").status_code == 303


def test_repeated_failures_lock_the_address(client: TestClient, db: Session) -> None:
    user = make_user(db)
    for _ in range(5):
        _post_signin(client, user.email, "wrong-password")
    html = _post_signin(client, user.email, PASSWORD)  # correct, but locked now
    page = BeautifulSoup(html, "html.parser")
    alert = page.select_one('[role="alert"]')
    assert alert is not None
    assert "15 minutos" in alert.get_text()
    assert client.get("/account").status_code == 303


def test_successful_signin_resets_failure_count(client: TestClient, db: Session) -> None:
    user = make_user(db)
    for _ in range(4):
        _post_signin(client, user.email, "wrong-password")
    assert _post_signin(client, user.email, PASSWORD) == ""
    client.cookies.clear()
    for _ in range(4):
        _post_signin(client, user.email, "wrong-password")
    assert _post_signin(client, user.email, PASSWORD) == ""


def test_signout_ends_session(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    token = csrf_of(client, "/account")
    response = client.post("/signout", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/account").status_code == 303


def test_form_post_without_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    user = make_user(db)
    client.get("/signin")
    response = client.post("/signin", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/account").status_code == 303


def test_form_post_with_wrong_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    user = make_user(db)
    client.get("/signin")
    response = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    page = BeautifulSoup(response.text, "html.parser")
    assert page.h1 is not None
    assert page.h1.get_text(strip=True) == "Acceso denegado"


def test_csrf_token_from_another_session_is_refused(
    client: TestClient, app: object, db: Session
) -> None:
    user = make_user(db)
    token = csrf_of(client, "/signin")
    client.cookies.clear()
    client.get("/signin")  # a new session with its own token
    response = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 403


def test_unauthenticated_page_redirects_to_signin_with_next(client: TestClient) -> None:
    response = client.get("/account?tab=tokens")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/account%3Ftab%3Dtokens"


def test_signin_follows_only_local_next(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/dashboard"  # a foreign next counts as none


def test_inactive_account_cannot_sign_in(client: TestClient, db: Session) -> None:
    user = make_user(db)
    user.is_active = False
    db.flush()
    assert "contraseña" in _post_signin(client, user.email, PASSWORD)


def test_passwords_are_stored_as_argon2id_with_production_cost(db: Session) -> None:
    user = make_user(db)
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    hasher = PRODUCTION_HASHER
    assert hasher.type is Type.ID
    # RFC 9106's second recommendation: 3 passes over 64 MiB.
    assert (hasher.time_cost, hasher.memory_cost) >= (3, 65536)


def test_session_cookie_is_secure_when_served_over_https(settings: Settings, db: Session) -> None:
    secure_app = create_app(settings.model_copy(update={"base_url": "https://ceia.example.mx"}))

    def session_override() -> Iterator[Session]:
        yield db

    secure_app.dependency_overrides[get_session] = session_override
    user = make_user(db)
    with TestClient(secure_app, base_url="https://testserver", follow_redirects=False) as client:
        token = csrf_of(client, "/signin")
        response = client.post(
            "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
        )
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()
    secure_app.state.engine.dispose()


@dataclass
class OwnDatabase:
    """A migrated SQLite file of the test's own, with one account on it."""

    path: Path
    factory: sessionmaker[Session]
    email: str

    def sign_in(self, password: str) -> bool:
        """One sign-in attempt in a request's own writing session; failures are committed too."""
        with open_session(self.factory, writes=True) as session:
            try:
                accounts.authenticate(
                    session,
                    email=self.email,
                    password=password,
                    client_ip="203.0.113.7",
                    now=NOW,
                    max_failures=5,
                    lockout=dt.timedelta(minutes=15),
                )
            except Invalid:
                return False
            finally:
                session.commit()
            return True

    def audit_actions(self) -> list[str]:
        """Every audited action, oldest first."""
        with open_session(self.factory, writes=False) as reader:
            return list(reader.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[OwnDatabase]:
    """SQLite's write lock is the subject, so a SQLite file whatever database the suite runs on."""
    path = tmp_path / "signin.db"
    url = f"sqlite:///{path}"
    upgrade_database(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with open_session(factory, writes=True) as setup:
        email = make_user(setup).email
        setup.commit()
    yield OwnDatabase(path, factory, email)
    engine.dispose()


def test_the_password_is_verified_before_the_sign_in_takes_the_write_lock(
    monkeypatch: pytest.MonkeyPatch, own_database: OwnDatabase
) -> None:
    others_could_write: list[bool] = []
    verify = accounts.password_matches

    def verify_while_another_writes(password_hash: str | None, password: str) -> bool:
        other = sqlite3.connect(own_database.path, isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # refused at once while a writer holds the lock
            other.execute("ROLLBACK")
            others_could_write.append(True)
        except sqlite3.OperationalError:
            others_could_write.append(False)
        finally:
            other.close()
        return verify(password_hash, password)

    monkeypatch.setattr(accounts, "password_matches", verify_while_another_writes)

    outcomes = [own_database.sign_in("no es la clave"), own_database.sign_in(PASSWORD)]

    assert outcomes == [False, True]
    assert others_could_write == [True, True]
    actions = own_database.audit_actions()
    assert actions[-2:] == ["user.signin_failed", "user.signin"]  # the outcomes, written after


def test_a_password_changed_while_it_is_verified_refuses_the_old_one(
    monkeypatch: pytest.MonkeyPatch, own_database: OwnDatabase
) -> None:
    verify = accounts.password_matches

    def verify_while_the_password_changes(password_hash: str | None, password: str) -> bool:
        with open_session(own_database.factory, writes=True) as other:
            person = accounts.find_user_by_email(other, own_database.email)
            assert person is not None
            person.password_hash = accounts.hash_password("otra clave muy larga y nueva")
            other.commit()
        return verify(password_hash, password)

    monkeypatch.setattr(accounts, "password_matches", verify_while_the_password_changes)

    assert own_database.sign_in(PASSWORD) is False
    assert own_database.audit_actions()[-1] == "user.signin_failed"
